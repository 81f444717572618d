"""The typed runtime of one process: built once at start-up, handed to what runs in it.

The API keeps its :class:`Runtime` in one place (``app.state.runtime``, read with
:meth:`Runtime.of`); an arq worker's ``on_startup`` puts its own in ``ctx`` under
:data:`RUNTIME_KEY`. Controllers, the arq jobs and the periodic jobs
(:mod:`gateway.runtime.periodic`) take what they need from it instead of looking up loose
attributes or dictionary keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.settings import Settings
from gateway.outbox.dispatch import Dispatcher
from gateway.outbox.engine import SyncEngine
from gateway.store.db import availability, unavailable_reason
from providers.registry import Adapters

RUNTIME_KEY = "runtime"
"""The key of an arq worker's :class:`Runtime` in its ``ctx``."""


@dataclass(kw_only=True)
class Runtime:
    """What a process built once: settings, database, provider adapters, wake-ups, workers."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    """Transactions (the ORM's sessions)."""
    reader: AsyncEngine
    """The same pool in autocommit mode, for single-statement reads."""
    adapters: Adapters
    dispatcher: Dispatcher
    """Wakes the workers after a commit: arq jobs through Redis, or the embedded loops."""
    redis: Any = None
    """arq's Redis pool in an arq worker (elections, jobs); None in the API process."""
    sync: SyncEngine | None = None
    """The sync engine of the worker running in this process, if one does."""

    @staticmethod
    def of(holder: Any) -> Runtime:
        """The runtime of an app, or of the app a request or connection belongs to."""
        app = getattr(holder, "app", holder)
        return Runtime.of_state(app.state)

    @staticmethod
    def of_state(state: Any) -> Runtime:
        """The runtime kept in an app's state (set by the app's lifespan)."""
        return cast(Runtime, state.runtime)

    def worker(self) -> SyncEngine:
        """The sync engine of this process's worker (only a worker's runtime has one)."""
        if self.sync is None:
            raise RuntimeError("this process runs no sync worker")
        return self.sync

    def database_away(self, exc: BaseException) -> bool:
        """Whether ``exc`` means the database cannot be reached; if so, the engine's
        :class:`~gateway.store.db.Availability` is told (it logs the outage once)."""
        reason = unavailable_reason(exc)
        if reason is None:
            return False
        availability(self.engine).failed(reason)
        return True
