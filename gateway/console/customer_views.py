"""What the console's customer pages show: the customers list (sync status, problems, paging)
and one customer's page (its records by name with each provider's state and open task, its
tasks, its upstream calls with their bodies, invites and Volue membership). Nothing here writes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, or_
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.console.listing import Paging, count, paging, pretty
from gateway.core.clock import as_utc
from gateway.core.domain import SyncStatus, TaskStatus
from gateway.core.errors import NotFoundError
from gateway.customers import reads
from gateway.programmes.service import PROGRAMME
from gateway.store.db import chunked
from gateway.store.invite_tables import InviteRow
from gateway.store.programme_tables import ProgrammeMembershipRow
from gateway.store.tables import (
    CustomerRow,
    DeviceRow,
    OutboxTaskRow,
    ProviderLinkRow,
    SiteRow,
    UpstreamCallBodyRow,
    UpstreamCallRow,
)

OPEN_TASKS = (TaskStatus.PENDING.value, TaskStatus.RUNNING.value, TaskStatus.BLOCKED.value,
              TaskStatus.DEAD.value)
"""Tasks not finished: waiting, under way, or needing ops."""
NEEDS_OPS = (TaskStatus.DEAD.value, TaskStatus.BLOCKED.value)
TROUBLED_LINKS = (SyncStatus.FAILED.value, SyncStatus.BLOCKED.value, SyncStatus.DRIFTED.value)
"""A record's state at a provider that is a problem."""
SYNC_ORDER = (SyncStatus.FAILED.value, SyncStatus.BLOCKED.value, SyncStatus.DRIFTED.value,
              SyncStatus.PENDING.value, SyncStatus.DELETING.value, SyncStatus.SYNCED.value)
"""Link statuses, the worst first: a customer's sync status is its worst record's."""
CALLS_SHOWN = 50


def like_pattern(text: str) -> str:
    """``text`` as a LIKE pattern matching it anywhere, its wildcards taken literally (escape ``\\``)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# --- the customers list ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CustomerItem:
    customer: CustomerRow
    counts: dict[str, int]
    """Provider links of the customer's records by status."""
    open_problems: int
    """Dead and blocked tasks of the customer."""

    @property
    def sync(self) -> str:
        """The worst status of its records' links ("no records at any provider" when none)."""
        for status in SYNC_ORDER:
            if self.counts.get(status):
                return status
        return next(iter(self.counts), "none")


@dataclass(frozen=True, slots=True)
class CustomerList:
    items: list[CustomerItem]
    paging: Paging
    query: str
    problems_only: bool


def _owned_by_customer() -> Any:
    """The ids of every record of the customer in the outer query (customer, sites, devices)."""
    return or_(
        col(ProviderLinkRow.entity_id) == CustomerRow.id,
        col(ProviderLinkRow.entity_id).in_(sa_select(col(SiteRow.id)).where(
            col(SiteRow.customer_id) == CustomerRow.id)),
        col(ProviderLinkRow.entity_id).in_(sa_select(col(DeviceRow.id)).where(
            col(DeviceRow.customer_id) == CustomerRow.id)),
    )


def has_problems() -> Any:
    """A condition on ``customers``: a dead or blocked task, or a record failed, blocked or drifted
    that ops did not dismiss (a record whose failed task was dismissed since it failed keeps its
    status, but the problem is known and set aside)."""
    dismissed_since = exists().where(
        col(OutboxTaskRow.entity_id) == ProviderLinkRow.entity_id,
        col(OutboxTaskRow.provider) == ProviderLinkRow.provider,
        col(OutboxTaskRow.status) == TaskStatus.DISMISSED.value,
        col(OutboxTaskRow.updated_at) >= ProviderLinkRow.updated_at)
    return or_(
        exists().where(col(OutboxTaskRow.customer_id) == CustomerRow.id,
                       col(OutboxTaskRow.status).in_(NEEDS_OPS)),
        exists().where(col(ProviderLinkRow.status).in_(TROUBLED_LINKS), _owned_by_customer(),
                       ~dismissed_since),
    )


