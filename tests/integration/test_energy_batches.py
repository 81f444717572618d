"""Energy usage derived in batches of sites: concurrent runs, points found stored after all, and
report tasks that wait on (or are blocked by) the site's open Volue task."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select, text

from gateway.core.clock import utcnow
from gateway.core.domain import Provider
from gateway.energy import bulk, service
from gateway.energy.service import DeriveSummary, derive_and_report
from gateway.store.db import create_engine, session_factory
from gateway.store.energy_tables import EnergyEnrollmentRow, EnergyPointRow
from gateway.store.reading_tables import ReadingRow
from gateway.store.tables import CustomerRow, DeviceRow, OutboxTaskRow, ProviderLinkRow, SiteRow, table_of

DAY0 = 1_700_006_400
HOUR = 3600


async def _sites(url: str, count: int) -> list[tuple[str, str]]:
    """``count`` enrolled sites with a synced Volue location and a main meter holding one day of
    15-minute register readings: (site id, meter id) each."""
    engine = create_engine(url)
    now = utcnow()
    made: list[tuple[str, str]] = []
    rows: dict[Any, list[dict[str, Any]]] = {m: [] for m in (CustomerRow, SiteRow, DeviceRow, ProviderLinkRow,
                                                            EnergyEnrollmentRow, ReadingRow)}
    for n in range(count):
        cid, sid, did = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
        made.append((sid, did))
        rows[CustomerRow].append(dict(id=cid, external_ref=f"eb-{n}", name=f"C {n}",
                                      email=f"eb{n}@example.com", providers=["volue"], created_at=now,
                                      updated_at=now))
        rows[SiteRow].append(dict(
            id=sid, customer_id=cid, external_ref=f"eb-s-{n}", name=f"S {n}", kind="residential",
            category="SINGLE_FAMILY_HOUSE", address_line1="Vei 1", address_line2=None, postcode="0155",
            city="Oslo", country="NO", latitude=59.9, longitude=10.7, meter_point_ids=[], parent_site_id=None,
            created_at=now, updated_at=now, deleted_at=None))
        rows[DeviceRow].append(dict(
            id=did, customer_id=cid, site_id=sid, external_ref=f"eb-m-{n}", kind="meter", name="Meter",
            medium="electricity", is_main=True, meter_number=None, meter_point_id=f"7070575000{n:08d}",
            brand=None, model=None, year=None, vin=None, capacity=None, created_at=now, updated_at=now,
            deleted_at=None))
        rows[ProviderLinkRow].append(dict(
            entity_id=sid, provider=Provider.VOLUE.value, entity_type="site", status="synced",
            external_id=sid, attempts=1, last_error=None, synced_at=now, updated_at=now, blocked_by=None,
            blocked_reason=None))
        rows[EnergyEnrollmentRow].append(dict(site_id=sid, enabled=True, updated_at=now))
        rows[ReadingRow].extend(dict(device_id=did, obis_code="1-1:1.8.0", ts=DAY0 + q * 900,
                                     value=100.0 * n + q * 0.25, batch_id=None,
                                     received_at=now - timedelta(minutes=1), delivered_at=None)
                                for q in range(97))
    async with engine.begin() as conn:
        for model, values in rows.items():
            await conn.execute(insert(table_of(model)), values)
    await engine.dispose()
    return made


async def _count(url: str, sql: str) -> list[tuple[Any, ...]]:
    engine = create_engine(url)
    async with engine.connect() as conn:
        found = [tuple(row) for row in (await conn.execute(text(sql))).all()]
    await engine.dispose()
    return found


async def test_two_concurrent_runs_report_each_site_once(database_url: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Two runs at once over sites in several batches queue exactly one report per site between them,
    for sites never derived and for sites with new readings since their mark."""
    monkeypatch.setattr(service, "SITES_PER_BATCH", 2)
    sites = await _sites(database_url, 5)
    engine = create_engine(database_url)
    sessions = session_factory(engine)

    async def two_runs() -> tuple[DeriveSummary, DeriveSummary]:
        now = utcnow()
        return await asyncio.gather(derive_and_report(sessions, None, interval_s=HOUR, now=now, settle_s=0),
                                    derive_and_report(sessions, None, interval_s=HOUR, now=now, settle_s=0))

    try:
        first, second = await two_runs()
        assert (first.reports + second.reports, first.reported_points + second.reported_points) == (5, 5 * 24)
        received = utcnow()
        async with engine.begin() as conn:  # the next hour's readings
            await conn.execute(insert(table_of(ReadingRow)), [
                dict(device_id=device_id, obis_code="1-1:1.8.0", ts=DAY0 + q * 900,
                     value=100.0 * n + q * 0.25,
                     batch_id=None, received_at=received, delivered_at=None)
                for n, (_, device_id) in enumerate(sites) for q in range(97, 101)])
        first, second = await two_runs()
        assert (first.reports + second.reports, first.reported_points + second.reported_points) == (5, 5)
        again = await derive_and_report(sessions, None, interval_s=HOUR, now=utcnow(), settle_s=0)
        assert (again.reports, again.points) == (0, 0)
    finally:
        await engine.dispose()
    per_site = await _count(database_url, "SELECT site_id, count(*) FROM volue_reports GROUP BY site_id")
    assert sorted(per_site) == sorted((site_id, 2) for site_id, _ in sites)
    points = await _count(database_url, "SELECT site_id, count(*), count(report_id) FROM energy_usage_points "
                                        "GROUP BY site_id")
    assert sorted(points) == sorted((site_id, 25, 25) for site_id, _ in sites)


