"""Turning claimed outbox tasks into adapter operations: load the entities and their context."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple, TypedDict, cast

import msgspec
from sqlalchemy import Table
from sqlalchemy import select as core_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.domain import (
    Address,
    Coordinates,
    Customer,
    Device,
    DeviceKind,
    EntityType,
    Medium,
    Provider,
    Site,
    SiteKind,
    SpaceCategory,
    SyncStatus,
    TaskAction,
)
from gateway.store.db import among, chunked, on_postgres
from gateway.store.tables import CustomerRow, DeviceRow, OutboxTaskRow, ProviderLinkRow, SiteRow, table_of
from providers.base import Operation
from providers.registry import CAPABILITIES

Record = tuple[Any, ...]
"""A customer, site or device row as the hot path reads it: plain columns by position, no ORM
entity."""


_PROVIDERS = {m.value: m for m in Provider}
_SITE_KINDS = {m.value: m for m in SiteKind}
_CATEGORIES = {m.value: m for m in SpaceCategory}
_DEVICE_KINDS = {m.value: m for m in DeviceKind}
_MEDIA = {m.value: m for m in Medium}
_ACTIONS = {m.value: m for m in TaskAction}
_CUSTOMER, _SITE, _DEVICE = EntityType.CUSTOMER.value, EntityType.SITE.value, EntityType.DEVICE.value
"""Each enum's members by value: a dictionary lookup per column instead of the enum's call,
which was a noticeable share of preparing a round."""


CUSTOMER_COLUMNS = ("id", "external_ref", "name", "email", "providers")
SITE_COLUMNS = ("id", "customer_id", "external_ref", "name", "kind", "category", "address_line1",
                "address_line2", "postcode", "city", "country", "latitude", "longitude",
                "meter_point_ids", "parent_site_id")
DEVICE_COLUMNS = ("id", "customer_id", "site_id", "external_ref", "kind", "name", "medium", "is_main",
                  "meter_number", "meter_point_id", "brand", "model", "year", "vin", "capacity")
"""The columns a round reads of each record, in this order: the rows are read by position
(an attribute of a row costs about fifteen times an index, and a record has fifteen)."""
_SITE_ID, _PARENT_SITE_ID = 2, 14
"""Positions of a device's ``site_id`` and a site's ``parent_site_id`` in their rows."""


def to_customer(row: Record) -> Customer:
    """A customer from a row of :data:`CUSTOMER_COLUMNS`."""
    id_, external_ref, name, email, providers = row
    return Customer(id=id_, external_ref=external_ref, name=name, email=email,
                    providers=tuple(_PROVIDERS[p] for p in providers))


def to_site(row: Record) -> Site:
    """A site from a row of :data:`SITE_COLUMNS`."""
    (id_, customer_id, external_ref, name, kind, category, line1, line2, postcode, city, country,
     latitude, longitude, meter_point_ids, parent_site_id) = row
    coordinates = None
    if latitude is not None and longitude is not None:
        coordinates = Coordinates(latitude=latitude, longitude=longitude)
    return Site(
        id=id_, customer_id=customer_id, external_ref=external_ref, name=name,
        kind=_SITE_KINDS[kind], category=_CATEGORIES[category],
        address=Address(line1=line1, line2=line2, postcode=postcode, city=city, country=country),
        coordinates=coordinates, meter_point_ids=tuple(meter_point_ids),
        parent_site_id=parent_site_id,
    )


def to_device(row: Record) -> Device:
    """A device from a row of :data:`DEVICE_COLUMNS`."""
    (id_, customer_id, site_id, external_ref, kind, name, medium, is_main, meter_number,
     meter_point_id, brand, model, year, vin, capacity) = row
    return Device(
        id=id_, customer_id=customer_id, site_id=site_id, external_ref=external_ref,
        kind=_DEVICE_KINDS[kind], name=name, medium=_MEDIA[medium] if medium else None,
        is_main=is_main, meter_number=meter_number, meter_point_id=meter_point_id,
        brand=brand, model=model, year=year, vin=vin, capacity=capacity,
    )


_CUSTOMERS, _SITES, _DEVICES, _LINKS = (table_of(m) for m in (CustomerRow, SiteRow, DeviceRow,
                                                                ProviderLinkRow))



async def _by_id(session: AsyncSession, table: Table, columns: Sequence[str],
                 ids: set[str]) -> dict[str, Record]:
    """The rows of ``table`` with these ids, ``columns`` (the first is the id) in that order,
    as plain rows (Core: no identity map, no entities)."""
    found: dict[str, Record] = {}
    postgres = on_postgres(session)
    for part in chunked(sorted(ids), postgres=postgres):
        rows = await session.execute(core_select(*(table.c[name] for name in columns))
                                     .where(among(table.c.id, part, postgres=postgres)))
        found.update((row[0], tuple(row)) for row in rows)
    return found


async def _externals(session: AsyncSession, provider: Provider, ids: set[str]) -> dict[str, str | None]:
    """The provider ids of these entities' links (an entity without a link is left out)."""
    found: dict[str, str | None] = {}
    postgres = on_postgres(session)
    for part in chunked(sorted(ids), postgres=postgres):
        rows = await session.execute(
            core_select(_LINKS.c.entity_id, _LINKS.c.external_id)
            .where(_LINKS.c.provider == provider.value, among(_LINKS.c.entity_id, part, postgres=postgres)))
        found.update((entity_id, external_id) for entity_id, external_id in rows)
    return found


