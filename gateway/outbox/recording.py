"""Writing a round's outcome: tasks, what waited on them, the kinds' writes, call history and
the gateway's own events, in one transaction per round.

A task is closed only while this worker still holds it (fenced by its attempt count): done,
back to pending for a retry (``gateway.outbox.policy.decide``), or dead-lettered. The kinds
then record their own writes for the tasks still held, in the order they were registered.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol, cast

from sqlalchemy import bindparam, delete, select, tuple_, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.clock import utcnow
from gateway.core.domain import TaskStatus
from gateway.core.settings import Settings
from gateway.observability.metrics import observe_round
from gateway.outbox.outcomes import OutcomeType, OwnEvent, emit, wanted_types
from gateway.outbox.policy import decide
from gateway.outbox.provider_calls import CallHistory
from gateway.outbox.queues import FORWARD_KIND, FORWARD_QUEUE
from gateway.outbox.results import RoundResult
from gateway.outbox.round_writes import finish_done
from gateway.outbox.settle import settle_dependents
from gateway.store.db import among, chunked, on_postgres
from gateway.store.tables import OutboxTaskRow, TaskDependencyRow, table_of
from providers.base import ProviderError

log = logging.getLogger("gateway.sync")

RetryScheduler = Callable[[str, datetime], Awaitable[None]]
"""Called with (queue, when) to have that queue's workers woken at ``when``: for a task put back
to wait, for events to forward, and for tasks of other queues whose dependencies a round ended."""


class Recorder(Protocol):
    """What recording a round asks of a task kind."""

    async def record(self, session: AsyncSession, results: Sequence[RoundResult]) -> None: ...


async def record_round(sessions: async_sessionmaker[AsyncSession], s: Settings,
                       kinds: Mapping[str, Recorder], order: Sequence[Recorder],
                       on_retry: RetryScheduler | None, queue: str, results: list[RoundResult], *,
                       probe: bool = False) -> None:
    """Write the round's outcome: tasks, dependencies, the kinds' writes (``kinds``: the kind
    of each task type; ``order``: the order they record in) and call history, atomically;
    then wake the queues with work it made ready (through ``on_retry``)."""
    now = utcnow()
    done_tasks: list[dict[str, object]] = []
    retry_tasks: list[dict[str, object]] = []
    history = CallHistory()
    retries: list[datetime] = []
    dead_letters: dict[str, str] = {}
    for result in results:
        task = result.task
        # each column once: an attribute of a mapped row costs a descriptor call per read
        task_id, attempts = task.id, task.attempts
        if result.calls:
            history.add(task, result.calls)
        fence = {"t_id": task_id, "t_attempts": attempts}
        if result.held_back_s is not None:
            # never sent: back to pending without spending the attempt
            run_after = now + timedelta(seconds=result.held_back_s)
            retries.append(run_after)
            retry_tasks.append({**fence, "t_status": TaskStatus.PENDING.value, "t_run_after": run_after,
                                "t_error": task.last_error, "t_new_attempts": attempts - 1,
                                "t_first_failed": task.first_failed_at,
                                "t_maybe_sent": task.maybe_sent, "t_sent_keys": task.sent_keys})
            continue
        if result.outcome is not None:
            done_tasks.append(fence)
            continue
        error = result.error
        message = result.fatal_reason or (_describe(error) if error else "unknown failure")
        decision = decide(task, error, result.fatal_reason, now=now, settings=s, probe=probe)
        result.dead, result.failure, result.attempts = decision.dead, message[:2000], decision.attempts
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
    async with sessions() as session:
        finished, dependent_queues = await finish_tasks(session, done_tasks, retry_tasks, now)
        await settle_dependents(session, [i for i in dead_letters if i in finished], now=now)
        held = [result for result in results if result.task.id in finished]
        by_kind: dict[int, list[RoundResult]] = defaultdict(list)
        for result in held:
            kind = kinds.get(result.task.entity_type)
            if kind is not None:
                by_kind[id(kind)].append(result)
        for kind in order:
            mine = by_kind.get(id(kind))
            if mine:
                await kind.record(session, mine)
        await history.write(session, now)
        wanted = await wanted_types(session)
        forwarded = (await emit(session, _own_events(held, dead_letters), now=now)
                     if wanted else [])
        await session.commit()
    observe_round(results, finished, dead_letters, settings=s)
    if on_retry is not None and retries:
        await on_retry(queue, min(retries))
    if on_retry is not None and forwarded:
        await on_retry(FORWARD_QUEUE, now)
    # Tasks on other queues that waited for this round's (another kind's, queued after them)
    # may be ready now; this queue's own are claimed by the next round anyway.
    if on_retry is not None:
        for other in sorted(dependent_queues - {queue}):
            await on_retry(other, now)


async def finish_tasks(session: AsyncSession, done: list[dict[str, object]],
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
        for some in chunked(pairs):
            rows = await session.execute(
                update(table)
                .where(tuple_(table.c.id, table.c.attempts).in_(some),
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


async def hand_back(sessions: async_sessionmaker[AsyncSession], tasks: Sequence[OutboxTaskRow]) -> None:
    """On shutdown mid-round: return the round's tasks to pending so another worker runs
    them now rather than after the lease; a result this worker already recorded stays."""
    table = table_of(OutboxTaskRow)
    async with sessions() as session:
        for task in tasks:
            await session.execute(
                update(table)
                .where(table.c.id == task.id, table.c.attempts == task.attempts,
                       table.c.status == TaskStatus.RUNNING.value)
                .values(status=TaskStatus.PENDING.value, lease_until=None, updated_at=utcnow())
            )
        await session.commit()
    log.info("returned %d in-flight tasks on shutdown", len(tasks))


def _own_events(held: Sequence[RoundResult], dead_letters: dict[str, str]) -> list[OwnEvent]:
    """The gateway's own events of a round: those the kinds asked for, and the tasks
    dead-lettered."""
    events: list[OwnEvent] = []
    for result in held:
        task = result.task
        events.extend(result.events)
        reason = dead_letters.get(task.id)
        if reason is None or task.entity_type == FORWARD_KIND:
            # A delivery that gave up is no event of its own: it might go to the same subscriber.
            continue
        common = {"provider": task.provider, "action": task.action, "taskId": task.id}
        events.append(OwnEvent(type=OutcomeType.TASK_DEAD_LETTERED, customer_id=task.customer_id or None,
                               payload={"kind": task.entity_type, "entityId": task.entity_id,
                                        "attempts": task.attempts, "error": reason, **common}))
    return events


def _describe(error: ProviderError) -> str:
    status = f"{error.status} " if error.status else ""
    route = f" ({error.route})" if error.route else ""
    return f"{type(error).__name__}: {status}{error.message}{route}"