async def list_customers(session: AsyncSession, query: str, *, problems_only: bool = False,
                         page: int = 1) -> CustomerList:
    """Customers not deleted whose name, email or externalRef holds ``query`` (any case), a page
    of them with their sync status, and how many match in all."""
    statement = select(CustomerRow).where(col(CustomerRow.deleted_at).is_(None))
    if query:
        pattern = like_pattern(query.lower())
        statement = statement.where(or_(
            func.lower(CustomerRow.name).like(pattern, escape="\\"),
            func.lower(CustomerRow.email).like(pattern, escape="\\"),
            func.lower(CustomerRow.external_ref).like(pattern, escape="\\"),
        ))
    if problems_only:
        statement = statement.where(has_problems())
    total = await count(session, statement)
    where = paging(page, total, "/console/customers", ("q", query),
                   ("problems", "1" if problems_only else ""))
    rows = list(await session.exec(statement.order_by(col(CustomerRow.name), col(CustomerRow.id))
                                   .offset(where.offset).limit(where.per_page)))
    counts = await sync_counts(session, [row.id for row in rows])
    problems = await _problem_tasks(session, [row.id for row in rows])
    items = [CustomerItem(row, counts.get(row.id, {}), problems.get(row.id, 0)) for row in rows]
    return CustomerList(items=items, paging=where, query=query, problems_only=problems_only)


async def sync_counts(session: AsyncSession, customer_ids: list[str]) -> dict[str, dict[str, int]]:
    """Per customer: the provider links of its records (itself, sites, devices) by status."""
    found: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    if not customer_ids:
        return found
    link = ProviderLinkRow
    owners: list[tuple[Any, Any]] = [
        (col(CustomerRow.id), col(CustomerRow.id)),
        (col(SiteRow.customer_id), col(SiteRow.id)),
        (col(DeviceRow.customer_id), col(DeviceRow.id)),
    ]
    for owner, entity in owners:
        table = entity.class_
        rows = await session.execute(
            sa_select(owner, col(link.status), func.count())
            .select_from(table).join(link, col(link.entity_id) == entity)
            .where(owner.in_(customer_ids), col(table.deleted_at).is_(None))
            .group_by(owner, col(link.status)))
        for customer_id, status, number in rows.all():
            found[customer_id][status] += number
    return found


async def _problem_tasks(session: AsyncSession, customer_ids: list[str]) -> dict[str, int]:
    if not customer_ids:
        return {}
    rows = await session.execute(
        sa_select(col(OutboxTaskRow.customer_id), func.count())
        .where(col(OutboxTaskRow.customer_id).in_(customer_ids), col(OutboxTaskRow.status).in_(NEEDS_OPS))
        .group_by(col(OutboxTaskRow.customer_id)))
    return {customer_id: number for customer_id, number in rows.all()}


# --- one customer ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LinkState:
    """Where one record stands at one provider, with the task that is still working on it."""

    link: ProviderLinkRow
    task: OutboxTaskRow | None


@dataclass(slots=True)
class Node:
    """One record of a customer's tree with its provider states and its children."""

    kind: str
    id: str
    external_ref: str
    name: str
    detail: str
    links: list[LinkState]
    children: list[Node] = field(default_factory=list)
    is_meter: bool = False


@dataclass(frozen=True, slots=True)
class CallView:
    """One upstream call of the customer's records, as the sync history shows it."""

    id: int
    at: datetime
    provider: str
    operation: str
    record: str
    """The record's name (its id when it is gone)."""
    entity_id: str
    entity_type: str
    task_id: str
    status: int | None
    latency_ms: float
    error: str | None
    request_body: str | None
    response_body: str | None
    trace_id: str | None

    @property
    def ok(self) -> bool:
        return self.status is not None and self.status < 400


@dataclass(frozen=True, slots=True)
class CustomerPage:
    customer: CustomerRow
    root: Node
    vehicles: list[Node]
    sites: list[SiteRow]
    names: dict[str, str]
    """Record ids (customer, sites, devices) to names."""
    tasks: list[OutboxTaskRow]
    """The customer's open tasks (pending, running, blocked, dead), the newest first."""
    calls: list[CallView]
    older_calls: int | None
    """The ``before`` value of the next page of calls (None: no older ones)."""
    invites: list[InviteRow]
    membership: ProgrammeMembershipRow | None = None
    """The customer's membership of Volue's programme (None: never enrolled nor checked)."""


def call_view(call: UpstreamCallRow, names: dict[str, str],
              bodies: dict[str, UpstreamCallBodyRow]) -> CallView:
    """A stored call for a page, with its bodies (as stored: redacted, perhaps cut) and trace id."""
    stored = bodies.get(call.body_id or "")
    cut = " (cut at the stored size)"
    request = pretty(stored.request_body) if stored else None
    response = pretty(stored.response_body) if stored else None
    if stored and request and stored.request_truncated:
        request += cut
    if stored and response and stored.response_truncated:
        response += cut
    return CallView(
        id=call.id or 0, at=as_utc(call.at), provider=call.provider, operation=f"{call.method} {call.route}",
        record=names.get(call.entity_id, call.entity_id), entity_id=call.entity_id,
        entity_type=call.entity_type, task_id=call.task_id, status=call.status, latency_ms=call.latency_ms,
        error=call.error, request_body=request, response_body=response, trace_id=call.trace_id)


