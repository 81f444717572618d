"""Delivering stored readings to the provider that takes them (Zählerfreunde: ``POST /devices/readings``).

A reading task stands for one chunk of readings (``readings.batch_id`` = the
task's ``entity_id``). A round's tasks are worked through in slices: their
undelivered readings are packed, in order, into requests of exactly
``readings_batch_size`` readings (the last one of the round may be shorter),
each request an array grouped by device. A task succeeds when every request
carrying its readings succeeded. Delivery is recorded right after each request
the provider took, in a short transaction of its own and before the request's
slot is given to the next one: on the batch when that request completed every
reading of the task loaded this round, else on the request's readings (by
key). A worker that dies mid-round therefore sends again at most the requests
it had in flight (``readings_concurrency``), never the round. Readings
delivered by an earlier attempt are not sent again. The round's transaction
marks the batch of every task that succeeded (so a task whose readings were all
marked one by one is closed too) and whatever a failed short transaction could
not record.

A request the provider refuses (4xx) that carried several tasks is repeated
once per task, so that one bad chunk does not fail its neighbours. While a
round runs, the engine renews the leases of its tasks, so a long round is not
handed to another worker.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter
from typing import cast

from sqlalchemy import ARRAY, BigInteger, ColumnElement, String, bindparam, select, text, tuple_, update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.clock import utcnow
from gateway.core.settings import Settings
from gateway.observability.metrics import count_readings
from gateway.outbox.engine import RoundResult, SyncEngine
from gateway.outbox.outcomes import OutcomeType, OwnEvent, emit
from gateway.outbox.queues import READINGS_QUEUE
from gateway.readings.batches import DELIVERY_PROVIDER, READINGS_ENTITY
from gateway.store.db import chunked, is_postgres, on_postgres
from gateway.store.reading_tables import ReadingBatchRow, ReadingRow
from gateway.store.tables import OutboxTaskRow
from providers.base import (
    CallRecord,
    DeviceReadings,
    Outcome,
    ProviderError,
    ReadingsSink,
    RejectedError,
    TransientError,
)
from providers.http import call_log
from providers.registry import MissingCapability

log = logging.getLogger("gateway.readings.delivery")
_IN_CHUNK = 500
_KEYS_CHUNK = 300
"""Reading keys per statement on SQLite: three parameters each, under its oldest limit of 999."""
SLICE_READINGS = 20_000
"""Readings loaded from the database at a time while a round is worked through."""

Reading = tuple[str, str, int, float]
"""(device_id, obis_code, ts, value); the first three are the reading's key."""

_PENDING_PER_BATCH = """
SELECT w.id, r.device_id, r.obis_code, r.ts, r.value
FROM unnest($1::text[]) AS w(id)
JOIN reading_batches b ON b.id = w.id AND b.delivered_at IS NULL
CROSS JOIN LATERAL (
    SELECT device_id, obis_code, ts, value FROM readings
    WHERE batch_id = w.id AND delivered_at IS NULL
    ORDER BY device_id, ts, obis_code
) r
"""
"""Undelivered readings of undelivered batches (PostgreSQL): one range scan of
``ix_readings_batch`` per batch, each batch's readings sorted on their own (a thousand or
so, in memory) rather than all of a slice's together. A wider index on (batch, device, ts,
code) would spare that sort, but costs the ingest more than it saves: measured, inserting
400,000 readings took 1.5-1.7 x as long with it, and the planner still sorted. Run on the
driver's connection, so the rows arrive as the driver's records, with no result layer between."""
_ORDER = itemgetter(0, 1, 3, 2)
"""(batch, device, ts, code): the order readings are packed in."""


@dataclass
class _Progress:
    """What became of one task's readings during the round."""

    batch_id: str
    loaded: int = 0
    """The task's undelivered readings loaded this round (final once any of them is sent)."""
    delivered: int = 0
    unrecorded: list[Reading] = field(default_factory=list)
    """Delivered, but the short transaction recording it failed: left to ``record``."""
    error: ProviderError | None = None
    calls: list[CallRecord] = field(default_factory=list)


@dataclass
class _Request:
    readings: list[tuple[str, Reading]]
    """(task id, reading) in the order they were packed."""


def device_arrays(readings: Sequence[Reading]) -> list[DeviceReadings]:
    """One ``DeviceReadings`` per device, in the order devices first appear."""
    by_device: dict[str, list[tuple[str, int, float]]] = defaultdict(list)
    for device, code, ts, value in readings:
        by_device[device].append((code, ts, value))
    return [DeviceReadings(external_device_id=d, readings=r) for d, r in by_device.items()]


