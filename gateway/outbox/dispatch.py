"""Wake-ups for the workers after a commit (the fast path; the relay is the safety net)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any, Protocol

DRAIN_JOB = "drain_provider"
log = logging.getLogger("gateway.sync")


class Wakeable(Protocol):
    """What a wake-up needs of a task: its id and its queue."""

    @property
    def id(self) -> str: ...

    @property
    def provider(self) -> str: ...


class Dispatcher(Protocol):
    async def notify(self, tasks: Sequence[Wakeable]) -> None: ...

    async def close(self) -> None: ...


class LocalDispatcher:
    """Embedded mode: wakes the in-process worker loop of each provider."""

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
    transaction per request. A wake-up lost here (Redis down, process killed) is found
    again by the relay; the database, not Redis, holds the work.
    """

    def __init__(self, pool: Any, *, coalesce_s: float = 0.005) -> None:
        self.pool = pool
        self.coalesce_s = coalesce_s
        self._pending: dict[str, str] = {}
        self._wakeup = asyncio.Event()
        self._flusher: asyncio.Task[None] | None = None

    async def notify(self, tasks: Sequence[Wakeable]) -> None:
        for task in tasks:
            self._pending.setdefault(task.provider, task.id)
        if not self._pending:
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
        for queue, task_id in pending.items():
            try:
                await self.pool.enqueue_job(DRAIN_JOB, queue, _job_id=f"wake:{queue}:{task_id}")
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
        await self.pool.aclose()
