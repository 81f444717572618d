"""Storing checked readings and queueing their delivery in batches.

A *batch* is a customer's readings delivered by one outbox task on
:data:`READINGS_QUEUE` (``reading_batches.id`` = the task's ``entity_id``),
at most ``readings_batch_size`` readings, for the provider that takes readings
(:data:`DELIVERY_PROVIDER`, found by its capabilities). Each request's readings of a
customer enrolled there fill that customer's open batch first:

* On PostgreSQL a batch stays open while its task is pending and untried; the
  ingest locks the task (``FOR UPDATE SKIP LOCKED``) before adding readings,
  so a worker either took the task before (and the batch is not open) or takes
  it after the ingest commits (and sends what was added). A request locks one
  open batch per customer, the largest no other request holds, and opens a new
  one for what does not fit; concurrent requests skip each other's locked
  batches (and take the next largest, or open new ones), so they never wait,
  and the batches a request leaves alone stay free for them. Requests in a row
  thus keep topping up one batch, and many small requests still make full
  delivery tasks.
* On SQLite every request opens new batches.

A new batch's task is claimable only ``readings_linger_s`` after it is created
(its ``run_after``), so later requests find the batch open and fill it instead of
a worker taking it at once; a batch that is full when created, or that a request
fills up, is claimable at once (its task's ``run_after`` set to now in the same
transaction). The wake-up carries the time (:class:`QueuedTask` ``ready_at``).

Readings go in with one ``COPY`` (PostgreSQL fast path, taken when none of
them is stored yet), its binary payload built here: the key columns of each
:class:`Series` (device and code) and the batch columns are encoded once per
request, each reading adds only its time and value. When that meets a stored
reading it is rolled back to a savepoint and the readings go in with ``INSERT
... SELECT FROM unnest(...) ON CONFLICT DO NOTHING``. SQLite takes a multi-row ``INSERT ... ON CONFLICT DO
NOTHING``. Batch rows, tasks and their dependencies are written with bulk
inserts, never ORM objects.

Round trips on PostgreSQL, per request: one statement finds the devices, locks
the largest free open batch of each of their customers and reads the devices'
open tasks (:data:`LOOKUP`); the readings go in with ``COPY`` between a
savepoint and its release; one statement then writes the new batches, their
tasks, the grown batches' sizes, the ``run_after`` of the batches it filled and
the dependencies (:data:`_WRITE`). SQLite keeps one statement per step.
"""

from __future__ import annotations

import struct
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy import bindparam, insert, select, update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.domain import Provider, TaskAction, TaskStatus
from gateway.outbox.dispatch import QueuedTask
from gateway.outbox.plan import OPEN_STATUSES, OutboxPlanner
from gateway.outbox.queues import READINGS_QUEUE
from gateway.store.db import among, chunked, dialect_insert, is_postgres
from gateway.store.reading_tables import ReadingBatchRow, ReadingRow
from gateway.store.tables import OutboxTaskRow, TaskDependencyRow, table_of
from providers.registry import CAPABILITIES

READINGS_ENTITY = "readings"
"""``entity_type`` of reading delivery tasks; their ``entity_id`` is the batch id."""


def _delivery_provider() -> Provider:
    """The provider whose capabilities take readings; batches are a customer's, for one provider."""
    takers = [provider for provider, taken in CAPABILITIES.items() if taken.readings]
    if len(takers) != 1:
        raise RuntimeError(f"readings are delivered to one provider, but {len(takers)} take them")
    return takers[0]


DELIVERY_PROVIDER = _delivery_provider()
"""The provider readings are delivered to: the one that takes them."""
ACCEPTED_CODES = CAPABILITIES[DELIVERY_PROVIDER].reading_codes
"""The OBIS codes (normal form) it takes readings of."""

_COLUMNS = ("device_id", "obis_code", "ts", "value", "batch_id", "received_at")
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
"""Binary COPY: signature, flags, header extension length."""
_COPY_TRAILER = struct.pack(">h", -1)
_FIELD_COUNT = struct.pack(">h", len(_COLUMNS))
_LENGTH = struct.Struct(">i")
_TS_VALUE = struct.Struct(">iqid")
"""A reading's own columns: length 8, ``ts`` (int8), length 8, ``value`` (float8)."""
_TIMESTAMP = struct.Struct(">iq")
_NULL = _LENGTH.pack(-1)
_PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _text_field(value: str) -> bytes:
    encoded = value.encode()
    return _LENGTH.pack(len(encoded)) + encoded


