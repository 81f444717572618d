"""Writes and reads of customers, sites and devices, with their outbox work.

Every function here runs inside the caller's transaction; the caller commits.
Writes go through an :class:`~gateway.outbox.plan.OutboxPlanner` so that the
upstream work is recorded atomically with the change.
"""

from __future__ import annotations

import asyncio
import functools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from types import SimpleNamespace
from typing import Any, NamedTuple, TypeVar

from msgspec import UNSET
from sqlalchemy import TextualSelect, column, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.clock import as_utc, new_id
from gateway.core.domain import (
    DEFAULT_CATEGORY,
    DeviceKind,
    EntityType,
    Medium,
    ProgrammeStatus,
    Provider,
    SiteKind,
    SpaceCategory,
    SyncStatus,
)
from gateway.core.errors import ConflictError, InvalidError, NotFoundError
from gateway.core.wire import ProviderSync
from gateway.customers import schemas as s
from gateway.customers.programme_views import PROGRAMME_PROVIDERS
from gateway.outbox.fresh import FreshTrees
from gateway.outbox.plan import OutboxPlanner, targets, upstream_parent
from gateway.store.db import among, chunked, on_postgres
from gateway.store.tables import CustomerRow, DeviceRow, ProviderLinkRow, SiteRow, table_of
from providers.registry import CAPABILITIES

_Tree = TypeVar("_Tree", CustomerRow, SiteRow, DeviceRow)

# --- reads -----------------------------------------------------------------------------


async def links_for(session: AsyncSession, ids: Iterable[str]) -> dict[str, list[ProviderLinkRow]]:
    """Provider links of many entities in one query."""
    wanted = list(ids)
    found: dict[str, list[ProviderLinkRow]] = defaultdict(list)
    for chunk_start in range(0, len(wanted), 500):
        chunk = wanted[chunk_start : chunk_start + 500]
        rows = await session.exec(
            select(ProviderLinkRow).where(col(ProviderLinkRow.entity_id).in_(chunk))
        )
        for link in rows:
            found[link.entity_id].append(link)
    return found


class LinkView(NamedTuple):
    """A provider link as read by the fast read path (no ORM object)."""

    provider: str
    status: str
    external_id: str | None
    attempts: int
    last_error: str | None
    synced_at: datetime | None
    blocked_by: str | None
    blocked_reason: str | None


_LINK_FIELDS = LinkView._fields


@functools.cache
def _read_statement(model: type[SQLModel]) -> TextualSelect:
    """``SELECT <record>, <its links> ... WHERE id = :id``, built once per table.

    A typed text statement skips SQLAlchemy's per-call statement construction and
    cache-key work, the larger part of a primary-key read's CPU time.
    """
    table = table_of(model)
    links = table_of(ProviderLinkRow)
    own = ", ".join(f"t.{c.name}" for c in table.c)
    theirs = ", ".join(f"l.{name} AS l_{name}" for name in _LINK_FIELDS)
    sql = (f"SELECT {own}, {theirs} FROM {table.name} t "
           "LEFT JOIN provider_links l ON l.entity_id = t.id "
           "WHERE t.id = :id AND t.deleted_at IS NULL")
    typed = [column(c.name, c.type) for c in table.c]
    typed += [column(f"l_{name}", links.c[name].type) for name in _LINK_FIELDS]
    return text(sql).columns(*typed)


async def read_with_links(
    conn: AsyncConnection, model: type[CustomerRow] | type[SiteRow] | type[DeviceRow], entity_id: str
) -> tuple[Any, list[LinkView]]:
    """One live record and its provider links in one query, without ORM objects.

    The record comes back as a row whose attributes are the table's columns (what the
    ``*_read`` functions need); None when there is no such live record.
    """
    rows = (await conn.execute(_read_statement(model), {"id": entity_id})).all()
    if not rows:
        return None, []
    links = [
        LinkView(r.l_provider, r.l_status, r.l_external_id, r.l_attempts, r.l_last_error, r.l_synced_at,
                 r.l_blocked_by, r.l_blocked_reason)
        for r in rows
        if r.l_provider is not None
    ]
    return rows[0], links


