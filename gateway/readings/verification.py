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
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.domain import DeviceKind, Provider, SyncStatus
from gateway.core.settings import Settings
from gateway.observability.metrics import count_readings
from gateway.store.reading_tables import ReadingBatchRow, ReadingRow
from gateway.store.tables import DeviceRow, ProviderLinkRow
from providers.base import DeviceReadings, ProviderError
from providers.registry import Adapters, MissingCapability
from providers.zaehlerfreunde.obis import Medium, ObisError, parse

log = logging.getLogger("gateway.readings")
PERIOD_S = 900
DAY_S = 86_400
VERIFY_LOCK_KEY = "gateway:readings:verify"


@dataclass(slots=True)
class VerifyResult:
    meters: int = 0
    verified: int = 0
    missing: int = 0
    resent: int = 0


def _is_register(code: str) -> bool:
    """Whether Zählerfreunde reads ``code`` as a meter reading (its latest value per period)."""
    try:
        parsed = parse(code)
    except ObisError:
        return True
    return parsed.medium is not Medium.ELECTRICITY or parsed.d == 8


async def _sample(session: AsyncSession, size: int) -> list[tuple[str, str]]:
    """(our device id, Zählerfreunde device id) of up to ``size`` meters picked at random."""
    link, d = ProviderLinkRow, DeviceRow
    rows = (await session.execute(
        select(col(d.id), col(link.external_id))
        .join(link, and_(col(link.entity_id) == col(d.id),
                         col(link.provider) == Provider.ZAEHLERFREUNDE.value))
        .where(col(d.kind) == DeviceKind.METER.value, col(d.deleted_at).is_(None),
               col(link.status) == SyncStatus.SYNCED.value, col(link.external_id).is_not(None))
        .order_by(func.random()).limit(size))).all()
    return [(device_id, external_id) for device_id, external_id in rows]


async def _delivered_last_day(session: AsyncSession, device_id: str) -> list[tuple[str, int, float]]:
    """The device's delivered readings of the last day it has delivered readings for."""
    r, b = ReadingRow, ReadingBatchRow
    delivered = or_(col(r.delivered_at).is_not(None), col(b.delivered_at).is_not(None))
    base = select(col(r.obis_code), col(r.ts), col(r.value)).outerjoin(b, col(b.id) == col(r.batch_id)) \
        .where(col(r.device_id) == device_id, delivered)
    last = (await session.execute(
        select(func.max(r.ts)).outerjoin(b, col(b.id) == col(r.batch_id))
        .where(col(r.device_id) == device_id, delivered))).scalar()
    if last is None:
        return []
    rows = (await session.execute(base.where(col(r.ts) > int(last) - DAY_S))).all()
    return [(code, int(ts), float(value)) for code, ts, value in rows]


def _periods(readings: list[tuple[str, int, float]]) -> dict[tuple[str, int], list[tuple[str, int, float]]]:
    found: defaultdict[tuple[str, int], list[tuple[str, int, float]]] = defaultdict(list)
    for code, ts, value in readings:
        found[(code, ts - ts % PERIOD_S)].append((code, ts, value))
    return found


def _expected(rows: list[tuple[str, int, float]]) -> float:
    code = rows[0][0]
    if _is_register(code):
        return max(rows, key=lambda row: row[1])[2]
    return sum(row[2] for row in rows)


async def verify_delivery(sessions: async_sessionmaker[AsyncSession], adapters: Adapters, *,
                          sample: int) -> VerifyResult:
    """Check a sample of meters' delivered readings against Zählerfreunde; re-send the missing."""
    result = VerifyResult()
    try:
        source = adapters.readings_source(Provider.ZAEHLERFREUNDE)
        sink = adapters.readings_sink(Provider.ZAEHLERFREUNDE)
    except MissingCapability:
        return result
    async with sessions() as session:
        meters = await _sample(session, sample)
        delivered = {device_id: await _delivered_last_day(session, device_id) for device_id, _ in meters}
    for device_id, zf_id in meters:
        readings = delivered[device_id]
        if not readings:
            continue
        result.meters += 1
        low = min(ts for _, ts, _ in readings)
        high = max(ts for _, ts, _ in readings)
        try:
            stored = await source.stored_readings(zf_id, low - low % PERIOD_S, high + 1)
        except ProviderError as exc:
            log.warning("reading back %s from Zählerfreunde failed: %s", device_id, exc.message)
            continue
        upstream = {(code, start): value for code, start, value in stored}
        again: list[tuple[str, int, float]] = []
        for key, rows in _periods(readings).items():
            held = upstream.get(key)
            if held is None or abs(held - _expected(rows)) > 1e-6 * max(1.0, abs(held)):
                again += rows
            else:
                result.verified += len(rows)
        if not again:
            continue
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
        log.warning("delivery check: %d reading(s) of %d meter(s) missing at Zählerfreunde, %d sent again",
                    result.missing, result.meters, result.resent)
    return result


async def verify_delivery_cron(ctx: dict[str, Any]) -> int:
    """arq cron: one delivery check per ``readings_verify_interval_s`` across all workers."""
    settings: Settings = ctx["settings"]
    interval = settings.readings.verify_interval_s
    if interval <= 0 or not await ctx["redis"].set(VERIFY_LOCK_KEY, "1", ex=interval, nx=True):
        return 0
    result = await verify_delivery(ctx["sessions"], ctx["sync"].adapters,
                                   sample=settings.readings.verify_sample)
    return result.missing


async def verify_delivery_loop(adapters: Adapters, state: Any, settings: Settings) -> None:
    """Embedded mode: a delivery check every ``readings_verify_interval_s`` seconds."""
    interval = settings.readings.verify_interval_s
    if interval <= 0:
        return
    while True:
        await asyncio.sleep(interval)
        try:
            await verify_delivery(state.sessions, adapters, sample=settings.readings.verify_sample)
        except Exception:
            log.exception("delivery check failed")