class Series:
    """The readings of one device and OBIS code in one request.

    Holds the key columns once (and already encoded for the binary ``COPY``) and the
    epoch seconds taken so far, so a repeat within the request is found without
    building a key per reading.
    """

    __slots__ = ("code", "copy_prefix", "device_id", "stamps")

    def __init__(self, device_id: str, code: str) -> None:
        self.device_id = device_id
        self.code = code
        self.copy_prefix = _FIELD_COUNT + _text_field(device_id) + _text_field(code)
        self.stamps: set[int] = set()


Part = tuple[Series, int, float]
"""A reading on its way to storage: (its series, ts, value)."""
Group = tuple[str | None, Sequence[Part]]
"""Readings stored with one batch id (``None``: no delivery)."""
_UNNEST_INSERT = """
INSERT INTO readings (device_id, obis_code, ts, value, batch_id, received_at)
SELECT d, c, t, v, b, at FROM unnest($1::text[], $2::text[], $3::bigint[], $4::float8[], $5::text[],
                                     $6::timestamptz[]) AS u(d, c, t, v, b, at)
ON CONFLICT (device_id, obis_code, ts) DO NOTHING
RETURNING batch_id
"""
LOOKUP = f"""
WITH dev AS MATERIALIZED (
    SELECT d.id, d.external_ref, d.kind, d.medium, d.customer_id, c.providers::text AS providers
    FROM unnest($1::text[]) AS w(id)
    JOIN devices d ON d.id = w.id AND d.deleted_at IS NULL
    JOIN customers c ON c.id = d.customer_id
    UNION ALL
    SELECT d.id, d.external_ref, d.kind, d.medium, d.customer_id, c.providers::text
    FROM unnest($2::text[]) AS w(ref)
    JOIN devices d ON d.external_ref = w.ref AND d.deleted_at IS NULL
    JOIN customers c ON c.id = d.customer_id
), candidates AS MATERIALIZED (
    SELECT b.id, b.customer_id, b.size, t.id AS task_id
    FROM reading_batches b
    CROSS JOIN LATERAL (
        SELECT t.id, t.status, t.attempts FROM outbox_tasks t
        WHERE t.entity_id = b.id AND t.provider = '{READINGS_QUEUE}'
        OFFSET 0
    ) t
    WHERE b.customer_id IN (SELECT customer_id FROM dev WHERE providers::jsonb ? $4)
      AND b.size < $3 AND b.delivered_at IS NULL
      AND t.status = '{TaskStatus.PENDING}' AND t.attempts = 0
), open_batches AS (
    SELECT o.* FROM (SELECT DISTINCT customer_id FROM candidates) c
    CROSS JOIN LATERAL (
        SELECT k.id, k.customer_id, k.size, t.id AS task_id
        FROM candidates k JOIN outbox_tasks t ON t.id = k.task_id
        WHERE k.customer_id = c.customer_id
          AND t.status = '{TaskStatus.PENDING}' AND t.attempts = 0
        ORDER BY k.size DESC, k.id
        LIMIT 1
        FOR UPDATE OF t SKIP LOCKED
    ) o
), open_tasks AS (
    SELECT t.entity_id, t.id, t.created_at FROM outbox_tasks t
    WHERE t.status = ANY($5::text[]) AND t.provider = $4
)
SELECT 'd' AS k, id AS a, external_ref AS b, kind AS c, medium AS d, customer_id AS e, providers AS f,
       NULL::float8 AS n FROM dev
UNION ALL
SELECT 'b', id, customer_id, task_id, NULL, NULL, NULL, size FROM open_batches
UNION ALL
SELECT 't', entity_id, id, NULL, NULL, NULL, NULL, extract(epoch FROM created_at)::float8
FROM open_tasks WHERE entity_id IN (SELECT id FROM dev)
"""
"""One round trip for what an ingest reads on PostgreSQL, as rows tagged by their first column:
``d`` a live device of $1 (ids) or $2 (externalRefs) with its customer's providers (JSON text);
``b`` per customer enrolled at $4, its largest open batch (size under $3) whose task no other
transaction holds, that task locked (``candidates`` reads the open batches without locks, so
the locking pass sees few rows: undelivered batches through ``ix_reading_batches_open``, each
one's task by its ``entity_id``: ``OFFSET 0`` keeps that lookup a subquery of its own, with
the status checked outside it, so the planner cannot turn it into a scan of every pending
reading task per batch (``ix_outbox_pending``), as it did while the tables were new and had
no statistics); ``t`` an open task of $4 for one of those devices, with its
creation time."""

