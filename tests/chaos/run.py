"""One chaos run: start the stack, turn faults on, play the workload while disrupting, verify."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass

from sqlalchemy import text

from gateway.core.settings import ReadingsSettings
from gateway.store.db import create_engine
from tests.chaos.stack import UPSTREAM_TIMEOUT_S, ChaosStack, start_chaos_stack
from tests.chaos.verify import Verdict, verify
from tests.chaos.workload import (
    Caller,
    Ledger,
    change_records,
    create_customers,
    send_invites_and_reports,
    send_readings,
)

FAULTS = {
    "errorRate": 0.20, "rateLimitRate": 0.05, "retryAfterS": 1,
    "slowRate": 0.02, "slowMs": int(UPSTREAM_TIMEOUT_S * 1500), "lostRate": 0.02, "seed": 13,
}
"""About 20% 5xx, 5% 429 with Retry-After, 2% slow answers past the gateway's upstream timeout
(processed) and 2% lost answers (processed, then 502), on both emulators."""


@dataclass(frozen=True, kw_only=True)
class Size:
    """How much a run does and how long it may take."""

    customers: int
    batch: int
    readings: int
    invites: int
    reports: int
    change_share: float
    worker_kill_every_s: float
    faulted_s: float
    """Faults and kills go on at least this long, so that the workers sync under them."""
    quiescence_s: float
    """How long to wait, faults off, for the gateway to have nothing open."""


REDUCED = Size(customers=24, batch=6, readings=4_000, invites=6, reports=6, change_share=0.25,
               worker_kill_every_s=4.0, faulted_s=45.0, quiescence_s=60.0)
FULL = Size(customers=300, batch=50, readings=100_000, invites=60, reports=60, change_share=0.2,
            worker_kill_every_s=8.0, faulted_s=240.0, quiescence_s=600.0)


def readings_in_flight_bound(worker_kills: int) -> int:
    """Readings a killed worker may re-send: its reading requests in flight (default settings)."""
    settings = ReadingsSettings()
    return worker_kills * settings.concurrency * settings.batch_size


async def _kill_workers(stack: ChaosStack, every_s: float, stop: asyncio.Event) -> None:
    """SIGKILL the oldest worker every ``every_s`` and start another, until ``stop``."""
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every_s)
        if stop.is_set():
            return
        await asyncio.to_thread(stack.kill_oldest_worker)
        stack.start_worker()


async def _kill_api_mid_request(stack: ChaosStack, ledger: Ledger) -> None:
    """Wait for a batch create in flight, SIGKILL the API during it and start it again."""
    await ledger.in_flight.wait()
    await asyncio.sleep(0.05)
    await asyncio.to_thread(stack.kill_api)
    await asyncio.to_thread(stack.start_api)


async def _open_work(database_url: str) -> int:
    engine = create_engine(database_url)
    async with engine.connect() as conn:
        open_tasks = (await conn.execute(text(
            "SELECT COUNT(*) FROM outbox_tasks WHERE status IN ('pending', 'running')"))).scalar_one()
    await engine.dispose()
    return int(open_tasks)


async def chaos_run(database_url: str, size: Size, *, say: bool = True) -> Verdict:
    """Run the whole scenario at ``size`` against an emptied ``database_url``; return the verdict."""
    began = time.perf_counter()

    def log(message: str) -> None:
        if say:
            print(f"[{time.perf_counter() - began:6.1f} s] {message}", flush=True)

    stack = await start_chaos_stack(database_url)
    log(f"process logs in {stack.workdir}")
    ledger = Ledger()
    verdict: Verdict | None = None
    caller = Caller(stack.api_url, ledger, seed=13)
    try:
        stack.set_faults(FAULTS)
        faults_until = time.perf_counter() + size.faulted_s
        log(f"stack up (API {stack.api_url}); faults on: {FAULTS}")
        stop = asyncio.Event()
        killer = asyncio.create_task(_kill_workers(stack, size.worker_kill_every_s, stop))
        api_killer = asyncio.create_task(_kill_api_mid_request(stack, ledger))
        await create_customers(caller, range(size.customers), run="chaos", batch=size.batch)
        log(f"{len(ledger.customers)} customers accepted")
        await asyncio.to_thread(stack.flush_redis)
        log("FLUSHALL on the private Redis")
        await change_records(caller, share=size.change_share)
        log("PATCHes and DELETEs accepted")
        await asyncio.to_thread(stack.revoke_tokens)
        log("tokens revoked at both providers")
        await send_readings(caller, total=size.readings, start_epoch=int(time.time()) - 86_400 * 30)
        await send_invites_and_reports(caller, invites=size.invites, reports=size.reports)
        log(f"{ledger.readings_accepted} readings, {len(ledger.invites)} invites, "
            f"{len(ledger.reports)} reports accepted")
        await asyncio.sleep(max(0.0, faults_until - time.perf_counter()))
        stop.set()
        await killer
        api_killer.cancel()
        stack.set_faults({})
        log(f"faults off after {stack.worker_kills} worker kills and {stack.api_kills} API kill(s); "
            "waiting for quiescence")
        deadline = time.perf_counter() + size.quiescence_s
        while await _open_work(database_url) and time.perf_counter() < deadline:
            await asyncio.sleep(1.0)
        log(f"{await _open_work(database_url)} tasks still open; verifying against the emulators")
        verdict = await verify(ledger, volue_url=stack.volue_url, zf_url=stack.zf_url,
                               database_url=database_url)
        verdict.counts["worker kills"] = stack.worker_kills
        verdict.counts["readings in-flight bound"] = readings_in_flight_bound(stack.worker_kills)
        return verdict
    finally:
        await caller.close()
        clean = verdict is not None and verdict.clean
        await asyncio.to_thread(lambda: stack.stop(remove_logs=clean))
