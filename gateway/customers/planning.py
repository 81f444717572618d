"""Planning of the outbox work a change of a customer's tree needs.

Every function here runs inside the caller's transaction and records upstream work
through an :class:`~gateway.outbox.plan.OutboxPlanner`, atomically with the change.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.domain import DeviceKind, EntityType, Provider, SyncStatus
from gateway.customers.locks import lock_links
from gateway.customers.reads import customer_tree
from gateway.customers.sync.targets import targets, upstream_parent
from gateway.outbox.plan import OutboxPlanner
from gateway.store.tables import CustomerRow, DeviceRow, SiteRow
from providers.registry import CAPABILITIES


async def live_links(planner: OutboxPlanner, entity_id: str, providers: Iterable[str]) -> list[Provider]:
    """Providers at which the entity exists or is on its way (not deleting or deleted)."""
    found = []
    for p in providers:
        link = await planner.link(entity_id, Provider(p))
        if link is not None and link.status not in (SyncStatus.DELETING.value, SyncStatus.DELETED.value):
            found.append(Provider(p))
    return found


async def plan_entity_upsert(
    planner: OutboxPlanner,
    customer: CustomerRow,
    entity_type: EntityType,
    row: CustomerRow | SiteRow | DeviceRow,
    *,
    providers: Iterable[str] | None = None,
    resend_site: bool = True,
) -> None:
    """Queue upserts of one entity at each provider that holds it (and its site, for meters).

    ``resend_site=False`` skips re-sending a meter's site where the site lists meter point
    ids: for when the meter itself did not change (it is only being sent somewhere new).
    """
    kind = DeviceKind(row.kind) if isinstance(row, DeviceRow) else None
    for provider in targets(providers or customer.providers, entity_type, kind):
        await planner.upsert(
            provider=provider,
            entity_type=entity_type,
            entity_id=row.id,
            customer_id=customer.id,
            parent_id=upstream_parent(
                provider,
                entity_type,
                customer_id=customer.id,
                site_id=getattr(row, "site_id", None),
                parent_site_id=getattr(row, "parent_site_id", None),
                kind=kind,
            ),
        )
    if resend_site and isinstance(row, DeviceRow) and kind is DeviceKind.METER and row.site_id:
        await plan_site_meter_change(planner, customer, row.site_id)


async def plan_resync(
    session: AsyncSession,
    planner: OutboxPlanner,
    customer: CustomerRow,
    row: CustomerRow | SiteRow | DeviceRow,
    *,
    cascade: bool,
) -> None:
    """Queue the record's upserts again at every provider it is at (not deleting or deleted);
    with ``cascade`` its subtree too, each child after its parent: a customer's sites (parent
    sites first), devices and vehicles; a site's child sites and devices."""
    entity_type = (EntityType.CUSTOMER if isinstance(row, CustomerRow)
                   else EntityType.SITE if isinstance(row, SiteRow) else EntityType.DEVICE)
    if not cascade or isinstance(row, DeviceRow):
        await lock_links(session, [row.id, *([row.site_id] if isinstance(row, DeviceRow) and row.site_id
                                             else [])])
        await _resend(planner, customer, entity_type, row, resend_site=True)
        return
    sites, devices = await customer_tree(session, customer.id)
    if isinstance(row, SiteRow):
        under = _subtree(row.id, sites)
        sites = [site for site in sites if site.id in under and site.id != row.id]
        devices = [device for device in devices if device.site_id in under]
    await lock_links(session, [row.id, *(site.id for site in sites), *(device.id for device in devices)])
    await _resend(planner, customer, entity_type, row, resend_site=True)
    for site in _parents_first(sites):
        await _resend(planner, customer, EntityType.SITE, site, resend_site=False)
    for device in devices:
        await _resend(planner, customer, EntityType.DEVICE, device, resend_site=False)


async def _resend(planner: OutboxPlanner, customer: CustomerRow, entity_type: EntityType,
                  row: CustomerRow | SiteRow | DeviceRow, *, resend_site: bool) -> None:
    providers = await live_links(planner, row.id, customer.providers)
    if providers:
        await plan_entity_upsert(planner, customer, entity_type, row, providers=providers,
                                 resend_site=resend_site)


def _subtree(site_id: str, sites: Sequence[SiteRow]) -> set[str]:
    """The ids of a site and every site below it."""
    found = {site_id}
    grew = True
    while grew:
        grew = False
        for site in sites:
            if site.parent_site_id in found and site.id not in found:
                found.add(site.id)
                grew = True
    return found


def _parents_first(sites: Sequence[SiteRow]) -> list[SiteRow]:
    return list(reversed(_children_first(sites)))


async def plan_site_meter_change(planner: OutboxPlanner, customer: CustomerRow, site_id: str) -> None:
    """Providers that carry meter point ids on the site's object need the site re-sent."""
    for p in customer.providers:
        provider = Provider(p)
        if CAPABILITIES[provider].meters_on_site:
            link = await planner.link(site_id, provider)
            if link is not None and link.status in (SyncStatus.DELETING.value, SyncStatus.DELETED.value):
                continue
            await planner.upsert(
                provider=provider, entity_type=EntityType.SITE, entity_id=site_id,
                customer_id=customer.id, parent_id=customer.id,
            )


async def plan_tree_delete(
    planner: OutboxPlanner,
    customer: CustomerRow,
    sites: Sequence[SiteRow],
    devices: Sequence[DeviceRow],
    *,
    providers: Iterable[str],
    customer_too: bool,
) -> None:
    """Queue upstream deletes for devices, then sites (children first), then the customer."""
    enrolled = [Provider(p) for p in providers]
    for device in devices:
        for provider in enrolled:
            await planner.delete(provider=provider, entity_type=EntityType.DEVICE,
                                 entity_id=device.id, customer_id=customer.id)
    children: dict[str | None, list[str]] = defaultdict(list)
    for device in devices:
        children[device.site_id].append(device.id)
    for site in sites:
        if site.parent_site_id is not None:
            children[site.parent_site_id].append(site.id)
    for site in _children_first(sites):
        for provider in enrolled:
            await planner.delete(provider=provider, entity_type=EntityType.SITE, entity_id=site.id,
                                 customer_id=customer.id, child_ids=children[site.id])
    if customer_too:
        all_ids = [site.id for site in sites] + [device.id for device in devices]
        for provider in enrolled:
            await planner.delete(provider=provider, entity_type=EntityType.CUSTOMER,
                                 entity_id=customer.id, customer_id=customer.id, child_ids=all_ids)


def _children_first(sites: Sequence[SiteRow]) -> list[SiteRow]:
    by_id = {site.id: site for site in sites}

    def depth(site: SiteRow) -> int:
        d, seen = 0, set()
        while site.parent_site_id in by_id and site.id not in seen:
            seen.add(site.id)
            site = by_id[site.parent_site_id]
            d += 1
        return d

    return sorted(sites, key=depth, reverse=True)
