"""Wake-ups for the workers after a commit (the fast path; the relay is the safety net)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from gateway.core.clock import utcnow

DRAIN_JOB = "drain_provider"
log = logging.getLogger("gateway.sync")


class QueuedTask(NamedTuple):
    """What the dispatcher needs of a task it wakes a worker for."""

    id: str
    provider: str
    ready_at: datetime | None = None
    """When the task becomes claimable, if later than its commit (its ``run_after``)."""


class Wakeable(Protocol):
    """What a wake-up needs of a task: its id and its queue."""

    @property
    def id(self) -> str: ...

    @property
    def provider(self) -> str: ...


def ready_at(task: Wakeable) -> datetime | None:
    """When a task becomes claimable if it says so (``QueuedTask.ready_at``), else None: at once."""
    when: datetime | None = getattr(task, "ready_at", None)
    return when


class Dispatcher(Protocol):
    async def notify(self, tasks: Sequence[Wakeable]) -> None: ...

    async def close(self) -> None: ...


class LocalDispatcher:
    """Embedded mode: wakes the in-process worker loop of each provider.

    A task claimable only later wakes the loop too: it reads the next ``run_after`` of its
    queue again and sleeps until then (``gateway.worker``).
    """

    def __init__(self) -> None:
        self.events: dict[str, asyncio.Event] = {}

    def event(self, provider: str) -> asyncio.Event:
        return self.events.setdefault(provider, asyncio.Event())

    async def notify(self, tasks: Sequence[Wakeable]) -> None:
        for provider in {task.provider for task in tasks}:
            self.event(provider).set()

    async def close(self) -> None:
        return None


class ArqDispatcher:
    """Scale-out mode: arq jobs with deterministic ids (``wake:<queue>:<first task id>``).

    Wake-ups are coalesced: commits within ``coalesce_s`` of each other share one job
    per queue, sent by a background task, so a busy API process does not pay a Redis
    transaction per request. Tasks claimable only later (a lingering reading batch) share
    one deferred job per queue and flush (``linger:<queue>:<task id>``), due when the
    latest of them becomes claimable. A wake-up lost here (Redis down, process killed) is
    found again by the relay; the database, not Redis, holds the work.
    """

    def __init__(self, pool: Any, *, coalesce_s: float = 0.005, owns_pool: bool = True) -> None:
        self.pool = pool
        self.owns_pool = owns_pool
        """Whether :meth:`close` closes ``pool`` too (an arq worker's pool is arq's to close)."""
        self.coalesce_s = coalesce_s
        self._pending: dict[str, str] = {}
        self._deferred: dict[str, tuple[datetime, str]] = {}
        """Per queue, the latest time a task of this flush becomes claimable, and that task."""
        self._wakeup = asyncio.Event()
        self._flusher: asyncio.Task[None] | None = None

    async def notify(self, tasks: Sequence[Wakeable]) -> None:
        now: datetime | None = None
        for task in tasks:
            when = ready_at(task)
            if when is not None:
                now = now or utcnow()
                if when > now:
                    latest = self._deferred.get(task.provider)
                    if latest is None or latest < (when, task.id):
                        self._deferred[task.provider] = (when, task.id)
                    continue
            self._pending.setdefault(task.provider, task.id)
        if not self._pending and not self._deferred:
            return
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_forever())
        self._wakeup.set()

    async def _flush_forever(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            await asyncio.sleep(self.coalesce_s)
            await self.flush()

    async def flush(self) -> None:
        """Send the wake-ups gathered so far."""
        pending, self._pending = self._pending, {}
        deferred, self._deferred = self._deferred, {}
        jobs: list[tuple[str, str, datetime | None]] = [
            (queue, f"wake:{queue}:{task_id}", None) for queue, task_id in pending.items()]
        jobs.extend((queue, f"linger:{queue}:{task_id}", when)
                    for queue, (when, task_id) in deferred.items())
        for queue, job_id, when in jobs:
            try:
                await self.pool.enqueue_job(DRAIN_JOB, queue, _job_id=job_id, _defer_until=when)
            except Exception as exc:
                log.warning("could not wake the %s workers (%s); the relay will", queue,
                            type(exc).__name__)

    async def ping(self) -> None:
        await self.pool.ping()

    async def close(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        await self.flush()
        if self.owns_pool:
            await self.pool.aclose()