def sync_view(links: Sequence[ProviderLinkRow | LinkView]) -> dict[str, ProviderSync]:
    return {
        link.provider: ProviderSync(
            status=SyncStatus(link.status),
            external_id=link.external_id,
            attempts=link.attempts,
            last_error=link.last_error,
            synced_at=as_utc(link.synced_at),
            blocked_by=link.blocked_by,
            blocked_reason=link.blocked_reason,
        )
        for link in sorted(links, key=lambda link: link.provider)
    }


def customer_read(row: CustomerRow, links: Sequence[ProviderLinkRow | LinkView],
                  programmes: dict[str, s.ProgrammeRead] | None = None) -> s.CustomerRead:
    if programmes is None:
        programmes = {p: s.ProgrammeRead(status=ProgrammeStatus.NOT_ENROLLED)
                      for p in row.providers if p in PROGRAMME_PROVIDERS}
    return s.CustomerRead(
        id=row.id,
        external_ref=row.external_ref,
        name=row.name,
        email=row.email,
        providers=[Provider(p) for p in row.providers],
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
        deleted_at=as_utc(row.deleted_at),
        sync=sync_view(links),
        programmes=programmes,
    )


def site_read(row: SiteRow, links: Sequence[ProviderLinkRow | LinkView],
              compensation: dict[str, s.SiteCompensationRead] | None = None) -> s.SiteRead:
    coordinates = None
    if row.latitude is not None and row.longitude is not None:
        coordinates = s.CoordinatesRead(latitude=row.latitude, longitude=row.longitude)
    return s.SiteRead(
        id=row.id,
        customer_id=row.customer_id,
        external_ref=row.external_ref,
        name=row.name,
        kind=SiteKind(row.kind),
        category=SpaceCategory(row.category),
        address=s.AddressRead(
            line1=row.address_line1,
            line2=row.address_line2,
            postcode=row.postcode,
            city=row.city,
            country=row.country,
        ),
        coordinates=coordinates,
        meter_point_ids=list(row.meter_point_ids),
        parent_site_id=row.parent_site_id,
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
        deleted_at=as_utc(row.deleted_at),
        sync=sync_view(links),
        compensation=compensation or {},
    )


def device_read(row: DeviceRow, links: Sequence[ProviderLinkRow | LinkView]) -> s.DeviceRead:
    return s.DeviceRead(
        id=row.id,
        customer_id=row.customer_id,
        site_id=row.site_id,
        external_ref=row.external_ref,
        kind=DeviceKind(row.kind),
        name=row.name,
        medium=Medium(row.medium) if row.medium else None,
        is_main=row.is_main,
        meter_number=row.meter_number,
        meter_point_id=row.meter_point_id,
        brand=row.brand,
        model=row.model,
        year=row.year,
        vin=row.vin,
        capacity=row.capacity,
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
        deleted_at=as_utc(row.deleted_at),
        sync=sync_view(links),
    )


# --- locks of a customer's tree ------------------------------------------------------------
#
# Every write that depends on a customer's tree (creating, changing or deleting a site, device
# or vehicle, changing or deleting the customer, a resync) first locks the customer's row, then
# the site's, then the device's: one order, so writes of one tree serialise and never deadlock
# among themselves. The records are read again after the lock, so a write that waited for a
# delete sees it (404) and queues nothing. On PostgreSQL the lock is ``SELECT ... FOR UPDATE``;
# SQLite has no row locks, so a no-op update takes the database's write lock (held until the
# transaction ends) and the reads after it see the latest state.


async def _locked(session: AsyncSession, model: type[_Tree], entity_id: str) -> _Tree | None:
    """The row of ``model`` with ``entity_id`` read again under a lock (None when there is none)."""
    table = table_of(model)
    query = select(model).where(col(model.id) == entity_id)
    if on_postgres(session):
        query = query.with_for_update()
    else:
        await session.execute(
            update(table).where(table.c.id == entity_id).values(updated_at=table.c.updated_at))
    return (await session.exec(query.execution_options(populate_existing=True))).first()


async def lock_customer(session: AsyncSession, customer_id: str) -> CustomerRow:
    """The live customer, locked until the transaction ends (404 when missing or deleted)."""
    row = await _locked(session, CustomerRow, customer_id)
    if row is None or row.deleted_at is not None:
        raise NotFoundError(f"customer {customer_id} not found")
    return row


