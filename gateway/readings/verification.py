"""Delivery verified: delivered readings read back from Zählerfreunde, missing ones sent again.

Every ``readings_verify_interval_s`` a sample of ``readings_verify_sample`` meters (chosen at
random among those with a Zählerfreunde device) is checked: the last day of each meter's
delivered readings is read back with ``GET /devices/{deviceId}/readings`` (15-minute
periods, registers and interval quantities) and compared, period by period, with what
the gateway delivered: a register's latest value, the sum of interval quantities. The
readings of a period Zählerfreunde lacks or holds otherwise are pushed again
(Zählerfreunde keeps the first value of a reading it has, so sending one again adds
only what is missing). ``/metrics`` counts them: ``gateway_readings_total`` with the
outcomes ``verified``, ``missing`` and ``resent``.

A value read back is identified by what identifies it: the device, whether it is a register
(``METER_READING``) or a quantity (``ENERGY``), its direction and its period, and then its
value; never by ``label``, which the document types as free text. Several codes of one kind
and direction in a period (tariff registers, say) are matched value by value (or, when the
provider merged them, by their sum). Which period a ``timeStamp`` names is not in the
document either, so it is measured: each check compares the answers under every
:data:`CONVENTIONS` (a period from the stamp or up to it; readings on a boundary in the
period after or before) and keeps, across the sample, the one that matches most readings
(ties: the first listed, what the emulator does).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.domain import DeviceKind, SyncStatus
from gateway.core.obis import ObisError, parse
from gateway.observability.metrics import count_readings
from gateway.readings.batches import DELIVERY_PROVIDER
from gateway.runtime.periodic import PeriodicJob, interval_lock
from gateway.runtime.process import Runtime
from gateway.store.reading_tables import ReadingBatchRow, ReadingRow
from gateway.store.tables import DeviceRow, ProviderLinkRow
from providers.base import DeviceReadings, ProviderError, StoredReading
from providers.registry import Adapters, MissingCapability

log = logging.getLogger("gateway.readings")
PERIOD_S = 900
DAY_S = 86_400
VERIFY_LOCK_KEY = "gateway:readings:verify"


Reading = tuple[str, int, float]
"""A delivered reading: (OBIS code, epoch seconds, value)."""
Identity = tuple[bool, str, int]
"""What identifies a value read back: (a register?, direction, the period's stamp)."""

CONVENTIONS: dict[str, Callable[[int], int]] = {
    "timeStamp starts the period [t, t + 15 min)": lambda ts: ts - ts % PERIOD_S,
    "timeStamp ends the period (t - 15 min, t]": lambda ts: -(-ts // PERIOD_S) * PERIOD_S,
    "timeStamp ends the period [t - 15 min, t)": lambda ts: ts - ts % PERIOD_S + PERIOD_S,
    "timeStamp starts the period (t, t + 15 min]": lambda ts: -(-ts // PERIOD_S) * PERIOD_S - PERIOD_S,
}
"""How a provider may stamp a period, as the stamp of the period holding a reading at ``ts``."""


@dataclass(slots=True)
class VerifyResult:
    meters: int = 0
    verified: int = 0
    missing: int = 0
    resent: int = 0
    convention: str | None = None
    """The period convention the answers matched best (None: nothing read back)."""


@dataclass(slots=True)
class Comparison:
    """One meter's delivered readings against what the provider holds, under one convention."""

    verified: list[Reading] = field(default_factory=list)
    missing: list[Reading] = field(default_factory=list)


def _is_register(code: str) -> bool:
    """Whether ``code`` names a register, read back as a meter reading (its latest value per
    period; ``ObisCode.register``)."""
    try:
        return parse(code).register
    except ObisError:
        return True


async def _sample(session: AsyncSession, size: int) -> list[tuple[str, str]]:
    """(our device id, Zählerfreunde device id) of up to ``size`` meters picked at random."""
    link, d = ProviderLinkRow, DeviceRow
    rows = (await session.execute(
        select(col(d.id), col(link.external_id))
        .join(link, and_(col(link.entity_id) == col(d.id),
                         col(link.provider) == DELIVERY_PROVIDER.value))
        .where(col(d.kind) == DeviceKind.METER.value, col(d.deleted_at).is_(None),
               col(link.status) == SyncStatus.SYNCED.value, col(link.external_id).is_not(None))
        .order_by(func.random()).limit(size))).all()
    return [(device_id, external_id) for device_id, external_id in rows]


async def _delivered_last_day(session: AsyncSession, device_id: str) -> tuple[list[Reading], int]:
    """The device's delivered readings of the last day it has delivered readings for, from one
    period before that day's first period boundary (so that every period holding a reading of
    the day is whole under any convention), and that boundary: readings after it are checked."""
    r, b = ReadingRow, ReadingBatchRow
    delivered = or_(col(r.delivered_at).is_not(None), col(b.delivered_at).is_not(None))
    base = select(col(r.obis_code), col(r.ts), col(r.value)).outerjoin(b, col(b.id) == col(r.batch_id)) \
        .where(col(r.device_id) == device_id, delivered)
    last = (await session.execute(
        select(func.max(r.ts)).outerjoin(b, col(b.id) == col(r.batch_id))
        .where(col(r.device_id) == device_id, delivered))).scalar()
    if last is None:
        return [], 0
    cut = int(last) - DAY_S
    cut -= cut % PERIOD_S
    rows = (await session.execute(base.where(col(r.ts) >= cut - PERIOD_S))).all()
    return [(code, int(ts), float(value)) for code, ts, value in rows], cut


def identity_of(code: str) -> tuple[bool, str]:
    """(a register?, direction) of an OBIS code, as a read-back names them: export (``2.x``) of
    electricity is ``out``, everything else ``in``."""
    try:
        parsed = parse(code)
    except ObisError:
        return True, "in"
    return parsed.register, parsed.direction


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6 * max(1.0, abs(a), abs(b))


def compare(readings: Iterable[Reading], held: Iterable[StoredReading], stamp: Callable[[int], int],
            *, checked_after: int | None = None) -> Comparison:
    """Which delivered ``readings`` the provider holds (``held``), the periods stamped by ``stamp``.

    Per code and period the expected value is a register's latest or the quantities' sum; per
    (kind, direction, period) each expected value takes one equal value held, and values left
    over on both sides still match when their sums agree (a provider that merges codes).
    Readings of periods holding no reading after ``checked_after`` are left out."""
    periods: defaultdict[tuple[str, int], list[Reading]] = defaultdict(list)
    for reading in readings:
        periods[(reading[0], stamp(reading[1]))].append(reading)
    wanted: defaultdict[Identity, list[tuple[list[Reading], float]]] = defaultdict(list)
    for (code, period), rows in periods.items():
        if checked_after is not None and all(ts <= checked_after for _, ts, _ in rows):
            continue
        register, direction = identity_of(code)
        wanted[(register, direction, period)].append((rows, _expected(rows)))
    found: defaultdict[Identity, list[float]] = defaultdict(list)
    for item in held:
        found[(item.cumulative, item.direction, item.timestamp)].append(item.value)
    out = Comparison()
    for key, entries in wanted.items():
        left = list(found.get(key, ()))
        unmatched: list[tuple[list[Reading], float]] = []
        for rows, expected in entries:
            index = next((i for i, value in enumerate(left) if _close(value, expected)), None)
            if index is None:
                unmatched.append((rows, expected))
            else:
                left.pop(index)
                out.verified += rows
        if not unmatched:
            continue
        merged = bool(left) and _close(sum(left), sum(expected for _, expected in unmatched))
        for rows, _ in unmatched:
            (out.verified if merged else out.missing).extend(rows)
    return out


def _expected(rows: list[Reading]) -> float:
    code = rows[0][0]
    if _is_register(code):
        return max(rows, key=lambda row: row[1])[2]
    return sum(row[2] for row in rows)


def best_convention(checks: Iterable[tuple[list[Reading], list[StoredReading], int | None]]) -> str:
    """The convention under which the most delivered readings are found held (ties: the first)."""
    score = dict.fromkeys(CONVENTIONS, 0)
    for readings, held, checked_after in checks:
        for name, stamp in CONVENTIONS.items():
            score[name] += len(compare(readings, held, stamp, checked_after=checked_after).verified)
    return max(CONVENTIONS, key=lambda name: score[name])


async def verify_delivery(sessions: async_sessionmaker[AsyncSession], adapters: Adapters, *,
                          sample: int) -> VerifyResult:
    """Check a sample of meters' delivered readings against Zählerfreunde; re-send the missing."""
    result = VerifyResult()
    try:
        source = adapters.readings_source(DELIVERY_PROVIDER)
        sink = adapters.readings_sink(DELIVERY_PROVIDER)
    except MissingCapability:
        return result
    async with sessions() as session:
        meters = await _sample(session, sample)
        delivered = {device_id: await _delivered_last_day(session, device_id) for device_id, _ in meters}
    checks: list[tuple[str, list[Reading], list[StoredReading], int]] = []
    for device_id, zf_id in meters:
        readings, cut = delivered[device_id]
        if not any(ts > cut for _, ts, _ in readings):
            continue
        result.meters += 1
        low = min(ts for _, ts, _ in readings)
        high = max(ts for _, ts, _ in readings)
        try:  # every period that may hold one of them, whichever way the periods are stamped
            held = await source.stored_readings(zf_id, low - low % PERIOD_S - PERIOD_S, high + PERIOD_S + 1)
        except ProviderError as exc:
            log.warning("reading back %s from Zählerfreunde failed: %s", device_id, exc.message)
            continue
        checks.append((device_id, readings, held, cut))
    if not checks:
        return result
    result.convention = best_convention((readings, held, cut) for _, readings, held, cut in checks)
    stamp = CONVENTIONS[result.convention]
    for device_id, readings, held, cut in checks:
        found = compare(readings, held, stamp, checked_after=cut)
        result.verified += len(found.verified)
        if not found.missing:
            continue
        again = found.missing
        result.missing += len(again)
        try:
            await sink.push_readings([DeviceReadings(external_device_id=device_id,
                                                     readings=sorted(again, key=lambda row: row[1]))])
        except ProviderError as exc:
            log.warning("re-sending %d reading(s) of %s failed: %s", len(again), device_id, exc.message)
            continue
        result.resent += len(again)
    count_readings("verified", result.verified)
    count_readings("missing", result.missing)
    count_readings("resent", result.resent)
    if result.missing:
        log.warning("delivery check (%s): %d reading(s) of %d meter(s) missing at Zählerfreunde, "
                    "%d sent again", result.convention, result.missing, result.meters, result.resent)
    return result


async def verify_delivery_job(runtime: Runtime) -> int:
    """One delivery check of a sample of meters; return the readings found missing."""
    result = await verify_delivery(runtime.sessions, runtime.adapters,
                                   sample=runtime.settings.readings.verify_sample)
    return result.missing


VERIFY_JOB = PeriodicJob(
    name="verify_delivery_cron",
    run=verify_delivery_job,
    interval_s=lambda settings: settings.readings.verify_interval_s,
    second=frozenset({30}),
    elect=interval_lock(VERIFY_LOCK_KEY),
)
"""One delivery check per ``readings_verify_interval_s`` (across all workers with arq)."""
