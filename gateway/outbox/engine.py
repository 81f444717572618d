"""The sync engine: claim ready outbox tasks, run them through the adapter, record the result.

One :class:`SyncEngine` per worker process holds the adapters (one HTTP client
and token per provider). ``drain(provider)`` claims ready tasks in rounds until
none is left: compatible upserts go to the provider as one batch request, the
rest run concurrently. Each round's results, the provider links and the
per-entity call history are written in one transaction per round.

Retries (``decide``): a refusal or a local failure that cannot heal dead-letters a task at
once; a transient upstream failure (timeout, dropped connection, 5xx, 429) is retried with
capped exponential backoff and full jitter until the task's first failure is older than
``sync.retry_budget_s``; a 429 spends no attempt. ``sync.max_attempts`` bounds only transient
failures that never reached the provider (a crash in this worker, a parent not there yet).
Each provider's circuit, 429 pause and concurrency limit (``gateway.outbox.circuit``) decide
how much of its queues a round may claim and how many requests go out at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, cast

import msgspec
import structlog
from sqlalchemy import bindparam, case, delete, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.clock import utcnow
from gateway.core.domain import EntityType, Provider, SyncStatus, TaskAction, TaskStatus
from gateway.core.settings import Settings
from gateway.observability.metrics import observe_guards, observe_round
from gateway.observability.tracing import task_span
from gateway.outbox.circuit import CircuitState, ProviderGuard, SharedCircuits, upstream_transient
from gateway.outbox.claim import claim, make_due, renew_lease, renew_leases
from gateway.outbox.context import prepare
from gateway.outbox.outcomes import OutcomeType, OwnEvent, about_entity, emit, wanted_types
from gateway.outbox.plan import settle_dependents
from gateway.outbox.provider_calls import CallHistory, span_attributes
from gateway.outbox.queues import FORWARD_KIND, FORWARD_QUEUE, provider_of_queue
from gateway.outbox.round_writes import finish_done, keep_sent_keys, update_links
from gateway.store.db import among, chunked, on_postgres
from gateway.store.tables import (
    OutboxTaskRow,
    ProviderLinkRow,
    TaskDependencyRow,
    table_of,
)
from providers.base import (
    RETRIABLE,
    CallRecord,
    Operation,
    Outcome,
    ProviderAdapter,
    ProviderError,
    TransientError,
)
from providers.http import call_log
from providers.registry import Adapters

log = logging.getLogger("gateway.sync")

ENTITY_TYPES = frozenset(e.value for e in EntityType)

RetryScheduler = Callable[[str, datetime], Awaitable[None]]
"""Called with (queue, when) to have that queue's workers woken at ``when``: for a task put back
to wait, for events to forward, and for tasks of other queues whose dependencies a round ended."""


RETRY_AFTER_JITTER = 0.1
"""A provider's ``Retry-After`` is the delay, stretched by at most this share (and at most 1 s),
so the tasks it put back do not all return in the same instant."""


def backoff_s(attempt: int, *, base_s: float, max_s: float, retry_after: float | None = None,
              rng: random.Random | None = None) -> float:
    """How long a task waits before its next attempt.

    With the provider's ``Retry-After`` that is the delay, plus a jitter of at most a tenth
    of it (1 s at most): never sooner, never much later. Without one, exponential backoff with
    full jitter, capped at ``max_s``.
    """
    draw = (rng or random).uniform
    if retry_after is not None:
        return retry_after + draw(0, min(1.0, RETRY_AFTER_JITTER * retry_after))
    ceiling = min(max_s, base_s * (2 ** max(0, attempt - 1)))
    return draw(0, ceiling)


@dataclass(frozen=True)
class Decision:
    """What becomes of a task that did not succeed in its round."""

    dead: bool
    run_after: datetime
    attempts: int
    """The task's attempts after the round (a 429 gives its attempt back)."""
    first_failed_at: datetime | None
    maybe_sent: bool
    sent_keys: str | None = None
    """The task's ``sent_keys`` after the round (what its attempts may have created)."""


