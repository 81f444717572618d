"""Chaos scenarios: start the stack, play a workload under faults that stay on while the queue
drains, verify against the emulators and print what it cost.

Every scenario runs on the production settings (see :mod:`tests.chaos.stack`). A scenario is a
sequence of phases; each phase's figures (requests per route, the minimum, the ratio, lookups
against writes, time to all synced) come from the emulators' counters between its start and end.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.core.settings import ReadingsSettings, SyncWorkerSettings
from gateway.store.db import create_engine
from tests.chaos.figures import Figures, minimum_requests, requests_between, unanswered_between, work_of
from tests.chaos.stack import PROVIDERS, UPSTREAM_TIMEOUT_S, Backend, ChaosStack, start_chaos_stack
from tests.chaos.verify import Verdict, verify
from tests.chaos.workload import (
    Caller,
    Ledger,
    Neighbour,
    change_records,
    create_customers,
    send_invites_and_reports,
    send_readings,
)

LATE_MS = int(UPSTREAM_TIMEOUT_S * 1000 + 2000)
"""How late a slow answer comes: 2 s past the gateway's (production) upstream timeout."""
CRASH_FAULTS = {
    "errorRate": 0.20, "rateLimitRate": 0.05, "retryAfterS": 1,
    "slowRate": 0.02, "slowMs": LATE_MS, "lostRate": 0.02, "seed": 13,
}
"""About 20% 5xx, 5% 429 with Retry-After, 2% slow answers past the gateway's upstream timeout
(processed) and 2% lost answers (processed, then 502), on both emulators."""
THROTTLE = {"rateLimitRate": 0.60, "retryAfterS": 1, "seed": 21}
SLOW = {"latencyMsMin": 2000, "latencyMsMax": 4000, "seed": 22}
NEIGHBOUR_429 = {"rateLimitRate": 0.20, "retryAfterS": 1, "seed": 23}
LOST_ANSWERS = {"slowRate": 0.05, "slowMs": LATE_MS, "lostRate": 0.10, "seed": 24}
DOWN = {"errorRate": 1.0, "errorStatuses": [503], "seed": 25}
STEADY_5XX = {"errorRate": 0.20, "errorStatuses": [500, 502, 503], "seed": 26}
MAX_ATTEMPTS_UNDER_5XX = 6
"""The most attempts a task may need while a fifth of the answers are 5xx."""
OPEN_TASKS = "SELECT COUNT(*) FROM outbox_tasks WHERE status IN ('pending', 'running')"
ATTEMPTS = "SELECT attempts, COUNT(*) FROM outbox_tasks WHERE status = 'done' GROUP BY attempts"


@dataclass(frozen=True, kw_only=True)
class Params:
    """How much a scenario does and how long its faults last."""

    customers: int
    batch: int = 50
    readings_per_meter: int = 48
    invite_share: float = 0.2
    report_share: float = 0.2
    throttled_share: float = 0.2
    """Customers that sync during the 429 burst of ``throttled-then-slow``."""
    burst_s: float = 120.0
    """The 429 burst ends when those customers are synced, or after this long."""
    neighbour_rate: float = 100.0
    """Requests per second the busy neighbour sends (to both emulators together)."""
    outage_s: float = 300.0
    outage_provider: str = "volue"
    change_share: float = 0.2
    kill_every_s: float = 8.0
    max_kills: int = 1_000
    """Worker kills in ``crash`` at most (each new worker costs a few CPU seconds of start-up)."""
    crash_s: float = 240.0
    """Kills (and the other disruptions) go on at least this long in ``crash``."""
    drain_s: float = 1800.0
    """The longest a phase waits, faults on, for the gateway to have nothing open."""


FULL = Params(customers=1000)
REDUCED = Params(customers=5, batch=3, readings_per_meter=24, burst_s=4.0, neighbour_rate=30.0,
                 outage_s=4.0, kill_every_s=5.0, max_kills=3, crash_s=6.0, drain_s=150.0)
"""The CI sizes: a few customers per phase, faults of seconds (production timers still apply:
a killed worker's tasks come back after the 60 s lease, an open circuit waits 30 s)."""