_ENDING = (SyncStatus.DELETING.value, SyncStatus.DELETED.value)


async def _not_to_recreate(session: AsyncSession, provider: Provider,
                           ids_by_type: dict[str, set[str]]) -> set[str]:
    """Of these records (by entity type), the ones deleted here or with a delete queued or done
    at ``provider`` (their link deleting or deleted): an update that finds their object gone
    upstream must not create it again."""
    found: set[str] = set()
    postgres = on_postgres(session)
    for entity_type, ids in ids_by_type.items():
        for part in chunked(sorted(ids), postgres=postgres):
            table = _SITES if entity_type == _SITE else _DEVICES if entity_type == _DEVICE else _CUSTOMERS
            rows = await session.execute(core_select(table.c.id).where(
                among(table.c.id, part, postgres=postgres), table.c.deleted_at.is_not(None)))
            found.update(entity_id for (entity_id,) in rows)
            rows = await session.execute(core_select(_LINKS.c.entity_id).where(
                _LINKS.c.provider == provider.value, among(_LINKS.c.entity_id, part, postgres=postgres),
                _LINKS.c.status.in_(_ENDING)))
            found.update(entity_id for (entity_id,) in rows)
    return found


class _TaskColumns(NamedTuple):
    """What preparing reads of a claimed task."""

    id: str
    entity_type: str
    entity_id: str
    action: str
    attempts: int
    maybe_sent: bool
    sent_keys: str | None


class _Common(TypedDict):
    """The fields every operation of a task has, whatever its entity."""

    task_id: str
    action: TaskAction
    external_id: str | None
    attempt: int
    maybe_sent: bool
    sent_keys: tuple[str, ...]
    taken_external_ids: frozenset[str]
    round_id: str
    recreate_if_gone: bool


class Prepared:
    """Operations ready for the adapter, and the tasks that could not be prepared (with why)."""

    def __init__(self) -> None:
        self.operations: dict[str, Operation] = {}
        self.unpreparable: dict[str, str] = {}


async def _unanswered_creates(session: AsyncSession, provider: Provider,
                              entity_ids: Sequence[str]) -> dict[str, list[str]]:
    """For entities about to be deleted with no provider id: the ``sent_keys`` of their upserts
    (what their creates, answered or not, may have made), so that the delete removes it."""
    found: dict[str, list[str]] = {}
    for part in chunked(entity_ids):
        rows = await session.exec(
            select(col(OutboxTaskRow.entity_id), col(OutboxTaskRow.sent_keys)).where(
                col(OutboxTaskRow.provider) == provider.value,
                col(OutboxTaskRow.action) == TaskAction.UPSERT.value,
                col(OutboxTaskRow.sent_keys).is_not(None),
                col(OutboxTaskRow.entity_id).in_(part),
            )
        )
        for entity_id, keys in rows:
            found.setdefault(entity_id, []).extend(msgspec.json.decode(keys) if keys else [])
    return found


