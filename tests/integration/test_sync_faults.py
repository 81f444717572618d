"""The sync engine against misbehaving emulators: everything ends synced, nothing twice."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar.testing import AsyncTestClient

from providers.emulation import FaultPlan
from tests.integration.conftest import TREE, wait_synced
from tests.support import numbered_tree


def _tree(n: int) -> dict[str, Any]:
    return numbered_tree(TREE, "fault", n)


async def _all_paths(client: AsyncTestClient, customer_ids: list[str]) -> list[str]:
    paths = []
    for cid in customer_ids:
        paths.append(f"/v1/customers/{cid}")
        for site in (await client.get(f"/v1/customers/{cid}/sites")).json()["items"]:
            paths.append(f"/v1/sites/{site['id']}")
            devices = (await client.get(f"/v1/sites/{site['id']}/devices")).json()["items"]
            paths += [f"/v1/devices/{d['id']}" for d in devices]
        vehicles = (await client.get(f"/v1/customers/{cid}/vehicles")).json()["items"]
        paths += [f"/v1/devices/{v['id']}" for v in vehicles]
    return paths


async def test_faults_and_token_revocation_end_synced_without_duplicates(
    live_client: AsyncTestClient, emulators: dict[str, Any]
) -> None:
    """20% 5xx, 5% 429, latency and a mid-run token revocation: all synced, zero duplicates."""
    plan = FaultPlan(latency_ms_min=0, latency_ms_max=30, error_rate=0.2, rate_limit_rate=0.05,
                     retry_after_s=1, seed=7)
    for name in ("volue", "zf"):
        emulators[name].state.emulation.set_faults(plan)
    batch = {"customers": [_tree(n) for n in range(15)]}
    created = (await live_client.post("/v1/customers/batch", json=batch)).json()
    assert created["created"] == 15, created
    await asyncio.sleep(0.3)
    for name in ("volue", "zf"):
        emulators[name].state.emulation.tokens.revoke_all()
    ids = [r["customer"]["id"] for r in created["results"]]
    await wait_synced(live_client, await _all_paths(live_client, ids), timeout=90)
    for name in ("volue", "zf"):
        stats = emulators[name].state.emulation.stats
        assert dict(stats.duplicates) == {}, (name, stats.duplicates)
        failures = sum(n for route, by_status in stats.snapshot({})["requests"].items()
                       for status, n in by_status.items() if status in ("500", "502", "503", "429"))
        assert failures > 0, "the fault plan injected nothing"
    store = emulators["volue"].state.volue.store
    assert len(store.users) == 15 and len(store.locations) == 15 and len(store.resources) == 30
    zf = emulators["zf"].state.zaehlerfreunde
    assert len(zf.spaces) == 15 and len(zf.devices) == 15