def decide(task: OutboxTaskRow, error: ProviderError | None, fatal_reason: str | None, *,
           now: datetime, settings: Settings, rng: random.Random | None = None,
           probe: bool = False) -> Decision:
    """The retry policy, in one place: dead-letter now, or when to try again.

    A 429 spends no attempt, and neither does a transient upstream failure of a ``probe``
    (the single task a half-open circuit lets through carries the provider's outage, not
    its own trouble)."""
    s = settings.sync
    transient = isinstance(error, TransientError) and fatal_reason is None
    maybe_sent = task.maybe_sent or (isinstance(error, TransientError) and error.maybe_sent)
    first_failed_at = task.first_failed_at or now
    if not transient or not isinstance(error, RETRIABLE):
        return Decision(dead=True, run_after=now, attempts=task.attempts,
                        first_failed_at=first_failed_at, maybe_sent=maybe_sent,
                        sent_keys=task.sent_keys)
    free = error.status == 429 or (probe and upstream_transient(error))
    attempts = task.attempts - 1 if free else task.attempts
    if upstream_transient(error):
        dead = (now - first_failed_at).total_seconds() >= s.retry_budget_s
    else:
        dead = task.attempts >= s.max_attempts
    retry_after = error.retry_after if isinstance(error, TransientError) else None
    delay = backoff_s(max(1, attempts), base_s=s.backoff_base_s, max_s=s.backoff_max_s,
                      retry_after=retry_after, rng=rng)
    return Decision(dead=dead, run_after=now if dead else now + timedelta(seconds=delay),
                    attempts=attempts, first_failed_at=first_failed_at, maybe_sent=maybe_sent,
                    sent_keys=task.sent_keys)


@dataclass
class RoundResult:
    """What became of one task in a round: an outcome, a provider error, or a fatal reason."""

    task: OutboxTaskRow
    outcome: Outcome | None = None
    error: ProviderError | None = None
    fatal_reason: str | None = None
    calls: list[CallRecord] = field(default_factory=list)
    detail: Any = None
    """Whatever a task kind wants to carry from ``run`` to ``record`` (an invite link, say)."""
    dead: bool = False
    """Set before the kinds record the round: the task failed for good (dead-lettered)."""
    held_back_s: float | None = None
    """Not sent: the provider's circuit opened (or a 429 paused it) before the task's turn came.
    It goes back to pending for this long and spends no attempt."""


class TaskKind(Protocol):
    """Outbox work that is not a customer/site/device upsert or delete (readings, invites ...).

    A kind owns the tasks whose ``entity_type`` equals its ``entity_type``. Its
    tasks live on the queue ``queue`` (a provider name, or a queue of its own).
    """

    entity_type: str
    queue: str

    async def run(self, engine: SyncEngine, results: Sequence[RoundResult]) -> None:
        """Carry out the tasks: set ``outcome``, ``error`` or ``fatal_reason`` on every result."""
        ...

    async def record(self, session: AsyncSession, results: Sequence[RoundResult]) -> None:
        """Extra writes in the transaction that finishes the round, for the results this
        worker still held (successes and failures alike)."""
        ...