class ReadingsDelivery:
    """``TaskKind`` for reading chunks bound for Zählerfreunde."""

    entity_type = READINGS_ENTITY
    queue = READINGS_QUEUE

    def __init__(self, *, settings: Settings) -> None:
        self.batch_size = settings.readings.batch_size
        self.concurrency = settings.readings.concurrency
        self.lease_s = settings.sync.lease_s

    async def run(self, engine: SyncEngine, results: Sequence[RoundResult]) -> None:
        try:
            sink = engine.adapters.readings_sink(DELIVERY_PROVIDER)
        except MissingCapability as exc:
            for result in results:
                result.fatal_reason = exc.message
            return
        progress = {r.task.id: _Progress(batch_id=r.task.entity_id) for r in results}
        await self._deliver(engine, sink, results, progress)
        for result in results:
            done = progress[result.task.id]
            result.detail = done.unrecorded
            result.calls = done.calls[-20:]
            if done.error is not None:
                result.error = done.error
            else:
                result.outcome = Outcome(external_id=None, note=f"{done.delivered} readings")

    async def _deliver(self, engine: SyncEngine, sink: ReadingsSink,
                       results: Sequence[RoundResult], progress: dict[str, _Progress]) -> None:
        semaphore = asyncio.Semaphore(self.concurrency)
        in_flight: set[asyncio.Task[None]] = set()
        pending: list[tuple[str, Reading]] = []

        def launch(batch: list[tuple[str, Reading]]) -> None:
            job = asyncio.create_task(self._send(engine, sink, _Request(batch), progress, semaphore))
            in_flight.add(job)
            job.add_done_callback(in_flight.discard)

        try:
            async for part in self._pending_readings(engine, [r.task for r in results]):
                for task_id, _ in part:
                    progress[task_id].loaded += 1
                pending.extend(part)
                while len(pending) >= self.batch_size:
                    launch(pending[:self.batch_size])
                    del pending[:self.batch_size]
                    while len(in_flight) >= self.concurrency * 2:
                        await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
            if pending:
                launch(pending)
        finally:
            if in_flight:
                await asyncio.gather(*in_flight, return_exceptions=True)

    async def _pending_readings(self, engine: SyncEngine,
                                tasks: Sequence[OutboxTaskRow]) -> AsyncIterator[list[tuple[str, Reading]]]:
        """Undelivered readings of the tasks as (task id, reading), task by task, a slice of tasks
        at a time."""
        r, b = ReadingRow, ReadingBatchRow
        # The column is nullable, but the IN filter below matches only readings of a batch.
        batch_id = cast("ColumnElement[str]", col(r.batch_id))
        ids = [t.entity_id for t in tasks]
        task_of = {t.entity_id: t.id for t in tasks}
        step = max(1, min(_IN_CHUNK, SLICE_READINGS // max(1, self.batch_size)))
        for wanted in chunked(ids, size=step):
            async with engine.sessions() as session:
                connection = await session.connection()
                if is_postgres(connection):
                    raw = (await connection.get_raw_connection()).driver_connection
                    assert raw is not None
                    rows = list(await raw.fetch(_PENDING_PER_BATCH, sorted(wanted)))
                    # Rows come batch by batch in that order; the sort makes it a promise (and
                    # costs one pass over rows already in order).
                    rows.sort(key=_ORDER)
                else:
                    rows = list((await connection.execute(
                        select(batch_id, col(r.device_id), col(r.obis_code), col(r.ts), col(r.value))
                        .join(b, col(b.id) == col(r.batch_id))
                        # Both sides named by id, so each is found through its index.
                        .where(col(r.batch_id).in_(wanted), col(b.id).in_(wanted),
                               col(r.delivered_at).is_(None), col(b.delivered_at).is_(None))
                        .order_by(col(r.batch_id), col(r.device_id), col(r.ts), col(r.obis_code))
                    )).all())
            yield [(task_of[batch], (device, code, ts, value)) for batch, device, code, ts, value in rows]

    async def _send(self, engine: SyncEngine, sink: ReadingsSink, request: _Request,
                    progress: dict[str, _Progress], semaphore: asyncio.Semaphore) -> None:
        tasks = {task_id for task_id, _ in request.readings}
        async with semaphore:
            error = await self._push(sink, [reading for _, reading in request.readings], tasks, progress)
            if error is None:
                await self._record_delivery(engine, request.readings, progress)
        if isinstance(error, RejectedError) and len(tasks) > 1:
            for task_id in sorted(tasks):
                own = [(task_id, reading) for t, reading in request.readings if t == task_id]
                async with semaphore:
                    single = await self._push(sink, [reading for _, reading in own], {task_id}, progress)
                    if single is None:
                        await self._record_delivery(engine, own, progress)
                self._settle(progress, own, single)
            return
        self._settle(progress, request.readings, error)

    async def _record_delivery(self, engine: SyncEngine, readings: Sequence[tuple[str, Reading]],
                               progress: dict[str, _Progress]) -> None:
        """Record readings the provider just took, in a transaction of their own: the batch of a
        task this request completed, else the readings themselves."""
        by_task: dict[str, list[Reading]] = defaultdict(list)
        for task_id, reading in readings:
            by_task[task_id].append(reading)
        batches: list[str] = []
        single: list[Reading] = []
        for task_id, own in by_task.items():
            done = progress[task_id]
            done.delivered += len(own)
            if done.error is None and done.delivered == done.loaded:
                batches.append(done.batch_id)
            else:
                single.extend(own)
        try:
            async with engine.sessions() as session:
                now = utcnow()
                await _mark_batches(session, batches, now)
                await _mark_readings(session, single, now)
                await session.commit()
        except Exception:
            log.exception("recording the delivery of %d readings failed", len(readings))
            for task_id, own in by_task.items():
                progress[task_id].unrecorded.extend(own)
            return
        count_readings("delivered", len(readings))

    @staticmethod
    async def _push(sink: ReadingsSink, readings: Sequence[Reading], tasks: set[str],
                    progress: dict[str, _Progress]) -> ProviderError | None:
        calls: list[CallRecord] = []
        token = call_log.set(calls)
        try:
            await sink.push_readings(device_arrays(readings))
            return None
        except ProviderError as exc:
            return exc
        except Exception as exc:
            log.exception("pushing %d readings crashed", len(readings))
            return TransientError(f"internal error: {type(exc).__name__}")
        finally:
            call_log.reset(token)
            for task_id in tasks:
                progress[task_id].calls.extend(calls)

    @staticmethod
    def _settle(progress: dict[str, _Progress], readings: Sequence[tuple[str, Reading]],
                error: ProviderError | None) -> None:
        if error is None:
            return
        for task_id, _ in readings:
            done = progress[task_id]
            if done.error is None or isinstance(error, RejectedError):
                done.error = error

    async def record(self, session: AsyncSession, results: Sequence[RoundResult]) -> None:
        """In the round's transaction: mark the batch of every task that succeeded, and the
        delivered readings a failed short transaction left unrecorded."""
        now = utcnow()
        succeeded = [res for res in results if res.outcome is not None]
        failed = [res for res in results if res.outcome is None]
        await _mark_batches(session, [res.task.entity_id for res in succeeded], now)
        await _mark_readings(session, [reading for res in failed for reading in res.detail or []], now)
        count_readings("delivered", sum(len(res.detail or []) for res in results))
        await emit(session, [
            OwnEvent(type=OutcomeType.READINGS_BATCH_DELIVERED, customer_id=res.task.customer_id or None,
                     payload={"batchId": res.task.entity_id, "taskId": res.task.id})
            for res in succeeded], now=now)


_MARK_BATCHES = text(
    "UPDATE reading_batches b SET delivered_at = :now FROM unnest(CAST(:ids AS text[])) AS w(id) "
    "WHERE b.id = w.id AND b.delivered_at IS NULL"
).bindparams(bindparam("ids", type_=ARRAY(String)))
"""Whole batches delivered, in one statement (PostgreSQL), each found through its key."""
_MARK_READINGS = text("""
UPDATE readings r SET delivered_at = :now
FROM unnest(CAST(:devices AS text[]), CAST(:codes AS text[]), CAST(:stamps AS bigint[])) AS k(d, c, t)
WHERE r.device_id = k.d COLLATE "C" AND r.obis_code = k.c COLLATE "C" AND r.ts = k.t
  AND r.delivered_at IS NULL
""").bindparams(bindparam("devices", type_=ARRAY(String)), bindparam("codes", type_=ARRAY(String)),
                bindparam("stamps", type_=ARRAY(BigInteger)))
"""Single readings delivered, by key, in one statement (PostgreSQL): three array parameters
rather than three parameters per reading, each reading found through the primary key."""


async def _mark_batches(session: AsyncSession, batch_ids: Sequence[str], now: datetime) -> None:
    """Mark whole batches delivered."""
    if not batch_ids:
        return
    if on_postgres(session):
        await session.execute(_MARK_BATCHES, {"ids": list(batch_ids), "now": now})
        return
    b = ReadingBatchRow
    for part in chunked(batch_ids):
        await session.execute(
            update(b).where(col(b.id).in_(part), col(b.delivered_at).is_(None))
            .values(delivered_at=now))


async def _mark_readings(session: AsyncSession, readings: Sequence[Reading], now: datetime) -> None:
    """Mark single readings delivered, by key."""
    if not readings:
        return
    if on_postgres(session):
        devices, codes, stamps, _ = zip(*readings, strict=True)
        await session.execute(_MARK_READINGS, {"devices": list(devices), "codes": list(codes),
                                               "stamps": list(stamps), "now": now})
        return
    r = ReadingRow
    key = tuple_(r.device_id, r.obis_code, r.ts)
    keys = [reading[:3] for reading in readings]
    for part in chunked(keys, size=_KEYS_CHUNK):
        await session.execute(
            update(r).where(key.in_(part), col(r.delivered_at).is_(None))
            .values(delivered_at=now))
