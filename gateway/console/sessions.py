"""The console's server-side sessions: Litestar's session middleware over a store of the gateway's.

The session cookie carries only a random id; what the session holds lives on the server, in
Redis when one is configured (Litestar's ``RedisStore``) and in the database otherwise
(:class:`DatabaseStore`, the ``console_sessions`` table). Signing out or any other end of a
session deletes it there, so a cookie captured before is worthless at once.

:class:`ConsoleSessionBackend` narrows Litestar's server-side backend in three ways: a
request without a session writes nothing (no row per anonymous visitor), a session is
written only when it changed, and a new session never takes the id of the cookie the
browser brought along (no session fixation): every sign-in gets a fresh id.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple, cast

from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.middleware.session.server_side import ServerSideSessionBackend, ServerSideSessionConfig
from litestar.stores.base import Store
from litestar.types import Empty, Message, ScopeSession
from litestar.utils.dataclass import extract_dataclass_items
from sqlalchemy import delete, select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.store.console_tables import ConsoleSessionRow

SESSION_STORE = "console-sessions"
"""The name of the sessions' store among the app's stores."""
_LOADED = "console_session_loaded"
"""Scope key of the request's :class:`_Loaded`."""


class _Loaded(NamedTuple):
    """The session a request came with, and whether a new one replaces it."""

    session_id: str | None
    """The id of the browser's cookie when a session is stored under it."""
    raw: bytes | None
    replaced: bool = False


def _loaded(connection: ASGIConnection[Any, Any, Any, Any]) -> _Loaded:
    found = cast(dict[str, Any], connection.scope).get(_LOADED)
    return found if isinstance(found, _Loaded) else _Loaded(None, None)


def _set_loaded(connection: ASGIConnection[Any, Any, Any, Any], loaded: _Loaded) -> None:
    cast(dict[str, Any], connection.scope)[_LOADED] = loaded


class DatabaseStore(Store):
    """A Litestar store in the ``console_sessions`` table (for deployments without Redis).

    The table is reached through the app's session factory, bound once the app has started
    (:meth:`bind`). Rows that have ended are removed whenever a session is written.
    """

    def __init__(self) -> None:
        self._sessions: Callable[[], AbstractAsyncContextManager[AsyncSession]] | None = None

    def bind(self, sessions: Callable[[], AbstractAsyncContextManager[AsyncSession]]) -> None:
        self._sessions = sessions

    def _db(self) -> AbstractAsyncContextManager[AsyncSession]:
        if self._sessions is None:
            raise RuntimeError("the console's session store is used before the app started")
        return self._sessions()

    @staticmethod
    def _ends(expires_in: int | timedelta | None) -> datetime | None:
        if expires_in is None:
            return None
        seconds = expires_in.total_seconds() if isinstance(expires_in, timedelta) else expires_in
        return datetime.now(UTC) + timedelta(seconds=seconds)

    async def set(self, key: str, value: str | bytes, expires_in: int | timedelta | None = None) -> None:
        data = value.encode() if isinstance(value, str) else value
        now = datetime.now(UTC)
        async with self._db() as db:
            await db.execute(delete(ConsoleSessionRow).where(
                (col(ConsoleSessionRow.id) == key) | (col(ConsoleSessionRow.expires_at) <= now)))
            db.add(ConsoleSessionRow(id=key, data=data, expires_at=self._ends(expires_in)))
            await db.commit()

    async def _row(self, db: AsyncSession, key: str) -> ConsoleSessionRow | None:
        row: ConsoleSessionRow | None = (await db.execute(
            select(ConsoleSessionRow).where(col(ConsoleSessionRow.id) == key))).scalar()
        if row is None or (row.expires_at is not None and _aware(row.expires_at) <= datetime.now(UTC)):
            return None
        return row

    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        async with self._db() as db:
            row = await self._row(db, key)
            if row is None:
                return None
            data = bytes(row.data)
            if renew_for is not None and row.expires_at is not None:
                row.expires_at = self._ends(renew_for)
                db.add(row)
                await db.commit()
            return data

    async def delete(self, key: str) -> None:
        async with self._db() as db:
            await db.execute(delete(ConsoleSessionRow).where(col(ConsoleSessionRow.id) == key))
            await db.commit()

    async def delete_all(self) -> None:
        async with self._db() as db:
            await db.execute(delete(ConsoleSessionRow))
            await db.commit()

    async def exists(self, key: str) -> bool:
        async with self._db() as db:
            return await self._row(db, key) is not None

    async def expires_in(self, key: str) -> int | None:
        async with self._db() as db:
            row = await self._row(db, key)
        if row is None or row.expires_at is None:
            return None
        return int((_aware(row.expires_at) - datetime.now(UTC)).total_seconds())


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; the stored times are UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def start_new_session(connection: ASGIConnection[Any, Any, Any, Any], data: dict[str, Any]) -> None:
    """Open a session with ``data`` under a fresh id; the one the request came with, if any, ends."""
    connection.set_session(data)
    _set_loaded(connection, _loaded(connection)._replace(replaced=True))


class ConsoleSessionBackend(ServerSideSessionBackend):
    """Litestar's server-side backend, writing only sessions that exist and changed (see the module)."""

    async def load_from_connection(self, connection: ASGIConnection[Any, Any, Any, Any]) -> dict[str, Any]:
        session_id = connection.cookies.get(self.config.key)
        raw = None
        if session_id:
            raw = await self.get(session_id, store=self.config.get_store_from_app(connection.scope["app"]))
        _set_loaded(connection, _Loaded(session_id if raw is not None else None, raw))
        return self.deserialize_data(raw) if raw is not None else {}

    async def store_in_message(self, scope_session: ScopeSession, message: Message,
                               connection: ASGIConnection[Any, Any, Any, Any]) -> None:
        store = self.config.get_store_from_app(connection.scope["app"])
        headers = MutableScopeHeaders.from_message(message)
        cookie_params = dict(extract_dataclass_items(self.config, exclude_none=True,
                                                     include=Cookie.__dict__.keys()))
        loaded_id, loaded_raw, replaced = _loaded(connection)
        if scope_session is Empty or not scope_session:
            if loaded_id is not None:
                await self.delete(loaded_id, store=store)
            if connection.cookies.get(self.config.key):
                headers.add("Set-Cookie", Cookie(value="", key=self.config.key, expires=0, max_age=0,
                                                 **{k: v for k, v in cookie_params.items() if k != "max_age"}
                                                 ).to_header(header=""))
            return
        data = self.serialize_data(scope_session, connection.scope)
        if loaded_id is not None and not replaced:
            if data != loaded_raw:
                await self.set(session_id=loaded_id, data=data, store=store)
            return
        if loaded_id is not None:
            await self.delete(loaded_id, store=store)
        session_id = self.generate_session_id()
        await self.set(session_id=session_id, data=data, store=store)
        cookie = Cookie(value=session_id, key=self.config.key, **cookie_params)
        headers.add("Set-Cookie", cookie.to_header(header=""))


@dataclass
class ConsoleSessionConfig(ServerSideSessionConfig):
    """:class:`ServerSideSessionConfig` with the console's backend."""

    _backend_class = ConsoleSessionBackend


def session_store(redis_url: str) -> Store:
    """Where the sessions live: Redis when configured, else the database."""
    if redis_url:
        from litestar.stores.redis import RedisStore

        return RedisStore.with_client(url=redis_url, namespace="gateway-console-sessions")
    return DatabaseStore()
