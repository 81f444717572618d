"""The scheduled reconciliation: every ``GATEWAY_RECONCILE_INTERVAL_S`` (default daily).

The periodic job :data:`RECONCILE_JOB`: in embedded mode a loop of the API process runs it;
with Redis, an arq cron of every worker asks Redis whether the interval has passed (one
``SET NX EX`` key shared by all workers), so one worker runs it per interval. The first
interval starts when a worker first asks, so a fresh deployment (or a flushed Redis)
compares one interval later, not while its first writes are still being synced. A scheduled
run records drift (links, metrics, ``drift.found`` events) and repairs nothing: repairs are
an operator's call.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.reconcile.service import reconcilable, reconcile
from gateway.runtime.periodic import PeriodicJob
from gateway.runtime.process import Runtime
from providers.registry import Adapters

log = logging.getLogger("gateway.reconcile")
DUE_KEY = "gateway:reconcile:due"
SEEN_KEY = "gateway:reconcile:seen"
FIRST_RUN_DELAY_S = 60.0
"""An embedded gateway first compares this long after start, when its first writes have settled."""


async def run_once(sessions: async_sessionmaker[AsyncSession], adapters: Adapters) -> int:
    """Compare every provider that can list what it holds; return the drifted objects found."""
    found = 0
    for report, _ in await reconcile(sessions, adapters, reconcilable(adapters)):
        counts = report.counts()
        found += sum(counts.values())
        if report.items:
            log.warning("drift at %s: %s", report.provider,
                        ", ".join(f"{count} {drift}" for drift, count in counts.items() if count))
        else:
            log.info("no drift at %s (%d records compared)", report.provider, report.checked)
    return found


async def due(redis: Any, interval_s: int) -> bool:
    """Whether this worker takes the current interval's run (the first to ask does)."""
    if interval_s <= 0:
        return False
    if await redis.set(SEEN_KEY, "1", nx=True):
        await redis.set(DUE_KEY, "1", ex=interval_s)
        return False
    return bool(await redis.set(DUE_KEY, "1", ex=interval_s, nx=True))


async def scheduled_reconcile(runtime: Runtime) -> int:
    """The scheduled comparison; return the drifted objects found."""
    return await run_once(runtime.sessions, runtime.adapters)


RECONCILE_JOB = PeriodicJob(
    name="scheduled_reconcile",
    run=scheduled_reconcile,
    interval_s=lambda settings: settings.reconcile.interval_s,
    second=frozenset({30}),
    elect=due,
    first_after_s=FIRST_RUN_DELAY_S,
)