async def lock_site(session: AsyncSession, site_id: str) -> tuple[CustomerRow, SiteRow]:
    """The live site and its customer, both locked (customer first); 404 when either is gone."""
    found = await get_site(session, site_id)
    customer = await lock_customer(session, found.customer_id)
    row = await _locked(session, SiteRow, site_id)
    if row is None or row.deleted_at is not None:
        raise NotFoundError(f"site {site_id} not found")
    return customer, row


async def lock_device(session: AsyncSession, device_id: str) -> tuple[CustomerRow, DeviceRow]:
    """The live device and its customer, both locked (customer first, then the device's site,
    then the device); 404 when any of them is gone."""
    found = await get_device(session, device_id)
    customer = await lock_customer(session, found.customer_id)
    if found.site_id is not None:
        site = await _locked(session, SiteRow, found.site_id)
        if site is None or site.deleted_at is not None:
            raise NotFoundError(f"device {device_id} not found")
    row = await _locked(session, DeviceRow, device_id)
    if row is None or row.deleted_at is not None:
        raise NotFoundError(f"device {device_id} not found")
    return customer, row


LINK_LOCK_PATIENCE_S = 10.0
"""How long a write tries for its links without waiting on a lock (then it waits)."""


async def lock_links(session: AsyncSession, entity_ids: Iterable[str]) -> None:
    """Lock the provider links of these records (PostgreSQL) before the write changes any.

    A worker's round writes the links of its tasks in one statement; a write that changed
    one link and then waited for another the round holds would deadlock with it. So the
    links are taken all at once with ``NOWAIT`` in a savepoint, which gives back the ones it
    got when another is held, and tried again shortly after the round committed: the write
    never waits for a link while it holds one. (SQLite's write lock serialises anyway.)
    """
    wanted = sorted(set(entity_ids))
    if not wanted or not on_postgres(session):
        return
    links = table_of(ProviderLinkRow)
    query = (select(links.c.entity_id).where(among(links.c.entity_id, wanted, postgres=True))
             .order_by(links.c.entity_id, links.c.provider).with_for_update(nowait=True))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + LINK_LOCK_PATIENCE_S
    pause = 0.005
    while loop.time() < deadline:
        try:
            async with session.begin_nested():
                await session.execute(query)
            return
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) != LOCK_NOT_AVAILABLE:
                raise
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.1)
    await session.execute(query.with_for_update())


LOCK_NOT_AVAILABLE = "55P03"
"""PostgreSQL's SQLSTATE for a ``NOWAIT`` lock that another transaction holds."""


async def get_customer(session: AsyncSession, customer_id: str) -> CustomerRow:
    row = await session.get(CustomerRow, customer_id)
    if row is None or row.deleted_at is not None:
        raise NotFoundError(f"customer {customer_id} not found")
    return row


async def get_site(session: AsyncSession, site_id: str) -> SiteRow:
    row = await session.get(SiteRow, site_id)
    if row is None or row.deleted_at is not None:
        raise NotFoundError(f"site {site_id} not found")
    return row


async def get_device(session: AsyncSession, device_id: str) -> DeviceRow:
    row = await session.get(DeviceRow, device_id)
    if row is None or row.deleted_at is not None:
        raise NotFoundError(f"device {device_id} not found")
    return row


# --- validation shared by creates and updates -------------------------------------------


def check_device_fields(kind: DeviceKind, values: dict[str, Any], field_prefix: str = "") -> None:
    """Rules that depend on more than one field of a device."""
    if kind is DeviceKind.METER:
        if values.get("medium") is None:
            raise InvalidError("a meter needs a medium", field=f"{field_prefix}medium")
    elif values.get("medium") is not None:
        raise InvalidError("only meters have a medium", field=f"{field_prefix}medium")
    if kind is not DeviceKind.METER:
        for name, wire in (("meter_point_id", "meterPointId"), ("meter_number", "meterNumber")):
            if values.get(name) is not None:
                raise InvalidError(f"only meters have a {wire}", field=f"{field_prefix}{wire}")
    if kind is DeviceKind.VEHICLE:
        raise InvalidError(
            "vehicles belong to a customer: POST /v1/customers/{id}/vehicles",
            field=f"{field_prefix}kind",
        )


