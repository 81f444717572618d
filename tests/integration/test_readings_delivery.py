"""Readings reach Zählerfreunde through the embedded worker: grouped, coalesced, once each."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar.testing import AsyncTestClient

from providers.emulation import FaultPlan
from tests.integration.conftest import wait_synced
from tests.integration.test_readings_api import T0
from tests.integration.test_sync_faults import _all_paths, _tree

ROUTE = "POST /partner/devices/readings"


async def onboard_meters(client: AsyncTestClient, customers: int) -> list[str]:
    """Customers with one meter each, synced at both providers; the meters' ids."""
    batch = {"customers": [_tree(n) for n in range(customers)]}
    created = (await client.post("/v1/customers/batch", json=batch)).json()
    assert created["created"] == customers, created
    ids = [r["customer"]["id"] for r in created["results"]]
    await wait_synced(client, await _all_paths(client, ids), timeout=60)
    meters = []
    for cid in ids:
        site = (await client.get(f"/v1/customers/{cid}/sites")).json()["items"][0]
        devices = (await client.get(f"/v1/sites/{site['id']}/devices")).json()["items"]
        meters += [d["id"] for d in devices if d["kind"] == "meter"]
    return meters


async def wait_delivered(client: AsyncTestClient, meters: list[str], per_meter: int,
                         timeout: float = 60.0) -> None:
    """Poll until every reading of every meter shows delivered."""
    deadline = asyncio.get_running_loop().time() + timeout
    for meter in meters:
        while True:
            cursor: str | None = None
            statuses: list[str] = []
            while True:
                params: dict[str, Any] = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
                page = (await client.get(f"/v1/devices/{meter}/readings", params=params)).json()
                statuses += [r["delivery"]["status"] for r in page["items"]]
                cursor = page["nextCursor"]
                if cursor is None:
                    break
            if len(statuses) == per_meter and set(statuses) == {"delivered"}:
                break
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"meter {meter}: {len(statuses)} readings, {set(statuses)}")
            await asyncio.sleep(0.1)


def readings_requests(emulator: Any) -> int:
    stats = emulator.state.emulation.stats.snapshot({})["requests"]
    return sum(n for status, n in stats.get(ROUTE, {}).items() if status == "200")


async def test_readings_are_delivered_once_in_full_requests_even_with_faults(
    live_client: AsyncTestClient, emulators: dict[str, Any]
) -> None:
    """4 meters x 750 readings go as 3 requests of 1,000; with 5xx/429 faults all arrive exactly once."""
    meters = await onboard_meters(live_client, 4)
    zf = emulators["zf"]

    def items(first: int) -> list[dict[str, Any]]:
        return [{"deviceId": meter, "obisCode": "1.8.0", "timestamp": T0 + n * 900, "value": n / 10}
                for n in range(first, first + 750) for meter in meters]

    response = await live_client.post("/v1/readings", json={"readings": items(0)})
    assert response.json()["accepted"] == 3000, response.text[:500]
    await wait_delivered(live_client, meters, 750)
    assert readings_requests(zf) == 3
    zf.state.emulation.set_faults(FaultPlan(error_rate=0.3, rate_limit_rate=0.1, retry_after_s=0,
                                            seed=3, paths=["/partner/devices/readings"]))
    response = await live_client.post("/v1/readings", json={"readings": items(750)})
    assert response.json()["accepted"] == 3000, response.text[:500]
    await wait_delivered(live_client, meters, 1500)
    state = zf.state.zaehlerfreunde
    assert state.reading_count == 6000
    assert dict(zf.state.emulation.stats.duplicates) == {}
    failures = sum(n for status, n in zf.state.emulation.stats.snapshot({})["requests"][ROUTE].items()
                   if status != "200")
    assert failures > 0, "the fault plan injected nothing"
    by_external = {d.body.externalDeviceId: d for d in state.devices.values()}
    assert all(len(by_external[m].readings) == 1500 for m in meters)


async def test_readings_of_a_new_meter_wait_for_its_device(
    live_client: AsyncTestClient, emulators: dict[str, Any]
) -> None:
    """Readings posted right after the meter was created are sent once its device exists upstream."""
    created = (await live_client.post("/v1/customers", json=_tree(99))).json()
    site = (await live_client.get(f"/v1/customers/{created['id']}/sites")).json()["items"][0]
    meter = next(d["id"] for d in (await live_client.get(f"/v1/sites/{site['id']}/devices")).json()["items"]
                 if d["kind"] == "meter")
    items = [{"deviceId": meter, "obisCode": "1-1:1.8.0", "timestamp": T0 + n, "value": 1.0}
             for n in range(10)]
    assert (await live_client.post("/v1/readings", json={"readings": items})).json()["accepted"] == 10
    await wait_delivered(live_client, [meter], 10, timeout=30)
    assert emulators["zf"].state.zaehlerfreunde.reading_count == 10
