"""Deriving the energy usage of reporting sites and queueing its reports to Volue.

:func:`derive_and_report` runs periodically (an arq cron, or a loop of the embedded
worker). Per reporting site (:mod:`gateway.energy.enrollment`) it looks at the main
meter's readings received since the meter's mark, re-derives every interval those
readings can change (from the reading before the earliest new one to the reading
after the latest, see :mod:`gateway.energy.derive`), stores the points, and queues
for Volue, through the outbox, the import points whose value differs from the one
last queued: one report request per site and run, holding one ``LocationEnergyUsage``
payload per UTC day with the changed points of that day. An interval whose value did
not change is never reported again; a late reading that changes a reported interval
sends one corrected report with the new value.

Sites are taken in batches of :data:`SITES_PER_BATCH`, each batch one transaction whose
reads and writes are set-based (:mod:`gateway.energy.bulk`): its meters' marks (claimed
first, so a concurrent run waits and then sees nothing new), the points, the reports, their
outbox tasks and the advanced marks commit together.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.quantities import kwh
from gateway.energy import bulk
from gateway.energy.bulk import FreshPoints, Series, StoredPoint
from gateway.energy.derive import Derived, derive_intervals
from gateway.energy.enrollment import ReportingSite, reporting_sites
from gateway.outbox.dispatch import Dispatcher
from gateway.outbox.plan import OutboxPlanner
from gateway.outbox.unit_of_work import unit_of_work
from gateway.reports.delivery import ENERGY_USAGE, REPORTS_TO, NewReport, queue_reports
from gateway.reports.service import daily_site_usage
from gateway.store.db import chunked, is_postgres

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
NO_MARK = bulk.NO_MARK
SITES_PER_BATCH = 100
"""Sites derived in one transaction."""
BATCHES_AT_ONCE = 2
"""Batches in flight on PostgreSQL, so that one derives while another waits on the database
(SQLite takes one writer at a time: one batch after another)."""


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


def derive_direction(series: dict[str, Series], direction: str, interval_s: int,
                     opening: frozenset[str] = frozenset()) -> tuple[Derived, int]:
    """One direction's intervals from its sources, in kWh with 3 decimals (whole Wh: what is stored,
    compared and reported); also the number of readings used. ``opening``: the codes whose
    series start with their very first reading."""
    out = Derived()
    used = 0
    for kind, code in SOURCES[direction]:
        ts, values = series.get(code, ([], []))
        if not ts:
            continue
        used += len(ts)
        out.merge_missing(derive_intervals(kind, ts, values, interval_s, opens=code in opening))
    out.values = dict(zip(out.values, map(kwh, out.values.values()), strict=True))
    return out, used


@dataclass(slots=True)
class _Changes:
    """A batch's derived intervals, then what of them is written and reported."""

    derived: dict[tuple[str, str], Derived] = field(default_factory=dict)
    """Per (site, direction)."""
    fresh: FreshPoints = field(default_factory=FreshPoints)
    """Points not stored before."""
    changed: list[tuple[Any, ...]] = field(default_factory=list)
    """Stored points to update, in the same order."""
    reports: list[tuple[ReportingSite, str, list[tuple[int, float]]]] = field(default_factory=list)
    """Per site with changed import points: the site, the report's id, its points."""


def _derive_batch(sites: Sequence[ReportingSite], series: dict[tuple[str, str], Series], *,
                  interval_s: int, summary: DeriveSummary, lows: dict[tuple[str, str], int] | None = None
                  ) -> _Changes:
    """Every touched site's intervals, by (site, direction). ``lows``: each series' window start;
    a series whose first reading is not before it holds the meter's very first reading of that
    code (the loaded window begins with the reading before it whenever there is one)."""
    changes = _Changes()
    by_device: dict[str, dict[str, Series]] = {}
    opening: dict[str, set[str]] = {}
    for (device_id, code), found in series.items():
        by_device.setdefault(device_id, {})[code] = found
        low = (lows or {}).get((device_id, code))
        if low is not None and found[0] and found[0][0] >= low:
            opening.setdefault(device_id, set()).add(code)
    for site in sites:
        codes = by_device.get(site.device_id)
        if not codes:
            continue
        opens = frozenset(opening.get(site.device_id, ()))
        for direction in (IMPORT, EXPORT):
            derived, used = derive_direction(codes, direction, interval_s, opens)
            summary.readings += used
            if derived.values or derived.flagged:
                changes.derived[(site.site_id, direction)] = derived
    return changes


