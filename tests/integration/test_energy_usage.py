"""Energy usage derived from readings reaches the Volue emulator as LocationEnergyUsage points."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from gateway.app import create_app
from gateway.bootstrap import build_adapters
from gateway.core.clock import utcnow
from gateway.core.settings import load_settings
from gateway.energy.service import DeriveSummary, derive_and_report
from gateway.observability.metrics import READINGS
from gateway.readings.verification import verify_delivery
from gateway.store.db import create_engine, session_factory
from providers.zaehlerfreunde.emulator.readings import CODE_MASK, CODES
from tests.conftest import ADMIN_KEY
from tests.integration.conftest import TREE, wait_synced
from tests.integration.test_readings_delivery import wait_delivered

DAY0 = 1_700_006_400  # 2023-11-15T00:00:00Z
HOUR = 3600


@pytest.fixture
async def energy_client(database_url: str, emulators: dict[str, Any]) -> AsyncIterator[AsyncTestClient]:
    settings = load_settings(
        {}, database_url=database_url, admin_api_key=ADMIN_KEY,
        volue_base_url=emulators["volue_url"] + "/energy-coordination/v1",
        zf_base_url=emulators["zf_url"] + "/partner", sync_backoff_base_s=0.05,
        sync_backoff_max_s=2.0, energy_derive_interval_s=0,
    )
    async with AsyncTestClient(create_app(settings)) as client:
        client.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
        yield client


async def _site_with_meter(client: AsyncTestClient) -> tuple[str, str]:
    body = copy.deepcopy(TREE)
    body["vehicles"] = []
    body["sites"][0]["devices"] = body["sites"][0]["devices"][:1]
    created = (await client.post("/v1/customers", json=body)).json()
    site = (await client.get(f"/v1/customers/{created['id']}/sites")).json()["items"][0]
    meter = (await client.get(f"/v1/sites/{site['id']}/devices")).json()["items"][0]
    await wait_synced(client, [f"/v1/sites/{site['id']}", f"/v1/devices/{meter['id']}"])
    return site["id"], meter["id"]


async def derive(database_url: str) -> DeriveSummary:
    """One derivation run from the test's own loop (the app serves on another); the embedded worker
    finds the reports it queued within its idle wait."""
    engine = create_engine(database_url)
    try:
        return await derive_and_report(session_factory(engine), None, interval_s=HOUR, now=utcnow(),
                                       settle_s=0)
    finally:
        await engine.dispose()


async def wait_reports_sent(client: AsyncTestClient, report_ids: list[str], timeout: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    for report_id in report_ids:
        while (await client.get(f"/v1/reports/{report_id}")).json()["status"] != "sent":
            assert asyncio.get_running_loop().time() < deadline, f"report {report_id} not sent"
            await asyncio.sleep(0.05)


async def test_readings_become_hourly_location_energy_usage_and_a_late_reading_one_correction(
        energy_client: AsyncTestClient, emulators: dict[str, Any], database_url: str) -> None:
    """Channel-0 register readings are delivered in Zählerfreunde's form, derived hourly, reported
    once per site and day; a late reading sends one corrected report with only the changed points."""
    client = energy_client
    site_id, meter_id = await _site_with_meter(client)
    # Not enrolled yet: nothing is derived.
    values = {DAY0 + n * 900: 1000.0 + n * 0.25 + (n % 4) * 0.05 for n in range(0, 2 * 96 + 1)}
    del values[DAY0 + 30 * HOUR]  # missing at first, sent late
    items = [{"deviceId": meter_id, "obisCode": "1-0:1.8.0*255", "timestamp": ts, "value": v}
             for ts, v in values.items()]
    response = await client.post("/v1/readings", json={"readings": items})
    assert response.json()["accepted"] == len(items), response.text
    assert (await derive(database_url)).sites == 0
    enrolled = await client.put(f"/v1/sites/{site_id}/energy-usage/enrollment", json={"enabled": True})
    assert enrolled.status_code == 200, enrolled.text
    assert enrolled.json() == {"siteId": site_id, "enabled": True, "reporting": True}

    first = await derive(database_url)
    assert (first.reports, first.day_payloads) == (1, 2)  # one request, one payload per day
    await wait_reports_sent(client, first.report_ids)
    store = emulators["volue"].state.volue.store
    points = store.location_energy_usage[site_id]
    assert sorted(points) == list(range(DAY0, DAY0 + 48 * HOUR, HOUR))

    def at(ts: int) -> float:
        return values[ts] if ts in values else (values[ts - 900] + values[ts + 900]) / 2

    for start, kwh in points.items():
        assert kwh == pytest.approx(at(start + HOUR) - at(start))
    assert set(store.location_energy_postings.values()) == {1}

    # Derived again with nothing new: no report.
    assert (await derive(database_url)).reports == 0
    late = DAY0 + 30 * HOUR
    response = await client.post("/v1/readings", json={"readings": [
        {"deviceId": meter_id, "obisCode": "1.8.0*255", "timestamp": late,
         "value": values[late - 900] + 0.3}]})
    assert response.json()["accepted"] == 1
    corrected = await derive(database_url)
    assert (corrected.reports, corrected.reported_points) == (1, 2)
    await wait_reports_sent(client, corrected.report_ids)
    assert store.location_energy_usage[site_id][late] == pytest.approx(
        values[late + HOUR] - values[late - 900] - 0.3)
    assert store.location_energy_usage[site_id][late - HOUR] == pytest.approx(
        values[late - 900] + 0.3 - values[late - HOUR])
    posted_twice = {ts for (loc, ts), n in store.location_energy_postings.items() if n == 2}
    assert posted_twice == {late - HOUR, late}

    usage = (await client.get(f"/v1/sites/{site_id}/energy-usage",
                              params={"from": DAY0, "to": DAY0 + 2 * 86_400, "limit": 1000})).json()
    assert usage["nextCursor"] is None
    assert len(usage["items"]) == 48 and all(p["reported"] for p in usage["items"])
    assert {p["direction"] for p in usage["items"]} == {"import"}

    # Stored and delivered to Zählerfreunde in its form.
    stored = (await client.get(f"/v1/devices/{meter_id}/readings", params={"limit": 1})).json()
    assert stored["items"][0]["obisCode"] == "1-1:1.8.0"
    await wait_delivered(client, [meter_id], len(values) + 1)
    zf = emulators["zf"].state.zaehlerfreunde
    (device,) = [d for d in zf.devices.values() if d.body.externalDeviceId == meter_id]
    assert len(device.readings) == len(values) + 1
    assert {CODES[key & CODE_MASK].label for key in device.readings} == {"1-1:1.8.0"}

    daily = (await client.get(f"/v1/devices/{meter_id}/consumption",
                              params={"from": DAY0, "to": DAY0 + 2 * 86_400, "resolution": "day"})).json()
    assert [d["unit"] for d in daily["items"]] == ["kWh", "kWh"]
    assert daily["items"][0]["quantity"] == pytest.approx(values[DAY0 + 86_400] - values[DAY0])
    assert all(d["complete"] for d in daily["items"])


async def test_decreasing_register_is_flagged_not_reported(
        energy_client: AsyncTestClient, emulators: dict[str, Any], database_url: str) -> None:
    """A register that goes down (meter exchange) leaves its hour flagged and unreported."""
    client = energy_client
    site_id, meter_id = await _site_with_meter(client)
    await client.put(f"/v1/sites/{site_id}/energy-usage/enrollment", json={"enabled": True})
    values = [500.0, 501.0, 502.0, 503.0, 504.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]
    items = [{"deviceId": meter_id, "obisCode": "1-1:1.8.0", "timestamp": DAY0 + n * 900, "value": v}
             for n, v in enumerate(values)]
    await client.post("/v1/readings", json={"readings": items})
    summary = await derive(database_url)
    await wait_reports_sent(client, summary.report_ids)
    points = emulators["volue"].state.volue.store.location_energy_usage[site_id]
    assert points == {DAY0: pytest.approx(4.0), DAY0 + 2 * HOUR: pytest.approx(4.0)}
    usage = (await client.get(f"/v1/sites/{site_id}/energy-usage",
                              params={"from": DAY0, "to": DAY0 + 86_400})).json()["items"]
    flagged = [p for p in usage if p["flagged"]]
    assert [(p["timestamp"], p["kwh"], p["reported"]) for p in flagged] == [
        ("2023-11-15T01:00:00Z", None, False)]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"to": DAY0}, "from"),
        ({"from": DAY0}, "to"),
        ({"from": "yesterday", "to": DAY0}, "from"),
        ({"from": DAY0, "to": DAY0}, "to"),
        ({"from": DAY0, "to": DAY0 + 400 * 86_400}, "to"),
        ({"from": DAY0, "to": DAY0 + 1, "cursor": "%%%"}, "cursor"),
    ],
)
async def test_bad_energy_usage_parameters_name_the_field(client: AsyncTestClient, params: dict[str, Any],
                                                          field: str) -> None:
    """Bad bounds or cursors of both read-backs are 400 problems naming the parameter."""
    created = (await client.post("/v1/customers", json=TREE)).json()
    site = (await client.get(f"/v1/customers/{created['id']}/sites")).json()["items"][0]
    meter = (await client.get(f"/v1/sites/{site['id']}/devices")).json()["items"][0]
    for path in (f"/v1/sites/{site['id']}/energy-usage", f"/v1/devices/{meter['id']}/consumption"):
        response = await client.get(path, params=params)
        assert response.status_code == 400, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["field"] == field
    bad = await client.get(f"/v1/devices/{meter['id']}/consumption",
                           params={"from": DAY0, "to": DAY0 + 1, "resolution": "week"})
    assert bad.status_code == 400
    enrollment = await client.put(f"/v1/sites/{site['id']}/energy-usage/enrollment", json={"enabled": "yes"})
    assert enrollment.status_code == 400, enrollment.text


async def test_delivery_check_finds_readings_zaehlerfreunde_lost_and_sends_them_again(
        energy_client: AsyncTestClient, emulators: dict[str, Any], database_url: str) -> None:
    """Readings missing at Zählerfreunde after delivery are found by the read-back, re-sent and counted."""
    client = energy_client
    _, meter_id = await _site_with_meter(client)
    items = [{"deviceId": meter_id, "obisCode": "1-0:1.8.0*255", "timestamp": DAY0 + n * 900,
              "value": 10.0 + n} for n in range(20)]
    await client.post("/v1/readings", json={"readings": items})
    await wait_delivered(client, [meter_id], len(items))
    zf = emulators["zf"].state.zaehlerfreunde
    (device,) = [d for d in zf.devices.values() if d.body.externalDeviceId == meter_id]
    lost = sorted(device.readings)[5:8]
    for key in lost:
        del device.readings[key]
    settings = load_settings({}, database_url=database_url,
                             volue_base_url=emulators["volue_url"] + "/energy-coordination/v1",
                             zf_base_url=emulators["zf_url"] + "/partner")
    adapters = build_adapters(settings)
    engine = create_engine(database_url)
    before = READINGS.labels("resent")._value.get()
    try:
        result = await verify_delivery(session_factory(engine), adapters, sample=5)
        assert (result.meters, result.missing, result.resent, result.verified) == (1, 3, 3, 17)
        assert len(device.readings) == len(items)
        again = await verify_delivery(session_factory(engine), adapters, sample=5)
        assert (again.missing, again.verified) == (0, 20)
    finally:
        await adapters.aclose()
        await engine.dispose()
    assert READINGS.labels("resent")._value.get() - before == 3
    metrics = (await client.get("/metrics")).text
    assert 'gateway_readings_total{outcome="resent"}' in metrics


async def test_a_customer_enrolled_in_the_programme_reports_its_sites_unless_a_site_is_switched_off(
        energy_client: AsyncTestClient, database_url: str) -> None:
    """Programme enrollment alone makes a site report; the per-site switch overrides it both ways."""
    from gateway.energy.enrollment import reporting_sites
    from gateway.store.programme_tables import ProgrammeMembershipRow

    client = energy_client
    site_id, _ = await _site_with_meter(client)
    customer_id = (await client.get(f"/v1/sites/{site_id}")).json()["customerId"]
    engine = create_engine(database_url)
    sessions = session_factory(engine)
    try:
        async with sessions() as session:
            assert [s.site_id for s in await reporting_sites(session, [site_id])] == []
            session.add(ProgrammeMembershipRow(customer_id=customer_id, programme="volue", id=customer_id,
                                               wanted="enrolled", status="enrolled", updated_at=utcnow()))
            await session.commit()
        async with sessions() as session:
            assert [s.site_id for s in await reporting_sites(session, [site_id])] == [site_id]
        off = await client.put(f"/v1/sites/{site_id}/energy-usage/enrollment", json={"enabled": False})
        assert off.status_code == 200, off.text
        async with sessions() as session:
            assert [s.site_id for s in await reporting_sites(session, [site_id])] == []
    finally:
        await engine.dispose()
