"""Deriving the energy usage of reporting sites and queueing its reports to Volue.

:func:`derive_and_report` runs periodically (an arq cron, or a loop of the embedded
worker). Per reporting site (:mod:`gateway.energy.enrollment`) it looks at the main
meter's readings received since the site's mark, re-derives every interval those
readings can change (from the reading before the earliest new one to the reading
after the latest, see :mod:`gateway.energy.derive`), stores the points, and queues
for Volue, through the outbox, the import points whose value differs from the one
last queued: one ``LocationEnergyUsage`` report per site and UTC day carrying the
changed points of that day. An interval whose value did not change is never
reported again; a late reading that changes a reported interval sends one corrected
report with the new value. Each site is one transaction (points, reports, outbox
tasks and the mark together).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.domain import Provider
from gateway.core.timespan import DAY_S
from gateway.energy.derive import Derived, derive_intervals
from gateway.energy.enrollment import ReportingSite, reporting_sites
from gateway.events.report_delivery import ENERGY_USAGE, queue_report
from gateway.outbox.dispatch import Dispatcher
from gateway.outbox.unit_of_work import unit_of_work
from gateway.store.energy_tables import EnergyMarkRow, EnergyPointRow
from gateway.store.reading_tables import ReadingRow
from gateway.store.tables import table_of
from providers.volue.energy_usage import location_energy_usage_report

log = logging.getLogger("gateway.energy")

IMPORT = "import"
EXPORT = "export"
# Per direction: the register, then the interval quantities that fill intervals the
# register does not derive (a meter sending both: the register wins).
SOURCES: dict[str, tuple[tuple[str, str], ...]] = {
    IMPORT: (("register", "1-1:1.8.0"), ("interval", "1-1:1.29.0"), ("interval", "1-1:1.9.0")),
    EXPORT: (("register", "1-1:2.8.0"), ("interval", "1-1:2.29.0"), ("interval", "1-1:2.9.0")),
}
_CODES = [code for sources in SOURCES.values() for _, code in sources]
_SAME = 1e-9


@dataclass(slots=True)
class DeriveSummary:
    """What one run did."""

    sites: int = 0
    readings: int = 0
    points: int = 0
    flagged: int = 0
    reports: int = 0
    reported_points: int = 0
    report_ids: list[str] = field(default_factory=list)


Series = tuple[list[int], list[float]]


async def load_series(session: AsyncSession, device_id: str, code: str, low: int, high: int,
                      interval_s: int) -> Series:
    """Readings of one code that decide every interval readings in ``[low, high]`` touch.

    Such a reading changes the boundaries between the readings either side of it, so the
    window reaches from the interval boundary at or before the reading before ``low`` to
    the boundary at or after the reading after ``high``, plus the reading either side of
    the window (which bracket its outer boundaries)."""
    r = ReadingRow
    base = select(col(r.ts), col(r.value)).where(col(r.device_id) == device_id, col(r.obis_code) == code)
    ts_only = select(col(r.ts)).where(col(r.device_id) == device_id, col(r.obis_code) == code)
    prev = (await session.execute(
        ts_only.where(col(r.ts) < low).order_by(col(r.ts).desc()).limit(1))).scalar()
    nxt = (await session.execute(ts_only.where(col(r.ts) > high).order_by(col(r.ts)).limit(1))).scalar()
    low = (low if prev is None else prev) // interval_s * interval_s
    high = -(-(high if nxt is None else nxt) // interval_s) * interval_s
    before = (await session.execute(base.where(col(r.ts) < low).order_by(col(r.ts).desc()).limit(1))).all()
    inside = (await session.execute(
        base.where(col(r.ts) >= low, col(r.ts) <= high).order_by(col(r.ts)))).all()
    after = (await session.execute(base.where(col(r.ts) > high).order_by(col(r.ts)).limit(1))).all()
    rows = [*before, *inside, *after]
    return [row[0] for row in rows], [row[1] for row in rows]


def derive_direction(series: dict[str, Series], direction: str, interval_s: int) -> tuple[Derived, int]:
    """One direction's intervals from its sources; also the number of readings used."""
    out = Derived()
    used = 0
    for kind, code in SOURCES[direction]:
        ts, values = series.get(code, ([], []))
        if not ts:
            continue
        used += len(ts)
        out.merge_missing(derive_intervals(kind, ts, values, interval_s))
    return out, used


def _insert(session: AsyncSession) -> Any:
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def _upsert(session: AsyncSession, rows: list[dict[str, Any]]) -> Any:
    table = table_of(EnergyPointRow)
    stmt = _insert(session)(table).values(rows)
    keys = ("site_id", "direction", "ts")
    return stmt.on_conflict_do_update(
        index_elements=list(keys),
        set_={c: stmt.excluded[c] for c in rows[0] if c not in keys})


