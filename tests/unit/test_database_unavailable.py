"""Telling "the database is away" from other errors, logging an outage once, and the arq worker's
jobs pausing through it."""

from __future__ import annotations

import logging
import socket
from pathlib import Path
from typing import Any, cast

import asyncpg
import httpx
import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from gateway import worker
from gateway.core.settings import load_settings
from gateway.outbox.dispatch import LocalDispatcher
from gateway.outbox.engine import SyncEngine
from gateway.runtime.periodic import arq_cron
from gateway.runtime.process import RUNTIME_KEY, Runtime
from gateway.store.db import (
    POOL_TIMEOUT,
    RECOVERY_GRACE_S,
    Availability,
    availability,
    create_engine,
    session_factory,
    unavailable_reason,
)
from providers.registry import Adapters

DOWN_LINE = "database unavailable"
UP_LINE = "database available again"


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wrapped(orig: BaseException, *, invalidated: bool = False) -> sa_exc.DBAPIError:
    """``orig`` as SQLAlchemy raises a driver's error."""
    error = sa_exc.DBAPIError("SELECT 1", None, orig, connection_invalidated=invalidated)
    error.__cause__ = orig
    return error


def _lines(caplog: pytest.LogCaptureFixture, start: str) -> int:
    return sum(1 for r in caplog.records if r.name == "gateway.store" and r.getMessage().startswith(start))


async def test_a_refused_database_connection_is_unavailable() -> None:
    """PostgreSQL refusing the TCP connection (raised through the pool) is the database away."""
    engine = create_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{_closed_port()}/none")
    try:
        with pytest.raises(OSError) as caught:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
    finally:
        await engine.dispose()
    reason = unavailable_reason(caught.value)
    assert reason is not None and reason.startswith("ConnectionRefusedError")


async def test_an_http_client_refused_is_not_the_database() -> None:
    """A provider call refused (httpx, with an OSError behind it) stays an ordinary error."""
    async with httpx.AsyncClient() as client:
        with pytest.raises(httpx.ConnectError) as caught:
            await client.get(f"http://127.0.0.1:{_closed_port()}/")
    assert isinstance(caught.value.__context__, BaseException)
    assert unavailable_reason(caught.value) is None
    assert unavailable_reason(ConnectionRefusedError("not raised by the driver")) is None


@pytest.mark.parametrize("orig", [
    asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
    asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command"),
    asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
    asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already"),
])
def test_postgres_refusing_or_losing_the_connection_is_unavailable(orig: Exception) -> None:
    """PostgreSQL starting up, shutting down, full, or the connection lost: named by the driver's error."""
    reason = unavailable_reason(_wrapped(orig))
    assert reason is not None and reason.startswith(type(orig).__name__)


def test_other_database_errors_are_not_unavailable() -> None:
    """A unique violation, a syntax error or a plain bug is not an outage (500 or 409 stay)."""
    assert unavailable_reason(sa_exc.IntegrityError("INSERT", None, asyncpg.exceptions.UniqueViolationError(
        "duplicate key"))) is None
    assert unavailable_reason(_wrapped(asyncpg.exceptions.PostgresSyntaxError("syntax error"))) is None
    assert unavailable_reason(ValueError("bug")) is None


def test_an_invalidated_connection_and_errors_raised_while_handling_one_count() -> None:
    """SQLAlchemy's invalidated connection counts, and so does an error raised while handling one."""
    lost = _wrapped(RuntimeError("socket gone"), invalidated=True)
    assert unavailable_reason(lost) is not None
    try:
        try:
            raise lost
        except sa_exc.DBAPIError:
            raise KeyError("cleanup failed") from None  # the context is still recorded
    except KeyError as follow_up:
        assert follow_up.__context__ is lost
        assert unavailable_reason(follow_up) is not None


async def test_a_pool_timeout_is_unavailable_and_recovers_on_checkout(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Every pooled connection busy too long is a 503; the next checkout ends that state."""
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'pool.db'}", pool_size=1,
                                 max_overflow=0, pool_timeout=0.05)
    state = availability(engine)
    try:
        async with engine.connect() as held:
            await held.execute(text("SELECT 1"))
            with pytest.raises(sa_exc.TimeoutError) as caught:
                async with engine.connect():
                    pass
        reason = unavailable_reason(caught.value)
        assert reason is not None and reason.startswith(POOL_TIMEOUT)
        state.failed(reason)
        assert state.down
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        assert not state.down
    finally:
        await engine.dispose()
    assert _lines(caplog, DOWN_LINE) == 1 and _lines(caplog, UP_LINE) == 1


async def test_an_outage_is_logged_once_and_ends_with_a_new_connection(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Many failures log one line; the first new connection once the database is there ends it."""
    path = tmp_path / "later" / "gateway.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    state = availability(engine)
    try:
        for _ in range(3):
            with pytest.raises(sa_exc.OperationalError) as caught:
                async with engine.connect():
                    pass
            reason = unavailable_reason(caught.value)
            assert reason is not None and "unable to open database file" in reason
            state.failed(reason)
        assert state.down and _lines(caplog, DOWN_LINE) == 1
        path.parent.mkdir()
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        assert not state.down
    finally:
        await engine.dispose()
    assert _lines(caplog, UP_LINE) == 1


def test_failures_right_after_recovery_are_stragglers(caplog: pytest.LogCaptureFixture) -> None:
    """An attempt that began before the database came back does not log a new outage; a later one does."""
    state = Availability()
    state.failed("ConnectionRefusedError: refused")
    state.recovered()
    state.failed("CannotConnectNowError: the database system is not yet accepting connections")
    assert not state.down
    assert state.up_since is not None
    state.up_since -= RECOVERY_GRACE_S
    state.failed("ConnectionRefusedError: refused")
    assert state.down
    assert _lines(caplog, DOWN_LINE) == 2 and _lines(caplog, UP_LINE) == 1


class _FailingSync:
    """A stand-in for the sync engine whose drain raises ``error``."""

    cut_short = False
    last_task_id = None

    def __init__(self, error: Exception) -> None:
        self.error = error

    async def drain(self, provider: str, **_: Any) -> int:
        raise self.error


async def test_arq_jobs_end_quietly_while_the_database_is_away(caplog: pytest.LogCaptureFixture) -> None:
    """A drain job or the relay cron meeting the outage ends without an error; other errors still raise."""
    engine = create_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{_closed_port()}/none")
    lost = _wrapped(asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"))
    relay = arq_cron(worker.RELAY_JOB).coroutine
    try:
        runtime = Runtime(settings=load_settings({}), engine=engine, sessions=session_factory(engine),
                          reader=engine, adapters=Adapters({}), dispatcher=LocalDispatcher(),
                          sync=cast(SyncEngine, _FailingSync(lost)))
        ctx: dict[str, Any] = {RUNTIME_KEY: runtime}
        assert await worker.drain_provider(ctx, "volue") == 0
        assert await relay(ctx) is None
        assert await relay(ctx) is None
        assert availability(engine).down
        runtime.sync = cast(SyncEngine, _FailingSync(ValueError("a bug")))
        with pytest.raises(ValueError):
            await worker.drain_provider(ctx, "volue")
    finally:
        await engine.dispose()
    assert _lines(caplog, DOWN_LINE) == 1
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
