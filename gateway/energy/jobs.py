"""The derivation as a periodic job: an arq cron across workers, or a loop of the embedded worker."""

from __future__ import annotations

from gateway.core.clock import utcnow
from gateway.core.timespan import interval_seconds
from gateway.energy.service import derive_and_report
from gateway.runtime.periodic import PeriodicJob, interval_lock
from gateway.runtime.process import Runtime

DERIVE_LOCK_KEY = "gateway:energy-usage:derive"
RUN_LOCK_S = 600


async def derive_energy_usage(runtime: Runtime) -> int:
    """Derive and queue the reports that changed, waking the Volue queue after each batch's
    commit; return the number of reports queued."""
    summary = await derive_and_report(
        runtime.sessions, runtime.dispatcher,
        interval_s=interval_seconds(runtime.settings.energy.resolution), now=utcnow())
    return summary.reports


DERIVE_JOB = PeriodicJob(
    name="derive_energy_usage",
    run=derive_energy_usage,
    interval_s=lambda settings: settings.energy.derive_interval_s,
    second=frozenset(range(0, 60, 10)),
    # One derivation per interval across all workers, and one run at a time as well (a run may
    # outlast the interval); the marks keep it exact anyway.
    elect=interval_lock(DERIVE_LOCK_KEY),
    running_lock=f"{DERIVE_LOCK_KEY}:running",
    running_lock_s=RUN_LOCK_S,
)