async def derive_site(uow_session: AsyncSession, queue: Any, site: ReportingSite, *, interval_s: int,
                      low: int, high: int, now: datetime, summary: DeriveSummary) -> None:
    """Re-derive the site's intervals around readings in ``[low, high]``; queue changed points."""
    series = {code: await load_series(uow_session, site.device_id, code, low, high, interval_s)
              for code in _CODES}
    p = EnergyPointRow
    for direction in (IMPORT, EXPORT):
        derived, used = derive_direction(series, direction, interval_s)
        summary.readings += used
        starts = [*derived.values, *derived.flagged]
        if not starts:
            continue
        first, last = min(starts), max(starts)
        existing = {row.ts: row for row in (await uow_session.execute(
            select(p).where(col(p.site_id) == site.site_id, col(p.direction) == direction,
                            col(p.ts) >= first, col(p.ts) <= last))).scalars()}
        rows: list[dict[str, Any]] = []
        to_report: list[tuple[int, float]] = []
        for start in sorted(starts):
            kwh = derived.values.get(start)
            old = existing.get(start)
            reported_kwh = old.reported_kwh if old is not None else None
            report_id = old.report_id if old is not None else None
            flagged = kwh is None
            changed = (old is None or old.kwh != kwh or old.flagged != flagged
                       or old.meter_point_id != site.meter_point_id)
            due = direction == IMPORT and kwh is not None and not _same(kwh, reported_kwh)
            if not changed and not due:
                continue
            if due and kwh is not None:
                to_report.append((start, kwh))
            rows.append(dict(site_id=site.site_id, direction=direction, ts=start, interval_s=interval_s,
                             device_id=site.device_id, meter_point_id=site.meter_point_id, kwh=kwh,
                             flagged=flagged, reported_kwh=reported_kwh, report_id=report_id,
                             updated_at=now))
        summary.points += len(rows)
        summary.flagged += len(derived.flagged)
        if to_report:
            by_start = {row["ts"]: row for row in rows}
            for day_points in _by_day(to_report):
                body = location_energy_usage_report(
                    location_id=site.site_id, meter_point_id=site.meter_point_id,
                    interval_s=interval_s, points=day_points)
                report = queue_report(uow_session, queue, kind=ENERGY_USAGE,
                                      customer_id=site.customer_id, site_id=site.site_id, body=body,
                                      after=[await queue.open_task(site.site_id, Provider.VOLUE)])
                summary.reports += 1
                summary.reported_points += len(day_points)
                summary.report_ids.append(report.id)
                for start, kwh in day_points:
                    by_start[start].update(reported_kwh=kwh, report_id=report.id)
        for chunk in range(0, len(rows), 500):
            await uow_session.execute(_upsert(uow_session, rows[chunk:chunk + 500]))


def _same(kwh: float, reported: float | None) -> bool:
    return reported is not None and abs(kwh - reported) <= _SAME * max(1.0, abs(kwh))


def _by_day(points: Sequence[tuple[int, float]]) -> Iterable[list[tuple[int, float]]]:
    days: defaultdict[int, list[tuple[int, float]]] = defaultdict(list)
    for start, kwh in points:
        days[start // DAY_S].append((start, kwh))
    for day in sorted(days):
        yield days[day]


async def derive_and_report(sessions: async_sessionmaker[AsyncSession], dispatcher: Dispatcher | None, *,
                            interval_s: int, now: datetime, settle_s: float = 5.0,
                            site_ids: Sequence[str] | None = None) -> DeriveSummary:
    """Derive readings received since each reporting site's mark (up to ``now - settle_s``,
    so that a transaction still committing readings is seen by the next run) and queue
    the changed points for Volue."""
    summary = DeriveSummary()
    until = now - timedelta(seconds=settle_s)
    async with sessions() as session:
        sites = await reporting_sites(session, site_ids)
        marks = {row.device_id: row.received_through for row in (await session.execute(
            select(EnergyMarkRow)
            .where(col(EnergyMarkRow.device_id).in_([s.device_id for s in sites])))).scalars()}
    r = ReadingRow
    for site in sites:
        summary.sites += 1
        async with unit_of_work(sessions, dispatcher, now=now) as uow:
            query = select(func.min(r.ts), func.max(r.ts)).where(
                col(r.device_id) == site.device_id, col(r.obis_code).in_(_CODES), col(r.received_at) <= until)
            mark = marks.get(site.device_id)
            if mark is not None:
                query = query.where(col(r.received_at) > mark)
            low, high = (await uow.session.execute(query)).one()
            if low is not None and high is not None:
                await derive_site(uow.session, uow.planner, site, interval_s=interval_s, low=int(low),
                                  high=int(high), now=now, summary=summary)
            table = table_of(EnergyMarkRow)
            stmt = _insert(uow.session)(table).values(
                device_id=site.device_id, received_through=until)
            await uow.session.execute(stmt.on_conflict_do_update(
                index_elements=["device_id"], set_={"received_through": until}))
    if summary.reports:
        log.info("energy usage: %d site(s), %d point(s) stored, %d report(s) queued",
                 summary.sites, summary.points, summary.reports)
    return summary