async def call_views(session: AsyncSession, calls: list[UpstreamCallRow],
                     names: dict[str, str]) -> list[CallView]:
    """Calls for a page with the bodies they keep, read in one query."""
    body_ids = list({call.body_id for call in calls if call.body_id})
    bodies: dict[str, UpstreamCallBodyRow] = {}
    if body_ids:
        bodies = {row.id: row for row in await session.exec(
            select(UpstreamCallBodyRow).where(col(UpstreamCallBodyRow.id).in_(body_ids)))}
    return [call_view(call, names, bodies) for call in calls]


async def open_tasks_by_record(session: AsyncSession,
                               entity_ids: Iterable[str]) -> dict[tuple[str, str], OutboxTaskRow]:
    """The newest open task of each (record, provider)."""
    wanted = list(entity_ids)
    found: dict[tuple[str, str], OutboxTaskRow] = {}
    for part in chunked(wanted):
        rows = await session.exec(select(OutboxTaskRow).where(
            col(OutboxTaskRow.entity_id).in_(part),
            col(OutboxTaskRow.status).in_(OPEN_TASKS)).order_by(col(OutboxTaskRow.created_at)))
        for task in rows:
            found[(task.entity_id, task.provider)] = task
    return found


async def customer_page(session: AsyncSession, customer_id: str, *,
                        before: int | None = None) -> CustomerPage:
    customer = await session.get(CustomerRow, customer_id)
    if customer is None or customer.deleted_at is not None:
        raise NotFoundError(f"customer {customer_id} not found")
    sites = list(await session.exec(select(SiteRow).where(
        col(SiteRow.customer_id) == customer_id, col(SiteRow.deleted_at).is_(None))
        .order_by(col(SiteRow.name))))
    devices = list(await session.exec(select(DeviceRow).where(
        col(DeviceRow.customer_id) == customer_id, col(DeviceRow.deleted_at).is_(None))
        .order_by(col(DeviceRow.name))))
    ids = [customer.id, *(s.id for s in sites), *(d.id for d in devices)]
    links = await reads.links_for(session, ids)
    working = await open_tasks_by_record(session, ids)

    def states(entity_id: str) -> list[LinkState]:
        return [LinkState(link, working.get((entity_id, link.provider)))
                for link in sorted(links.get(entity_id, []), key=lambda link: link.provider)]

    names = {customer.id: customer.name, **{s.id: s.name for s in sites}, **{d.id: d.name for d in devices}}
    root = Node("customer", customer.id, customer.external_ref, customer.name, customer.email,
                states(customer.id))
    site_nodes = {s.id: Node("site", s.id, s.external_ref, s.name, f"{s.kind}, {s.city}", states(s.id))
                  for s in sites}
    for site in sites:
        parent = site_nodes.get(site.parent_site_id or "") or root
        parent.children.append(site_nodes[site.id])
    vehicles: list[Node] = []
    for device in devices:
        detail = device.kind + (f", {device.medium}" if device.medium else "") + (
            f", {device.meter_point_id}" if device.meter_point_id else "")
        node = Node(device.kind, device.id, device.external_ref, device.name, detail, states(device.id),
                    is_meter=device.kind == "meter")
        if device.site_id and device.site_id in site_nodes:
            site_nodes[device.site_id].children.append(node)
        else:
            vehicles.append(node)
    tasks = list(await session.exec(select(OutboxTaskRow).where(
        col(OutboxTaskRow.customer_id) == customer_id, col(OutboxTaskRow.status).in_(OPEN_TASKS))
        .order_by(col(OutboxTaskRow.updated_at).desc()).limit(200)))
    calls_query = select(UpstreamCallRow).where(col(UpstreamCallRow.customer_id) == customer_id)
    if before is not None:
        calls_query = calls_query.where(col(UpstreamCallRow.id) < before)
    stored = list(await session.exec(calls_query.order_by(col(UpstreamCallRow.id).desc())
                                     .limit(CALLS_SHOWN + 1)))
    calls = await call_views(session, stored[:CALLS_SHOWN], names)
    older = calls[-1].id if len(stored) > CALLS_SHOWN else None
    invites = list(await session.exec(select(InviteRow).where(col(InviteRow.customer_id) == customer_id)
                                      .order_by(col(InviteRow.created_at).desc()).limit(50)))
    membership = await session.get(ProgrammeMembershipRow, (customer_id, PROGRAMME))
    return CustomerPage(customer=customer, root=root, vehicles=vehicles, sites=sites, names=names,
                        tasks=tasks, calls=calls, older_calls=older, invites=invites, membership=membership)