async def refs_in_use(
    session: AsyncSession, table: type[CustomerRow] | type[SiteRow] | type[DeviceRow], refs: list[str]
) -> set[str]:
    """Those of ``refs`` that a live (not deleted) row of ``table`` already has as its externalRef."""
    taken: set[str] = set()
    connection = await session.connection()
    postgres = connection.dialect.name == "postgresql"
    for part in chunked(refs, postgres=postgres):
        rows = await connection.execute(
            select(col(table.external_ref)).where(
                among(table.external_ref, part, postgres=postgres),
                col(table.deleted_at).is_(None),
            )
        )
        taken.update(ref for (ref,) in rows)
    return taken


async def check_refs_free(
    session: AsyncSession,
    *,
    customers: Sequence[str] = (),
    sites: Sequence[tuple[str, str]] = (),
    devices: Sequence[tuple[str, str]] = (),
) -> None:
    """Refuse with 409 when an externalRef (given with its field path) is already in use."""
    taken = await refs_in_use(session, CustomerRow, list(customers))
    if taken:
        raise ConflictError(f"a customer with externalRef {sorted(taken)[0]!r} exists",
                            field="externalRef")
    for table, items, noun in ((SiteRow, sites, "site"), (DeviceRow, devices, "device")):
        taken = await refs_in_use(session, table, [ref for ref, _ in items])
        for ref, path in items:
            if ref in taken:
                raise ConflictError(f"a {noun} with externalRef {ref!r} exists", field=path)
        seen: set[str] = set()
        for ref, path in items:
            if ref in seen:
                raise ConflictError(f"externalRef {ref!r} is used twice in this request",
                                    field=path)
            seen.add(ref)


# --- creates -----------------------------------------------------------------------------


def site_values(customer_id: str, data: s.SiteCreate, now: datetime) -> dict[str, Any]:
    """The column values of a new site row."""
    return {
        "id": new_id(), "customer_id": customer_id, "external_ref": data.external_ref,
        "name": data.name, "kind": data.kind.value,
        "category": (data.category or DEFAULT_CATEGORY[data.kind]).value,
        "address_line1": data.address.line1, "address_line2": data.address.line2,
        "postcode": data.address.postcode, "city": data.address.city,
        "country": data.address.country,
        "latitude": data.coordinates.latitude if data.coordinates else None,
        "longitude": data.coordinates.longitude if data.coordinates else None,
        "meter_point_ids": list(dict.fromkeys(data.meter_point_ids)),
        "parent_site_id": data.parent_site_id, "created_at": now, "updated_at": now,
        "deleted_at": None,
    }


def device_values(
    customer_id: str, site_id: str | None, data: s.DeviceCreate | s.VehicleCreate, now: datetime
) -> dict[str, Any]:
    """The column values of a new device (or vehicle) row."""
    values: dict[str, Any] = {
        "id": new_id(), "customer_id": customer_id, "site_id": site_id,
        "external_ref": data.external_ref, "name": data.name, "brand": data.brand,
        "model": data.model, "year": data.year, "vin": data.vin, "capacity": data.capacity,
        "created_at": now, "updated_at": now, "deleted_at": None,
    }
    if isinstance(data, s.VehicleCreate):
        values.update(site_id=None, kind=DeviceKind.VEHICLE.value, medium=None, is_main=False,
                      meter_number=None, meter_point_id=None)
    else:
        values.update(kind=data.kind.value, medium=data.medium.value if data.medium else None,
                      is_main=data.is_main, meter_number=data.meter_number,
                      meter_point_id=data.meter_point_id)
    return values


def as_record(values: dict[str, Any]) -> SimpleNamespace:
    """Column values read like a row, for the ``*_read`` functions."""
    return SimpleNamespace(**values)


def link_views(links: Sequence[dict[str, Any]]) -> list[LinkView]:
    return [LinkView(*(link[name] for name in LinkView._fields)) for link in links]


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


