"""The console's API keys page: the keys (never the keys themselves), a new key with its
scopes (shown once, on the answer to the create), and revoking one.

Only a session opened with a key that has the ``ops`` scope (or the admin key) may see or
change keys: a ``console`` key must not mint itself an ``ops`` one. Keys are created and
revoked by the functions ``gateway api-keys`` runs; each change is noted in the audit trail.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.response import Redirect, Template
from msgspec import Meta
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.console.auth import require_session, session_of
from gateway.console.render import CsrfForm, Form, action, back, page
from gateway.core.clock import utcnow
from gateway.core.errors import ForbiddenError, InvalidError, NotFoundError
from gateway.http.apikeys import Scope, create_key, revoke_key
from gateway.http.audit import failures_noted, key_actor, note
from gateway.outbox.plan import OutboxPlanner
from gateway.runtime.process import Runtime
from gateway.store.tables import ApiKeyRow

SCOPES = [(scope.value, scope.value.replace(":", "-")) for scope in Scope]
"""Each scope and the id of its checkbox on the page."""


class KeyForm(CsrfForm, kw_only=True, forbid_unknown_fields=True):
    name: Annotated[str, Meta(max_length=100)] = ""
    customers_read: bool = msgspec.field(default=False, name=Scope.CUSTOMERS_READ.value)
    customers_write: bool = msgspec.field(default=False, name=Scope.CUSTOMERS_WRITE.value)
    readings_write: bool = msgspec.field(default=False, name=Scope.READINGS_WRITE.value)
    invites_write: bool = msgspec.field(default=False, name=Scope.INVITES_WRITE.value)
    ops: bool = msgspec.field(default=False, name=Scope.OPS.value)
    console: bool = msgspec.field(default=False, name=Scope.CONSOLE.value)

    def scopes(self) -> list[str]:
        chosen = {Scope.CUSTOMERS_READ: self.customers_read, Scope.CUSTOMERS_WRITE: self.customers_write,
                  Scope.READINGS_WRITE: self.readings_write, Scope.INVITES_WRITE: self.invites_write,
                  Scope.OPS: self.ops, Scope.CONSOLE: self.console}
        return [scope.value for scope, wanted in chosen.items() if wanted]


async def require_ops(request: Request[Any, Any, Any]) -> None:
    """Refuse (403) a session whose key lacks the ``ops`` scope."""
    session = session_of(request)
    if session.key_id == "admin":
        return
    async with Runtime.of(request).sessions() as db:
        row = await db.get(ApiKeyRow, session.key_id)
    if row is None or Scope.OPS.value not in row.scopes:
        raise ForbiddenError("managing API keys needs a key with the ops scope; sign in with one")


async def _keys(request: Request[Any, Any, Any]) -> list[ApiKeyRow]:
    async with Runtime.of(request).sessions() as session:
        return list(await session.exec(select(ApiKeyRow).order_by(
            col(ApiKeyRow.revoked_at).is_not(None), col(ApiKeyRow.created_at).desc())))


class KeyPages(Controller):
    path = "/console/keys"
    include_in_schema = False
    guards = [require_session]

    @get("/", summary="API keys: name, prefix, scopes, created and revoked")
    async def keys(self, request: Request[Any, Any, Any]) -> Template:
        await require_ops(request)
        return page(request, "keys.html", "keys", keys=await _keys(request), scopes=SCOPES, created=None,
                    secret="")

    @post("/", status_code=201, summary="Create a key with its scopes (the key is shown this once)")
    async def create(self, request: Request[Any, Any, Any], data: Annotated[KeyForm, Form]) -> Template:
        await require_ops(request)
        name, scopes = data.name.strip(), data.scopes()
        if not name:
            raise InvalidError("name the key (who or what uses it)", field="name")
        if not scopes:
            raise InvalidError("choose at least one scope", field="scope")
        actor = key_actor(session_of(request), "console")

        async def work(session: AsyncSession, planner: OutboxPlanner) -> tuple[ApiKeyRow, str]:
            row, secret = create_key(session, name, scopes, planner.now)
            note(session, actor, "api_key.create", f"api_key:{row.id}",
                 detail=f"{name} ({', '.join(scopes)})")
            return row, secret

        async with failures_noted(Runtime.of(request).sessions, actor, "api_key.create", f"api_key:{name}"):
            created, secret = await action(request, work)
        answer = page(request, "keys.html", "keys", keys=await _keys(request), scopes=SCOPES, created=created,
                      secret=secret)
        answer.status_code = 201
        return answer

    @post("/{key_id:str}/revoke", status_code=303, summary="Revoke a key (refused everywhere within 10 s)")
    async def revoke(self, request: Request[Any, Any, Any], key_id: str,
                     data: Annotated[CsrfForm, Form]) -> Redirect:
        await require_ops(request)
        actor = key_actor(session_of(request), "console")

        async def work(session: AsyncSession, planner: OutboxPlanner) -> str:
            row = await session.get(ApiKeyRow, key_id)
            if row is None:
                raise NotFoundError(f"API key {key_id} not found")
            if row.revoked_at is None:
                await revoke_key(session, row.id, utcnow())
                note(session, actor, "api_key.revoke", f"api_key:{row.id}", detail=row.name)
            return row.name

        async with failures_noted(Runtime.of(request).sessions, actor, "api_key.revoke", f"api_key:{key_id}"):
            name = await action(request, work)
        return back(request, "/console/keys",
                    f"key {name!r} revoked; processes stop accepting it within 10 s")
