"""The sync engine: claim ready outbox tasks, have their kinds run them, record the result.

One :class:`SyncEngine` per worker process holds the adapters (one HTTP client
and token per provider) and the task kinds (``gateway.bootstrap``). ``drain(queue)``
claims ready tasks in rounds until none is left; each round's tasks go to the kind
registered for their ``entity_type`` (``TaskKind`` below), which sends its
requests through :meth:`SyncEngine.send` or its own calls. Each round's results,
the kinds' writes and the call history are written in one transaction per round
(:mod:`gateway.outbox.recording`); what becomes of a failed task is the retry policy's
(:mod:`gateway.outbox.policy`).

Each provider's circuit, 429 pause and concurrency limit (``gateway.outbox.circuit``) decide
how much of its queues a round may claim and how many requests go out at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Collection, Sequence
from datetime import timedelta
from typing import Protocol, runtime_checkable

import structlog
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.clock import utcnow
from gateway.core.settings import Settings
from gateway.observability.metrics import observe_guards
from gateway.observability.tracing import task_span
from gateway.outbox.circuit import (
    PRIOR_FAILURE_RATE,
    CircuitState,
    ProviderGuard,
    SharedCircuits,
    upstream_transient,
)
from gateway.outbox.claim import claim, make_due, renew_lease, renew_leases
from gateway.outbox.policy import backoff_s, decide
from gateway.outbox.provider_calls import span_attributes
from gateway.outbox.queues import provider_of_queue
from gateway.outbox.recording import RetryScheduler, hand_back, record_round
from gateway.outbox.results import RoundResult
from gateway.store.tables import OutboxTaskRow
from providers.base import CallRecord, Outcome, ProviderError, TransientError
from providers.http import call_log, may_repeat
from providers.registry import Adapters

__all__ = ["Kind", "RetryScheduler", "RoundResult", "SyncEngine", "TaskFamily", "TaskKind", "backoff_s",
           "decide"]

log = logging.getLogger("gateway.sync")


class _Runs(Protocol):
    async def run(self, engine: SyncEngine, results: Sequence[RoundResult]) -> None:
        """Carry out the tasks: set ``outcome``, ``error`` or ``fatal_reason`` on every result."""
        ...

    async def record(self, session: AsyncSession, results: Sequence[RoundResult]) -> None:
        """Extra writes in the transaction that finishes the round, for the results this
        worker still held (successes and failures alike)."""
        ...


class TaskKind(_Runs, Protocol):
    """Outbox work of one kind (readings, invites ...).

    A kind owns the tasks whose ``entity_type`` equals its ``entity_type``. Its
    tasks live on the queue ``queue`` (a provider name, or a queue of its own).
    """

    entity_type: str
    queue: str


@runtime_checkable
class TaskFamily(_Runs, Protocol):
    """Outbox work of several task types run together, on the providers' own queues (entity
    sync, whose round loads the records of all its types at once)."""

    @property
    def entity_types(self) -> Collection[str]:
        """The task types it runs."""
        ...


Kind = TaskKind | TaskFamily
"""What the engine runs: a kind of one task type, or a family of several (registered in
``gateway.bootstrap``; the engine knows no kind of work itself)."""


Request = Callable[[], Awaitable[Sequence[Outcome | ProviderError]]]
"""One request to a provider (see :meth:`SyncEngine.send`): an outcome or error per task."""


class SyncEngine:
    """Runs outbox tasks of every configured provider."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        adapters: Adapters,
        settings: Settings,
        on_retry: RetryScheduler | None = None,
        kinds: Sequence[Kind] = (),
        shared: SharedCircuits | None = None,
    ) -> None:
        self.sessions = sessions
        self.adapters = adapters
        self.kind_order = list(kinds)
        """The kinds in the order they were registered (the order they record a round in)."""
        self.kinds: dict[str, Kind] = {}
        """The kind of each task type."""
        for kind in self.kind_order:
            types = kind.entity_types if isinstance(kind, TaskFamily) else (kind.entity_type,)
            self.kinds.update(dict.fromkeys(types, kind))
        self.settings = settings
        self.on_retry = on_retry
        self.shared = shared
        """Circuits kept in step with the other workers (scale-out), or None."""
        self._stopping = False
        self._claim_lock = asyncio.Lock()
        self.cut_short = False
        self.last_task_id: str | None = None
        self._draining: set[str] = set()
        self._again: set[str] = set()
        self._provider_queues = {provider.value for provider in adapters}
        self._per_request = {
            provider.value: max(adapters[provider].capabilities.batch_limits.values(), default=1)
            for provider in adapters
        }
        """Tasks one request can carry at most, per provider queue (its largest batch)."""
        self.guards = {
            provider.value: ProviderGuard(failures_to_open=settings.sync.circuit_failures,
                                          open_s=settings.sync.circuit_open_s,
                                          concurrency=settings.worker.concurrency,
                                          prior_failure_rate=PRIOR_FAILURE_RATE)
            for provider in adapters
        }
        """Per provider, in this process: circuit, 429 pause and concurrency limit."""
        observe_guards(self.guards)

    def guard_of(self, queue: str) -> ProviderGuard | None:
        """The guard of the provider a queue's tasks go to (None for our own subscribers)."""
        provider = provider_of_queue(queue)
        return self.guards.get(provider.value) if provider is not None else None

    @property
    def queues(self) -> list[str]:
        """Every queue this engine drains: one per provider, plus the kinds' own."""
        names = [provider.value for provider in self.adapters]
        own = {k.queue for k in self.kind_order if not isinstance(k, TaskFamily)}
        return names + sorted(own - set(names))

    @property
    def stopping(self) -> bool:
        """``stop`` was called: ``drain`` returns after the round in flight."""
        return self._stopping

    def stop(self) -> None:
        """Finish the round in flight, then claim nothing more."""
        self._stopping = True

    async def drain(self, provider: str, *, max_rounds: int | None = None,
                    max_seconds: float | None = None) -> int:
        """Claim and run ready tasks of one queue (``provider``) until none is left, or until
        ``max_rounds``/``max_seconds`` are used up; return how many ran.

        Afterwards ``cut_short`` says whether a limit (not an empty queue) ended it, and
        ``last_task_id`` names the last task claimed (for a deterministic continuation job id).
        """
        self.cut_short = False
        self.last_task_id = None
        if provider in self._draining:
            # One drain per queue and process: the one running claims again before it stops.
            self._again.add(provider)
            return 0
        self._draining.add(provider)
        try:
            return await self._drain(provider, max_rounds=max_rounds, max_seconds=max_seconds)
        finally:
            self._draining.discard(provider)
            self._again.discard(provider)

    async def _drain(self, provider: str, *, max_rounds: int | None, max_seconds: float | None) -> int:
        done = 0
        rounds = 0
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max_seconds if max_seconds is not None else None
        lease_s = self.settings.sync.lease_s
        while not self._stopping:
            if (max_rounds is not None and rounds >= max_rounds) or (
                deadline is not None and loop.time() >= deadline
            ):
                self.cut_short = True
                break
            guard = self.guard_of(provider)
            limit = self.settings.sync.batch_size
            probe = False
            if guard is not None:
                provider_name = provider_of_queue(provider)
                if self.shared is not None and provider_name is not None:
                    await self.shared.before_claim(provider_name.value, guard)
                    observe_guards(self.guards)  # a circuit adopted open or closed shows at once
                limit = guard.claim_limit(time.monotonic(), limit)
                if limit == 0:
                    await self._wake_when_guard_allows(provider, guard)
                    break
                probe = guard.state is CircuitState.HALF_OPEN
                if not probe and provider in self._provider_queues:
                    limit = guard.round_size(batch_size=limit, lease_s=lease_s,
                                             per_request=self._per_request[provider])
            async with self.sessions() as session:
                tasks = await claim(session, provider=provider, now=utcnow(),
                                    lease_s=lease_s, limit=limit, sqlite_lock=self._claim_lock)
            if not tasks:
                if guard is not None:
                    guard.probing = False
                if provider in self._again:
                    self._again.discard(provider)
                    continue
                break
            self.last_task_id = tasks[-1].id
            try:
                await self.run_round(provider, tasks, probe=probe)
            except asyncio.CancelledError:
                await asyncio.shield(hand_back(self.sessions, tasks))
                raise
            done += len(tasks)
            rounds += 1
        return done

    async def still_held(self, task: OutboxTaskRow) -> bool:
        """Renew the lease on ``task`` before a send that cannot be undone; False when the
        lease lapsed (a slow round) and the task may be another worker's now."""
        async with self.sessions() as session:
            return await renew_lease(session, task, now=utcnow(), lease_s=self.settings.sync.lease_s)

    async def held_back_s(self, queue: str) -> float:
        """Like :meth:`held_for_s`, after adopting what the other workers learnt of the
        provider (for callers that claim nothing, like the events poll)."""
        guard = self.guard_of(queue)
        provider = provider_of_queue(queue)
        if guard is not None and provider is not None and self.shared is not None:
            await self.shared.before_claim(provider.value, guard, probe=False)
            observe_guards(self.guards)
        return self.held_for_s(queue)

    def held_for_s(self, queue: str) -> float:
        """Seconds until the provider of ``queue`` may be asked again (0: not held back)."""
        guard = self.guard_of(queue)
        if guard is None:
            return 0.0
        return max(0.0, guard.resumes_at() - time.monotonic())

    async def _wake_when_guard_allows(self, queue: str, guard: ProviderGuard) -> None:
        """While a provider is held back, ask for a wake-up when claiming may resume."""
        wait_s = guard.resumes_at() - time.monotonic()
        if self.on_retry is not None and wait_s > 0:
            await self.on_retry(queue, utcnow() + timedelta(seconds=wait_s))

    async def run_round(self, queue: str, tasks: Sequence[OutboxTaskRow], *, probe: bool = False) -> None:
        """Run one round of claimed tasks and record it; ``probe``: the single task a half-open
        circuit lets through (a transient upstream failure then spends no attempt)."""
        guard = self.guard_of(queue)
        with structlog.contextvars.bound_contextvars(provider=queue):
            heartbeat = asyncio.create_task(self._keep_leases(tasks))
            try:
                results = await self._run_round(queue, tasks)
            finally:
                heartbeat.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await heartbeat
            if guard is not None:
                self._feed_guard(guard, results)
                provider = provider_of_queue(queue)
                if self.shared is not None and provider is not None:
                    await self.shared.publish(provider.value, guard)
            await record_round(self.sessions, self.settings, self.kinds, self.kind_order, self.on_retry,
                               queue, results, probe=probe)
        if guard is not None and guard.take_closed():
            await self._due_again(queue)

    async def _keep_leases(self, tasks: Sequence[OutboxTaskRow]) -> None:
        """Renew the round's leases while it runs, so a slow provider never lets them lapse
        and another worker send the same tasks again (fenced by attempts, like finishing)."""
        lease_s = self.settings.sync.lease_s
        while True:
            await asyncio.sleep(max(0.5, lease_s / 3))
            try:
                async with self.sessions() as session:
                    await renew_leases(session, tasks, now=utcnow(), lease_s=lease_s)
            except Exception:
                log.exception("renewing the round's leases failed")

    def _feed_guard(self, guard: ProviderGuard, results: Sequence[RoundResult]) -> None:
        """Tell the provider's guard how the tasks went that :meth:`send` did not tell it about
        as they were answered, and end a probe round."""
        now = time.monotonic()
        failures = [r.error for r in results if not r.told and upstream_transient(r.error)]
        limited = [e for e in failures if isinstance(e, TransientError) and e.status == 429]
        successes = sum(1 for r in results if not r.told and r.outcome is not None)
        guard.round_finished(now, successes=successes, failures=len(failures) - len(limited))
        for error in limited:
            guard.rate_limited(now, error.retry_after)
        if failures:
            guard.limit.overloaded()
        observe_guards(self.guards)

    async def _due_again(self, queue: str) -> None:
        """The provider's circuit closed: tasks of its queues waiting out a backoff from the
        outage are due now (their backoff starts again from the base should they fail)."""
        provider = provider_of_queue(queue)
        if provider is None:
            return
        queues = [name for name in self.queues if provider_of_queue(name) is provider]
        now = utcnow()
        async with self.sessions() as session:
            moved = await make_due(session, queues, now=now)
        observe_guards(self.guards)
        if self.on_retry is not None:
            for name in sorted(moved):
                await self.on_retry(name, now)

    async def _run_round(self, queue: str, tasks: Sequence[OutboxTaskRow]) -> list[RoundResult]:
        results = [RoundResult(task) for task in tasks]
        by_kind: dict[int, list[RoundResult]] = defaultdict(list)
        missing: list[RoundResult] = []
        for result in results:
            kind = self.kinds.get(result.task.entity_type)
            if kind is None:
                missing.append(result)
            else:
                by_kind[id(kind)].append(result)
        for result in missing:
            result.fatal_reason = f"no handler for {result.task.entity_type} tasks in this worker"
        await asyncio.gather(*(self._run_kind(kind, by_kind[id(kind)])
                               for kind in self.kind_order if id(kind) in by_kind))
        return results

    async def _run_kind(self, kind: Kind, results: Sequence[RoundResult]) -> None:
        try:
            await kind.run(self, results)
        except Exception as exc:
            name = type(kind).__name__ if isinstance(kind, TaskFamily) else kind.entity_type
            log.exception("task kind %s crashed", name)
            for result in results:
                if result.outcome is None and result.error is None:
                    result.error = TransientError(f"internal error: {type(exc).__name__}")

    async def send(self, queue: str, results: Sequence[RoundResult], request: Request, *,
                   what: str) -> None:
        """Send one request for ``results`` to the provider of ``queue`` through its guard.

        Waits for a free slot of the provider's concurrency limit; holds the results back,
        unsent, when its circuit opened (or a 429 paused it) meanwhile; records the request's
        calls on each result; sets each one's outcome or error (an adapter crash is a transient
        error, logged as one on ``what``); and tells the guard the answer (a batch counts once).
        """
        guard = self.guard_of(queue)
        if guard is None:
            raise ValueError(f"no provider answers the {queue} queue")
        limit = guard.limit
        provider = provider_of_queue(queue)
        shared = self.shared if provider is not None else None
        await limit.acquire()
        try:
            if shared is not None and provider is not None and guard.consecutive_failures:
                # this worker saw the provider fail: another may have found it down meanwhile
                await shared.before_claim(provider.value, guard, probe=False)
            held = _held_back(guard)
            if held is not None:
                for result in results:
                    result.held_back_s = held
                return
            calls: list[CallRecord] = []
            token = call_log.set(calls)
            repeat = may_repeat.set(guard.take_repeat)
            started = time.monotonic()
            try:
                first, one = results[0].task, len(results) == 1
                with task_span(f"{first.entity_type} {first.action if one else 'batch'}",
                               [result.task.trace_context for result in results],
                               **(span_attributes(first) if one else
                                  {"gateway.task.queue": queue, "gateway.batch.size": len(results)})):
                    outcomes = await request()
            except ProviderError as exc:
                outcomes = [exc] * len(results)
            except Exception as exc:
                log.exception("adapter %s crashed on %s", queue, what)
                outcomes = [TransientError(f"internal error: {type(exc).__name__}")] * len(results)
            finally:
                call_log.reset(token)
                may_repeat.reset(repeat)
            errors: list[ProviderError | None] = []
            for result, outcome in zip(results, outcomes, strict=True):
                if isinstance(outcome, ProviderError):
                    result.error = outcome
                    errors.append(outcome)
                else:
                    result.outcome = outcome
                    errors.append(None)
                result.calls = calls
                result.told = True
            state = guard.state
            _tell(guard, errors, started, calls)
            if shared is not None and provider is not None and guard.state is not state:
                await shared.publish(provider.value, guard)  # the others stop at once too
        finally:
            limit.release()


def _held_back(guard: ProviderGuard) -> float | None:
    """Seconds until the provider may be asked again, when its circuit opened or a 429 paused it
    while this request waited for its turn; None: send it."""
    now = time.monotonic()
    if guard.allows(now):
        return None
    return max(0.05, guard.resumes_at() - now)


def _tell(guard: ProviderGuard, errors: Sequence[ProviderError | None], started: float,
          calls: Sequence[CallRecord]) -> None:
    """Feed the guard with one request's answer (a batch counts once): the answer times of its
    calls, then a success, or its transient upstream failure."""
    for call in calls:
        guard.answered(call.latency_ms / 1000)
    if not calls and errors and errors[0] is None:
        guard.answered(time.monotonic() - started)
    now = time.monotonic()
    if any(error is None for error in errors):
        guard.succeeded(now)
        return
    transient = next((e for e in errors if upstream_transient(e)), None)
    if transient is not None:
        guard.failed(now, transient)
