"""Ops routes for what is not fine: dismissing a dead or blocked task, and each provider's circuit."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from msgspec import Meta
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.wire import Wire
from gateway.customers.service import DismissalRead, circuit_views, describe_dismissal, dismissal_read
from gateway.http.audit import audited_write, key_actor
from gateway.http.scopes import OPS
from gateway.outbox.circuit import CircuitView
from gateway.outbox.dismiss import REASON_MAX, dismiss_task
from gateway.outbox.plan import OutboxPlanner


class DismissRequest(Wire):
    reason: Annotated[str, Meta(min_length=1, max_length=REASON_MAX,
                                description="why the task is given up (kept, and shown in the audit trail)")]


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


class CircuitsRead(Wire):
    circuits: dict[str, CircuitRead]
    """Each configured provider's circuit, by provider (one per provider: not a paged list)."""


def _at(wall: float | None) -> datetime | None:
    return datetime.fromtimestamp(wall, UTC) if wall is not None else None


def circuit_read(view: CircuitView) -> CircuitRead:
    return CircuitRead(provider=view.provider, state=view.state, since=_at(view.since),
                       next_probe_at=_at(view.next_probe), reason=view.reason,
                       concurrency_limit=view.limit, source=view.source)


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
    async def circuits(self, state: State) -> CircuitsRead:
        views = await circuit_views(state)
        return CircuitsRead(circuits={view.provider: circuit_read(view) for view in views})
