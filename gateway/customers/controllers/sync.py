"""Ops surface of the sync engine: tasks, retries, resyncs and per-customer call history."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.params import Parameter, QueryParameter
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.clock import as_utc
from gateway.core.domain import TaskStatus
from gateway.core.errors import NotFoundError
from gateway.core.wire import Wire
from gateway.customers import service
from gateway.customers.service import BULK_RETRY_MAX, BulkRetryRequest, BulkRetryResult, ResyncRequest
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
from gateway.observability.tracing import trace_id_of
from gateway.outbox.plan import OutboxPlanner
from gateway.outbox.queues import QUEUES
from gateway.store.tables import CustomerRow, OutboxTaskRow, UpstreamCallBodyRow, UpstreamCallRow


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
    trace_id: str | None = None
    """The OpenTelemetry trace of the request that queued it, when traces are recorded."""


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
    trace_id: str | None = None
    """The OpenTelemetry trace of the exchange (32 hex digits), when traces are recorded."""
    request_body: str | None = None
    """The body sent, as text: secrets redacted, cut after 16 KiB (token requests keep none)."""
    response_body: str | None = None
    """The body answered, as text, redacted and cut the same way."""
    request_body_truncated: bool = False
    response_body_truncated: bool = False


def call_read(call: UpstreamCallRow, body: UpstreamCallBodyRow | None) -> CallRead:
    return CallRead(
        at=as_utc(call.at), provider=call.provider, entity_type=call.entity_type,
        entity_id=call.entity_id, task_id=call.task_id, method=call.method, route=call.route,
        status=call.status, latency_ms=call.latency_ms, error=call.error, trace_id=call.trace_id,
        request_body=body.request_body if body else None,
        response_body=body.response_body if body else None,
        request_body_truncated=body.request_truncated if body else False,
        response_body_truncated=body.response_truncated if body else False)


def task_read(row: OutboxTaskRow) -> TaskRead:
    return TaskRead(
        id=row.id, provider=row.provider, entity_type=row.entity_type, entity_id=row.entity_id,
        customer_id=row.customer_id, action=row.action, status=row.status, attempts=row.attempts,
        run_after=as_utc(row.run_after),
        last_error=row.last_error, created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at), blocked_by=row.blocked_by,
        trace_id=trace_id_of(row.trace_context),
    )


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
            return 200, task_read(await service.retry_task(session, planner, task_id))

        return await audited_write(request, b"", work, action="task.retry", target=f"task:{task_id}")

    @post("/tasks/retry", opt=OPS, status_code=200,
          summary=f"Send dead tasks matching a filter again (at most {BULK_RETRY_MAX:,} per request)")
    async def retry_many(self, request: Request[Any, Any, Any], data: BulkRetryRequest | None = None
                         ) -> Response[BulkRetryResult]:
        body = await request.body()
        data = data or BulkRetryRequest()

        async def work(session: AsyncSession, planner: OutboxPlanner) -> tuple[int, Any]:
            return 200, await service.retry_dead_tasks(session, planner, data)

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
            return 202, [task_read(task) for task in await service.resync_entity(session, planner, data)]

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
        query = (select(UpstreamCallRow, UpstreamCallBodyRow)
                 .outerjoin(UpstreamCallBodyRow, col(UpstreamCallBodyRow.id) == col(UpstreamCallRow.body_id))
                 .where(UpstreamCallRow.customer_id == customer_id))
        if cursor:
            query = query.where(after([col(UpstreamCallRow.id)], decode_cursor(cursor, int),
                                      descending=True))
        rows = list(await session.exec(query.order_by(col(UpstreamCallRow.id).desc()).limit(limit + 1)))
        return page_of(rows, limit, lambda r: (r[0].id or 0,), lambda r: call_read(*r))
