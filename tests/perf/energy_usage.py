"""Energy usage at volume: derivation of 15-minute register readings and their reports to Volue.

Run: ``GATEWAY_TEST_POSTGRES_URL=... .venv/bin/python -m tests.perf.energy_usage``
(``PERF_ENERGY_METERS`` defaults to 1,000 and ``PERF_ENERGY_DAYS`` to 30: 2.9 million
readings; this benchmark empties the database). Without PostgreSQL it runs on a SQLite
file in a temporary directory.

How it is measured, all on 127.0.0.1: the meters (one enrolled site each, its Volue
location marked synced) and their readings are written straight to the database before
the clock starts (on PostgreSQL with ``COPY``, then ``VACUUM ANALYZE`` and a ``CHECKPOINT``,
so the timed run neither vacuums nor writes the set-up's pages). Then, timed:

1. the pure derivation (``gateway.energy.derive``) over every meter's series in memory:
   readings/s derived by the algorithm alone;
2. ``derive_and_report`` as the worker's cron runs it: reads the readings, derives,
   stores the points and queues the reports: readings/s derived end to end, with the CPU
   seconds of this process and of PostgreSQL (its backends for this database and its
   background processes) and whether other processes used the machine meanwhile;
3. the queued reports sent to a Volue emulator (started in this process) by the sync
   engine: report requests against the minimum (one request per site can carry every
   day) and ``LocationEnergyUsage`` day payloads against sites × days.

Targets: >= 200,000 readings/s derived; report requests <= 1.05 x the minimum.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, text
from sqlmodel import SQLModel

from gateway.bootstrap import build_adapters, build_kinds
from gateway.core.clock import utcnow
from gateway.core.domain import Provider
from gateway.core.settings import load_settings
from gateway.energy.derive import derive_register
from gateway.energy.service import derive_and_report
from gateway.outbox.engine import SyncEngine
from gateway.store.db import create_engine, session_factory
from gateway.store.energy_tables import EnergyEnrollmentRow
from gateway.store.migrate import upgrade
from gateway.store.reading_tables import ReadingRow
from gateway.store.tables import CustomerRow, DeviceRow, ProviderLinkRow, SiteRow, table_of
from providers.emulation import serve_in_thread
from providers.volue.emulator.app import create_app as volue_app
from tests.perf._stack import Idle, cpu_seconds, database_of, postgres_cpu_seconds

METERS = int(os.environ.get("PERF_ENERGY_METERS", "1000"))
DAYS = int(os.environ.get("PERF_ENERGY_DAYS", "30"))
DAY0 = 1_700_006_400
QUARTER = 900
HOUR = 3600


def series(n: int) -> tuple[list[int], list[float]]:
    ts = [DAY0 + q * QUARTER for q in range(DAYS * 96)]
    values = [1000.0 * n + q * 0.25 + (q % 4) * 0.05 for q in range(DAYS * 96)]
    return ts, values


async def prepare(url: str) -> list[str]:
    engine = create_engine(url)
    async with engine.begin() as conn:
        names = ", ".join(t.name for t in SQLModel.metadata.sorted_tables)
        if url.startswith("postgresql"):
            await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    now = utcnow()
    devices: list[str] = []
    customers: list[dict[str, Any]] = []
    sites: list[dict[str, Any]] = []
    meters: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    enrollments: list[dict[str, Any]] = []
    for n in range(METERS):
        cid, sid, did = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
        devices.append(did)
        customers.append(dict(id=cid, external_ref=f"eu-{n}", name=f"C {n}", email=f"eu{n}@example.com",
                              providers=["volue"], created_at=now, updated_at=now))
        sites.append(dict(id=sid, customer_id=cid, external_ref=f"eu-s-{n}", name=f"S {n}",
                          kind="residential", category="SINGLE_FAMILY_HOUSE", address_line1="Vei 1",
                          address_line2=None, postcode="0155", city="Oslo", country="NO", latitude=59.9,
                          longitude=10.7, meter_point_ids=[], parent_site_id=None, created_at=now,
                          updated_at=now, deleted_at=None))
        meters.append(dict(id=did, customer_id=cid, site_id=sid, external_ref=f"eu-m-{n}", kind="meter",
                           name="Meter", medium="electricity", is_main=True, meter_number=None,
                           meter_point_id=f"7070575000{n:08d}", brand=None, model=None, year=None, vin=None,
                           capacity=None, created_at=now, updated_at=now, deleted_at=None))
        links.append(dict(entity_id=sid, provider=Provider.VOLUE.value, entity_type="site", status="synced",
                          external_id=sid, attempts=1, last_error=None, synced_at=now, updated_at=now,
                          blocked_by=None, blocked_reason=None))
        enrollments.append(dict(site_id=sid, enabled=True, updated_at=now))
    async with engine.begin() as conn:
        for model, rows in ((CustomerRow, customers), (SiteRow, sites), (DeviceRow, meters),
                            (ProviderLinkRow, links), (EnergyEnrollmentRow, enrollments)):
            await conn.execute(insert(table_of(model)), rows)
    received = datetime.now(UTC)
    for n, did in enumerate(devices):
        ts, values = series(n)
        async with engine.begin() as conn:
            if url.startswith("postgresql"):
                raw = (await conn.get_raw_connection()).driver_connection
                assert raw is not None
                await raw.copy_records_to_table(
                    "readings", columns=("device_id", "obis_code", "ts", "value", "received_at"),
                    records=[(did, "1-1:1.8.0", t, v, received) for t, v in zip(ts, values, strict=True)])
            else:
                await conn.execute(insert(table_of(ReadingRow)), [
                    dict(device_id=did, obis_code="1-1:1.8.0", ts=t, value=v, batch_id=None,
                         received_at=received, delivered_at=None) for t, v in zip(ts, values, strict=True)])
    if url.startswith("postgresql"):
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            # As autovacuum leaves readings that arrived over time; the timed run neither vacuums
            # the set-up's rows nor writes its pages.
            await conn.execute(text("VACUUM ANALYZE readings"))
            await conn.execute(text("CHECKPOINT"))
    await engine.dispose()
    return devices


async def main(url: str, tmp: tempfile.TemporaryDirectory[str]) -> None:
    readings = METERS * DAYS * 96
    print(f"{METERS} meters x {DAYS} days of 15-minute readings = {readings:,} readings "
          f"on {'PostgreSQL' if url.startswith('postgresql') else 'SQLite'}")
    started = time.perf_counter()
    await prepare(url)
    print(f"prepared in {time.perf_counter() - started:.1f} s (not timed)")

    started = time.perf_counter()
    points = 0
    for n in range(METERS):
        ts, values = series(n)
        points += len(derive_register(ts, values, HOUR).values)
    pure = time.perf_counter() - started
    print(f"derivation alone: {readings / pure:,.0f} readings/s ({points:,} points in {pure:.2f} s)")

    engine = create_engine(url)
    sessions = session_factory(engine)
    postgres = url.startswith("postgresql")
    database = database_of(url)
    idle = Idle()
    idle.start()
    own, server = cpu_seconds(os.getpid()), postgres_cpu_seconds(database) if postgres else 0.0
    started = time.perf_counter()
    summary = await derive_and_report(sessions, None, interval_s=HOUR, now=utcnow(), settle_s=0)
    took = time.perf_counter() - started
    # Read while the pool still holds its connections: their backends' CPU is PostgreSQL's share.
    own = cpu_seconds(os.getpid()) - own
    server = (postgres_cpu_seconds(database) - server) if postgres else 0.0
    print(f"derive_and_report: {summary.readings / took:,.0f} readings/s derived end to end "
          f"({summary.readings:,} readings, {summary.points:,} points, {summary.reports:,} reports, "
          f"{took:.1f} s)")
    print(f"  CPU: this process {own:.1f} s" + (f", PostgreSQL {server:.1f} s" if postgres else "")
          + f"; {idle.stop(own + server)}")

    app = volue_app()
    with serve_in_thread(app) as volue_url:
        settings = load_settings({}, database_url=url, volue_base_url=volue_url + "/energy-coordination/v1",
                                 sync_batch_size=500)
        sync = SyncEngine(sessions=sessions, adapters=build_adapters(settings), settings=settings,
                          kinds=build_kinds(settings))
        started = time.perf_counter()
        while True:
            async with engine.connect() as conn:
                left = (await conn.execute(text(
                    "SELECT count(*) FROM outbox_tasks WHERE entity_type = 'volue_report' "
                    "AND status = 'pending'"))).scalar_one()
            if not left:
                break
            await sync.drain(Provider.VOLUE.value, max_seconds=30)
        sent_took = time.perf_counter() - started
        await sync.adapters.aclose()
        store: Any = app.state.volue.store
        requests = len(store.reports)
        payload_days = sum(len(days) for days in store.location_energy_usage.values())
    await engine.dispose()
    tmp.cleanup()
    minimum = METERS
    print(f"reports: {requests:,} requests sent in {sent_took:.1f} s against a minimum of {minimum:,} "
          f"({requests / minimum:.2f} x); {summary.day_payloads:,} day payloads against "
          f"{METERS * DAYS:,} sites x days; {payload_days:,} current points at the emulator")


if __name__ == "__main__":
    directory = tempfile.TemporaryDirectory()
    database = os.environ.get("GATEWAY_TEST_POSTGRES_URL", "") or \
        f"sqlite+aiosqlite:///{directory.name}/energy.db"
    upgrade(database)
    asyncio.run(main(database, directory))
