"""One unit of work: records and their outbox tasks in one transaction, queues woken after it.

    async with unit_of_work(sessions, dispatcher) as uow:
        ...  # write rows through uow.session, plan upstream work through uow.planner

The transaction commits when the block ends without an error (and rolls back when it
raises); only after the commit are the queues of the planned tasks woken, so a worker
never wakes for a task it cannot see yet. Without a dispatcher the caller wakes them.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Executable
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.clock import utcnow
from gateway.outbox.dispatch import Dispatcher, Wakeable
from gateway.outbox.plan import OutboxPlanner


@dataclass(frozen=True, slots=True)
class UnitOfWork:
    """The session of one transaction and the planner of its outbox work."""

    session: AsyncSession
    planner: OutboxPlanner

    @property
    def wakeups(self) -> list[Wakeable]:
        """The tasks whose queues need waking once the transaction is committed."""
        return [*self.planner.created, *self.planner.wake_too]


@asynccontextmanager
async def unit_of_work(
    sessions: async_sessionmaker[AsyncSession], dispatcher: Dispatcher | None, *, now: datetime | None = None
) -> AsyncIterator[UnitOfWork]:
    """A transaction with an outbox planner (its clock at ``now``, default the current time);
    committed at the end of the block, then ``dispatcher`` (when given) wakes the queues."""
    async with sessions() as session:
        uow = UnitOfWork(session=session, planner=OutboxPlanner(session, now or utcnow()))
        yield uow
        await session.commit()
    if dispatcher is not None:
        await dispatcher.notify(uow.wakeups)


log = logging.getLogger("gateway.sync")


async def record_now(sessions: async_sessionmaker[AsyncSession], statement: Executable, *,
                     what: str) -> None:
    """Run ``statement`` in a short transaction of its own, right away: for recording what a
    provider has just taken, before anything else in the round can fail. A failure is logged
    (``what`` names the record), not raised; the round's own transaction records it again."""
    try:
        async with sessions() as session:
            await session.execute(statement)
            await session.commit()
    except Exception:
        log.exception("recording %s failed", what)
