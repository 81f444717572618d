"""Console actions that go into the audit trail, with the key the console was signed in with."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from litestar import Request
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.console.auth import session_of
from gateway.http.audit import Actor, failures_noted, key_actor, note
from gateway.outbox.plan import OutboxPlanner
from gateway.outbox.unit_of_work import unit_of_work
from gateway.runtime.process import Runtime

T = TypeVar("T")


def console_actor(request: Request[Any, Any, Any]) -> Actor:
    """The API key behind the request's console session."""
    return key_actor(session_of(request), "console")


async def audited_action(request: Request[Any, Any, Any], action: str, target: str,
                         work: Callable[[AsyncSession, OutboxPlanner], Awaitable[T]], *,
                         detail: Callable[[T], str | None] | None = None) -> T:
    """Run ``work(session, planner)`` in one unit of work, noting the action in it; a failure
    is noted afterwards (and raised)."""
    actor = console_actor(request)
    runtime = Runtime.of(request)
    async with failures_noted(runtime.sessions, actor, action, target):
        async with unit_of_work(runtime.sessions, runtime.dispatcher) as uow:
            result = await work(uow.session, uow.planner)
            note(uow.session, actor, action, target, detail=detail(result) if detail else None)
            return result
