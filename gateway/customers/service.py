"""What the API, the console and the CLI share about customers and their sync.

Creating customers (one, or a batch validated item by item), sending dead tasks again
and resyncing a record: each runs inside the caller's unit of work (the caller commits)
and answers records or result shapes the callers show their own way. A dismissal as the
API and the console answer it, and each provider's circuit as this process sees it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, cast

import msgspec
from litestar.datastructures import State
from msgspec import Meta
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.domain import EntityType, TaskStatus
from gateway.core.errors import ConflictError, GatewayError, InvalidError, NotFoundError
from gateway.core.wire import Wire
from gateway.customers import locks, planning, reads, writes
from gateway.customers import schemas as s
from gateway.customers.sync.fresh import FreshTrees
from gateway.http.deps import decode
from gateway.outbox.circuit import CircuitView, SharedCircuits
from gateway.outbox.dismiss import Dismissal
from gateway.outbox.plan import OutboxPlanner
from gateway.outbox.queues import QUEUES
from gateway.runtime.process import Runtime
from gateway.store.tables import CustomerRow, DeviceRow, OutboxTaskRow, SiteRow

# --- creates -------------------------------------------------------------------------------


async def create_customer(session: AsyncSession, planner: OutboxPlanner, data: s.CustomerCreate
                          ) -> s.CustomerCreated:
    """Insert a customer with its nested sites, devices and vehicles and queue their upstream work."""
    fresh = FreshTrees(planner.now)
    customer = writes.add_customer(fresh, data, planner.now)
    try:
        await fresh.insert(session)
    except IntegrityError:
        # A unique externalRef index refused the tree (the rare case, so it is not
        # looked up first): name the externalRef at fault with a 409.
        await session.rollback()
        sites, devices = writes.tree_refs(data)
        await writes.check_refs_free(session, customers=[data.external_ref], sites=sites,
                                      devices=devices)
        raise
    planner.wake(fresh.queued)
    return _created(fresh, customer)


async def create_many(
    session: AsyncSession, planner: OutboxPlanner, raws: list[msgspec.Raw]
) -> s.CustomerBatchResult:
    """Validate every item on its own, check externalRefs in bulk, insert the good ones."""
    results: list[s.BatchItemResult | None] = [None] * len(raws)
    valid: list[tuple[int, s.CustomerCreate]] = []
    for index, raw in enumerate(raws):
        try:
            valid.append((index, decode(bytes(raw), s.CustomerCreate)))
        except InvalidError as exc:
            results[index] = _failed(index, exc)
    taken_customers = await writes.refs_in_use(session, CustomerRow, [d.external_ref for _, d in valid])
    seen: set[str] = set()
    good: list[tuple[int, s.CustomerCreate]] = []
    for index, data in valid:
        if data.external_ref in taken_customers or data.external_ref in seen:
            results[index] = _failed(index, ConflictError(
                f"a customer with externalRef {data.external_ref!r} exists", field="externalRef"))
            continue
        seen.add(data.external_ref)
        good.append((index, data))
    site_refs = {ref for _, d in good for ref, _ in writes.tree_refs(d)[0]}
    device_refs = {ref for _, d in good for ref, _ in writes.tree_refs(d)[1]}
    taken_sites = await writes.refs_in_use(session, SiteRow, sorted(site_refs))
    taken_devices = await writes.refs_in_use(session, DeviceRow, sorted(device_refs))
    seen_sites: set[str] = set()
    seen_devices: set[str] = set()
    fresh = FreshTrees(planner.now)
    rows: list[tuple[int, dict[str, Any]]] = []
    for index, data in good:
        sites, devices = writes.tree_refs(data)
        clash = next(((ref, path) for ref, path in sites if ref in taken_sites or ref in seen_sites), None)
        clash = clash or next(
            ((ref, path) for ref, path in devices if ref in taken_devices or ref in seen_devices), None
        )
        if clash is not None:
            results[index] = _failed(index, ConflictError(
                f"externalRef {clash[0]!r} is already in use", field=clash[1]))
            continue
        try:
            row = writes.add_customer(fresh, data, planner.now)
        except GatewayError as exc:
            results[index] = _failed(index, exc)
            continue
        seen_sites.update(ref for ref, _ in sites)
        seen_devices.update(ref for ref, _ in devices)
        rows.append((index, row))
    await fresh.insert(session)
    planner.wake(fresh.queued)
    children = _children(fresh)
    for index, row in rows:
        results[index] = s.BatchItemResult(index=index, status=201, customer=_created(fresh, row, children))
    done = [r for r in results if r is not None]
    created = sum(1 for r in done if r.status == 201)
    return s.CustomerBatchResult(created=created, failed=len(done) - created, results=done)


_Children = dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]]


def _children(fresh: FreshTrees) -> _Children:
    """The sites and devices planned in ``fresh``, by customer id."""
    found: _Children = {}
    for site in fresh.sites:
        found.setdefault(site["customer_id"], ([], []))[0].append(site)
    for device in fresh.devices:
        found.setdefault(device["customer_id"], ([], []))[1].append(device)
    return found


def _created(fresh: FreshTrees, customer: dict[str, Any], children: _Children | None = None
             ) -> s.CustomerCreated:
    """The new customer with the ids of the sites, devices and vehicles planned with it."""
    links = reads.link_views(fresh.links_by_entity[customer["id"]])
    # the namespace holds every CustomerRow column customer_read reads, without an ORM instance
    read = reads.customer_read(cast(CustomerRow, reads.as_record(customer)), links)
    sites, devices = (children if children is not None else _children(fresh)).get(customer["id"], ([], []))
    by_site: dict[str | None, list[s.CreatedRef]] = {}
    for device in devices:
        by_site.setdefault(device["site_id"], []).append(
            s.CreatedRef(id=device["id"], external_ref=device["external_ref"]))
    return s.CustomerCreated(
        **msgspec.structs.asdict(read),
        sites=[s.CreatedSite(id=site["id"], external_ref=site["external_ref"],
                             devices=by_site.get(site["id"], [])) for site in sites],
        vehicles=by_site.get(None, []),
    )


def _failed(index: int, exc: GatewayError) -> s.BatchItemResult:
    return s.BatchItemResult(
        index=index, status=exc.status,
        error=s.BatchItemError(status=exc.status, title=exc.title, detail=exc.detail, field=exc.field),
    )


# --- the outbox's dead tasks and resyncs ----------------------------------------------------


class ResyncRequest(Wire):
    entity_type: EntityType
    entity_id: str
    cascade: bool | None = None
    """Re-send the whole subtree too; by default yes for customers and sites, no for devices."""


BULK_RETRY_MAX = 10_000
"""The most dead tasks one bulk retry sends again; ``more`` says whether others matched."""


class BulkRetryRequest(Wire):
    """Which dead tasks to send again; every filter given must match."""

    provider: Annotated[str, Meta(pattern="^(" + "|".join(QUEUES) + ")$")] | None = None
    """A provider or another work queue (as in ``GET /v1/sync/tasks``)."""
    kind: Annotated[str, Meta(min_length=1, max_length=20)] | None = None
    """The task's entity type: customer, site, device, readings, invite ..."""
    error_contains: Annotated[str, Meta(min_length=1, max_length=200)] | None = None
    dead_after: datetime | None = None
    dead_before: datetime | None = None
    limit: Annotated[int, Meta(ge=1, le=BULK_RETRY_MAX)] = BULK_RETRY_MAX


