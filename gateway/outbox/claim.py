"""Leasing outbox tasks to a worker, and finding tasks whose lease lapsed.

A task is *ready* when it is pending, its ``run_after`` has come and nothing
it depends on is still open. Claiming sets it running with a lease and bumps
``attempts``, which doubles as the fencing token: a worker may only finish a
task whose ``attempts`` is still the value it claimed.

PostgreSQL claims with ``FOR UPDATE SKIP LOCKED`` so many workers never block
each other; SQLite has a single writer, so the same statement is atomic there
and a process-wide lock keeps in-process claims from racing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import overload

from sqlalchemy import TextClause, bindparam, select, text, tuple_, update
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.clock import as_utc
from gateway.core.domain import TaskStatus
from gateway.outbox.settle import settle_stranded
from gateway.store.db import IN_CHUNK, chunked, on_postgres
from gateway.store.tables import UTC_DATETIME, OutboxTaskRow, table_of

_CLAIM = f"""
UPDATE outbox_tasks
SET status = '{TaskStatus.RUNNING}', lease_until = :lease_until, attempts = attempts + 1, updated_at = :now
WHERE {{among}}(
    SELECT t.id FROM outbox_tasks t
    WHERE t.status = '{TaskStatus.PENDING}' AND t.provider = :provider AND t.run_after <= :now
      AND NOT EXISTS ({{blocking}})
    ORDER BY t.created_at, t.id
    LIMIT :limit
    {{lock}}
){{close}}
RETURNING id, provider, entity_type, entity_id, customer_id, action, status, attempts,
          run_after, lease_until, last_error, created_at, updated_at, first_failed_at, maybe_sent,
          blocked_by, sent_keys, trace_context
"""

BLOCKING = (
    "SELECT 1 FROM task_dependencies d JOIN outbox_tasks p ON p.id = d.depends_on "
    "WHERE d.task_id = t.id AND p.status NOT IN ('done', 'cancelled')"
)
"""A dependency holds a task back while its parent is unfinished. Checking the parent's status
(not only that the row exists) covers a dependency written by a transaction that read the parent
as open just before a worker finished it and cleared its dependencies."""



def _sql(statement: str) -> TextClause:
    """Text SQL whose time parameters go through the column type (SQLite stores them as text)."""
    clause = text(statement)
    times = [name for name in ("now", "lease_until") if f":{name}" in statement]
    return clause.bindparams(*(bindparam(name, type_=UTC_DATETIME) for name in times))


_CLAIMS = {
    False: _sql(_CLAIM.format(among="id IN ", close="", lock="", blocking=BLOCKING)),
    True: _sql(_CLAIM.format(among="id = ANY(ARRAY", close=")", lock="FOR UPDATE SKIP LOCKED",
                             blocking=BLOCKING)),
}
"""The claim statement per dialect (PostgreSQL or not), built once so its compiled form is cached.

The pending tasks of a provider are read in claim order through ``ix_outbox_pending`` (a
partial index), so a claim reads about as many tasks as it takes (and the blocked ones
before them) rather than sorting every pending task of the provider. On PostgreSQL the
chosen ids go to the update as one array, so it finds each through the primary key instead
of joining against the whole table."""


async def claim(
    session: AsyncSession, *, provider: str, now: datetime, lease_s: float, limit: int,
    sqlite_lock: asyncio.Lock,
) -> list[OutboxTaskRow]:
    """Lease up to ``limit`` ready tasks of ``provider``, oldest first; commits.

    The engine asks for fewer (or none) while the provider's circuit is open or half-open
    or a 429 paused it (``gateway.outbox.circuit``), so a held-back queue spends no attempts.

    ``sqlite_lock`` serialises claims of one process on SQLite (unused on PostgreSQL).
    """
    postgres = on_postgres(session)
    statement = _CLAIMS[postgres]
    params = {"lease_until": now + timedelta(seconds=lease_s), "now": now, "provider": provider,
              "limit": limit}
    # The ORM loads the claimed rows straight into OutboxTaskRow objects, without running
    # the model's __init__ (a tenth of the cost per task; it was a tenth of a worker's CPU
    # in onboarding). Every column comes back, so the detached objects have all of them.
    load = select(OutboxTaskRow).from_statement(statement)
    if postgres:
        tasks = list((await session.execute(load, params)).scalars().all())
        await session.commit()
    else:
        async with sqlite_lock:
            tasks = list((await session.execute(load, params)).scalars().all())
            await session.commit()
        for task in tasks:
            # SQLite keeps no time zone: the times read back naive, and are UTC.
            task.run_after = _dt(task.run_after)
            task.lease_until = _dt(task.lease_until)
            task.created_at = _dt(task.created_at)
            task.updated_at = _dt(task.updated_at)
            task.first_failed_at = _dt(task.first_failed_at)
    tasks.sort(key=lambda t: (t.created_at, t.id))
    return tasks


@overload
def _dt(value: datetime | str) -> datetime: ...
@overload
def _dt(value: datetime | str | None) -> datetime | None: ...
def _dt(value: datetime | str | None) -> datetime | None:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return as_utc(value)


async def renew_lease(session: AsyncSession, task: OutboxTaskRow, *, now: datetime,
                      lease_s: float) -> bool:
    """Extend this worker's lease on ``task`` if it still holds it (running, same attempt, lease
    not lapsed); commits. False means the task may be another worker's now: do not send it."""
    table = table_of(OutboxTaskRow)
    row = (await session.execute(
        update(table)
        .where(table.c.id == task.id, table.c.attempts == task.attempts,
               table.c.status == TaskStatus.RUNNING.value, table.c.lease_until >= now)
        .values(lease_until=now + timedelta(seconds=lease_s))
        .returning(table.c.id)
    )).first()
    await session.commit()
    return row is not None