async def prepare(session: AsyncSession, provider: Provider, tasks: Sequence[OutboxTaskRow], *,
                  round_id: str = "") -> Prepared:
    """Load everything the tasks' operations need, in a handful of queries."""
    prepared = Prepared()
    # Each task's columns once: an attribute of a mapped row costs a descriptor call per read.
    columns = [_TaskColumns(t.id, t.entity_type, t.entity_id, t.action, t.attempts, t.maybe_sent,
                            t.sent_keys) for t in tasks]
    ids_by_type: dict[str, set[str]] = defaultdict(set)
    for task in columns:
        ids_by_type[task.entity_type].add(task.entity_id)
    customers = await _by_id(session, _CUSTOMERS, CUSTOMER_COLUMNS, ids_by_type[EntityType.CUSTOMER.value])
    sites = await _by_id(session, _SITES, SITE_COLUMNS, ids_by_type[EntityType.SITE.value])
    devices = await _by_id(session, _DEVICES, DEVICE_COLUMNS, ids_by_type[EntityType.DEVICE.value])
    device_sites = {d[_SITE_ID] for d in devices.values() if d[_SITE_ID]} - set(sites)
    sites.update(await _by_id(session, _SITES, SITE_COLUMNS, device_sites))

    link_ids = set(customers) | set(sites) | set(devices)
    link_ids |= {s[_PARENT_SITE_ID] for s in sites.values() if s[_PARENT_SITE_ID]}
    links = await _externals(session, provider, link_ids)

    meter_ids: dict[str, list[str]] = defaultdict(list)
    if CAPABILITIES[provider].meters_on_site:
        postgres = on_postgres(session)
        for part in chunked(sorted(ids_by_type[EntityType.SITE.value]), postgres=postgres):
            meters = await session.execute(
                core_select(_DEVICES.c.site_id, _DEVICES.c.meter_point_id).where(
                    among(_DEVICES.c.site_id, part, postgres=postgres),
                    _DEVICES.c.kind == DeviceKind.METER.value,
                    _DEVICES.c.deleted_at.is_(None),
                    _DEVICES.c.meter_point_id.is_not(None),
                )
            )
            # Both columns are nullable, but the WHERE clause leaves out the rows where either is null.
            for site_id, meter_point_id in cast("Iterable[tuple[str, str]]", meters):
                meter_ids[site_id].append(meter_point_id)

    unsure = await _unanswered_creates(session, provider, [
        t.entity_id for t in columns
        if t.action == TaskAction.DELETE.value and links.get(t.entity_id) is None])
    updates: dict[str, set[str]] = defaultdict(set)
    for t in columns:
        if t.action == TaskAction.UPSERT.value and links.get(t.entity_id) is not None:
            updates[t.entity_type].add(t.entity_id)
    ending = await _not_to_recreate(session, provider, updates) if updates else set()
    taken: dict[str, frozenset[str]] = {}
    looking = {t.entity_type for t in columns
               if ((t.attempts > 1 or t.maybe_sent) and t.action == TaskAction.UPSERT.value
                   and links.get(t.entity_id) is None) or t.entity_id in unsure}
    for entity_type in looking:
        known = await session.exec(
            select(col(ProviderLinkRow.external_id)).where(
                col(ProviderLinkRow.provider) == provider.value,
                col(ProviderLinkRow.entity_type) == entity_type,
                col(ProviderLinkRow.external_id).is_not(None),
            )
        )
        # The column is nullable, but the WHERE clause leaves out the rows where it is null.
        taken[entity_type] = frozenset(cast("Iterable[str]", known))

    def external(entity_id: str | None) -> str | None:
        return links.get(entity_id) if entity_id else None

    for task in columns:
        action = _ACTIONS[task.action]
        sent_keys = tuple(msgspec.json.decode(task.sent_keys)) if task.sent_keys else ()
        earlier = unsure.get(task.entity_id) if action is TaskAction.DELETE else None
        if earlier is not None:
            sent_keys = tuple(dict.fromkeys([*sent_keys, *earlier]))
        common: _Common = {"task_id": task.id, "action": action, "external_id": external(task.entity_id),
                  "attempt": task.attempts - 1, "maybe_sent": task.maybe_sent or earlier is not None,
                  "sent_keys": sent_keys,
                  "taken_external_ids": taken.get(task.entity_type, frozenset()),
                  "round_id": round_id, "recreate_if_gone": task.entity_id not in ending}
        if task.entity_type == _CUSTOMER:
            row = customers.get(task.entity_id)
            if row is None:
                prepared.unpreparable[task.id] = "the customer no longer exists"
                continue
            prepared.operations[task.id] = Operation(entity=to_customer(row), **common)
        elif task.entity_type == _SITE:
            site_row = sites.get(task.entity_id)
            if site_row is None:
                prepared.unpreparable[task.id] = "the site no longer exists"
                continue
            site = to_site(site_row)
            merged = tuple(dict.fromkeys([*site.meter_point_ids, *sorted(meter_ids[site.id])]))
            prepared.operations[task.id] = Operation(
                entity=site, parent_external_id=external(site.parent_site_id), meter_point_ids=merged,
                **common,
            )
        else:
            device_row = devices.get(task.entity_id)
            if device_row is None:
                prepared.unpreparable[task.id] = "the device no longer exists"
                continue
            device = to_device(device_row)
            site_row = sites.get(device.site_id) if device.site_id else None
            prepared.operations[task.id] = Operation(
                entity=device, site=to_site(site_row) if site_row else None,
                parent_external_id=external(device.site_id), **common,
            )
    return prepared
