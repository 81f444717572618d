"""Running the sync engine: arq workers (scale-out) or an in-process loop (embedded).

arq side: ``WorkerSettings`` builds the database engine and the adapters
(``gateway.bootstrap.build_adapters``) once in ``on_startup`` into ``ctx``; the
job ``drain_provider(provider)`` runs ready tasks; the cron ``relay`` releases
lapsed leases and wakes providers whose ready tasks lost their wake-up (Redis
flushed, worker killed). Retries, and reading batches that linger before they
may be claimed, are woken with deferred jobs whose ids are deterministic.

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
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from arq import cron
from arq.connections import RedisSettings
from arq.worker import run_worker

from gateway.bootstrap import build_adapters, build_kinds
from gateway.core.clock import utcnow
from gateway.core.heap import startup_objects_frozen
from gateway.core.settings import Settings, load_settings
from gateway.energy.jobs import derive_energy_usage, energy_usage_loop
from gateway.events.poll import events_poll_loop, poll_volue_events
from gateway.observability.metrics import MetricsServer, refresh_outbox
from gateway.outbox.circuit import SharedCircuits
from gateway.outbox.claim import next_run_after, providers_with_ready_work, release_lapsed
from gateway.outbox.dispatch import DRAIN_JOB, LocalDispatcher
from gateway.outbox.engine import SyncEngine
from gateway.outbox.retention import prune_all
from gateway.readings.verification import verify_delivery_cron, verify_delivery_loop
from gateway.reconcile.schedule import due, reconcile_loop, run_once
from gateway.store.db import availability, create_engine, session_factory, unavailable_reason

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


def database_away(engine: Any, exc: BaseException) -> bool:
    """Whether ``exc`` means the database cannot be reached; if so, the engine's
    :class:`~gateway.store.db.Availability` is told (it logs the outage once)."""
    reason = unavailable_reason(exc)
    if reason is None:
        return False
    if engine is not None:
        availability(engine).failed(reason)
    return True


# --- arq ---------------------------------------------------------------------------------


async def startup(ctx: dict[str, Any]) -> None:
    settings: Settings = ctx.get("settings") or load_settings()
    engine = create_engine(settings.store.database_url)
    sessions = session_factory(engine)
    pool = ctx["redis"]

    async def schedule_retry(provider: str, when: datetime) -> None:
        await pool.enqueue_job(DRAIN_JOB, provider, _job_id=f"retry:{provider}:{when.isoformat()}",
                               _defer_until=when)

    frozen = contextlib.ExitStack()
    ctx.update(settings=settings, db_engine=engine, sessions=sessions, frozen=frozen,
               sync=SyncEngine(sessions=sessions, adapters=build_adapters(settings, redis=pool),
                               settings=settings, on_retry=schedule_retry, shared=SharedCircuits(pool),
                               kinds=build_kinds(settings)))
    frozen.enter_context(startup_objects_frozen())
    # Last, so that the metrics port (the worker's probe) answers once the worker is ready.
    if settings.worker.metrics_port and ctx.get("metrics_server") is None:
        ctx["metrics_server"] = MetricsServer(port=settings.worker.metrics_port, host=settings.http.host)


async def shutdown(ctx: dict[str, Any]) -> None:
    if ctx.get("frozen") is not None:
        ctx.pop("frozen").close()
    sync: SyncEngine | None = ctx.get("sync")
    if sync is not None:
        sync.stop()
        await sync.adapters.aclose()
    if ctx.get("db_engine") is not None:
        await ctx["db_engine"].dispose()
    if ctx.get("metrics_server") is not None:
        ctx.pop("metrics_server").close()


async def drain_provider(ctx: dict[str, Any], provider: str) -> int:
    """arq job: run ready tasks of ``provider`` for at most ``DRAIN_SLICE_S`` seconds.

    Jobs are kept short so that a SIGTERM (``job_completion_wait``) lets the job in
    flight finish; when work remains, a continuation job picks it up.
    """
    sync: SyncEngine = ctx["sync"]
    try:
        ran = await sync.drain(provider, max_seconds=DRAIN_SLICE_S)
    except Exception as exc:
        if not database_away(ctx.get("db_engine"), exc):
            raise
        return 0  # the relay wakes the provider again once the database answers
    if sync.cut_short:
        await ctx["redis"].enqueue_job(DRAIN_JOB, provider,
                                       _job_id=f"more:{provider}:{sync.last_task_id}")
    return ran


def _pausing(job: Callable[..., Awaitable[Any]]) -> WorkerCoroutine:
    """An arq cron that ends quietly (None) when the database is away, instead of failing
    with a traceback at every run while it is; it runs again at its next time."""

    @functools.wraps(job)
    async def run(ctx: dict[Any, Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return await job(ctx, *args, **kwargs)
        except Exception as exc:
            if not database_away(ctx.get("db_engine"), exc):
                raise
            return None

    return run


@_pausing
async def relay(ctx: dict[str, Any]) -> list[str]:
    """arq cron: free lapsed leases and wake providers that have ready tasks."""
    now = utcnow()
    async with ctx["sessions"]() as session:
        lapsed = await release_lapsed(session, now=now)
        ready = await providers_with_ready_work(session, now=now)
        await refresh_outbox(session)
    bucket = int(now.timestamp()) // RELAY_EVERY_S
    for provider in sorted(set(lapsed) | set(ready)):
        await ctx["redis"].enqueue_job(DRAIN_JOB, provider, _job_id=f"relay:{provider}:{bucket}")
    return sorted(set(lapsed) | set(ready))


@_pausing
async def prune_history(ctx: dict[str, Any]) -> tuple[int, int, int]:
    """arq cron (hourly): delete call history, finished tasks and Volue events past their retention."""
    return await prune_all(ctx["sessions"], ctx["settings"], now=utcnow())


@_pausing
async def scheduled_reconcile(ctx: dict[str, Any]) -> int:
    """arq cron (every minute): the drift reconciliation, when its interval has passed."""
    if not await due(ctx["redis"], ctx["settings"].reconcile.interval_s):
        return 0
    sync: SyncEngine = ctx["sync"]
    return await run_once(ctx["sessions"], sync.adapters)


class WorkerSettings:
    """``arq gateway.worker.WorkerSettings`` works too; ``gateway worker`` sets Redis from settings."""

    functions: Sequence[WorkerCoroutine | Function] = [drain_provider]
    cron_jobs: Sequence[CronJob] | None = [
        cron(relay, second=set(range(0, 60, RELAY_EVERY_S)), run_at_startup=True),
        cron(_pausing(poll_volue_events), second=set(range(0, 60, 10)), unique=True),
        cron(_pausing(derive_energy_usage), second=set(range(0, 60, 10)), unique=True),
        cron(_pausing(verify_delivery_cron), second={30}, unique=True),
        cron(prune_history, minute={17}, second={0}, unique=True),
        cron(scheduled_reconcile, second={30}, unique=True),
    ]
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
async def embedded_worker(settings: Settings, state: Any) -> AsyncIterator[SyncEngine]:
    """Run the sync engine inside the API process, woken by the local dispatcher."""
    dispatcher: LocalDispatcher = state.dispatcher

    async def wake(queue: str, when: datetime) -> None:
        event = dispatcher.event(queue)
        delay_s = (when - utcnow()).total_seconds()
        if delay_s <= 0:
            event.set()
        else:
            asyncio.get_running_loop().call_later(delay_s, event.set)

    sync = SyncEngine(sessions=state.sessions, adapters=build_adapters(settings), settings=settings,
                      kinds=build_kinds(settings), on_retry=wake)
    provider_loops = [asyncio.create_task(_provider_loop(sync, dispatcher, queue, state))
                      for queue in sync.queues]
    loops = list(provider_loops)
    loops.append(asyncio.create_task(_relay_loop(state)))
    loops.append(asyncio.create_task(events_poll_loop(sync, state, settings)))
    loops.append(asyncio.create_task(energy_usage_loop(state, settings)))
    loops.append(asyncio.create_task(verify_delivery_loop(sync.adapters, state, settings)))
    loops.append(asyncio.create_task(reconcile_loop(state.sessions, sync.adapters, settings)))
    state.sync = sync
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


async def _provider_loop(sync: SyncEngine, dispatcher: LocalDispatcher, provider: str, state: Any) -> None:
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
            async with state.sessions() as session:
                due = await next_run_after(session, provider)
            if due is not None:
                timeout = max(0.01, min(timeout, (due - utcnow()).total_seconds()))
            # due tasks the provider's circuit or a 429 pause holds back wait for its end
            timeout = max(timeout, sync.held_for_s(provider))
            pause = 0.0
        except Exception as exc:
            if not database_away(state.engine, exc):
                log.exception("embedded worker: drain of %s failed", provider)
            pause = timeout = min(max(pause * 2, PAUSE_MIN_S), PAUSE_MAX_S)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout=timeout)


async def _relay_loop(state: Any) -> None:
    rounds = 0
    while True:
        await asyncio.sleep(RELAY_EVERY_S)
        rounds += 1
        if rounds % (3600 // RELAY_EVERY_S) == 1:
            try:
                await prune_all(state.sessions, state.settings, now=utcnow())
            except Exception as exc:
                if not database_away(state.engine, exc):
                    log.exception("embedded history pruning failed")
        try:
            async with state.sessions() as session:
                for provider in await release_lapsed(session, now=utcnow()):
                    state.dispatcher.event(provider).set()
                await refresh_outbox(session)
        except Exception as exc:
            if not database_away(state.engine, exc):
                log.exception("embedded relay failed")
