"""Running the derivation: an arq cron across workers, or a loop of the embedded worker."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from redis.exceptions import LockError

from gateway.core.clock import utcnow
from gateway.core.domain import Provider
from gateway.core.settings import Settings
from gateway.core.timespan import interval_seconds
from gateway.energy.service import DeriveSummary, derive_and_report
from gateway.outbox.dispatch import DRAIN_JOB

log = logging.getLogger("gateway.energy")
DERIVE_LOCK_KEY = "gateway:energy-usage:derive"
RUN_LOCK_S = 600


async def derive_energy_usage(ctx: dict[str, Any]) -> int:
    """arq cron: one derivation per ``energy_derive_interval_s`` across all workers; wakes the
    Volue queue when it queued reports. Returns the number of reports queued."""
    settings: Settings = ctx["settings"]
    interval = settings.energy.derive_interval_s
    if interval <= 0 or not await ctx["redis"].set(DERIVE_LOCK_KEY, "1", ex=interval, nx=True):
        return 0
    # One run at a time as well (a run may outlast the interval); the marks keep it exact anyway.
    running = ctx["redis"].lock(f"{DERIVE_LOCK_KEY}:running", timeout=RUN_LOCK_S, blocking=False)
    if not await running.acquire():
        return 0
    try:
        summary = await derive_and_report(ctx["sessions"], None,
                                          interval_s=interval_seconds(settings.energy.resolution),
                                          now=utcnow())
    finally:
        with contextlib.suppress(LockError):
            await running.release()
    if summary.reports:
        await ctx["redis"].enqueue_job(DRAIN_JOB, Provider.VOLUE.value,
                                       _job_id=f"energy:{summary.report_ids[0]}")
    return summary.reports


async def energy_usage_loop(state: Any, settings: Settings) -> None:
    """Embedded mode: derive every ``energy_derive_interval_s`` seconds, waking the Volue queue
    through the dispatcher after each site's commit."""
    interval = settings.energy.derive_interval_s
    if interval <= 0:
        return
    while True:
        await asyncio.sleep(interval)
        try:
            summary: DeriveSummary = await derive_and_report(
                state.sessions, state.dispatcher,
                interval_s=interval_seconds(settings.energy.resolution), now=utcnow())
        except Exception:
            log.exception("energy usage derivation failed")
        else:
            log.debug("energy usage derivation: %s", summary)
