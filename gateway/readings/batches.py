"""Storing checked readings and queueing their delivery in batches.

A *batch* is a customer's readings delivered by one outbox task on
:data:`READINGS_QUEUE` (``reading_batches.id`` = the task's ``entity_id``),
at most ``readings_batch_size`` readings. Each request's readings of a
customer enrolled at Zählerfreunde fill that customer's open batches first:

* On PostgreSQL a batch stays open while its task is pending and untried; the
  ingest locks the task (``FOR UPDATE SKIP LOCKED``) before adding readings,
  so a worker either took the task before (and the batch is not open) or takes
  it after the ingest commits (and sends what was added). Concurrent requests
  skip each other's locked batches and open new ones, so they never wait.
  Many small requests thus still make full delivery tasks.
* On SQLite every request opens new batches.

Readings go in with one ``COPY`` (PostgreSQL fast path, taken when none of
them is stored yet); when that meets a stored reading it is rolled back to a
savepoint and the readings go in with ``INSERT ... SELECT FROM unnest(...) ON
CONFLICT DO NOTHING``. SQLite takes a multi-row ``INSERT ... ON CONFLICT DO
NOTHING``. Batch rows, tasks and their dependencies are written with bulk
inserts, never ORM objects.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy import ARRAY, String, bindparam, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.domain import Provider, TaskAction, TaskStatus
from gateway.outbox.fresh import QueuedTask
from gateway.outbox.plan import OPEN_STATUSES, OutboxPlanner
from gateway.outbox.queues import READINGS_QUEUE
from gateway.store.db import among, chunked
from gateway.store.reading_tables import ReadingBatchRow, ReadingRow
from gateway.store.tables import OutboxTaskRow, TaskDependencyRow, table_of

READINGS_ENTITY = "readings"
"""``entity_type`` of reading delivery tasks; their ``entity_id`` is the batch id."""
DELIVERY_PROVIDER = Provider.ZAEHLERFREUNDE
"""The one provider that takes readings today."""

Row = tuple[str, str, int, float, str | None, datetime]
"""A reading as stored: (device, code, ts, value, batch, received_at)."""
_COLUMNS = ("device_id", "obis_code", "ts", "value", "batch_id", "received_at")
_UNNEST_INSERT = """
INSERT INTO readings (device_id, obis_code, ts, value, batch_id, received_at)
SELECT d, c, t, v, b, at FROM unnest($1::text[], $2::text[], $3::bigint[], $4::float8[], $5::text[],
                                     $6::timestamptz[]) AS u(d, c, t, v, b, at)
ON CONFLICT (device_id, obis_code, ts) DO NOTHING
RETURNING batch_id
"""
_OPEN_BATCHES = text(f"""
SELECT b.id, b.customer_id, b.size, t.id AS task_id
FROM reading_batches b JOIN outbox_tasks t ON t.entity_id = b.id AND t.provider = '{READINGS_QUEUE}'
WHERE b.customer_id = ANY(:customers) AND b.size < :size AND b.delivered_at IS NULL
  AND t.status = '{TaskStatus.PENDING}' AND t.attempts = 0
ORDER BY b.size DESC
FOR UPDATE OF t SKIP LOCKED
""").bindparams(bindparam("customers", type_=ARRAY(String)))


@dataclass
class Batch:
    """Readings of one customer bound for one delivery task (new, or open and locked)."""

    id: str
    customer_id: str
    room: int
    task_id: str | None = None
    """The task of an open batch; ``None`` for a batch this request creates."""
    devices: set[str] = field(default_factory=set)
    """Devices of the readings this request adds."""


class Batcher:
    """Hands out the batches of one request: open ones first (PostgreSQL), then new ones."""

    def __init__(self, open_batches: dict[str, list[Batch]], *, batch_size: int) -> None:
        self._open = open_batches
        self.batch_size = batch_size
        self.batches: dict[str, Batch] = {}

    @classmethod
    async def start(cls, session: AsyncSession, customers: Iterable[str], *, batch_size: int) -> Batcher:
        """Lock the customers' open batches (PostgreSQL) for this transaction."""
        found: dict[str, list[Batch]] = {}
        wanted = sorted(set(customers))
        connection = await session.connection()
        if wanted and connection.dialect.name == "postgresql":
            rows = await connection.execute(_OPEN_BATCHES, {"customers": wanted, "size": batch_size})
            for batch_id, customer_id, size, task_id in rows:
                found.setdefault(customer_id, []).append(
                    Batch(batch_id, customer_id, batch_size - size, task_id))
        return cls(found, batch_size=batch_size)

    def fill(self, customer_id: str, count: int) -> list[tuple[Batch, int]]:
        """Batches for ``count`` readings of a customer, in order: (batch, how many go in it)."""
        out: list[tuple[Batch, int]] = []
        candidates = self._open.get(customer_id, [])
        while count:
            if not candidates:
                candidates.append(Batch(str(uuid.uuid4()), customer_id, self.batch_size))
            batch = candidates[0]
            take = min(count, batch.room)
            batch.room -= take
            count -= take
            self.batches[batch.id] = batch
            out.append((batch, take))
            if batch.room == 0:
                candidates.pop(0)
        return out