class SyncEngine:
    """Runs outbox tasks of every configured provider."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        adapters: Adapters,
        settings: Settings,
        on_retry: RetryScheduler | None = None,
        kinds: Sequence[TaskKind] = (),
        shared: SharedCircuits | None = None,
    ) -> None:
        self.sessions = sessions
        self.adapters = adapters
        self.kinds = {kind.entity_type: kind for kind in kinds}
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
        self._entity_queues = {provider.value for provider in adapters}
        self._per_request = {
            provider.value: max(adapters[provider].capabilities.batch_limits.values(), default=1)
            for provider in adapters
        }
        """Tasks one request can carry at most, per provider queue (its largest batch)."""
        self.guards = {
            provider.value: ProviderGuard(failures_to_open=settings.sync.circuit_failures,
                                          open_s=settings.sync.circuit_open_s,
                                          concurrency=settings.worker.concurrency)
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
        return names + sorted({k.queue for k in self.kinds.values()} - set(names))

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
                if not probe and provider in self._entity_queues:
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
                await asyncio.shield(self._hand_back(tasks))
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
                    await self.shared.after_round(provider.value, guard)
            await self._record(queue, results, probe=probe)
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
        """Tell the provider's guard how the tasks of kinds went (entity requests told it one
        by one as they were answered), and end a probe round."""
        now = time.monotonic()
        failures = [r.error for r in results
                    if r.task.entity_type not in ENTITY_TYPES and upstream_transient(r.error)]
        successes = sum(1 for r in results
                        if r.task.entity_type not in ENTITY_TYPES and r.outcome is not None)
        for error in failures:
            if isinstance(error, TransientError) and error.status == 429 and error.retry_after:
                guard.pause(now, error.retry_after)
        if failures:
            guard.limit.overloaded()
        guard.round_finished(now, successes=successes, failures=len(failures))
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
        results = {task.id: RoundResult(task) for task in tasks}
        entity_tasks = [t for t in tasks if t.entity_type in ENTITY_TYPES]
        jobs: list[Awaitable[None]] = []
        if entity_tasks:
            jobs.append(self._run_entities(Provider(queue), entity_tasks, results))
        by_kind: dict[str, list[RoundResult]] = defaultdict(list)
        for task in tasks:
            if task.entity_type not in ENTITY_TYPES:
                by_kind[task.entity_type].append(results[task.id])
        for entity_type, kind_results in by_kind.items():
            kind = self.kinds.get(entity_type)
            if kind is None:
                for result in kind_results:
                    result.fatal_reason = f"no handler for {entity_type} tasks in this worker"
                continue
            jobs.append(self._run_kind(kind, kind_results))
        await asyncio.gather(*jobs)
        return list(results.values())

    async def _hand_back(self, tasks: Sequence[OutboxTaskRow]) -> None:
        """On shutdown mid-round: return the round's tasks to pending so another worker runs
        them now rather than after the lease; a result this worker already recorded stays."""
        table = table_of(OutboxTaskRow)
        async with self.sessions() as session:
            for task in tasks:
                await session.execute(
                    update(table)
                    .where(table.c.id == task.id, table.c.attempts == task.attempts,
                           table.c.status == TaskStatus.RUNNING.value)
                    .values(status=TaskStatus.PENDING.value, lease_until=None, updated_at=utcnow())
                )
            await session.commit()
        log.info("returned %d in-flight tasks on shutdown", len(tasks))

    async def _run_kind(self, kind: TaskKind, results: Sequence[RoundResult]) -> None:
        try:
            await kind.run(self, results)
        except Exception as exc:
            log.exception("task kind %s crashed", kind.entity_type)
            for result in results:
                if result.outcome is None and result.error is None:
                    result.error = TransientError(f"internal error: {type(exc).__name__}")

    async def _run_entities(self, provider: Provider, tasks: Sequence[OutboxTaskRow],
                            results: dict[str, RoundResult]) -> None:
        adapter = self.adapters[provider]
        async with self.sessions() as session:
            prepared = await prepare(session, provider, tasks, round_id=uuid.uuid4().hex)
        for task_id, why in prepared.unpreparable.items():
            results[task_id].fatal_reason = why
        await self._note_creates(adapter, prepared.operations.values(), tasks)
        groups: dict[tuple[str, str], list[Operation]] = defaultdict(list)
        for op in prepared.operations.values():
            groups[(op.entity_type.value, op.action.value)].append(op)
        limits = adapter.capabilities.batch_limits
        jobs: list[Awaitable[None]] = []
        guard = self.guards[provider.value]
        for (entity_type, action), ops in groups.items():
            batchable = action == TaskAction.UPSERT.value and EntityType(entity_type) in limits
            if batchable and len(ops) > 1:
                size = limits[EntityType(entity_type)]
                for start in range(0, len(ops), size):
                    jobs.append(self._run_batch(adapter, ops[start:start + size], results, guard))
            else:
                jobs.extend(self._run_one(adapter, op, results, guard) for op in ops)
        await asyncio.gather(*jobs)

    async def _note_creates(self, adapter: ProviderAdapter, ops: Iterable[Operation],
                            tasks: Sequence[OutboxTaskRow]) -> None:
        """Before sending, keep with each task what its create would make (when the provider
        mints the id), so that a later attempt or a delete finds it even if this attempt's
        answer is lost or its worker killed. One statement for the round."""
        by_id = {task.id: task for task in tasks}
        updates: dict[str, str] = {}
        for op in ops:
            key = adapter.create_key(op)
            if key is None or key in op.sent_keys:
                continue
            task = by_id[op.task_id]
            task.sent_keys = updates[task.id] = msgspec.json.encode([*op.sent_keys, key]).decode()
        if not updates:
            return
        table = table_of(OutboxTaskRow)
        async with self.sessions() as session:
            if on_postgres(session):
                await keep_sent_keys(session, list(updates), list(updates.values()))
            else:
                await session.execute(update(table).where(table.c.id == bindparam("k_id"))
                                      .values(sent_keys=bindparam("k_keys")),
                                      [{"k_id": i, "k_keys": k} for i, k in updates.items()])
            await session.commit()

    async def _run_one(self, adapter: ProviderAdapter, op: Operation,
                       results: dict[str, RoundResult], guard: ProviderGuard) -> None:
        # this runs as its own asyncio task (gathered), so the binding ends with it
        result = results[op.task_id]
        structlog.contextvars.bind_contextvars(task_id=op.task_id, customer_id=result.task.customer_id)
        limit = guard.limit
        await limit.acquire()
        try:
            held = _held_back(guard)
            if held is not None:
                result.held_back_s = held
                return
            calls: list[CallRecord] = []
            token = call_log.set(calls)
            started = time.monotonic()
            try:
                with task_span(f"{op.entity_type.value} {op.action.value}", [result.task.trace_context],
                               **span_attributes(result.task)):
                    result.outcome = await adapter.apply(op)
            except ProviderError as exc:
                result.error = exc
            except Exception as exc:
                log.exception("adapter %s crashed on task %s", adapter.provider, op.task_id)
                result.error = TransientError(f"internal error: {type(exc).__name__}")
            finally:
                call_log.reset(token)
            _tell(guard, [result.error], started, calls)
            result.calls = calls
        finally:
            limit.release()

    async def _run_batch(self, adapter: ProviderAdapter, ops: Sequence[Operation],
                         results: dict[str, RoundResult], guard: ProviderGuard) -> None:
        limit = guard.limit
        await limit.acquire()
        try:
            held = _held_back(guard)
            if held is not None:
                for op in ops:
                    results[op.task_id].held_back_s = held
                return
            calls: list[CallRecord] = []
            token = call_log.set(calls)
            started = time.monotonic()
            try:
                with task_span(f"{ops[0].entity_type.value} batch",
                               [results[op.task_id].task.trace_context for op in ops],
                               **{"gateway.task.queue": adapter.provider.value,
                                  "gateway.batch.size": len(ops)}):
                    outcomes: Sequence[Outcome | ProviderError] = await adapter.apply_batch(ops)
            except ProviderError as exc:
                outcomes = [exc] * len(ops)
            except Exception as exc:
                log.exception("adapter %s crashed on a batch", adapter.provider)
                outcomes = [TransientError(f"internal error: {type(exc).__name__}")] * len(ops)
            finally:
                call_log.reset(token)
            errors: list[ProviderError | None] = []
            for op, outcome in zip(ops, outcomes, strict=True):
                result = results[op.task_id]
                if isinstance(outcome, ProviderError):
                    result.error = outcome
                    errors.append(outcome)
                else:
                    result.outcome = outcome
                    errors.append(None)
                result.calls = calls
            _tell(guard, errors, started, calls)
        finally:
            limit.release()

    async def _record(self, queue: str, results: list[RoundResult], *, probe: bool = False) -> None:
        """Write the round's outcome: tasks, links, dependencies and call history, atomically."""
        now = utcnow()
        s = self.settings
        done_tasks: list[dict[str, object]] = []
        retry_tasks: list[dict[str, object]] = []
        link_updates: list[dict[str, object]] = []
        history = CallHistory()
        retries: list[datetime] = []
        dead_letters: dict[str, str] = {}
        for result in results:
            task = result.task
            # each column once: an attribute of a mapped row costs a descriptor call per read
            task_id, entity_id, provider, attempts = task.id, task.entity_id, task.provider, task.attempts
            if result.calls:
                history.add(task, result.calls)
            fence = {"t_id": task_id, "t_attempts": attempts}
            if result.held_back_s is not None:
                # never sent: back to pending without spending the attempt, link unchanged
                run_after = now + timedelta(seconds=result.held_back_s)
                retries.append(run_after)
                retry_tasks.append({**fence, "t_status": TaskStatus.PENDING.value, "t_run_after": run_after,
                                    "t_error": task.last_error, "t_new_attempts": attempts - 1,
                                    "t_first_failed": task.first_failed_at,
                                    "t_maybe_sent": task.maybe_sent, "t_sent_keys": task.sent_keys})
                continue
            link_key = {"l_entity": entity_id, "l_provider": provider}
            if result.outcome is not None:
                done_tasks.append(fence)
                deleted = task.action == TaskAction.DELETE.value
                link_updates.append({
                    **link_key, "l_status": SyncStatus.DELETED.value if deleted else SyncStatus.SYNCED.value,
                    "l_external": None if deleted else result.outcome.external_id,
                    "l_attempts": attempts, "l_error": None, "l_synced": now, "l_now": now,
                    "l_upsert": not deleted,
                })
                continue
            error = result.error
            message = result.fatal_reason or (_describe(error) if error else "unknown failure")
            decision = decide(task, error, result.fatal_reason, now=now, settings=s, probe=probe)
            result.dead = decision.dead
            if decision.dead:
                status = TaskStatus.DEAD.value
                dead_letters[task.id] = message
            else:
                status = TaskStatus.PENDING.value
                retries.append(decision.run_after)
            retry_tasks.append({**fence, "t_status": status, "t_run_after": decision.run_after,
                                "t_error": message[:2000], "t_new_attempts": decision.attempts,
                                "t_first_failed": decision.first_failed_at,
                                "t_maybe_sent": decision.maybe_sent, "t_sent_keys": decision.sent_keys})
            link_updates.append({
                **link_key, "l_status": SyncStatus.FAILED.value if decision.dead else None,
                "l_external": None, "l_attempts": decision.attempts, "l_error": message[:2000],
                "l_synced": None, "l_now": now, "l_upsert": None,
            })
        async with self.sessions() as session:
            finished, dependent_queues = await self._finish_tasks(session, done_tasks, retry_tasks, now)
            await settle_dependents(session, [i for i in dead_letters if i in finished], now=now)
            held: list[RoundResult] = []
            entity_held: set[tuple[object, object]] = set()
            by_kind: dict[str, list[RoundResult]] = defaultdict(list)
            for result in results:
                task = result.task
                if task.id not in finished:
                    continue
                held.append(result)
                entity_type = task.entity_type
                if entity_type in ENTITY_TYPES:
                    entity_held.add((task.entity_id, task.provider))
                if entity_type in self.kinds:
                    by_kind[entity_type].append(result)
            await self._update_links(session, [u for u in link_updates
                                               if (u["l_entity"], u["l_provider"]) in entity_held], now)
            for entity_type, mine in by_kind.items():
                await self.kinds[entity_type].record(session, mine)
            await history.write(session, now)
            wanted = await wanted_types(session)
            forwarded = (await emit(session, _own_events(held, dead_letters, wanted), now=now)
                         if wanted else [])
            await session.commit()
        observe_round(results, finished, dead_letters, settings=s)
        if self.on_retry is not None and retries:
            await self.on_retry(queue, min(retries))
        if self.on_retry is not None and forwarded:
            await self.on_retry(FORWARD_QUEUE, now)
        # Tasks on other queues that waited for this round's (readings for their device, say)
        # may be ready now; this queue's own are claimed by the next round anyway.
        if self.on_retry is not None:
            for other in sorted(dependent_queues - {queue}):
                await self.on_retry(other, now)

    async def _finish_tasks(self, session: AsyncSession, done: list[dict[str, object]],
                            retry: list[dict[str, object]], now: datetime) -> tuple[set[str], set[str]]:
        """Close the tasks this worker still holds (fenced by attempts); return their ids and
        the queues of the tasks that waited for the ones done."""
        table = table_of(OutboxTaskRow)
        finished: set[str] = set()
        dependent_queues: set[str] = set()
        postgres = on_postgres(session)
        if done and postgres:
            closed = await finish_done(session, [cast(str, item["t_id"]) for item in done],
                                       [cast(int, item["t_attempts"]) for item in done], now)
            finished |= set(closed.ids)
            dependent_queues = closed.dependent_queues
        elif done:
            pairs = [(item["t_id"], item["t_attempts"]) for item in done]
            ids: list[str] = []
            for start in range(0, len(pairs), 500):
                rows = await session.execute(
                    update(table)
                    .where(tuple_(table.c.id, table.c.attempts).in_(pairs[start:start + 500]),
                           table.c.status == TaskStatus.RUNNING.value)
                    .values(status=TaskStatus.DONE.value, lease_until=None, last_error=None, updated_at=now)
                    .returning(table.c.id)
                )
                ids.extend(r.id for r in rows)
            finished |= set(ids)
            dependencies = table_of(TaskDependencyRow)
            for part in chunked(ids, postgres=False):
                dependent_queues |= set((await session.execute(
                    select(table.c.provider).distinct()
                    .join(dependencies, dependencies.c.task_id == table.c.id)
                    .where(among(dependencies.c.depends_on, part, postgres=False)))).scalars())
                await session.execute(delete(dependencies).where(
                    among(dependencies.c.depends_on, part, postgres=False)))
        if retry:
            stmt = (
                update(table)
                .where(table.c.id == bindparam("t_id"), table.c.attempts == bindparam("t_attempts"),
                       table.c.status == TaskStatus.RUNNING.value)
                .values(status=bindparam("t_status"), run_after=bindparam("t_run_after"),
                        last_error=bindparam("t_error"), attempts=bindparam("t_new_attempts"),
                        first_failed_at=bindparam("t_first_failed"),
                        maybe_sent=bindparam("t_maybe_sent"), sent_keys=bindparam("t_sent_keys"),
                        lease_until=None, updated_at=now)
                .returning(table.c.id)
            )
            for item in retry:
                finished |= {r.id for r in (await session.execute(stmt, item)).all()}
        return finished, dependent_queues

    async def _update_links(self, session: AsyncSession, updates: list[dict[str, object]],
                            now: datetime) -> None:
        """Write the round's link changes: one statement on PostgreSQL, elsewhere one executemany
        per kind of change."""
        if not updates:
            return
        if on_postgres(session):
            await update_links(session, [
                {"entity": u["l_entity"], "provider": u["l_provider"], "change": _link_change(u),
                 "status": u["l_status"], "external": u["l_external"], "attempts": u["l_attempts"],
                 "error": u["l_error"]} for u in updates], now)
            return
        table = table_of(ProviderLinkRow)
        keep_if_deleting = or_(table.c.status == SyncStatus.DELETING.value,
                               table.c.status == SyncStatus.DELETED.value)
        base = update(table).where(table.c.entity_id == bindparam("l_entity"),
                                   table.c.provider == bindparam("l_provider"))
        common: dict[str, Any] = {"attempts": bindparam("l_attempts"), "last_error": bindparam("l_error"),
                  "updated_at": bindparam("l_now")}
        statements = {
            # an upsert done: synced, unless a delete queued meanwhile keeps it "deleting"
            "upserted": base.values(
                status=case((keep_if_deleting, table.c.status), else_=SyncStatus.SYNCED.value),
                external_id=bindparam("l_external"), synced_at=bindparam("l_synced"), **common),
            "deleted": base.values(status=SyncStatus.DELETED.value,
                                   synced_at=bindparam("l_synced"), **common),
            "failed": base.values(status=bindparam("l_status"), **common),
            "retrying": base.values(**common),
        }
        groups: dict[str, list[dict[str, object]]] = defaultdict(list)
        for item in updates:
            groups[_link_change(item)].append(item)
        for name, items in groups.items():
            await session.execute(statements[name], items)



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