def _decide(changes: _Changes, sites: dict[str, ReportingSite],
            stored: dict[tuple[str, str, int], StoredPoint], *, interval_s: int, now: datetime,
            summary: DeriveSummary) -> None:
    """The points whose value, flag or meter point changed, and the import points due at Volue
    (their value differs from the one last queued), each site's due points under one report id."""
    fresh, updated = changes.fresh, changes.changed
    with_stored = {(site_id, direction) for site_id, direction, _ in stored}
    for (site_id, direction), derived in changes.derived.items():
        site = sites[site_id]
        values = derived.values
        starts = sorted([*values, *derived.flagged])
        summary.flagged += len(derived.flagged)
        report_id: str | None = None
        if (site_id, direction) not in with_stored:
            # Nothing stored yet: every point is new, every import value is due.
            if direction == IMPORT and values:
                report_id = str(uuid.uuid4())
                changes.reports.append((site, report_id, [(start, values[start]) for start in starts
                                                          if start in values]))
            fresh.add(site_id, direction, site.device_id, site.meter_point_id, report_id, starts,
                      list(map(values.get, starts)))
            summary.points += len(starts)
            continue
        to_report: list[tuple[int, float]] = []
        new_starts: list[int] = []
        new_kwhs: list[float | None] = []
        for start in starts:
            kwh = values.get(start)
            old = stored.get((site_id, direction, start))
            if old is None:  # new: changed, and due when an import value
                if direction == IMPORT and kwh is not None:
                    to_report.append((start, kwh))
                new_starts.append(start)
                new_kwhs.append(kwh)
                continue
            flagged = kwh is None
            reported_kwh, point_report = old.reported_kwh, old.report_id
            changed = (old.kwh != kwh or old.flagged != flagged
                       or old.meter_point_id != site.meter_point_id)
            due = direction == IMPORT and kwh is not None and not _same(kwh, reported_kwh)
            if due and kwh is not None:
                if report_id is None:
                    report_id = str(uuid.uuid4())
                to_report.append((start, kwh))
                reported_kwh, point_report = kwh, report_id
            elif not changed:
                continue
            updated.append((site_id, direction, start, interval_s, site.device_id, site.meter_point_id, kwh,
                            flagged, reported_kwh, point_report, now))
            summary.points += 1
        if to_report and report_id is None:
            report_id = str(uuid.uuid4())
        if new_starts:
            fresh.add(site_id, direction, site.device_id, site.meter_point_id, report_id, new_starts,
                      new_kwhs)
            summary.points += len(new_starts)
        if report_id is not None:
            changes.reports.append((site, report_id, to_report))


def _same(kwh: float, reported: float | None) -> bool:
    return reported is not None and abs(kwh - reported) <= _SAME * max(1.0, abs(kwh))


async def _derive_batch_in_transaction(
        sessions: async_sessionmaker[AsyncSession], dispatcher: Dispatcher | None,
        sites: Sequence[ReportingSite], *, until: datetime, interval_s: int, now: datetime,
        summary: DeriveSummary) -> None:
    """One batch of sites in one transaction: their points, reports, outbox tasks and marks."""
    devices = [site.device_id for site in sites]
    async with unit_of_work(sessions, dispatcher, now=now) as uow:
        connection = await uow.session.connection()
        # The marks first, locked: a concurrent run on the same meters waits here for this
        # transaction and then reads the marks it leaves, so it sends nothing twice.
        marks = await bulk.claim_marks(connection, devices)
        windows = await bulk.new_windows(connection, marks, _CODES, until=until, interval_s=interval_s)
        if windows:
            series = await bulk.load_windows(connection, windows)
            changes = _derive_batch(sites, series, interval_s=interval_s, summary=summary,
                                    lows={(w.device_id, w.code): w.low for w in windows})
            spans = [(site_id, direction, min(starts), max(starts))
                     for (site_id, direction), derived in changes.derived.items()
                     for starts in ([*derived.values, *derived.flagged],)]
            stored = await bulk.stored_points(connection, spans)
            _decide(changes, {site.site_id: site for site in sites}, stored, interval_s=interval_s,
                    now=now, summary=summary)
            await _queue(uow.session, uow.planner, changes, interval_s=interval_s, summary=summary)
            await bulk.write_points(connection, changes.fresh, changes.changed, interval_s=interval_s,
                                    now=now)
        await bulk.advance_marks(connection, devices, until)


async def _queue(session: AsyncSession, planner: OutboxPlanner, changes: _Changes, *, interval_s: int,
                 summary: DeriveSummary) -> None:
    """One report per site with due points, after the site's open Volue task."""
    if not changes.reports:
        return
    after = await planner.open_tasks([site.site_id for site, _, _ in changes.reports], REPORTS_TO)
    reports: list[NewReport] = []
    for site, report_id, points in changes.reports:
        report = daily_site_usage(site_id=site.site_id, meter_point_id=site.meter_point_id,
                                  interval_s=interval_s, points=points)
        reports.append(NewReport(id=report_id, customer_id=site.customer_id, report=report,
                                 site_id=site.site_id, after=after.get(site.site_id)))
        summary.reports += 1
        summary.day_payloads += len(report.items)
        summary.reported_points += len(points)
        summary.report_ids.append(report_id)
    await queue_reports(session, planner, kind=ENERGY_USAGE, reports=reports)


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
        postgres = is_postgres(session)
    # In site order, the order of the points' key: a batch's new points extend the key's index at
    # a few places instead of all over it. (Each batch claims its marks in meter order, so batches
    # of runs over different sites cannot deadlock either.)
    ordered = sorted(sites, key=lambda site: site.site_id)
    batches = list(chunked(ordered, size=SITES_PER_BATCH))
    semaphore = asyncio.Semaphore(BATCHES_AT_ONCE if postgres else 1)

    async def one(batch: Sequence[ReportingSite]) -> None:
        async with semaphore:
            await _derive_batch_in_transaction(sessions, dispatcher, batch, until=until,
                                               interval_s=interval_s, now=now, summary=summary)

    await asyncio.gather(*(one(batch) for batch in batches))
    summary.sites = len(sites)
    if summary.reports:
        log.info("energy usage: %d site(s), %d point(s) stored, %d report(s) queued",
                 summary.sites, summary.points, summary.reports)
    return summary