_WRITE = f"""
WITH new_batches AS (
    INSERT INTO reading_batches (id, customer_id, size, created_at)
    SELECT u.id, u.customer_id, u.size, $4 FROM unnest($1::text[], $2::text[], $3::int[])
        AS u(id, customer_id, size)
), new_tasks AS (
    INSERT INTO outbox_tasks (id, provider, entity_type, entity_id, customer_id, action, status,
                              attempts, run_after, created_at, updated_at, maybe_sent)
    SELECT u.task_id, '{READINGS_QUEUE}', '{READINGS_ENTITY}', u.batch_id, u.customer_id,
           '{TaskAction.UPSERT}', '{TaskStatus.PENDING}', 0, u.run_after, $4, $4, false
    FROM unnest($5::text[], $1::text[], $2::text[], $10::timestamptz[])
        AS u(task_id, batch_id, customer_id, run_after)
), grown AS (
    UPDATE reading_batches b SET size = b.size + g.added
    FROM unnest($6::text[], $7::int[]) AS g(id, added) WHERE b.id = g.id
), filled AS (
    UPDATE outbox_tasks t SET run_after = LEAST(t.run_after, $4)
    WHERE t.id = ANY($11::text[])
), dependencies AS (
    INSERT INTO task_dependencies (task_id, depends_on)
    SELECT * FROM unnest($8::text[], $9::text[]) ON CONFLICT DO NOTHING
)
SELECT 1
"""
"""One round trip for what an ingest writes after its readings on PostgreSQL: new batches
($1 ids, $2 customers, $3 sizes) and their tasks ($5 ids, claimable from $10), created at $4;
grown batches ($6 ids, $7 readings added); tasks of open batches this request filled, claimable
from $4 ($11 ids); dependencies ($8 task waits for $9)."""


@dataclass
class Batch:
    """Readings of one customer bound for one delivery task (new, or open and locked)."""

    id: str
    customer_id: str
    room: int
    task_id: str | None = None
    """The task of an open batch; ``None`` for a batch this request creates."""
    size: int = 0
    """Readings the batch held before this request."""
    devices: set[str] = field(default_factory=set)
    """Devices of the readings this request adds."""


class Batcher:
    """Hands out the batches of one request: open ones first (locked by :data:`LOOKUP` on
    PostgreSQL; none on SQLite), then new ones."""

    def __init__(self, open_batches: dict[str, list[Batch]], *, batch_size: int) -> None:
        self._open = open_batches
        self.batch_size = batch_size
        self.batches: dict[str, Batch] = {}

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