class BulkRetryResult(Wire):
    retried: int
    more: bool
    """More dead tasks matched than ``limit``: send the request again for the rest."""


async def retry_task(session: AsyncSession, planner: OutboxPlanner, task_id: str) -> OutboxTaskRow:
    """Send one dead task again with a fresh attempt budget (404 unknown, 409 not dead)."""
    task = await session.get(OutboxTaskRow, task_id)
    if task is None:
        raise NotFoundError(f"task {task_id} not found")
    if task.status != TaskStatus.DEAD:
        raise ConflictError(f"only dead tasks can be retried; this one is {task.status}")
    await planner.retry([task])
    return task


async def retry_dead_tasks(session: AsyncSession, planner: OutboxPlanner, data: BulkRetryRequest, *,
                           error_is: str | None = None) -> BulkRetryResult:
    """Send the dead tasks matching ``data`` again, oldest first, at most ``data.limit``;
    ``error_is`` also asks for exactly that last error."""
    query = select(OutboxTaskRow).where(col(OutboxTaskRow.status) == TaskStatus.DEAD.value)
    if data.provider:
        query = query.where(col(OutboxTaskRow.provider) == data.provider)
    if data.kind:
        query = query.where(col(OutboxTaskRow.entity_type) == data.kind)
    if data.error_contains:
        query = query.where(col(OutboxTaskRow.last_error).contains(data.error_contains, autoescape=True))
    if error_is is not None:
        query = query.where(col(OutboxTaskRow.last_error) == error_is)
    if data.dead_after:
        query = query.where(col(OutboxTaskRow.updated_at) >= data.dead_after)
    if data.dead_before:
        query = query.where(col(OutboxTaskRow.updated_at) < data.dead_before)
    query = query.order_by(col(OutboxTaskRow.created_at), col(OutboxTaskRow.id))
    tasks = list(await session.exec(query.limit(data.limit + 1)))
    await planner.retry(tasks[:data.limit])
    return BulkRetryResult(retried=min(len(tasks), data.limit), more=len(tasks) > data.limit)