async def test_points_found_stored_after_all_are_updated_with_the_rest(database_url: str) -> None:
    """A point written as new that is stored already is updated, and the other new points still go in."""
    site_id, device_id = str(uuid.uuid4()), str(uuid.uuid4())
    now = datetime.now(UTC)
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            await bulk.write_points(conn, bulk.FreshPoints(), [
                (site_id, "import", DAY0, HOUR, device_id, "mp", 1.0, False, None, None, now)],
                interval_s=HOUR, now=now)
        fresh = bulk.FreshPoints()
        fresh.add(site_id, "import", device_id, "mp", "report-1", [DAY0, DAY0 + HOUR, DAY0 + 2 * HOUR],
                  [2.0, None, 3.0])
        async with engine.begin() as conn:
            await bulk.write_points(conn, fresh, [], interval_s=HOUR, now=now)
        p = table_of(EnergyPointRow)
        async with engine.connect() as conn:
            rows = (await conn.execute(select(p.c.ts, p.c.kwh, p.c.flagged, p.c.reported_kwh, p.c.report_id)
                                       .where(p.c.site_id == site_id).order_by(p.c.ts))).all()
    finally:
        await engine.dispose()
    assert [tuple(row) for row in rows] == [
        (DAY0, 2.0, False, 2.0, "report-1"), (DAY0 + HOUR, None, True, None, None),
        (DAY0 + 2 * HOUR, 3.0, False, 3.0, "report-1")]


@pytest.mark.parametrize("parent_status", ["pending", "dead"])
async def test_report_task_waits_on_the_sites_open_volue_task(database_url: str, parent_status: str) -> None:
    """A site's report waits on the site's open Volue task, and is blocked at once when that task is dead."""
    ((site_id, _),) = await _sites(database_url, 1)
    parent = str(uuid.uuid4())
    now = utcnow()
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(insert(table_of(OutboxTaskRow)).values(
                id=parent, provider="volue", entity_type="site", entity_id=site_id, customer_id="c",
                action="upsert", status=parent_status, attempts=3, run_after=now, created_at=now,
                updated_at=now, last_error="refused" if parent_status == "dead" else None))
        summary = await derive_and_report(session_factory(engine), None, interval_s=HOUR, now=utcnow(),
                                          settle_s=0)
    finally:
        await engine.dispose()
    assert summary.reports == 1
    tasks = await _count(database_url, "SELECT t.status, t.blocked_by, d.depends_on FROM outbox_tasks t "
                                       "JOIN task_dependencies d ON d.task_id = t.id "
                                       "WHERE t.entity_type = 'volue_report'")
    assert tasks == [("blocked", parent, parent) if parent_status == "dead" else ("pending", None, parent)]