@dataclass
class Group:
    """The records one phase created."""

    customers: list[str]
    sites: list[str]
    meters: list[str]


@dataclass
class Run:
    """One scenario's stack, callers and findings so far."""

    stack: ChaosStack
    params: Params
    caller: Caller
    ledger: Ledger
    say: bool
    began: float = field(default_factory=time.perf_counter)
    figures: list[Figures] = field(default_factory=list)
    next_customer: int = 0
    start_epoch: int = field(default_factory=lambda: int(time.time()) - 86_400 * 30)
    unsynced: list[str] = field(default_factory=list)
    """Phases whose queue did not drain within ``drain_s``."""
    breaches: list[str] = field(default_factory=list)
    """Bounds a phase checks itself that it broke (attempts per task under steady faults)."""
    engine: AsyncEngine | None = None

    def log(self, message: str) -> None:
        if self.say:
            print(f"[{time.perf_counter() - self.began:6.1f} s] {message}", flush=True)

    async def onboard(self, count: int) -> Group:
        """Create the next ``count`` customers (singly and in batches) and return what they hold."""
        ledger = self.ledger
        before = (set(ledger.customers), set(ledger.sites), set(ledger.meters))
        numbers = range(self.next_customer, self.next_customer + count)
        self.next_customer += count
        await create_customers(self.caller, numbers, run="chaos", batch=self.params.batch)
        return Group(sorted(ledger.customers.keys() - before[0]), sorted(ledger.sites.keys() - before[1]),
                     sorted(ledger.meters.keys() - before[2]))

    async def feed(self, group: Group) -> None:
        """Readings for the group's meters; invites and reports for a share of its sites."""
        live = [meter for meter in group.meters if meter in self.ledger.meters]
        if live:
            await send_readings(self.caller, live, per_meter=self.params.readings_per_meter,
                                start_epoch=self.start_epoch)
        count = len(group.sites)
        await send_invites_and_reports(
            self.caller, group.sites, invites=max(1, round(count * self.params.invite_share)),
            reports=max(1, round(count * self.params.report_share)))

    async def open_work(self) -> int:
        """Outbox tasks pending or running (the gateway's queue, not whether anything is upstream)."""
        if self.engine is None:
            self.engine = create_engine(self.stack.database_url)
        async with self.engine.connect() as conn:
            return int((await conn.execute(text(OPEN_TASKS))).scalar_one())

    async def attempts(self) -> Counter[int]:
        """Done tasks by the attempts they took (a 429 gives its attempt back)."""
        if self.engine is None:
            self.engine = create_engine(self.stack.database_url)
        async with self.engine.connect() as conn:
            return Counter({int(a): int(n) for a, n in (await conn.execute(text(ATTEMPTS))).all()})

    async def drain(self, limit_s: float | None = None) -> float | None:
        """Wait, faults still on, until the gateway has nothing open; the moment it had (a
        ``perf_counter`` reading), or None when ``limit_s`` (the scenario's ``drain_s``) passed."""
        deadline = time.perf_counter() + (self.params.drain_s if limit_s is None else limit_s)
        while time.perf_counter() < deadline:
            if not await self.open_work():
                return time.perf_counter()
            await asyncio.sleep(0.5)
        return None

    async def snapshot(self) -> tuple[dict[str, dict[str, Any]], Counter[str], float]:
        stats = {p: await asyncio.to_thread(self.stack.stats, p) for p in PROVIDERS}
        return stats, work_of(self.ledger), time.perf_counter()

    def record(self, name: str, since: tuple[dict[str, dict[str, Any]], Counter[str], float],
               until: tuple[dict[str, dict[str, Any]], Counter[str], float], *,
               synced_at: float | None, ideal_s: float | None = None, drains: bool = True,
               work: Counter[str] | None = None, providers: tuple[str, ...] = PROVIDERS,
               accepted_at: float | None = None, neighbour_sent: dict[str, int] | None = None) -> Figures:
        """The figures of a phase between two snapshots, printed at once, its time to all synced
        counted from the first; a phase that ``drains`` and did not (``synced_at`` None) is listed
        in :attr:`unsynced`. ``work``: what the phase had to carry out, when not what was
        accepted between the snapshots, for ``providers``."""
        synced_s = None if synced_at is None else synced_at - since[2]
        accepted_s = None if accepted_at is None else accepted_at - since[2]
        requests = {p: requests_between(since[0][p], until[0][p]) for p in PROVIDERS}
        unanswered = {p: unanswered_between(since[0][p], until[0][p]) for p in PROVIDERS}
        found = Figures(name, until[1] - since[1] if work is None else work, requests,
                        synced_s=synced_s, ideal_s=ideal_s, unanswered=unanswered, providers=providers,
                        accepted_s=accepted_s, neighbour_sent=neighbour_sent)
        self.figures.append(found)
        if synced_s is None and drains:
            self.unsynced.append(name)
        for line in found.lines():
            self.log(line)
        return found


