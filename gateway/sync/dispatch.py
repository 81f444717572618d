"""Wake-ups for the workers after a commit (the fast path; the relay is the safety net)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Protocol

from gateway.store.tables import OutboxTaskRow

DRAIN_JOB = "drain_provider"


class Dispatcher(Protocol):
    async def notify(self, tasks: Sequence[OutboxTaskRow]) -> None: ...

    async def close(self) -> None: ...


class LocalDispatcher:
    """Embedded mode: wakes the in-process worker loop of each provider."""

    def __init__(self) -> None:
        self.events: dict[str, asyncio.Event] = {}

    def event(self, provider: str) -> asyncio.Event:
        return self.events.setdefault(provider, asyncio.Event())

    async def notify(self, tasks: Sequence[OutboxTaskRow]) -> None:
        for provider in {task.provider for task in tasks}:
            self.event(provider).set()

    async def close(self) -> None:
        return None


class ArqDispatcher:
    """Scale-out mode: one arq job per provider and commit, with a deterministic job id."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool

    async def notify(self, tasks: Sequence[OutboxTaskRow]) -> None:
        first: dict[str, str] = {}
        for task in tasks:
            first.setdefault(task.provider, task.id)
        for provider, task_id in first.items():
            await self.pool.enqueue_job(DRAIN_JOB, provider, _job_id=f"wake:{provider}:{task_id}")

    async def ping(self) -> None:
        await self.pool.ping()

    async def close(self) -> None:
        await self.pool.aclose()