async def add_site(
    session: AsyncSession,
    planner: OutboxPlanner,
    customer: CustomerRow,
    data: s.SiteCreate,
    now: datetime,
    *,
    field_prefix: str = "",
) -> tuple[SiteRow, list[DeviceRow]]:
    """Insert a site (and its nested devices) and queue their upstream work."""
    if data.parent_site_id is not None:
        parent = await session.get(SiteRow, data.parent_site_id)
        if parent is None or parent.deleted_at is not None or parent.customer_id != customer.id:
            raise InvalidError(
                "parentSiteId must name a site of the same customer",
                field=f"{field_prefix}parentSiteId",
            )
    for index, device in enumerate(data.devices):
        check_device_fields(
            device.kind,
            {"medium": device.medium, "meter_point_id": device.meter_point_id,
             "meter_number": device.meter_number},
            f"{field_prefix}devices[{index}].",
        )
    site = SiteRow(**site_values(customer.id, data, now))
    session.add(site)
    planner.mark_new(site.id)
    await plan_entity_upsert(planner, customer, EntityType.SITE, site)
    devices: list[DeviceRow] = []
    for device_data in data.devices:
        device_row = DeviceRow(**device_values(customer.id, site.id, device_data, now))
        session.add(device_row)
        planner.mark_new(device_row.id)
        await plan_entity_upsert(planner, customer, EntityType.DEVICE, device_row)
        devices.append(device_row)
    return site, devices


async def add_device(
    session: AsyncSession,
    planner: OutboxPlanner,
    customer: CustomerRow,
    site: SiteRow | None,
    data: s.DeviceCreate | s.VehicleCreate,
    now: datetime,
) -> DeviceRow:
    if isinstance(data, s.DeviceCreate):
        check_device_fields(
            data.kind,
            {"medium": data.medium, "meter_point_id": data.meter_point_id,
             "meter_number": data.meter_number},
        )
    device = DeviceRow(**device_values(customer.id, site.id if site else None, data, now))
    session.add(device)
    planner.mark_new(device.id)
    await plan_entity_upsert(planner, customer, EntityType.DEVICE, device)
    return device


RefPaths = list[tuple[str, str]]


def tree_refs(data: s.CustomerCreate, prefix: str = "") -> tuple[RefPaths, RefPaths]:
    """The site and device externalRefs of a nested create, with their field paths."""
    sites = [(site.external_ref, f"{prefix}sites[{i}].externalRef") for i, site in enumerate(data.sites)]
    devices = [
        (device.external_ref, f"{prefix}sites[{i}].devices[{j}].externalRef")
        for i, site in enumerate(data.sites)
        for j, device in enumerate(site.devices)
    ] + [(v.external_ref, f"{prefix}vehicles[{k}].externalRef") for k, v in enumerate(data.vehicles)]
    return sites, devices


def add_customer(fresh: FreshTrees, data: s.CustomerCreate, now: datetime) -> dict[str, Any]:
    """Plan a new customer with its nested sites, devices and vehicles into ``fresh``.

    Everything is checked before anything is added, so a refused customer leaves
    ``fresh`` as it was. externalRefs are checked by the caller
    (:func:`check_refs_free`), in bulk for batches.
    """
    for i, site in enumerate(data.sites):
        if site.parent_site_id is not None:
            raise InvalidError(
                "a site nested in a new customer cannot name a parent site",
                field=f"sites[{i}].parentSiteId",
            )
        for j, device in enumerate(site.devices):
            check_device_fields(
                device.kind,
                {"medium": device.medium, "meter_point_id": device.meter_point_id,
                 "meter_number": device.meter_number},
                f"sites[{i}].devices[{j}].",
            )
    providers = list(dict.fromkeys(p.value for p in data.providers))
    customer: dict[str, Any] = {
        "id": new_id(), "external_ref": data.external_ref, "name": data.name, "email": data.email,
        "providers": providers, "created_at": now, "updated_at": now, "deleted_at": None,
    }
    fresh.add("customers", customer, providers=providers)
    for site_data in data.sites:
        site_row = site_values(customer["id"], site_data, now)
        fresh.add("sites", site_row, providers=providers)
        for device_data in site_data.devices:
            fresh.add("devices", device_values(customer["id"], site_row["id"], device_data, now),
                      providers=providers)
    for vehicle in data.vehicles:
        fresh.add("devices", device_values(customer["id"], None, vehicle, now), providers=providers)
    return customer


