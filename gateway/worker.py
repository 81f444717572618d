"""Running the sync engine: arq workers (scale-out) or an in-process loop (embedded).

arq side: ``WorkerSettings`` builds the process's :class:`~gateway.runtime.process.Runtime`
(database engine, adapters from ``gateway.bootstrap.build_adapters``, sync engine, an arq
dispatcher) once in ``on_startup`` into ``ctx``; the job ``drain_provider(provider)`` runs
ready tasks. Retries, and reading batches that linger before they may be claimed, are woken
with deferred jobs whose ids are deterministic.

The periodic jobs (:data:`PERIODIC_JOBS`, :mod:`gateway.runtime.periodic`) are listed once
and run as arq crons or as loops of the embedded worker: the ``relay`` releases lapsed leases
and wakes providers whose ready tasks lost their wake-up (Redis flushed, worker killed),
history pruning, the events poll, the energy derivation, the delivery check and the drift
reconciliation.

Embedded side: one loop per provider waits on the dispatcher's event (set after
every commit, and by the engine for a queue whose tasks a round made ready or
that a paused provider may resume) or the next ``run_after`` of its queue (a
retry, a lingering reading batch), whichever comes first; no Redis needed.

While the database is away (:func:`gateway.store.db.unavailable_reason`), both pause by
themselves: an arq job or cron that meets the outage ends quietly (the relay wakes the
providers again once it gets through), an embedded loop waits, doubling the wait from
``PAUSE_MIN_S`` to ``PAUSE_MAX_S``, and tries again. The outage is logged once when it begins
and once when it ends (the engine's :class:`~gateway.store.db.Availability`), not per attempt;
claimed tasks whose round was cut off keep their lease until it lapses, then run again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from arq.connections import RedisSettings
from arq.worker import run_worker

from gateway.bootstrap import build_adapters, build_kinds
from gateway.core.clock import utcnow
from gateway.core.heap import startup_objects_frozen
from gateway.core.settings import Settings, load_settings
from gateway.energy.jobs import DERIVE_JOB
from gateway.events.poll import POLL_JOB
from gateway.observability.metrics import MetricsServer, refresh_outbox
from gateway.observability.tracing import configure_from_env as configure_tracing
from gateway.outbox.circuit import SharedCircuits
from gateway.outbox.claim import next_run_after, providers_with_ready_work, release_lapsed
from gateway.outbox.dispatch import DRAIN_JOB, ArqDispatcher, LocalDispatcher
from gateway.outbox.engine import SyncEngine
from gateway.outbox.retention import prune_all
from gateway.readings.verification import VERIFY_JOB
from gateway.reconcile.schedule import RECONCILE_JOB
from gateway.runtime.periodic import PeriodicJob, arq_cron, every, run_embedded
from gateway.runtime.process import RUNTIME_KEY, Runtime
from gateway.store.db import create_engine, reader, session_factory

if TYPE_CHECKING:
    from arq.cron import CronJob
    from arq.typing import StartupShutdown, WorkerCoroutine
    from arq.worker import Function

log = logging.getLogger("gateway.worker")
RELAY_EVERY_S = 5
EMBEDDED_STOP_WAIT_S = 10.0
"""How long the API's shutdown waits for the embedded worker's loops and provider clients."""
DRAIN_SLICE_S = 10.0
PAUSE_MIN_S = 0.5
PAUSE_MAX_S = 5.0
"""An embedded loop that met an error waits this long before it tries again, doubling."""
IDLE_WAIT_S = 5.0
"""How long an embedded provider loop with nothing due sleeps unless woken."""


# --- the periodic jobs ---------------------------------------------------------------------


async def relay(runtime: Runtime) -> list[str]:
    """Free lapsed leases and wake the queues that have ready tasks (a wake-up lost with Redis,
    a worker killed mid-round); refresh the outbox gauges."""
    now = utcnow()
    async with runtime.sessions() as session:
        lapsed = await release_lapsed(session, now=now)
        ready = await providers_with_ready_work(session, now=now)
        await refresh_outbox(session)
    woken = sorted(set(lapsed) | set(ready))
    # One wake-up per queue and relay period, whichever worker's relay sends it.
    bucket = int(now.timestamp()) // RELAY_EVERY_S
    await runtime.dispatcher.notify([_Wake(f"relay:{queue}:{bucket}", queue) for queue in woken])
    return woken


@dataclass(frozen=True)
class _Wake:
    id: str
    provider: str


async def prune_history(runtime: Runtime) -> tuple[int, int, int]:
    """Delete call history, finished tasks and Volue events past their retention."""
    return await prune_all(runtime.sessions, runtime.settings, now=utcnow())


RELAY_JOB = PeriodicJob(name="relay", run=relay, interval_s=every(RELAY_EVERY_S),
                        second=frozenset(range(0, 60, RELAY_EVERY_S)), at_start=True)
PRUNE_JOB = PeriodicJob(name="prune_history", run=prune_history, interval_s=every(3600),
                        second=frozenset({0}), minute=frozenset({17}), first_after_s=RELAY_EVERY_S)
"""Hourly (at minute 17 with arq; the first a few seconds after an embedded start)."""
PERIODIC_JOBS: tuple[PeriodicJob, ...] = (
    RELAY_JOB,
    PRUNE_JOB,
    POLL_JOB,
    DERIVE_JOB,
    VERIFY_JOB,
    RECONCILE_JOB,
)
"""Every periodic job, run by each arq worker's crons or by the embedded worker's loops."""


# --- arq ---------------------------------------------------------------------------------


async def startup(ctx: dict[str, Any]) -> None:
    settings: Settings = ctx.get("settings") or load_settings()
    configure_tracing(role="worker")
    engine = create_engine(settings.store.database_url)
    sessions = session_factory(engine)
    pool = ctx["redis"]

    async def schedule_retry(provider: str, when: datetime) -> None:
        await pool.enqueue_job(DRAIN_JOB, provider, _job_id=f"retry:{provider}:{when.isoformat()}",
                               _defer_until=when)

    adapters = build_adapters(settings, redis=pool)
    ctx[RUNTIME_KEY] = Runtime(
        settings=settings, engine=engine, sessions=sessions, reader=reader(engine), adapters=adapters,
        dispatcher=ArqDispatcher(pool, owns_pool=False), redis=pool,
        sync=SyncEngine(sessions=sessions, adapters=adapters, settings=settings, on_retry=schedule_retry,
                        shared=SharedCircuits(pool), kinds=build_kinds(settings)))
    frozen = ctx["frozen"] = contextlib.ExitStack()
    frozen.enter_context(startup_objects_frozen())
    # Last, so that the metrics port (the worker's probe) answers once the worker is ready.
    if settings.worker.metrics_port and ctx.get("metrics_server") is None:
        ctx["metrics_server"] = MetricsServer(port=settings.worker.metrics_port, host=settings.http.host)


async def shutdown(ctx: dict[str, Any]) -> None:
    if ctx.get("frozen") is not None:
        ctx.pop("frozen").close()
    runtime: Runtime | None = ctx.pop(RUNTIME_KEY, None)
    if runtime is not None:
        runtime.worker().stop()
        await runtime.dispatcher.close()
        await runtime.adapters.aclose()
        await runtime.engine.dispose()
    if ctx.get("metrics_server") is not None:
        ctx.pop("metrics_server").close()


async def drain_provider(ctx: dict[str, Any], provider: str) -> int:
    """arq job: run ready tasks of ``provider`` for at most ``DRAIN_SLICE_S`` seconds.

    Jobs are kept short so that a SIGTERM (``job_completion_wait``) lets the job in
    flight finish; when work remains, a continuation job picks it up.
    """
    runtime: Runtime = ctx[RUNTIME_KEY]
    sync = runtime.worker()
    try:
        ran = await sync.drain(provider, max_seconds=DRAIN_SLICE_S)
    except Exception as exc:
        if not runtime.database_away(exc):
            raise
        return 0  # the relay wakes the provider again once the database answers
    if sync.cut_short:
        await runtime.redis.enqueue_job(DRAIN_JOB, provider, _job_id=f"more:{provider}:{sync.last_task_id}")
    return ran


class WorkerSettings:
    """``arq gateway.worker.WorkerSettings`` works too; ``gateway worker`` sets Redis from settings."""

    functions: Sequence[WorkerCoroutine | Function] = [drain_provider]
    cron_jobs: Sequence[CronJob] | None = [arq_cron(job) for job in PERIODIC_JOBS]
    on_startup: StartupShutdown | None = startup
    on_shutdown: StartupShutdown | None = shutdown
    max_jobs = 8
    job_timeout = 600
    keep_result = 0
    max_tries = 3
    handle_signals = True
    job_completion_wait = 20
    """On SIGTERM, stop taking jobs and give the ones in flight this long to finish;
    anything still running after that is cancelled and handed back as pending."""


def run_arq_worker(settings: Settings, *, burst: bool = False) -> None:
    """Run an arq worker until SIGTERM/SIGINT; in-flight jobs finish (leases cover the rest)."""
    run_worker(
        WorkerSettings,
        redis_settings=RedisSettings.from_dsn(settings.store.redis_url),
        ctx={"settings": settings},
        burst=burst,
    )


# --- embedded ----------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def embedded_worker(runtime: Runtime) -> AsyncIterator[SyncEngine]:
    """Run the sync engine and the periodic jobs inside the API process, woken by the local
    dispatcher; ``runtime`` (the API's) gets the engine as its ``sync``."""
    dispatcher = runtime.dispatcher
    if not isinstance(dispatcher, LocalDispatcher):
        raise TypeError("the embedded worker is woken by a LocalDispatcher")
    settings = runtime.settings

    async def wake(queue: str, when: datetime) -> None:
        event = dispatcher.event(queue)
        delay_s = (when - utcnow()).total_seconds()
        if delay_s <= 0:
            event.set()
        else:
            asyncio.get_running_loop().call_later(delay_s, event.set)

    adapters = build_adapters(settings)
    sync = SyncEngine(sessions=runtime.sessions, adapters=adapters, settings=settings,
                      kinds=build_kinds(settings), on_retry=wake)
    # The worker's own adapters (the API's serve the calls it makes on a caller's behalf).
    worker = replace(runtime, adapters=adapters, sync=sync)
    runtime.sync = sync
    provider_loops = [asyncio.create_task(_provider_loop(worker, dispatcher, queue))
                      for queue in sync.queues]
    loops = list(provider_loops)
    loops.extend(asyncio.create_task(run_embedded(job, worker)) for job in PERIODIC_JOBS)
    log.info("embedded worker started: queues %s, providers %s", ", ".join(sync.queues),
             ", ".join(p.value for p in sync.adapters))
    try:
        yield sync
    finally:
        log.info("embedded worker stopping: finishing the rounds in flight")
        sync.stop()
        # Each queue's loop ends after its round in flight: a round cut short by cancellation
        # would hand its tasks back while its own transaction may still hold the database.
        for queue in sync.queues:
            dispatcher.event(queue).set()
        await asyncio.wait(provider_loops, timeout=EMBEDDED_STOP_WAIT_S)
        for loop in loops:
            loop.cancel()
        # Bounded: a loop stuck in a call that ignores cancellation must not hold up shutdown.
        _, stuck = await asyncio.wait(loops, timeout=EMBEDDED_STOP_WAIT_S)
        if stuck:
            log.warning("embedded worker: %d loop(s) did not stop within %.0f s", len(stuck),
                        EMBEDDED_STOP_WAIT_S)
        try:
            await asyncio.wait_for(sync.adapters.aclose(), timeout=EMBEDDED_STOP_WAIT_S)
        except TimeoutError:
            log.warning("embedded worker: closing the provider clients took over %.0f s",
                        EMBEDDED_STOP_WAIT_S)
        log.info("embedded worker stopped")


async def _provider_loop(runtime: Runtime, dispatcher: LocalDispatcher, provider: str) -> None:
    sync = runtime.worker()
    event = dispatcher.event(provider)
    event.set()
    pause = 0.0
    while not sync.stopping:
        event.clear()
        timeout = IDLE_WAIT_S
        try:
            await sync.drain(provider)
            if sync.stopping:
                break
            async with runtime.sessions() as session:
                due = await next_run_after(session, provider)
            if due is not None:
                timeout = max(0.01, min(timeout, (due - utcnow()).total_seconds()))
            # due tasks the provider's circuit or a 429 pause holds back wait for its end
            timeout = max(timeout, sync.held_for_s(provider))
            pause = 0.0
        except Exception as exc:
            if not runtime.database_away(exc):
                log.exception("embedded worker: drain of %s failed", provider)
            pause = timeout = min(max(pause * 2, PAUSE_MIN_S), PAUSE_MAX_S)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout=timeout)
