"""Ops routes for what is not fine: dismissing a dead or blocked task, and each provider's circuit."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from msgspec import Meta
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.wire import Wire
from gateway.http.apikeys import Scope
from gateway.http.audit import audited_write, key_actor
from gateway.outbox.circuit import CircuitView, SharedCircuits
from gateway.outbox.dismiss import REASON_MAX, Dismissal, dismiss_task
from gateway.outbox.plan import OutboxPlanner
from gateway.runtime.process import Runtime

OPS = {"scope": Scope.OPS.value}


class DismissRequest(Wire):
    reason: Annotated[str, Meta(min_length=1, max_length=REASON_MAX,
                                description="why the task is given up (kept, and shown in the audit trail)")]


class DismissalRead(Wire):
    task_id: str
    previous_status: str
    reason: str
    dismissed_by: str
    dismissed_at: datetime
    also_dismissed: list[str]
    """The tasks that waited on it, dismissed with it."""


class CircuitRead(Wire):
    provider: str
    state: str
    """``closed``, ``open`` or ``half-open`` (a probe goes out next)."""
    since: datetime | None
    next_probe_at: datetime | None
    reason: str | None
    concurrency_limit: int | None
    source: str
    """Where it was read: this process's worker, or what the workers share through Redis."""


def dismissal_read(dismissal: Dismissal) -> DismissalRead:
    row = dismissal.row
    return DismissalRead(task_id=row.task_id, previous_status=row.previous_status, reason=row.reason,
                         dismissed_by=row.actor, dismissed_at=row.dismissed_at.astimezone(UTC),
                         also_dismissed=dismissal.with_it)


def _at(wall: float | None) -> datetime | None:
    return datetime.fromtimestamp(wall, UTC) if wall is not None else None


def circuit_read(view: CircuitView) -> CircuitRead:
    return CircuitRead(provider=view.provider, state=view.state, since=_at(view.since),
                       next_probe_at=_at(view.next_probe), reason=view.reason,
                       concurrency_limit=view.limit, source=view.source)


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


def describe_dismissal(dismissal: Any) -> str:
    more = (f"; {len(dismissal.also_dismissed)} waiting task(s) dismissed with it"
            if dismissal.also_dismissed else "")
    return f"{dismissal.previous_status} task dismissed: {dismissal.reason}{more}"


class ProblemsController(Controller):
    path = "/v1/sync"
    tags = ["sync"]

    @post("/tasks/{task_id:str}/dismiss", opt={**OPS, "errors": (404, 409)}, status_code=200,
          summary="Give up a dead or blocked task, with a reason",
          description="The task (and the tasks waiting on it) will never run; it leaves the problem "
                      "lists and counts. The reason, who and when are kept and shown in the audit trail.")
    async def dismiss(self, request: Request[Any, Any, Any], task_id: str,
                      data: DismissRequest) -> Response[DismissalRead]:
        body = await request.body()
        actor = key_actor(request.auth, "api")

        async def work(session: AsyncSession, planner: OutboxPlanner) -> tuple[int, Any]:
            dismissal = await dismiss_task(session, task_id, reason=data.reason, actor=actor.label,
                                           now=planner.now)
            return 200, dismissal_read(dismissal)

        return await audited_write(request, body, work, action="task.dismiss", target=f"task:{task_id}",
                                   detail=describe_dismissal)

    @get("/circuits", opt=OPS, summary="Each provider's circuit: closed, open or half-open, since when, "
                                       "the next probe and why it opened")
    async def circuits(self, state: State) -> list[CircuitRead]:
        return [circuit_read(view) for view in await circuit_views(state)]
