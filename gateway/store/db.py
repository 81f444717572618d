"""The async engine and session factory, for SQLite (embedded) and PostgreSQL."""

from __future__ import annotations

import logging
import sqlite3
import time
import weakref
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy import ARRAY, Connection, Engine, String, any_, bindparam, event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

log = logging.getLogger("gateway.store")
T = TypeVar("T")


def create_engine(database_url: str, *, pool_size: int = 20) -> AsyncEngine:
    """An engine for ``database_url``; SQLite gets WAL, a busy timeout and foreign keys."""
    if database_url.startswith("sqlite"):
        engine = create_async_engine(database_url, connect_args={"timeout": 30})

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        availability(engine)
        return engine
    # No pre-ping: it costs a round trip per checkout; a connection PostgreSQL dropped
    # fails one statement, is discarded with the pool's stale connections, and
    # ``pool_recycle`` retires long-lived ones.
    engine = create_async_engine(
        database_url, pool_size=pool_size, max_overflow=pool_size, pool_recycle=1800
    )
    availability(engine)
    return engine


def reader(engine: AsyncEngine) -> AsyncEngine:
    """The same pool in autocommit mode, for single-statement reads: no BEGIN/ROLLBACK."""
    return engine.execution_options(isolation_level="AUTOCOMMIT")


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


def among(column: Any, values: list[str], *, postgres: bool, name: str = "among") -> Any:
    """``column IN values``: one array parameter on PostgreSQL, so the statement is compiled
    once whatever the number of values; an ``IN`` list elsewhere (keep those to :data:`IN_CHUNK`).
    ``name`` names the parameter (two arrays in one statement need two names).

    For long arrays on a hot path see :func:`plan_with_values`.
    """
    if postgres:
        return column == any_(bindparam(name, values, type_=ARRAY(String)))
    return column.in_(values)


async def plan_with_values(connection: AsyncConnection) -> None:
    """Have PostgreSQL plan the rest of this transaction's statements with their actual values.

    A prepared statement soon runs a generic plan, which does not know how long an array
    parameter is: it may scan a table and test ``= ANY`` element by element on every row
    (12-21 ms for 1,000 device ids against 1,000 devices). Planned with the values, the
    array is hashed or its elements probe an index (about 2 ms), with or without table
    statistics, for a fraction of a millisecond of planning per statement.
    """
    if is_postgres(connection):
        await connection.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))


# --- the one place the two databases differ ----------------------------------------------


def is_postgres(bind: AsyncSession | AsyncConnection | AsyncEngine | Connection | Engine) -> bool:
    """The database behind a session, connection or engine is PostgreSQL (else SQLite): which form
    of a statement to use. Features ask this, never the dialect's name."""
    if isinstance(bind, AsyncSession):
        return bind.get_bind().dialect.name == "postgresql"
    return bind.dialect.name == "postgresql"


def on_postgres(session: AsyncSession) -> bool:
    """The session's database is PostgreSQL (else SQLite): :func:`is_postgres` of a session."""
    return is_postgres(session)


def dialect_insert(bind: AsyncSession | AsyncConnection | Connection, table: Any) -> Any:
    """``INSERT`` into ``table`` in the database's own dialect, for ``ON CONFLICT`` clauses
    (``on_conflict_do_nothing``, ``on_conflict_do_update``), which both dialects spell alike."""
    return postgresql.insert(table) if is_postgres(bind) else sqlite.insert(table)


IN_CHUNK = 500
"""Values per ``IN (...)`` list on SQLite (and per list where a statement takes lists)."""


def chunked(values: Sequence[T], *, postgres: bool = False, size: int = IN_CHUNK) -> Iterator[list[T]]:
    """``values`` in pieces of ``size`` for an ``IN`` list (:func:`among`, ``in_``), in their order;
    all at once on PostgreSQL (``postgres=True``: one array parameter); nothing for no values."""
    step = len(values) if postgres else size
    for start in range(0, len(values), max(1, step)):
        yield list(values[start:start + step])


# --- the database away -------------------------------------------------------------------

UNAVAILABLE_RETRY_AFTER_S = 5
"""What an answer refused because the database is away asks the caller to wait (Retry-After)."""

_UNAVAILABLE_SQLSTATES = frozenset({
    "57P01",  # admin_shutdown: the server is stopping (fast or immediate)
    "57P02",  # crash_shutdown: another server process crashed
    "57P03",  # cannot_connect_now: starting up, shutting down or in recovery
    "53300",  # too_many_connections
})
"""PostgreSQL error codes that say the server cannot serve now, besides class ``08``
(connection exceptions, which include asyncpg's ``ConnectionDoesNotExistError``)."""
_UNAVAILABLE_MESSAGES = ("connection is closed", "unable to open database file")
"""Driver messages of a connection that is gone (asyncpg) or a database file that cannot be
opened (SQLite)."""
_DRIVER_MODULES = ("sqlalchemy.", "asyncpg.", "aiosqlite.")
POOL_TIMEOUT = "connection pool timeout"
"""How :func:`unavailable_reason` begins when every pooled connection stayed busy too long."""


