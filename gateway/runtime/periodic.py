"""Periodic jobs, each registered once and run by arq or by the embedded worker.

A :class:`PeriodicJob` names its work (a coroutine taking the process's
:class:`~gateway.runtime.process.Runtime`), its interval (from the settings; 0 or less
switches it off) and how workers share it:

* **arq** (:func:`arq_cron`): every worker checks at the job's cron ``second``/``minute``;
  arq's unique cron runs lets one worker take each check. A job with an ``elect`` then
  runs once per interval across all workers (the election, usually a Redis ``SET NX EX``
  key of :func:`interval_lock`), and one with a ``running_lock`` never twice at once.
  A check that meets the database away ends quietly and runs again at its next time.
* **embedded** (:func:`run_embedded`): a loop of the API process, the first run one
  interval after start-up (or ``first_after_s``), then one every interval; a run that
  fails is logged (an outage only by the engine's availability) and the loop goes on.

A job's ``when`` (optional) is asked first in both: a run it declines neither takes the
interval's election nor counts as a run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from arq import cron
from arq.cron import CronJob
from redis.exceptions import LockError

from gateway.core.settings import Settings
from gateway.runtime.process import RUNTIME_KEY, Runtime

log = logging.getLogger("gateway.worker")

Election = Callable[[Any, int], Awaitable[bool]]
"""Given arq's Redis pool and the interval in seconds: whether this worker takes the run."""


def interval_lock(key: str) -> Election:
    """The first worker to ask within an interval takes the run (``SET key NX EX interval``)."""

    async def take(redis: Any, interval_s: int) -> bool:
        return bool(await redis.set(key, "1", ex=interval_s, nx=True))

    return take


def every(seconds: float) -> Callable[[Settings], float]:
    """A fixed interval, whatever the settings."""
    return lambda _settings: seconds


@dataclass(frozen=True)
class PeriodicJob:
    """One periodic job: what it runs, how often, and how the workers of a deployment share it."""

    name: str
    """Its name in logs (arq's cron is ``cron:<name>``)."""
    run: Callable[[Runtime], Awaitable[Any]]
    interval_s: Callable[[Settings], float]
    """Seconds between runs; 0 or less switches the job off."""
    second: frozenset[int]
    """arq: the seconds of a minute at which a worker checks whether a run is due."""
    minute: frozenset[int] | None = None
    """arq: the minutes of an hour of those checks (None: every minute)."""
    elect: Election | None = None
    """arq: how one worker of all takes a run per interval (None: every check runs)."""
    running_lock: str | None = None
    """arq: a Redis lock held while it runs, so that a run outlasting its interval is not joined
    by another worker's."""
    running_lock_s: int = 600
    when: Callable[[Runtime], Awaitable[bool]] | None = None
    """Asked before each run (and before the election): False skips this run."""
    at_start: bool = False
    """arq: also check when the worker starts."""
    first_after_s: float | None = None
    """Embedded: the first run this long after start-up (at most one interval; None: one interval)."""


async def _run_elected(job: PeriodicJob, runtime: Runtime) -> Any:
    interval = job.interval_s(runtime.settings)
    if interval <= 0:
        return None
    if job.when is not None and not await job.when(runtime):
        return None
    if job.elect is not None and not await job.elect(runtime.redis, int(interval)):
        return None
    if job.running_lock is None:
        return await job.run(runtime)
    running = runtime.redis.lock(job.running_lock, timeout=job.running_lock_s, blocking=False)
    if not await running.acquire():
        return None
    try:
        return await job.run(runtime)
    finally:
        with contextlib.suppress(LockError):
            await running.release()


def arq_cron(job: PeriodicJob) -> CronJob:
    """The arq cron of ``job``, for ``WorkerSettings.cron_jobs``."""

    async def check(ctx: dict[Any, Any]) -> Any:
        runtime: Runtime = ctx[RUNTIME_KEY]
        try:
            return await _run_elected(job, runtime)
        except Exception as exc:
            if not runtime.database_away(exc):
                raise
            return None

    check.__qualname__ = check.__name__ = job.name
    return cron(check, name=f"cron:{job.name}", second=set(job.second),
                minute=None if job.minute is None else set(job.minute), run_at_startup=job.at_start)


async def run_embedded(job: PeriodicJob, runtime: Runtime) -> None:
    """Run ``job`` every interval in this process until cancelled (embedded mode)."""
    interval = job.interval_s(runtime.settings)
    if interval <= 0:
        return
    first = interval if job.first_after_s is None else min(job.first_after_s, interval)
    await asyncio.sleep(first)
    while True:
        try:
            if job.when is None or await job.when(runtime):
                await job.run(runtime)
        except Exception as exc:
            if not runtime.database_away(exc):
                log.exception("%s failed", job.name)
        await asyncio.sleep(interval)