Scenario = Callable[[Run], Awaitable[None]]


async def throttled_then_slow(run: Run) -> None:
    """A burst of Zählerfreunde 429s (60 %, Retry-After 1) while the first customers sync, then
    2-4 s latency on every Zählerfreunde answer while the rest sync."""
    p = run.params
    first = max(1, round(p.customers * p.throttled_share))
    since = await run.snapshot()
    run.stack.set_faults(THROTTLE, "zaehlerfreunde")
    run.log(f"throttled-then-slow: Zählerfreunde 429s {THROTTLE}; {first} customers")
    group = await run.onboard(first)
    await run.feed(group)
    burst = await run.drain(p.burst_s)
    run.log(f"429 burst over ({'first customers synced' if burst is not None else 'burst time up'})")
    run.stack.set_faults(SLOW, "zaehlerfreunde")
    slow_since = await run.snapshot()
    group = await run.onboard(p.customers - first)
    await run.feed(group)
    accepted = time.perf_counter()
    synced = await run.drain()
    until = await run.snapshot()
    run.stack.set_faults({}, "zaehlerfreunde")
    run.record("throttled-then-slow: 429 burst", since, slow_since, synced_at=burst, drains=False)
    # The ideal: requests x mean latency (3 s) / concurrency (every worker's slots busy).
    slots = SyncWorkerSettings().concurrency * run.stack.worker_count
    ideal = minimum_requests(until[1] - slow_since[1])["zaehlerfreunde"] * 3.0 / slots
    run.record("throttled-then-slow: slow", slow_since, until, synced_at=synced, ideal_s=ideal,
               accepted_at=accepted)


async def neighbour_429(run: Run) -> None:
    """20 % 429s at both providers while a busy neighbour hammers other routes (bounded rate)."""
    p = run.params
    since = await run.snapshot()
    run.stack.set_faults(NEIGHBOUR_429)
    neighbour = Neighbour(run.stack.volue_url, run.stack.zf_url, rate_per_s=p.neighbour_rate)
    neighbour.start()
    run.log(f"neighbour-429: both providers {NEIGHBOUR_429}, neighbour at {p.neighbour_rate}/s")
    try:
        group = await run.onboard(p.customers)
        await run.feed(group)
        accepted = time.perf_counter()
        synced = await run.drain()
        until = await run.snapshot()
    finally:
        await neighbour.stop()
    run.stack.set_faults({})
    run.record("neighbour-429", since, until, synced_at=synced, accepted_at=accepted,
               neighbour_sent=dict(neighbour.sent_to))
    run.log(neighbour.report())


async def lost_answers(run: Run) -> None:
    """Answers processed then lost: 5 % come after the upstream timeout, 10 % are replaced by a 502."""
    since = await run.snapshot()
    run.stack.set_faults(LOST_ANSWERS)
    run.log(f"lost-answers: both providers {LOST_ANSWERS}")
    group = await run.onboard(run.params.customers)
    await run.feed(group)
    accepted = time.perf_counter()
    synced = await run.drain()
    until = await run.snapshot()
    run.stack.set_faults({})
    run.record("lost-answers", since, until, synced_at=synced, accepted_at=accepted)


