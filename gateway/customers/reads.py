"""Reads of customers, sites and devices and their API projections.

The fast read path fetches a record and its provider links in one raw statement
(:func:`read_with_links`); the ``*_read`` functions turn rows and links into the
API's shapes. :func:`sync_view` is the ``sync`` member every record shows.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, NamedTuple

from sqlalchemy import TextualSelect, bindparam, column, text
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.clock import as_utc
from gateway.core.domain import (
    DeviceKind,
    Medium,
    ProgrammeStatus,
    Provider,
    SiteKind,
    SpaceCategory,
    SyncStatus,
)
from gateway.core.errors import NotFoundError
from gateway.core.wire import ProviderSync
from gateway.customers import schemas as s
from gateway.customers.programme_views import PROGRAMME_PROVIDERS
from gateway.store.db import chunked
from gateway.store.tables import CustomerRow, DeviceRow, OutboxTaskRow, ProviderLinkRow, SiteRow, table_of


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


async def links_for(session: AsyncSession, ids: Iterable[str]) -> dict[str, list[ProviderLinkRow]]:
    """Provider links of many entities in one query."""
    wanted = list(ids)
    found: dict[str, list[ProviderLinkRow]] = defaultdict(list)
    for chunk in chunked(wanted):
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


_RETRY_SHOWN_FOR = frozenset({SyncStatus.PENDING, SyncStatus.SYNCED, SyncStatus.DRIFTED})
"""Stored statuses a failed, queued change shows as ``retrying`` (a delete keeps ``deleting``)."""
_WAITING = frozenset({SyncStatus.PENDING, SyncStatus.RETRYING, SyncStatus.DELETING})

_TASKS = table_of(OutboxTaskRow)
_NEXT_TRIES = text(
    "SELECT entity_id, provider, MIN(run_after) AS next_at FROM outbox_tasks "
    "WHERE entity_id IN :ids AND status = 'pending' AND last_error IS NOT NULL "
    "GROUP BY entity_id, provider"
).bindparams(bindparam("ids", expanding=True)).columns(
    _TASKS.c.entity_id, _TASKS.c.provider, column("next_at", _TASKS.c.run_after.type))


@dataclass(frozen=True)
class Waiting:
    """What the records of one answer wait on upstream: when each failed change is tried
    again (by entity and provider), and each provider's circuit that is not closed."""

    next_tries: Mapping[str, Mapping[str, datetime]] = field(default_factory=dict)
    """By record id, then provider."""
    circuits: Mapping[str, str] = field(default_factory=dict)

    def tries_of(self, entity_id: str) -> Mapping[str, datetime]:
        """When one record's failed changes are sent again, by provider."""
        return self.next_tries.get(entity_id, {})


NOT_WAITING = Waiting()


async def next_tries(conn: AsyncConnection | AsyncSession, ids: Iterable[str]
                     ) -> dict[str, dict[str, datetime]]:
    """When each queued change of these records that failed before is sent again, by record id
    and provider: the earliest ``run_after`` of its pending tasks with an error."""
    found: dict[str, dict[str, datetime]] = defaultdict(dict)
    for chunk in chunked(list(ids), postgres=False):
        for entity_id, provider, next_at in (await conn.execute(_NEXT_TRIES, {"ids": chunk})).all():
            found[entity_id][provider] = next_at.astimezone(UTC)
    return found


def sync_view(links: Sequence[ProviderLinkRow | LinkView], *,
              tries: Mapping[str, datetime] | None = None,
              circuits: Mapping[str, str] | None = None) -> dict[str, ProviderSync]:
    """Each provider's sync of a record; ``tries``: when its failed changes are sent again, by
    provider (those show ``retrying``); ``circuits``: providers whose circuit is not closed."""
    tries = tries or {}
    circuits = circuits or {}
    views: dict[str, ProviderSync] = {}
    for link in sorted(links, key=lambda link: link.provider):
        status = SyncStatus(link.status)
        next_at = tries.get(link.provider)
        if next_at is not None and status in _RETRY_SHOWN_FOR:
            status = SyncStatus.RETRYING
        views[link.provider] = ProviderSync(
            status=status,
            external_id=link.external_id,
            attempts=link.attempts,
            last_error=link.last_error,
            synced_at=as_utc(link.synced_at),
            blocked_by=link.blocked_by,
            blocked_reason=link.blocked_reason,
            next_attempt_at=next_at,
            circuit=circuits.get(link.provider) if status in _WAITING or next_at is not None else None,
        )
    return views


def customer_read(row: CustomerRow, links: Sequence[ProviderLinkRow | LinkView],
                  programmes: dict[str, s.ProgrammeRead] | None = None, *,
                  waiting: Waiting = NOT_WAITING) -> s.CustomerRead:
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
        sync=sync_view(links, tries=waiting.tries_of(row.id), circuits=waiting.circuits),
        programmes=programmes,
    )


def site_read(row: SiteRow, links: Sequence[ProviderLinkRow | LinkView],
              compensation: dict[str, s.SiteCompensationRead] | None = None, *,
              waiting: Waiting = NOT_WAITING) -> s.SiteRead:
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
        sync=sync_view(links, tries=waiting.tries_of(row.id), circuits=waiting.circuits),
        compensation=compensation or {},
    )


def device_read(row: DeviceRow, links: Sequence[ProviderLinkRow | LinkView], *,
                waiting: Waiting = NOT_WAITING) -> s.DeviceRead:
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
        sync=sync_view(links, tries=waiting.tries_of(row.id), circuits=waiting.circuits),
    )


def as_record(values: dict[str, Any]) -> SimpleNamespace:
    """Column values read like a row, for the ``*_read`` functions."""
    return SimpleNamespace(**values)


def link_views(links: Sequence[dict[str, Any]]) -> list[LinkView]:
    return [LinkView(*(link[name] for name in LinkView._fields)) for link in links]