async def renew_leases(session: AsyncSession, tasks: Sequence[OutboxTaskRow], *, now: datetime,
                       lease_s: float) -> set[str]:
    """Extend this worker's leases on ``tasks`` (those it still holds: running, same attempt);
    commits. Returns the ids renewed. One statement per few hundred tasks: the (id, attempts)
    pairs this worker claimed, matched as row values."""
    if not tasks:
        return set()
    table = table_of(OutboxTaskRow)
    until = now + timedelta(seconds=lease_s)
    held: set[str] = set()
    for part in chunked([(task.id, task.attempts) for task in tasks], size=IN_CHUNK // 2):
        rows = await session.execute(
            update(table)
            .where(tuple_(table.c.id, table.c.attempts).in_(part),
                   table.c.status == TaskStatus.RUNNING.value)
            .values(lease_until=until)
            .returning(table.c.id))
        held.update(row.id for row in rows)
    await session.commit()
    return held


async def make_due(session: AsyncSession, queues: Sequence[str], *, now: datetime) -> set[str]:
    """Make the pending tasks of ``queues`` that wait out a backoff after failing due now (a
    provider came back from an outage); commits. Returns the queues that had such tasks."""
    table = table_of(OutboxTaskRow)
    rows = await session.execute(
        update(table)
        .where(table.c.provider.in_(list(queues)), table.c.status == TaskStatus.PENDING.value,
               table.c.run_after > now, table.c.first_failed_at.is_not(None))
        .values(run_after=now, updated_at=now)
        .returning(table.c.provider)
    )
    moved = {row.provider for row in rows}
    await session.commit()
    return moved


async def release_lapsed(session: AsyncSession, *, now: datetime) -> list[str]:
    """Put tasks whose lease ran out (worker died, Redis lost) back to pending, marked as
    possibly sent (the dead worker may have had their requests carried out before it could
    record them: a create is read first, not sent again), and settle pending tasks stranded
    behind a dead task (:func:`~gateway.outbox.settle.settle_stranded`); commits.

    Returns the providers that have such tasks, to be woken.
    """
    rows = (
        await session.execute(
            _sql(
                "UPDATE outbox_tasks SET status = 'pending', lease_until = NULL, maybe_sent = :sent, "
                "updated_at = :now WHERE status = 'running' AND lease_until < :now RETURNING provider"
            ),
            {"now": now, "sent": True},
        )
    ).all()
    settled = await settle_stranded(session, now=now)
    await session.commit()
    return sorted({r.provider for r in rows} | set(settled))


async def providers_with_ready_work(session: AsyncSession, *, now: datetime) -> list[str]:
    rows = (
        await session.execute(
            _sql(
                "SELECT DISTINCT provider FROM outbox_tasks "
                "WHERE status = 'pending' AND run_after <= :now"
            ),
            {"now": now},
        )
    ).all()
    return sorted(r.provider for r in rows)


async def next_run_after(session: AsyncSession, provider: str) -> datetime | None:
    """When the earliest unblocked pending task of ``provider`` comes due (a retry, or a reading
    batch's linger)."""
    row = (
        await session.execute(
            text("SELECT MIN(run_after) AS at FROM outbox_tasks t "
                 f"WHERE t.status = '{TaskStatus.PENDING}' AND t.provider = :provider AND NOT EXISTS "
                 f"({BLOCKING})"),
            {"provider": provider},
        )
    ).first()
    return _dt(row.at) if row is not None else None