def unavailable_reason(exc: BaseException) -> str | None:
    """Why ``exc`` means the database cannot be reached, in a line; None when it does not.

    The one place that tells "the database is away" from any other error: a connection
    refused, reset or timed out while connecting (raised through the driver or SQLAlchemy's
    pool, not by an HTTP client), PostgreSQL refusing connections (starting up, shutting
    down, too many clients), a connection lost mid-request (SQLAlchemy invalidates it), the
    pool's checkout timing out, or a SQLite file that cannot be opened. The causes and
    contexts of ``exc`` (and the members of an exception group) are looked at too, so an
    error raised while handling such a failure counts as well.
    """
    pending: list[BaseException] = [exc]
    seen: set[int] = set()
    while pending and len(seen) < 32:
        error = pending.pop()
        if id(error) in seen:
            continue
        seen.add(id(error))
        if _signals_unavailable(error):
            return _describe(error)
        pending.extend(e for e in (error.__cause__, error.__context__, getattr(error, "orig", None))
                       if isinstance(e, BaseException))
        if isinstance(error, BaseExceptionGroup):
            pending.extend(error.exceptions)
    return None


def _signals_unavailable(error: BaseException) -> bool:
    if isinstance(error, sa_exc.TimeoutError):  # the pool's checkout timed out
        return True
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, sa_exc.PendingRollbackError) and "invalid transaction" in str(error):
        return True  # the connection of this transaction was invalidated when it was lost
    sqlstate = getattr(error, "sqlstate", None)
    if type(error).__module__.startswith("asyncpg") and isinstance(sqlstate, str):
        return sqlstate.startswith("08") or sqlstate in _UNAVAILABLE_SQLSTATES
    if isinstance(error, sqlite3.OperationalError) or type(error).__module__.startswith("asyncpg"):
        # the driver's own message (SQLAlchemy's adds the statement and its parameters)
        return any(text in str(error) for text in _UNAVAILABLE_MESSAGES)
    if isinstance(error, OSError | TimeoutError):
        return _raised_by_driver(error)
    return False


def _raised_by_driver(error: BaseException) -> bool:
    """Whether ``error`` came up through the database driver or SQLAlchemy (connecting), not
    through an HTTP client or other code."""
    frame = error.__traceback__
    while frame is not None:
        module = frame.tb_frame.f_globals.get("__name__", "")
        if isinstance(module, str) and module.startswith(_DRIVER_MODULES):
            return True
        frame = frame.tb_next
    return False


def _describe(error: BaseException) -> str:
    """``Type: first line of the message`` of the driver's error behind ``error``."""
    if isinstance(error, sa_exc.TimeoutError):
        return f"{POOL_TIMEOUT}: {str(error).splitlines()[0][:200]}"
    inner = getattr(error, "orig", None)
    while isinstance(inner, BaseException) and getattr(inner, "orig", None) is not None:
        inner = getattr(inner, "orig", None)
    shown = inner if isinstance(inner, BaseException) else error
    lines = str(shown).strip().splitlines()
    return f"{type(shown).__name__}: {lines[0][:200]}" if lines else type(shown).__name__


RECOVERY_GRACE_S = 1.0
"""How long after the database answered again a failure is taken for a straggler of the
outage that just ended rather than a new one (for the log only: the request still gets 503)."""


class Availability:
    """Whether one engine's database answered when it was last tried, for one log line per
    change of state (away / back) however many requests and workers run into the outage.

    Anything that meets an error :func:`unavailable_reason` recognises calls :meth:`failed`;
    the engine's pool marks it back up when a new connection succeeds (or, after a pool
    timeout only, when a connection is checked out again). Failures met within
    :data:`RECOVERY_GRACE_S` of that are not a new outage: attempts that began while the
    server was still starting end after the first one that got through.
    """

    def __init__(self) -> None:
        self.down_since: float | None = None
        self.up_since: float | None = None
        self.reason = ""
        self._pool_only = False

    @property
    def down(self) -> bool:
        return self.down_since is not None

    def failed(self, reason: str) -> None:
        """The database could not be used (``reason`` from :func:`unavailable_reason`)."""
        pool_only = reason.startswith(POOL_TIMEOUT)
        if self.down_since is not None:
            self._pool_only = self._pool_only and pool_only
            return
        now = time.monotonic()
        if self.up_since is not None and now - self.up_since < RECOVERY_GRACE_S:
            return
        self.down_since = now
        self.reason = reason
        self._pool_only = pool_only
        log.warning("database unavailable (%s): API requests are answered 503 and workers pause "
                    "until it answers again", reason)

    def recovered(self) -> None:
        """The database answered: a connection was made (or checked out after a pool timeout)."""
        if self.down_since is None:
            return
        self.up_since = time.monotonic()
        away_s = self.up_since - self.down_since
        self.down_since = None
        log.warning("database available again after %.1f s", away_s)

    def _connected(self, *_: Any) -> None:
        if self.down_since is not None:
            self.recovered()

    def _checked_out(self, *_: Any) -> None:
        if self.down_since is not None and self._pool_only:
            self.recovered()


_AVAILABILITY: weakref.WeakKeyDictionary[Engine, Availability] = weakref.WeakKeyDictionary()


def availability(engine: AsyncEngine) -> Availability:
    """The :class:`Availability` of ``engine``'s database, listening to its pool from the
    first call on (:func:`create_engine` makes that call)."""
    sync_engine = engine.sync_engine
    found = _AVAILABILITY.get(sync_engine)
    if found is None:
        found = _AVAILABILITY[sync_engine] = Availability()
        event.listen(sync_engine, "connect", found._connected)
        event.listen(sync_engine, "checkout", found._checked_out)
    return found