def _link_change(item: dict[str, object]) -> str:
    """Which of :data:`~gateway.outbox.round_writes.LINK_CHANGES` a link update is."""
    if item["l_upsert"] is True:
        return "upserted"
    if item["l_upsert"] is False:
        return "deleted"
    return "failed" if item["l_status"] is not None else "retrying"


def _own_events(held: Sequence[RoundResult], dead_letters: dict[str, str],
                wanted: frozenset[str]) -> list[OwnEvent]:
    """The gateway's own events of a round that some subscription wants (``wanted``): records
    synced or failed, tasks dead-lettered."""
    events: list[OwnEvent] = []
    synced_wanted = OutcomeType.RECORD_SYNCED.value in wanted
    for result in held:
        task = result.task
        if not synced_wanted and task.id not in dead_letters:
            continue
        entity = task.entity_type in ENTITY_TYPES
        common = {"provider": task.provider, "action": task.action, "taskId": task.id}
        if (synced_wanted and entity and result.outcome is not None
                and task.action == TaskAction.UPSERT.value):
            events.append(about_entity(OutcomeType.RECORD_SYNCED, entity_type=task.entity_type,
                                       entity_id=task.entity_id, customer_id=task.customer_id,
                                       externalId=result.outcome.external_id, **common))
        reason = dead_letters.get(task.id)
        if reason is None or task.entity_type == FORWARD_KIND:
            # A delivery that gave up is no event of its own: it might go to the same subscriber.
            continue
        if entity:
            events.append(about_entity(OutcomeType.RECORD_FAILED, entity_type=task.entity_type,
                                       entity_id=task.entity_id, customer_id=task.customer_id,
                                       error=reason, **common))
        events.append(OwnEvent(type=OutcomeType.TASK_DEAD_LETTERED, customer_id=task.customer_id or None,
                               payload={"kind": task.entity_type, "entityId": task.entity_id,
                                        "attempts": task.attempts, "error": reason, **common}))
    return events


def _describe(error: ProviderError) -> str:
    status = f"{error.status} " if error.status else ""
    route = f" ({error.route})" if error.route else ""
    return f"{type(error).__name__}: {status}{error.message}{route}"