# --- updates -----------------------------------------------------------------------------


def apply_changes(row: Any, changes: dict[str, Any]) -> bool:
    """Set the given attributes; say whether anything changed."""
    changed = False
    for name, value in changes.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


async def live_links(planner: OutboxPlanner, entity_id: str, providers: Iterable[str]) -> list[Provider]:
    """Providers at which the entity exists or is on its way (not deleting or deleted)."""
    found = []
    for p in providers:
        link = await planner.link(entity_id, Provider(p))
        if link is not None and link.status not in (SyncStatus.DELETING.value, SyncStatus.DELETED.value):
            found.append(Provider(p))
    return found


async def customer_tree(
    session: AsyncSession, customer_id: str
) -> tuple[list[SiteRow], list[DeviceRow]]:
    sites = [
        row for row in await session.exec(
            select(SiteRow).where(col(SiteRow.customer_id) == customer_id, col(SiteRow.deleted_at).is_(None))
        )
    ]
    devices = [
        row for row in await session.exec(
            select(DeviceRow).where(
                col(DeviceRow.customer_id) == customer_id, col(DeviceRow.deleted_at).is_(None)
            )
        )
    ]
    return sites, devices


async def update_customer(
    session: AsyncSession, planner: OutboxPlanner, row: CustomerRow, data: s.CustomerUpdate, now: datetime
) -> None:
    changes: dict[str, Any] = {}
    if data.external_ref is not UNSET and data.external_ref != row.external_ref:
        await check_refs_free(session, customers=[data.external_ref])
        changes["external_ref"] = data.external_ref
    if data.name is not UNSET:
        changes["name"] = data.name
    if data.email is not UNSET:
        changes["email"] = data.email
    old_providers = list(row.providers)
    if data.providers is not UNSET:
        changes["providers"] = list(dict.fromkeys(p.value for p in data.providers))
    if not apply_changes(row, changes):
        return
    row.updated_at = now
    if data.providers is UNSET:
        return
    added = [p for p in row.providers if p not in old_providers]
    removed = [p for p in old_providers if p not in row.providers]
    sites, devices = await customer_tree(session, row.id)
    await lock_links(session, [row.id, *(site.id for site in sites), *(device.id for device in devices)])
    if added:
        await plan_entity_upsert(planner, row, EntityType.CUSTOMER, row, providers=added)
        for site in sorted(sites, key=lambda site: site.parent_site_id is not None):
            await plan_entity_upsert(planner, row, EntityType.SITE, site, providers=added)
        for device in devices:
            await plan_entity_upsert(planner, row, EntityType.DEVICE, device, providers=added,
                                     resend_site=False)
    if removed:
        await plan_tree_delete(planner, row, sites, devices, providers=removed, customer_too=True)


async def update_site(
    session: AsyncSession, planner: OutboxPlanner, customer: CustomerRow, row: SiteRow,
    data: s.SiteUpdate, now: datetime,
) -> None:
    changes: dict[str, Any] = {}
    if data.external_ref is not UNSET and data.external_ref != row.external_ref:
        await check_refs_free(session, sites=[(data.external_ref, "externalRef")])
        changes["external_ref"] = data.external_ref
    for name in ("name",):
        if getattr(data, name) is not UNSET:
            changes[name] = getattr(data, name)
    if data.kind is not UNSET:
        changes["kind"] = data.kind.value
        if data.category is UNSET and row.category == DEFAULT_CATEGORY[SiteKind(row.kind)].value:
            changes["category"] = DEFAULT_CATEGORY[data.kind].value
    if data.category is not UNSET:
        changes["category"] = data.category.value
    if data.address is not UNSET:
        changes.update(
            address_line1=data.address.line1, address_line2=data.address.line2,
            postcode=data.address.postcode, city=data.address.city, country=data.address.country,
        )
    if data.coordinates is not UNSET:
        changes["latitude"] = data.coordinates.latitude if data.coordinates else None
        changes["longitude"] = data.coordinates.longitude if data.coordinates else None
    if data.meter_point_ids is not UNSET:
        changes["meter_point_ids"] = list(dict.fromkeys(data.meter_point_ids))
    if data.parent_site_id is not UNSET:
        if data.parent_site_id is not None:
            if data.parent_site_id == row.id:
                raise InvalidError("a site cannot be its own parent", field="parentSiteId")
            parent = await session.get(SiteRow, data.parent_site_id)
            if parent is None or parent.deleted_at is not None or parent.customer_id != row.customer_id:
                raise InvalidError("parentSiteId must name a site of the same customer",
                                   field="parentSiteId")
        changes["parent_site_id"] = data.parent_site_id
    if not apply_changes(row, changes):
        return
    row.updated_at = now
    providers = await live_links(planner, row.id, customer.providers)
    await plan_entity_upsert(planner, customer, EntityType.SITE, row, providers=providers)