def copy_payload(groups: Sequence[Group], received_at: datetime) -> bytes:
    """The binary ``COPY`` data of the readings (columns in :data:`_COLUMNS` order)."""
    received = _TIMESTAMP.pack(8, (received_at - _PG_EPOCH) // _MICROSECOND)
    pack = _TS_VALUE.pack
    chunks = [_COPY_HEADER]
    for batch_id, parts in groups:
        suffix = (_NULL if batch_id is None else _text_field(batch_id)) + received
        chunks.extend([series.copy_prefix + pack(8, ts, 8, value) + suffix for series, ts, value in parts])
    chunks.append(_COPY_TRAILER)
    return b"".join(chunks)


async def store(session: AsyncSession, groups: Sequence[Group], received_at: datetime) -> Counter[str | None]:
    """Insert readings, skipping those already stored; return how many were new per batch id."""
    stored: Counter[str | None] = Counter()
    if not any(parts for _, parts in groups):
        return stored
    connection = await session.connection()
    if is_postgres(connection):
        raw = (await connection.get_raw_connection()).driver_connection
        assert raw is not None
        await raw.execute("SAVEPOINT readings_copy")
        try:
            # A memoryview: asyncpg would take bytes for a file name.
            await raw.copy_to_table("readings", source=memoryview(copy_payload(groups, received_at)),
                                    columns=_COLUMNS, format="binary")
        except asyncpg.UniqueViolationError:
            await raw.execute("ROLLBACK TO SAVEPOINT readings_copy")
            columns: tuple[list[Any], ...] = ([], [], [], [], [], [])
            devices, codes, stamps, values, batches, times = columns
            for batch_id, parts in groups:
                for series, ts, value in parts:
                    devices.append(series.device_id)
                    codes.append(series.code)
                    stamps.append(ts)
                    values.append(value)
                batches.extend([batch_id] * len(parts))
                times.extend([received_at] * len(parts))
            found = await raw.fetch(_UNNEST_INSERT, *columns)
            stored.update(record[0] for record in found)
        else:
            await raw.execute("RELEASE SAVEPOINT readings_copy")
            for batch_id, parts in groups:
                stored[batch_id] += len(parts)
        return stored
    table = table_of(ReadingRow)
    statement = (
        dialect_insert(connection, table)
        .on_conflict_do_nothing(index_elements=["device_id", "obis_code", "ts"])
        .returning(table.c.batch_id)
    )
    rows = [{"device_id": series.device_id, "obis_code": series.code, "ts": ts, "value": value,
             "batch_id": batch_id, "received_at": received_at}
            for batch_id, parts in groups for series, ts, value in parts]
    result = await session.execute(statement, rows)
    stored.update(batch_id for (batch_id,) in result.all())
    return stored


async def open_device_tasks(session: AsyncSession, device_ids: Iterable[str]) -> dict[str, str]:
    """The id of the newest unfinished Zählerfreunde task of each device (to deliver after it)."""
    found: dict[str, str] = {}
    connection = await session.connection()
    postgres = is_postgres(connection)
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
                           stored: Counter[str | None], *, batch_size: int, linger_s: float,
                           waits: dict[str, str] | None = None) -> None:
    """Record what each batch took, and make sure its task waits for its devices' open tasks.

    A new batch gets its row and its task, claimable ``linger_s`` from now unless the
    batch is full; an open batch grows, and its task becomes claimable now if this
    request filled it. Either way the task waits for the open Zählerfreunde task of each
    device this request added. ``waits`` (device id → its newest open task) comes from
    :data:`LOOKUP` on PostgreSQL, which then writes everything with one statement;
    otherwise it is read here.
    """
    now = planner.now
    later = now + timedelta(seconds=linger_s)
    connection = await session.connection()
    postgres = is_postgres(connection)
    if waits is None:
        waits = await open_device_tasks(session, set().union(*(b.devices for b in batches)))
    new_batches: list[dict[str, Any]] = []
    grown: list[dict[str, Any]] = []
    tasks: list[dict[str, Any]] = []
    filled: list[str] = []
    """Tasks of open batches this request filled up."""
    dependencies: list[dict[str, str]] = []
    for batch in batches:
        full = batch.size + stored[batch.id] >= batch_size
        if batch.task_id is None:
            batch.task_id = str(uuid.uuid4())
            new_batches.append({"id": batch.id, "customer_id": batch.customer_id,
                                "size": stored[batch.id], "created_at": now})
            tasks.append({"id": batch.task_id, "provider": READINGS_QUEUE, "entity_type": READINGS_ENTITY,
                          "entity_id": batch.id, "customer_id": batch.customer_id,
                          "action": TaskAction.UPSERT.value, "status": TaskStatus.PENDING.value,
                          "attempts": 0, "run_after": now if full else later, "created_at": now,
                          "updated_at": now})
        else:
            grown.append({"b_id": batch.id, "b_added": stored[batch.id]})
            if full:
                filled.append(batch.task_id)
        for parent in sorted({waits[d] for d in batch.devices if d in waits}):
            dependencies.append({"task_id": batch.task_id, "depends_on": parent})
    if postgres:
        raw = (await connection.get_raw_connection()).driver_connection
        assert raw is not None
        await raw.execute(
            _WRITE, [b["id"] for b in new_batches], [b["customer_id"] for b in new_batches],
            [b["size"] for b in new_batches], now, [t["id"] for t in tasks],
            [g["b_id"] for g in grown], [g["b_added"] for g in grown],
            [d["task_id"] for d in dependencies], [d["depends_on"] for d in dependencies],
            [t["run_after"] for t in tasks], filled)
        planner.wake(_wakeups(tasks, filled, now))
        return
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
    if filled:
        task_table = table_of(OutboxTaskRow)
        await session.execute(
            update(task_table).where(task_table.c.id.in_(filled), task_table.c.run_after > now)
            .values(run_after=now))
    if dependencies:
        await session.execute(dialect_insert(session, table_of(TaskDependencyRow)).on_conflict_do_nothing(),
                              dependencies)
    planner.wake(_wakeups(tasks, filled, now))


def _wakeups(tasks: Sequence[dict[str, Any]], filled: Sequence[str], now: datetime) -> list[QueuedTask]:
    """Wake-ups for new tasks (at their ``run_after`` when that is later) and filled ones (now)."""
    wakeups = [QueuedTask(task["id"], READINGS_QUEUE, task["run_after"] if task["run_after"] > now else None)
               for task in tasks]
    wakeups.extend(QueuedTask(task_id, READINGS_QUEUE) for task_id in filled)
    return wakeups