async def outage(run: Run) -> None:
    """One provider answers 503 to everything for ``outage_s`` while customers queue, then heals."""
    p = run.params
    since = await run.snapshot()
    run.stack.set_faults(DOWN, p.outage_provider)
    healed_at = time.perf_counter() + p.outage_s
    run.log(f"outage: {p.outage_provider} down (503) for {p.outage_s:.0f} s")
    group = await run.onboard(p.customers)
    await run.feed(group)
    await asyncio.sleep(max(0.0, healed_at - time.perf_counter()))
    healed = await run.snapshot()
    run.stack.set_faults({}, p.outage_provider)
    run.log(f"outage: {p.outage_provider} healed")
    synced = await run.drain()
    until = await run.snapshot()
    run.record("outage: down", since, healed, synced_at=None, drains=False)
    # Recovery carries what queued during the outage: its minimum is that work's.
    run.record("outage: healed", healed, until, synced_at=synced, work=until[1] - since[1],
               providers=(p.outage_provider,))


async def steady_5xx(run: Run) -> None:
    """20 % 5xx at both providers from start to end: every task gets through within a few
    attempts and no lookup grows with the account (lookups per write stay flat)."""
    before = await run.attempts()
    since = await run.snapshot()
    run.stack.set_faults(STEADY_5XX)
    run.log(f"steady-5xx: both providers {STEADY_5XX}")
    group = await run.onboard(run.params.customers)
    await run.feed(group)
    accepted = time.perf_counter()
    synced = await run.drain()
    until = await run.snapshot()
    run.stack.set_faults({})
    run.record("steady-5xx", since, until, synced_at=synced, accepted_at=accepted)
    taken = await run.attempts() - before
    most = max(taken, default=0)
    run.log(f"steady-5xx: done tasks by attempts {dict(sorted(taken.items()))}; most {most}")
    if most > MAX_ATTEMPTS_UNDER_5XX:
        run.breaches.append(f"steady-5xx: a task took {most} attempts, more than {MAX_ATTEMPTS_UNDER_5XX}")


async def _kill_workers(run: Run, stop: asyncio.Event) -> None:
    """Kill the oldest worker every ``kill_every_s`` and start another, until ``stop`` or
    ``max_kills``."""
    while not stop.is_set() and run.stack.worker_kills < run.params.max_kills:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), run.params.kill_every_s)
        if stop.is_set():
            return
        await asyncio.to_thread(run.stack.kill_worker)


async def _kill_api_mid_request(run: Run) -> None:
    """Wait for a batch create in flight, SIGKILL the API during it and start it again."""
    await run.ledger.in_flight.wait()
    await asyncio.sleep(0.05)
    await asyncio.to_thread(run.stack.restart_api)


async def crash(run: Run) -> None:
    """5xx, 429, slow and lost answers with workers (and once the API) SIGKILLed, Redis flushed
    and both providers' tokens revoked; the faults stay on while the queue drains."""
    p = run.params
    since = await run.snapshot()
    run.stack.set_faults(CRASH_FAULTS)
    disrupt_until = time.perf_counter() + p.crash_s
    run.log(f"crash: faults on {CRASH_FAULTS}, a worker killed every {p.kill_every_s} s")
    stop = asyncio.Event()
    killer = asyncio.create_task(_kill_workers(run, stop))
    api_killer = asyncio.create_task(_kill_api_mid_request(run))
    try:
        group = await run.onboard(p.customers)
        run.log(f"{len(group.customers)} customers accepted")
        if await asyncio.to_thread(run.stack.flush_redis):
            run.log("FLUSHALL on the private Redis")
        await change_records(run.caller, share=p.change_share)
        run.log("PATCHes and DELETEs accepted")
        await asyncio.to_thread(run.stack.revoke_tokens)
        run.log("tokens revoked at both providers")
        await run.feed(group)
        accepted = time.perf_counter()
        await asyncio.sleep(max(0.0, disrupt_until - time.perf_counter()))
    finally:
        stop.set()
        await killer
        api_killer.cancel()
    run.log(f"{run.stack.worker_kills} worker kills, {run.stack.api_kills} API kill(s); draining, faults on")
    synced = await run.drain()
    until = await run.snapshot()
    run.stack.set_faults({})
    run.record("crash", since, until, synced_at=synced, accepted_at=accepted)


