"""Days of 15-minute register readings for 100 meters, through PostgreSQL, Redis and a worker
process: the Volue emulator ends with one current LocationEnergyUsage point per hour per location,
equal to the readings; a late reading sends exactly one corrected report.

Size: GATEWAY_TEST_ENERGY_METERS (100) meters × GATEWAY_TEST_ENERGY_DAYS days: 7 by default, to
stay near a minute; GATEWAY_TEST_ENERGY_DAYS=30 runs the full month (about two minutes).
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from tests.integration.test_sync_faults import _tree
from tests.integration.test_sync_scaleout import (  # noqa: F401  (fixtures)
    scaleout_client,
    scaleout_env,
    start_worker,
)
from tests.support import eventually

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
METERS = int(os.environ.get("GATEWAY_TEST_ENERGY_METERS", "100"))
DAYS = int(os.environ.get("GATEWAY_TEST_ENERGY_DAYS", "7"))
DAY0 = 1_700_006_400  # 2023-11-15T00:00:00Z
HOUR = 3600
QUARTER = 900
LATE = DAY0 + (DAYS // 2) * 86_400 + 5 * HOUR
"""An hour boundary whose reading every meter sends only at the end."""


def _series(n: int) -> dict[int, float]:
    rng = random.Random(n)
    value = 1000.0 * n
    out = {}
    for q in range(DAYS * 96):
        out[DAY0 + q * QUARTER] = value
        value += rng.uniform(0.0, 0.6)
    return out


def _at(values: dict[int, float], ts: int) -> float:
    if ts in values:
        return values[ts]
    return (values[ts - QUARTER] + values[ts + QUARTER]) / 2


async def test_readings_become_one_current_point_per_hour_per_location_and_one_correction(
    scaleout_env: dict[str, str], scaleout_client: AsyncTestClient,  # noqa: F811
    emulators: dict[str, Any],
) -> None:
    """Every location holds exactly its hours, each posted once and equal to the readings; a late
    reading adds exactly one report, which corrects the two hours it changes."""
    # The default lease: the shared set-up's 3 s lease lapses while a round still sends its
    # reports one after another, and another drain would send the rest again.
    env = {**scaleout_env, "GATEWAY_ENERGY_DERIVE_INTERVAL_S": "1", "GATEWAY_SYNC_LEASE_S": "60"}
    worker = start_worker(env)
    client = scaleout_client
    try:
        bodies = []
        for n in range(METERS):
            body = _tree(n)
            body["providers"] = ["volue"]
            body["sites"][0]["devices"][0]["meterPointId"] = f"7070575000{n:08d}"
            bodies.append(body)
        created = (await client.post("/v1/customers/batch", json={"customers": bodies})).json()
        assert created["created"] == METERS, created
        sites: dict[str, str] = {}  # meter → site
        for result in created["results"]:
            site = (await client.get(f"/v1/customers/{result['customer']['id']}/sites")).json()["items"][0]
            devices = (await client.get(f"/v1/sites/{site['id']}/devices")).json()["items"]
            (meter,) = [d["id"] for d in devices if d["kind"] == "meter"]
            sites[meter] = site["id"]
            enrolled = await client.put(f"/v1/sites/{site['id']}/energy-usage/enrollment",
                                        json={"enabled": True})
            assert enrolled.status_code == 200, enrolled.text
        series = {meter: _series(n) for n, meter in enumerate(sites)}
        batch: list[dict[str, Any]] = []
        for meter, values in series.items():
            for ts, value in values.items():
                if ts != LATE:
                    batch.append({"deviceId": meter, "obisCode": "1-0:1.8.0*255", "timestamp": ts,
                                  "value": value})
                if len(batch) == 10_000:
                    response = await client.post("/v1/readings", json={"readings": batch})
                    assert response.json()["accepted"] == len(batch), response.text[:300]
                    batch = []
        if batch:
            response = await client.post("/v1/readings", json={"readings": batch})
            assert response.json()["accepted"] == len(batch), response.text[:300]

        store = emulators["volue"].state.volue.store
        hours = list(range(DAY0, DAY0 + (DAYS * 24 - 1) * HOUR, HOUR))

        def complete() -> bool:
            usage = store.location_energy_usage
            return all(len(usage.get(site, ())) == len(hours) for site in sites.values())

        await eventually(complete, what="every hour of every location at Volue", timeout=240, interval=0.25)
        for meter, site in sites.items():
            points = store.location_energy_usage[site]
            assert sorted(points) == hours
            values = series[meter]
            expected = {
                start: (_at(values, start + HOUR) if start + HOUR != LATE else
                        (values[LATE - QUARTER] + values[LATE + QUARTER]) / 2)
                - (_at(values, start) if start != LATE else
                   (values[LATE - QUARTER] + values[LATE + QUARTER]) / 2)
                for start in hours
            }
            assert points == {start: pytest.approx(kwh, abs=5e-4) for start, kwh in expected.items()}
        assert set(store.location_energy_postings.values()) == {1}
        reports_before = len(store.reports)

        # The reading at LATE arrives late, for the first meter only.
        meter, site = next(iter(sites.items()))
        values = series[meter]
        response = await client.post("/v1/readings", json={"readings": [
            {"deviceId": meter, "obisCode": "1-0:1.8.0*255", "timestamp": LATE, "value": values[LATE]}]})
        assert response.json()["accepted"] == 1
        points = store.location_energy_usage[site]
        await eventually(lambda: points[LATE] == pytest.approx(values[LATE + HOUR] - values[LATE], abs=5e-4),
                         what="the corrected hours", timeout=60, interval=0.25)
        await asyncio.sleep(12)  # another derivation round or more: nothing else is sent
        assert len(store.reports) == reports_before + 1
        assert points[LATE - HOUR] == pytest.approx(values[LATE] - values[LATE - HOUR], abs=5e-4)
        again = {key for key, count in store.location_energy_postings.items() if count > 1}
        assert again == {(site, LATE - HOUR), (site, LATE)}
        usage = (await client.get(f"/v1/sites/{site}/energy-usage",
                                  params={"from": LATE - HOUR, "to": LATE + HOUR})).json()["items"]
        assert [(p["kwh"], p["reported"]) for p in usage] == [
            (pytest.approx(points[LATE - HOUR]), True), (pytest.approx(points[LATE]), True)]
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(30)