async def update_device(
    session: AsyncSession, planner: OutboxPlanner, customer: CustomerRow, row: DeviceRow,
    data: s.DeviceUpdate, now: datetime,
) -> None:
    changes: dict[str, Any] = {}
    if data.external_ref is not UNSET and data.external_ref != row.external_ref:
        await check_refs_free(session, devices=[(data.external_ref, "externalRef")])
        changes["external_ref"] = data.external_ref
    for name in ("name", "is_main", "meter_number", "meter_point_id", "brand", "model", "year",
                 "vin", "capacity"):
        value = getattr(data, name)
        if value is not UNSET:
            changes[name] = value
    if data.medium is not UNSET:
        changes["medium"] = data.medium.value if data.medium else None
    kind = DeviceKind(row.kind)
    merged = {name: changes.get(name, getattr(row, name))
              for name in ("medium", "meter_point_id", "meter_number")}
    if kind is not DeviceKind.VEHICLE:
        check_device_fields(kind, merged)
    if not changes:
        return
    await lock_links(session, [row.id, *([row.site_id] if row.site_id else [])])
    if not apply_changes(row, changes):
        return
    row.updated_at = now
    providers = await live_links(planner, row.id, customer.providers)
    await plan_entity_upsert(planner, customer, EntityType.DEVICE, row, providers=providers)


# --- deletes -----------------------------------------------------------------------------


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


async def delete_customer(
    session: AsyncSession, planner: OutboxPlanner, row: CustomerRow, now: datetime
) -> None:
    sites, devices = await customer_tree(session, row.id)
    await lock_links(session, [row.id, *(site.id for site in sites), *(device.id for device in devices)])
    for item in [row, *sites, *devices]:
        item.deleted_at = now
        item.updated_at = now
    await plan_tree_delete(planner, row, sites, devices, providers=row.providers, customer_too=True)


async def delete_site(
    session: AsyncSession, planner: OutboxPlanner, customer: CustomerRow, row: SiteRow, now: datetime
) -> None:
    children = [
        site for site in await session.exec(
            select(SiteRow).where(col(SiteRow.parent_site_id) == row.id, col(SiteRow.deleted_at).is_(None))
        )
    ]
    if children:
        raise ConflictError(
            f"site has {len(children)} child site(s); delete or move them first", field=None
        )
    devices = [
        device for device in await session.exec(
            select(DeviceRow).where(col(DeviceRow.site_id) == row.id, col(DeviceRow.deleted_at).is_(None))
        )
    ]
    await lock_links(session, [row.id, *(device.id for device in devices)])
    for item in [row, *devices]:
        item.deleted_at = now
        item.updated_at = now
    await plan_tree_delete(planner, customer, [row], devices, providers=customer.providers,
                           customer_too=False)


async def delete_device(
    session: AsyncSession, planner: OutboxPlanner, customer: CustomerRow, row: DeviceRow, now: datetime
) -> None:
    await lock_links(session, [row.id, *([row.site_id] if row.site_id else [])])
    row.deleted_at = now
    row.updated_at = now
    await plan_tree_delete(planner, customer, [], [row], providers=customer.providers,
                           customer_too=False)
    if row.kind == DeviceKind.METER.value and row.site_id:
        await plan_site_meter_change(planner, customer, row.site_id)
