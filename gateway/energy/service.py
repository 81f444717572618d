"""Deriving the energy usage of reporting sites and queueing its reports to Volue.

:func:`derive_and_report` runs periodically (an arq cron, or a loop of the embedded
worker). Per reporting site (:mod:`gateway.energy.enrollment`) it looks at the main
meter's readings received since the site's mark, re-derives every interval those
readings can change (from the reading before the earliest new one to the reading
after the latest, see :mod:`gateway.energy.derive`), stores the points, and queues
for Volue, through the outbox, the import points whose value differs from the one
last queued: one report request per site and run, holding one ``LocationEnergyUsage``
payload per UTC day with the changed points of that day. An interval whose value did not change is never
reported again; a late reading that changes a reported interval sends one corrected
report with the new value. Each site is one transaction (points, reports, outbox
tasks and the mark together).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.clock import as_utc
from gateway.core.domain import Provider
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
NO_MARK = datetime(1970, 1, 1, tzinfo=UTC)
SITES_AT_ONCE = 4
"""Sites derived concurrently, each in its own transaction (the work waits mostly on the database)."""


@dataclass(slots=True)
class DeriveSummary:
    """What one run did."""

    sites: int = 0
    readings: int = 0
    points: int = 0
    flagged: int = 0
    reports: int = 0
    """Report requests queued: one per site with changed points."""
    day_payloads: int = 0
    """``LocationEnergyUsage`` payloads in them: one per site and UTC day with changed points."""
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


def _upsert(session: AsyncSession) -> Any:
    """Insert or update points; executed with a list of rows (one statement, compiled once)."""
    table = table_of(EnergyPointRow)
    stmt = _insert(session)(table)
    keys = ("site_id", "direction", "ts")
    return stmt.on_conflict_do_update(
        index_elements=list(keys),
        set_={c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys})


async def derive_site(uow_session: AsyncSession, queue: Any, site: ReportingSite, *, interval_s: int,
                      touched: dict[str, tuple[int, int]], now: datetime, summary: DeriveSummary) -> None:
    """Re-derive the site's intervals around its new readings (``touched``: per OBIS code, the
    first and last timestamp of its new readings); queue the changed points."""
    series = {code: await load_series(uow_session, site.device_id, code, low, high, interval_s)
              for code, (low, high) in touched.items()}
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
            body = location_energy_usage_report(
                location_id=site.site_id, meter_point_id=site.meter_point_id,
                interval_s=interval_s, points=to_report)
            report = queue_report(uow_session, queue, kind=ENERGY_USAGE, customer_id=site.customer_id,
                                  site_id=site.site_id, body=body,
                                  after=[await queue.open_task(site.site_id, Provider.VOLUE)])
            summary.reports += 1
            summary.day_payloads += len(body.payloads or ())
            summary.reported_points += len(to_report)
            summary.report_ids.append(report.id)
            by_start = {row["ts"]: row for row in rows}
            for start, kwh in to_report:
                by_start[start].update(reported_kwh=kwh, report_id=report.id)
        if rows:
            await uow_session.execute(_upsert(uow_session), rows)


def _same(kwh: float, reported: float | None) -> bool:
    return reported is not None and abs(kwh - reported) <= _SAME * max(1.0, abs(kwh))


async def _derive_one(sessions: async_sessionmaker[AsyncSession], dispatcher: Dispatcher | None,
                      site: ReportingSite, *, until: datetime, interval_s: int,
                      now: datetime, summary: DeriveSummary) -> None:
    """One site in one transaction: its points, its report and its mark."""
    r = ReadingRow
    marks = table_of(EnergyMarkRow)
    async with unit_of_work(sessions, dispatcher, now=now) as uow:
        # First the site's mark, locked: a concurrent run on the same site waits here for this
        # transaction and then reads the mark it leaves, so it sends nothing twice.
        claim = _insert(uow.session)(marks).values(device_id=site.device_id, received_through=NO_MARK)
        mark = (await uow.session.execute(claim.on_conflict_do_update(
            index_elements=["device_id"], set_={"received_through": marks.c.received_through})
            .returning(marks.c.received_through))).scalar_one()
        query = (select(col(r.obis_code), func.min(r.ts), func.max(r.ts))
                 .where(col(r.device_id) == site.device_id, col(r.obis_code).in_(_CODES),
                        col(r.received_at) <= until)
                 .group_by(col(r.obis_code)))
        if as_utc(mark) > NO_MARK:
            query = query.where(col(r.received_at) > mark)
        found = (await uow.session.execute(query)).all()
        touched = {code: (int(low), int(high)) for code, low, high in found}
        if touched:
            await derive_site(uow.session, uow.planner, site, interval_s=interval_s, touched=touched,
                              now=now, summary=summary)
        await uow.session.execute(update(marks).where(marks.c.device_id == site.device_id)
                                  .values(received_through=until))


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
    semaphore = asyncio.Semaphore(SITES_AT_ONCE)

    async def one(site: ReportingSite) -> None:
        async with semaphore:
            await _derive_one(sessions, dispatcher, site, until=until,
                              interval_s=interval_s, now=now, summary=summary)

    await asyncio.gather(*(one(site) for site in sites))
    summary.sites = len(sites)
    if summary.reports:
        log.info("energy usage: %d site(s), %d point(s) stored, %d report(s) queued",
                 summary.sites, summary.points, summary.reports)
    return summary