async def store(session: AsyncSession, rows: Sequence[Row]) -> Counter[str | None]:
    """Insert readings, skipping those already stored; return how many were new per batch id."""
    stored: Counter[str | None] = Counter()
    if not rows:
        return stored
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        raw = (await connection.get_raw_connection()).driver_connection
        assert raw is not None
        await raw.execute("SAVEPOINT readings_copy")
        try:
            await raw.copy_records_to_table("readings", records=rows, columns=_COLUMNS)
        except asyncpg.UniqueViolationError:
            await raw.execute("ROLLBACK TO SAVEPOINT readings_copy")
            found = await raw.fetch(_UNNEST_INSERT, *zip(*rows, strict=True))
            stored.update(record[0] for record in found)
        else:
            await raw.execute("RELEASE SAVEPOINT readings_copy")
            stored.update(row[4] for row in rows)
        return stored
    table = table_of(ReadingRow)
    statement = (
        sqlite.insert(table)
        .on_conflict_do_nothing(index_elements=["device_id", "obis_code", "ts"])
        .returning(table.c.batch_id)
    )
    result = await session.execute(statement, [dict(zip(_COLUMNS, row, strict=True)) for row in rows])
    stored.update(batch_id for (batch_id,) in result.all())
    return stored


async def open_device_tasks(session: AsyncSession, device_ids: Iterable[str]) -> dict[str, str]:
    """The id of the newest unfinished Zählerfreunde task of each device (to deliver after it)."""
    found: dict[str, str] = {}
    connection = await session.connection()
    postgres = connection.dialect.name == "postgresql"
    t = OutboxTaskRow
    for part in chunked(sorted(set(device_ids)), postgres=postgres):
        rows = await connection.execute(
            select(col(t.entity_id), col(t.id))
            .where(col(t.provider) == DELIVERY_PROVIDER.value, among(t.entity_id, part, postgres=postgres),
                   col(t.status).in_(OPEN_STATUSES))
            .order_by(col(t.created_at))
        )
        for entity_id, task_id in rows:
            found[entity_id] = task_id
    return found


async def queue_deliveries(session: AsyncSession, planner: OutboxPlanner, batches: Sequence[Batch],
                           stored: Counter[str | None]) -> None:
    """Record what each batch took, and make sure its task waits for its devices' open tasks.

    A new batch gets its row and its task; an open batch grows. Either way the
    task waits for the open Zählerfreunde task of each device this request added.
    """
    now = planner.now
    dialect = (await session.connection()).dialect.name
    waits = await open_device_tasks(session, set().union(*(b.devices for b in batches)))
    new_batches: list[dict[str, Any]] = []
    grown: list[dict[str, Any]] = []
    tasks: list[dict[str, Any]] = []
    dependencies: list[dict[str, str]] = []
    for batch in batches:
        if batch.task_id is None:
            batch.task_id = str(uuid.uuid4())
            new_batches.append({"id": batch.id, "customer_id": batch.customer_id,
                                "size": stored[batch.id], "created_at": now})
            tasks.append({"id": batch.task_id, "provider": READINGS_QUEUE, "entity_type": READINGS_ENTITY,
                          "entity_id": batch.id, "customer_id": batch.customer_id,
                          "action": TaskAction.UPSERT.value, "status": TaskStatus.PENDING.value,
                          "attempts": 0, "run_after": now, "created_at": now, "updated_at": now})
        else:
            grown.append({"b_id": batch.id, "b_added": stored[batch.id]})
        for parent in sorted({waits[d] for d in batch.devices if d in waits}):
            dependencies.append({"task_id": batch.task_id, "depends_on": parent})
    if new_batches:
        batch_table = table_of(ReadingBatchRow)
        task_table = table_of(OutboxTaskRow)
        await session.execute(insert(batch_table), new_batches)
        await session.execute(insert(task_table), tasks)
    if grown:
        table = table_of(ReadingBatchRow)
        await session.execute(
            update(table).where(table.c.id == bindparam("b_id"))
            .values(size=table.c.size + bindparam("b_added")), grown)
    if dependencies:
        dialect_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        dependency_table = table_of(TaskDependencyRow)
        await session.execute(dialect_insert(dependency_table).on_conflict_do_nothing(), dependencies)
    planner.wake(QueuedTask(task["id"], READINGS_QUEUE) for task in tasks)
