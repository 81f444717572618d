"""The audit trail: every ops action from the API, the console and the CLI, and ``GET /v1/audit``.

An action that succeeds is noted in its own unit of work (:func:`note`), so the entry and the
change commit together and a replayed idempotent request adds none; one that fails is noted
afterwards in a transaction of its own (:func:`note_failure`) with the error's text.
Who acted is the API key (its id and name; the console acts with the key it was signed in
with) or, for a command run on the host, the host's user.
"""

from __future__ import annotations

import getpass
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, Request, Response, get
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.clock import as_utc, utcnow
from gateway.core.errors import GatewayError
from gateway.core.wire import Wire
from gateway.http.apikeys import Principal
from gateway.http.deps import provide_session
from gateway.http.pages import DEFAULT_LIMIT, Cursor, Limit, Page, decode_cursor, page_of
from gateway.http.scopes import OPS
from gateway.http.unit_of_work import Work, write
from gateway.runtime.process import Runtime
from gateway.store.ops_tables import AuditRow

log = logging.getLogger("gateway.audit")

Sessions = async_sessionmaker[AsyncSession]


ACTIONS = (
    "task.retry", "task.retry_many", "task.dismiss", "task.dismiss_many", "record.resync", "drift.compare",
    "drift.repair", "programme.enroll", "programme.leave", "invite.send", "onboarding.run",
    "api_key.create", "api_key.revoke", "delivery.redeliver", "webhook.register", "webhook.update",
    "webhook.enable", "webhook.disable", "webhook.delete",
)
"""The actions the trail records (for filters; the column takes any)."""


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts, and through which surface (``api``, ``console``, ``cli``)."""

    kind: str
    id: str
    name: str
    via: str

    @property
    def label(self) -> str:
        return self.name if self.name == self.id else f"{self.name} ({self.id})"


def key_actor(principal: Principal | Any, via: str) -> Actor:
    """The API key behind a request (or a console session, which carries ``key_id`` and ``name``)."""
    return Actor("api_key", str(principal.key_id), str(principal.name), via)


def cli_actor() -> Actor:
    """A command run on the gateway's host: the host's user."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return Actor("cli", user, user, "cli")


def entry(actor: Actor, action: str, target: str, *, result: str = "ok", detail: str | None = None,
          at: datetime | None = None) -> AuditRow:
    return AuditRow(at=at or utcnow(), actor_kind=actor.kind, actor_id=actor.id[:200],
                    actor_name=actor.name[:200], via=actor.via, action=action[:50], target=target[:300],
                    result=result, detail=detail[:4000] if detail else None)


def note(session: AsyncSession, actor: Actor, action: str, target: str, *, detail: str | None = None) -> None:
    """Record a successful action in the unit of work that does it."""
    session.add(entry(actor, action, target, detail=detail))


async def note_failure(sessions: Sessions, actor: Actor, action: str, target: str,
                       error: BaseException) -> None:
    """Record a failed action in a transaction of its own (the action's own rolled back)."""
    text = error.detail if isinstance(error, GatewayError) else (str(error) or type(error).__name__)
    try:
        async with sessions() as session:
            session.add(entry(actor, action, target, result="error", detail=text))
            await session.commit()
    except Exception as exc:  # the database may be what failed; the action's own error wins
        log.warning("audit entry for %s of %s not written: %s", action, target, exc)


@asynccontextmanager
async def failures_noted(sessions: Sessions, actor: Actor, action: str, target: str) -> AsyncIterator[None]:
    """Around an action: an exception leaving it is noted (then goes on)."""
    try:
        yield
    except Exception as exc:
        await note_failure(sessions, actor, action, target, exc)
        raise


async def audited_write(request: Request[Any, Any, Any], body: bytes, work: Work, *, action: str, target: str,
                        detail: Callable[[Any], str | None] | None = None) -> Response[Any]:
    """:func:`gateway.http.unit_of_work.write` for an ops route: the action is noted with the
    request's API key, in the write's transaction or, if it fails, afterwards."""
    actor = key_actor(request.auth, "api")

    async def noted(session: AsyncSession, planner: Any) -> tuple[int, Any]:
        status, result = await work(session, planner)
        note(session, actor, action, target, detail=detail(result) if detail else None)
        return status, result

    async with failures_noted(Runtime.of(request).sessions, actor, action, target):
        return await write(request, body, noted)


# --- the trail on the API -------------------------------------------------------------------


class AuditEntry(Wire):
    id: int
    at: datetime
    actor_kind: str
    actor_id: str
    actor_name: str
    via: str
    action: str
    target: str
    result: str
    detail: str | None


def entry_read(row: AuditRow) -> AuditEntry:
    return AuditEntry(id=row.id or 0, at=as_utc(row.at), actor_kind=row.actor_kind, actor_id=row.actor_id,
                      actor_name=row.actor_name, via=row.via, action=row.action, target=row.target,
                      result=row.result, detail=row.detail)


async def audit_page(session: AsyncSession, *, action: str | None = None, actor: str | None = None,
                     target: str | None = None, before_id: int | None = None,
                     limit: int = DEFAULT_LIMIT) -> list[AuditRow]:
    """Entries newest first, ``limit + 1`` of them (for paging); ``actor`` matches the key's id
    or name, ``target`` a whole target or its id."""
    query = select(AuditRow)
    if action:
        query = query.where(col(AuditRow.action) == action)
    if actor:
        query = query.where((col(AuditRow.actor_id) == actor) | (col(AuditRow.actor_name) == actor))
    if target:
        query = query.where((col(AuditRow.target) == target)
                            | col(AuditRow.target).endswith(f":{target}", autoescape=True))
    if before_id is not None:
        query = query.where(col(AuditRow.id) < before_id)
    return list(await session.exec(query.order_by(col(AuditRow.id).desc()).limit(limit + 1)))


Filter = Annotated[str | None, Parameter(max_length=300)]


class AuditController(Controller):
    path = "/v1/audit"
    tags = ["audit"]
    dependencies = {"session": provide_session}

    @get("/", opt=OPS, summary="The audit trail of ops actions, newest first",
         description="Retries, dismissals, resyncs, repairs, enrollments, invites, API keys and "
                     "redeliveries, from the API, the console and the CLI: who, what, when, and the result. "
                     "`actor` matches an API key's id or name (or a host user), `target` a whole target "
                     "(`task:<id>`) or its id.")
    async def list_entries(self, session: AsyncSession,
                           action: Annotated[str | None, Parameter(max_length=50)] = None,
                           actor: Filter = None, target: Filter = None, cursor: Cursor = None,
                           limit: Limit = DEFAULT_LIMIT) -> Page[AuditEntry]:
        before = decode_cursor(cursor, int)[0] if cursor else None
        rows = await audit_page(session, action=action, actor=actor, target=target, before_id=before,
                                limit=limit)
        return page_of(rows, limit, lambda row: (row.id or 0,), entry_read)
