"""Reports that do not contradict each other: quantities with 3 decimals of kWh, a load profile's
first hour derived, a manual report refused for hours derived usage covers, report times bounded."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from gateway.app import create_app
from gateway.core.settings import load_settings
from tests.conftest import ADMIN_KEY
from tests.integration.test_energy_usage import DAY0, HOUR, _site_with_meter, derive, wait_reports_sent

UNKNOWN = "00000000-0000-0000-0000-000000000000"


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


def decimals(value: float) -> int:
    """Decimals of ``value`` as JSON carries it (the shortest round-trip form)."""
    text = repr(value)
    return len(text.split(".")[1].rstrip("0")) if "." in text and "e" not in text else 0


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _whole_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


NOW = _whole_hour(datetime.now(UTC))
OUT_OF_WINDOW = [
    "0001-01-01T00:00:00Z", "1969-12-31T23:00:00Z", "1970-01-01T00:00:00Z", "9999-12-31T23:00:00Z",
    _iso(NOW - timedelta(days=5 * 366)), _iso(NOW + timedelta(days=3)),
]


PATHS = [f"/v1/sites/{UNKNOWN}/energy-usage", f"/v1/devices/{UNKNOWN}/energy-usage",
         f"/v1/sites/{UNKNOWN}/energy-usage-plan"]


async def test_report_times_outside_the_window_are_refused_naming_the_point(client: AsyncTestClient) -> None:
    """A report point before 5 years back, after 2 days ahead or outside 1970-9999 is a 400 naming it."""
    good = {"timestamp": _iso(NOW - timedelta(hours=1)), "kwh": 1.0}
    for path in PATHS:
        for when in OUT_OF_WINDOW:
            bad = {"timestamp": when, "kwh": 1.0}
            ordered = [bad, good] if when < str(good["timestamp"]) else [good, bad]
            index = ordered.index(bad)
            if path.endswith("plan"):
                body: dict[str, Any] = {"baseline": [good], "flexibility": ordered}
                field = f"flexibility[{index}].timestamp"
            else:
                body, field = {"points": ordered}, f"points[{index}].timestamp"
            response = await client.post(path, json=body)
            assert response.status_code == 400, (path, when, response.text)
            assert response.json()["field"] == field, (path, when)


async def test_report_times_inside_the_window_pass_the_check(client: AsyncTestClient) -> None:
    """Points 2 days ahead and almost 5 years back pass the time check (the unknown site then 404s)."""
    points = [{"timestamp": _iso(NOW - timedelta(days=5 * 365)), "kwh": 1.0},
              {"timestamp": _iso(NOW + timedelta(days=2) - timedelta(hours=1)), "kwh": 1.0}]
    response = await client.post(f"/v1/sites/{UNKNOWN}/energy-usage", json={"points": points})
    assert response.status_code == 404, response.text


async def test_load_profile_reports_in_whole_wh_with_its_first_hour_and_manual_reports_do_not_overlap(
        energy_client: AsyncTestClient, emulators: dict[str, Any], database_url: str) -> None:
    """A 1.29.0 load profile stamped at period end gives its first hour too; every kWh sent to Volue and
    read back has at most 3 decimals; a manual report for a derived hour is 409 naming it, others pass."""
    client = energy_client
    site_id, meter_id = await _site_with_meter(client)
    quarters = [0.1, 0.2, 0.1, 0.2, 0.7, 0.1, 0.2, 0.1, 0.3, 0.3, 0.3, 0.1]  # three hours, float noise
    items = [{"deviceId": meter_id, "obisCode": "1-0:1.29.0", "timestamp": DAY0 + (n + 1) * 900,
              "value": value} for n, value in enumerate(quarters)]
    response = await client.post("/v1/readings", json={"readings": items})
    assert response.json()["accepted"] == len(items), response.text
    enrolled = await client.put(f"/v1/sites/{site_id}/energy-usage/enrollment", json={"enabled": True})
    assert enrolled.json()["reporting"] is True, enrolled.text

    summary = await derive(database_url)
    assert summary.reports == 1
    await wait_reports_sent(client, summary.report_ids)
    sent = emulators["volue"].state.volue.store.location_energy_usage[site_id]
    assert sent == {DAY0: 0.6, DAY0 + HOUR: 1.1, DAY0 + 2 * HOUR: 1.0}  # the first hour too, exact
    assert max(map(decimals, sent.values())) <= 3
    report = (await client.get(f"/v1/reports/{summary.report_ids[0]}")).json()
    assert [p["kiloWattHours"] for p in report["body"]["payloads"][0]["points"]] == [0.6, 1.1, 1.0]

    usage = (await client.get(f"/v1/sites/{site_id}/energy-usage",
                              params={"from": DAY0, "to": DAY0 + 86_400})).json()["items"]
    assert [(p["kwh"], p["reported"]) for p in usage] == [(0.6, True), (1.1, True), (1.0, True)]
    hourly = (await client.get(f"/v1/devices/{meter_id}/consumption",
                               params={"from": DAY0, "to": DAY0 + 3 * HOUR})).json()["items"]
    assert [h["quantity"] for h in hourly] == [0.6, 1.1, 1.0]
    daily = (await client.get(f"/v1/devices/{meter_id}/consumption",
                              params={"from": DAY0, "to": DAY0 + 86_400, "resolution": "day"})).json()
    assert [d["quantity"] for d in daily["items"]] == [2.7]

    # The next hour's readings: only that hour is derived and sent; no start is inferred mid-series.
    more = [{"deviceId": meter_id, "obisCode": "1-0:1.29.0", "timestamp": DAY0 + 3 * HOUR + (n + 1) * 900,
             "value": 0.1} for n in range(4)]
    assert (await client.post("/v1/readings", json={"readings": more})).json()["accepted"] == 4
    following = await derive(database_url)
    assert (following.reports, following.reported_points) == (1, 1)
    await wait_reports_sent(client, following.report_ids)
    assert sent == {DAY0: 0.6, DAY0 + HOUR: 1.1, DAY0 + 2 * HOUR: 1.0, DAY0 + 3 * HOUR: 0.4}

    # Derived usage covers the first four hours: a manual report naming one of them is refused.
    clash = await client.post(f"/v1/sites/{site_id}/energy-usage", json={"points": [
        {"timestamp": _iso(datetime.fromtimestamp(DAY0 + 2 * HOUR, UTC)), "kwh": 5},
        {"timestamp": _iso(datetime.fromtimestamp(DAY0 + 5 * HOUR, UTC)), "kwh": 5}]})
    assert clash.status_code == 409, clash.text
    assert clash.json()["field"] == "points"
    assert "2023-11-15T02:00Z" in clash.json()["detail"] and "05:00Z" not in clash.json()["detail"]
    later = await client.post(f"/v1/sites/{site_id}/energy-usage", json={"points": [
        {"timestamp": _iso(datetime.fromtimestamp(DAY0 + 5 * HOUR, UTC)), "kwh": 1.23456}]})
    assert later.status_code == 202, later.text
    assert later.json()["body"]["payloads"][0]["points"][0]["kiloWattHours"] == 1.235
    await wait_reports_sent(client, [later.json()["id"]])
    assert sent[DAY0 + 5 * HOUR] == 1.235
