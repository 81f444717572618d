"""Periodic jobs: one declaration, run by arq's crons (elected across workers) or the embedded loop."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from gateway.core.settings import load_settings
from gateway.outbox.dispatch import LocalDispatcher
from gateway.runtime.periodic import PeriodicJob, arq_cron, every, interval_lock, run_embedded
from gateway.runtime.process import RUNTIME_KEY, Runtime
from gateway.store.db import session_factory
from providers.registry import Adapters


class _Lock:
    def __init__(self, redis: _Redis, key: str) -> None:
        self.redis, self.key = redis, key

    async def acquire(self) -> bool:
        return bool(await self.redis.set(self.key, "1", nx=True))

    async def release(self) -> None:
        self.redis.values.pop(self.key, None)


class _Redis:
    """The few commands the elections use, in memory (expiry left out: one interval per test)."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    async def set(self, key: str, value: str, *, ex: int | None = None, nx: bool = False) -> bool:
        if nx and key in self.values:
            return False
        self.values[key] = value
        return True

    def lock(self, key: str, *, timeout: int, blocking: bool) -> _Lock:
        return _Lock(self, key)


def _runtime(redis: Any = None) -> Runtime:
    engine = create_async_engine("sqlite+aiosqlite://")
    return Runtime(settings=load_settings({}), engine=engine, sessions=session_factory(engine), reader=engine,
                   adapters=Adapters({}), dispatcher=LocalDispatcher(), redis=redis)


class _Counting:
    """A job body that counts its runs and can be told to fail."""

    def __init__(self) -> None:
        self.runs = 0
        self.error: Exception | None = None
        self.ran = asyncio.Event()

    async def __call__(self, runtime: Runtime) -> int:
        self.runs += 1
        self.ran.set()
        if self.error is not None:
            raise self.error
        return self.runs


async def test_an_elected_job_runs_once_per_interval_across_workers() -> None:
    """Two workers sharing Redis check the same cron: one of them runs it, the other returns None."""
    body = _Counting()
    job = PeriodicJob(name="count", run=body, interval_s=every(60), second=frozenset({0}),
                      elect=interval_lock("test:count"))
    check = arq_cron(job).coroutine
    redis = _Redis()
    first, second = {RUNTIME_KEY: _runtime(redis)}, {RUNTIME_KEY: _runtime(redis)}
    assert await check(first) == 1
    assert await check(second) is None
    assert body.runs == 1
    assert arq_cron(job).name == "cron:count"


async def test_a_declined_run_takes_no_election() -> None:
    """``when`` is asked before the election: a run it declines leaves the interval to a later check."""
    body = _Counting()
    allowed = False

    async def when(_runtime: Runtime) -> bool:
        return allowed

    redis = _Redis()
    job = PeriodicJob(name="gated", run=body, interval_s=every(60), second=frozenset({0}), when=when,
                      elect=interval_lock("test:gated"))
    ctx = {RUNTIME_KEY: _runtime(redis)}
    assert await arq_cron(job).coroutine(ctx) is None
    assert redis.values == {}
    allowed = True
    assert await arq_cron(job).coroutine(ctx) == 1


async def test_a_running_job_is_not_joined() -> None:
    """A job with a running lock skips a check while another worker's run still holds it."""
    body = _Counting()
    redis = _Redis()
    job = PeriodicJob(name="long", run=body, interval_s=every(60), second=frozenset({0}),
                      running_lock="test:long:running")
    ctx = {RUNTIME_KEY: _runtime(redis)}
    await redis.set("test:long:running", "1")
    assert await arq_cron(job).coroutine(ctx) is None
    await redis.lock("test:long:running", timeout=1, blocking=False).release()
    assert await arq_cron(job).coroutine(ctx) == 1
    assert "test:long:running" not in redis.values  # released after the run


async def test_a_switched_off_job_never_runs() -> None:
    """An interval of 0 switches the job off: the cron returns None and the embedded loop ends at once."""
    body = _Counting()
    job = PeriodicJob(name="off", run=body, interval_s=every(0), second=frozenset({0}))
    runtime = _runtime(_Redis())
    assert await arq_cron(job).coroutine({RUNTIME_KEY: runtime}) is None
    await asyncio.wait_for(run_embedded(job, runtime), timeout=5)
    assert body.runs == 0


async def test_the_embedded_loop_logs_a_failed_run_and_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    """A run that raises is logged with the job's name; the next interval runs it again."""
    body = _Counting()
    body.error = ValueError("a bug")
    job = PeriodicJob(name="flaky", run=body, interval_s=every(0.01), second=frozenset({0}))
    loop = asyncio.create_task(run_embedded(job, _runtime()))
    try:
        await asyncio.wait_for(body.ran.wait(), timeout=5)
        body.ran.clear()
        body.error = None
        await asyncio.wait_for(body.ran.wait(), timeout=5)
    finally:
        loop.cancel()
    assert body.runs >= 2
    failed = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert failed and failed[0].getMessage() == "flaky failed"


async def test_other_errors_of_an_arq_run_raise() -> None:
    """The arq cron ends quietly only for a database outage; any other error reaches arq."""
    body = _Counting()
    body.error = ValueError("a bug")
    job = PeriodicJob(name="bug", run=body, interval_s=every(60), second=frozenset({0}))
    with pytest.raises(ValueError):
        await arq_cron(job).coroutine({RUNTIME_KEY: _runtime(_Redis())})