SCENARIOS: dict[str, tuple[Scenario, ...]] = {
    "throttled-then-slow": (throttled_then_slow,),
    "neighbour-429": (neighbour_429,),
    "lost-answers": (lost_answers,),
    "outage": (outage,),
    "crash": (crash,),
    "steady-5xx": (steady_5xx,),
    "faults": (throttled_then_slow, neighbour_429, lost_answers, outage),
}
"""Each name runs its phases one after another on one stack (``faults``: the four fault scenarios)."""


def readings_in_flight_bound(worker_kills: int) -> int:
    """Readings a killed worker may re-send: its reading requests in flight (default settings)."""
    settings = ReadingsSettings()
    return worker_kills * settings.concurrency * settings.batch_size


def sends_in_flight_bound(worker_kills: int) -> int:
    """Invites (or reports) a killed worker may have sent without recording: its request slots."""
    return worker_kills * SyncWorkerSettings().concurrency


@dataclass
class Outcome:
    """A scenario's verdict and figures."""

    verdict: Verdict
    figures: list[Figures]
    unsynced: list[str]
    seconds: float
    breaches: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Nothing lost, duplicated or stuck, every phase drained and within its own bounds,
        re-sent readings within bound."""
        counts = self.verdict.counts
        return (self.verdict.clean and not self.unsynced and not self.breaches
                and self.verdict.resent_readings <= counts.get("readings in-flight bound", 0))

    def report(self) -> str:
        lines = [line for found in self.figures for line in found.lines()]
        if self.unsynced:
            lines.append("queue not drained within the limit in: " + ", ".join(self.unsynced))
        lines.extend(self.breaches)
        lines.append(f"scenario took {self.seconds:.1f} s")
        return "\n".join([*lines, self.verdict.report()])


async def chaos_run(scenario: str, params: Params, *, backend: Backend, postgres_url: str = "",
                    workers: int = 2, say: bool = True, minimal: bool = False) -> Outcome:
    """Run the named scenario on a new stack; verify against the emulators. With ``minimal``
    the emulators answer the gateway only what their documents require (bodiless creates,
    text reading labels) for the whole scenario; verification reads their full answers."""
    phases = SCENARIOS[scenario]
    began = time.perf_counter()
    stack = await start_chaos_stack(backend, postgres_url, workers=workers)
    ledger = Ledger()
    caller = Caller(stack.api_url, ledger, seed=13)
    run = Run(stack, params, caller, ledger, say)
    run.log(f"{backend} stack up in {time.perf_counter() - began:.1f} s (API {stack.api_url}, logs in "
            f"{stack.workdir}); scenario {scenario}, {params.customers} customers per phase"
            f"{', minimal answers' if minimal else ''}")
    verdict: Verdict | None = None
    try:
        stack.set_answers(minimal=minimal)
        for phase in phases:
            await phase(run)
        stack.set_faults({})
        stack.set_answers(minimal=False)
        run.log(f"{await run.open_work()} tasks still open; verifying against the emulators")
        verdict = await verify(ledger, volue_url=stack.volue_url, zf_url=stack.zf_url,
                               database_url=stack.database_url,
                               in_flight_at_kills=sends_in_flight_bound(stack.worker_kills))
        verdict.counts["worker kills"] = stack.worker_kills
        verdict.counts["readings in flight at kills"] = readings_in_flight_bound(stack.worker_kills)
        verdict.counts["readings in-flight bound"] = (verdict.counts["readings in flight at kills"]
                                                      + verdict.counts["readings in unanswered sends"])
        return Outcome(verdict, run.figures, run.unsynced, time.perf_counter() - began, run.breaches)
    finally:
        await caller.close()
        if run.engine is not None:
            await run.engine.dispose()
        clean = verdict is not None and verdict.clean
        await asyncio.to_thread(lambda: stack.stop(remove_logs=clean))


def sized(params: Params, **changes: Any) -> Params:
    """``params`` with some fields changed."""
    return replace(params, **changes)