async def resync_entity(session: AsyncSession, planner: OutboxPlanner, data: ResyncRequest
                        ) -> list[OutboxTaskRow]:
    """Queue an entity's upserts again at its providers (with its subtree when cascading)."""
    row: CustomerRow | SiteRow | DeviceRow
    try:
        if data.entity_type is EntityType.CUSTOMER:
            customer = row = await locks.lock_customer(session, data.entity_id)
        elif data.entity_type is EntityType.SITE:
            customer, row = await locks.lock_site(session, data.entity_id)
        else:
            customer, row = await locks.lock_device(session, data.entity_id)
    except NotFoundError:
        raise NotFoundError(f"{data.entity_type.value} {data.entity_id} not found") from None
    cascade = data.cascade if data.cascade is not None else data.entity_type is not EntityType.DEVICE
    await planning.plan_resync(session, planner, customer, row, cascade=cascade)
    return list(planner.created)


# --- dismissals and circuits ----------------------------------------------------------------


class DismissalRead(Wire):
    task_id: str
    previous_status: str
    reason: str
    dismissed_by: str
    dismissed_at: datetime
    also_dismissed: list[str]
    """The tasks that waited on it, dismissed with it."""


def dismissal_read(dismissal: Dismissal) -> DismissalRead:
    row = dismissal.row
    return DismissalRead(task_id=row.task_id, previous_status=row.previous_status, reason=row.reason,
                         dismissed_by=row.actor, dismissed_at=row.dismissed_at.astimezone(UTC),
                         also_dismissed=dismissal.with_it)


def describe_dismissal(dismissal: Any) -> str:
    """The audit trail's line for a dismissal."""
    more = (f"; {len(dismissal.also_dismissed)} waiting task(s) dismissed with it"
            if dismissal.also_dismissed else "")
    return f"{dismissal.previous_status} task dismissed: {dismissal.reason}{more}"


async def circuit_views(state: State) -> list[CircuitView]:
    """Each configured provider's circuit: from the embedded worker's guards in this process,
    else as the arq workers share it through Redis."""
    runtime = Runtime.of_state(state)
    providers = sorted(provider.value for provider in runtime.adapters)
    sync = runtime.sync
    if sync is not None:
        return [sync.guards[name].view(name) for name in providers if name in sync.guards]
    pool = getattr(runtime.dispatcher, "pool", None)
    if pool is not None:
        return await SharedCircuits(pool).read(providers)
    return [CircuitView(provider=name, state="unknown", source="no worker in this process, no shared store")
            for name in providers]
