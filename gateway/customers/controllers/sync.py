"""Ops surface of the sync engine: tasks, retries, resyncs and per-customer call history."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.params import Parameter, QueryParameter
from msgspec import Meta
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.clock import as_utc
from gateway.core.domain import EntityType, TaskStatus
from gateway.core.errors import ConflictError, NotFoundError
from gateway.core.wire import Wire
from gateway.customers import locks, planning
from gateway.http.audit import audited_write
from gateway.http.deps import provide_session
from gateway.http.pages import (
    DEFAULT_LIMIT,
    TIME_AND_ID,
    Cursor,
    Limit,
    Page,
    after,
    decode_cursor,
    page_of,
)
from gateway.http.scopes import OPS, READ
from gateway.outbox.plan import OutboxPlanner
from gateway.outbox.queues import QUEUES
from gateway.store.tables import CustomerRow, DeviceRow, OutboxTaskRow, SiteRow, UpstreamCallRow


class TaskRead(Wire):
    id: str
    provider: str
    entity_type: str
    entity_id: str
    customer_id: str
    action: str
    status: str
    attempts: int
    run_after: datetime
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    blocked_by: str | None = None


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


class CallRead(Wire):
    at: datetime
    provider: str
    entity_type: str
    entity_id: str
    task_id: str
    method: str
    route: str
    status: int | None
    latency_ms: float
    error: str | None


def task_read(row: OutboxTaskRow) -> TaskRead:
    return TaskRead(
        id=row.id, provider=row.provider, entity_type=row.entity_type, entity_id=row.entity_id,
        customer_id=row.customer_id, action=row.action, status=row.status, attempts=row.attempts,
        run_after=as_utc(row.run_after),
        last_error=row.last_error, created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at), blocked_by=row.blocked_by,
    )


async def retry_task(session: AsyncSession, planner: OutboxPlanner, task_id: str) -> TaskRead:
    """Send one dead task again with a fresh attempt budget (404 unknown, 409 not dead)."""
    task = await session.get(OutboxTaskRow, task_id)
    if task is None:
        raise NotFoundError(f"task {task_id} not found")
    if task.status != TaskStatus.DEAD:
        raise ConflictError(f"only dead tasks can be retried; this one is {task.status}")
    await planner.retry([task])
    return task_read(task)


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


async def resync_entity(session: AsyncSession, planner: OutboxPlanner, data: ResyncRequest) -> list[TaskRead]:
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
    return [task_read(task) for task in planner.created]


class SyncController(Controller):
    path = "/v1/sync"
    tags = ["sync"]
    dependencies = {"session": provide_session}

    @get("/tasks", opt=OPS, summary="Outbox tasks, newest first")
    async def list_tasks(
        self,
        session: AsyncSession,
        status: Annotated[str | None, Parameter(pattern="^(" + "|".join(TaskStatus) + ")$")] = None,
        provider: Annotated[str | None, Parameter(
            pattern="^(" + "|".join(QUEUES) + ")$",
            description="a provider or another work queue: " + ", ".join(QUEUES),
        )] = None,
        entity_id: Annotated[str | None, QueryParameter(name="entityId", max_length=36)] = None,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[TaskRead]:
        order = [col(OutboxTaskRow.created_at), col(OutboxTaskRow.id)]
        query = select(OutboxTaskRow)
        if cursor:
            query = query.where(after(order, decode_cursor(cursor, *TIME_AND_ID), descending=True))
        if status:
            query = query.where(OutboxTaskRow.status == status)
        if provider:
            query = query.where(OutboxTaskRow.provider == provider)
        if entity_id:
            query = query.where(OutboxTaskRow.entity_id == entity_id)
        query = query.order_by(*(column.desc() for column in order)).limit(limit + 1)
        return page_of(list(await session.exec(query)), limit, lambda row: (row.created_at, row.id),
                       task_read)

    @post("/tasks/{task_id:str}/retry", opt=OPS, status_code=200,
          summary="Send a dead task again, with a fresh attempt budget")
    async def retry(self, request: Request[Any, Any, Any], task_id: str) -> Response[TaskRead]:
        async def work(session: AsyncSession, planner: OutboxPlanner) -> tuple[int, Any]:
            return 200, await retry_task(session, planner, task_id)

        return await audited_write(request, b"", work, action="task.retry", target=f"task:{task_id}")

    @post("/tasks/retry", opt=OPS, status_code=200,
          summary=f"Send dead tasks matching a filter again (at most {BULK_RETRY_MAX:,} per request)")
    async def retry_many(self, request: Request[Any, Any, Any], data: BulkRetryRequest | None = None
                         ) -> Response[BulkRetryResult]:
        body = await request.body()
        data = data or BulkRetryRequest()

        async def work(session: AsyncSession, planner: OutboxPlanner) -> tuple[int, Any]:
            return 200, await retry_dead_tasks(session, planner, data)

        return await audited_write(request, body, work, action="task.retry_many",
                                   target=f"queue:{data.provider or 'any'}",
                                   detail=lambda r: f"{r.retried} dead task(s) queued again")

    @post("/resync", opt={**OPS, "errors": (404,)}, status_code=202,
          summary="Send an entity to its providers again",
          description="Answers the tasks it queued.")
    async def resync(self, request: Request[Any, Any, Any], data: ResyncRequest
                     ) -> Response[list[TaskRead]]:
        body = await request.body()

        async def work(session: AsyncSession, planner: OutboxPlanner) -> tuple[int, Any]:
            return 202, await resync_entity(session, planner, data)

        return await audited_write(request, body, work, action="record.resync",
                                   target=f"{data.entity_type.value}:{data.entity_id}",
                                   detail=lambda tasks: f"{len(tasks)} task(s) queued")


class SyncHistoryController(Controller):
    path = "/v1/customers/{customer_id:str}/sync-history"
    tags = ["sync"]
    dependencies = {"session": provide_session}

    @get("/", opt=READ, summary="Upstream calls made for a customer's records, newest first")
    async def history(
        self, session: AsyncSession, customer_id: str, cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[CallRead]:
        row = await session.get(CustomerRow, customer_id)
        if row is None:
            raise NotFoundError(f"customer {customer_id} not found")
        query = select(UpstreamCallRow).where(UpstreamCallRow.customer_id == customer_id)
        if cursor:
            query = query.where(after([col(UpstreamCallRow.id)], decode_cursor(cursor, int),
                                      descending=True))
        rows = list(await session.exec(query.order_by(col(UpstreamCallRow.id).desc()).limit(limit + 1)))
        return page_of(rows, limit, lambda c: (c.id or 0,), lambda c: CallRead(
            at=as_utc(c.at), provider=c.provider, entity_type=c.entity_type, entity_id=c.entity_id,
            task_id=c.task_id, method=c.method, route=c.route, status=c.status,
            latency_ms=c.latency_ms, error=c.error))
