"""End to end in embedded mode: API → outbox → in-process worker → emulators."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import text

from gateway.app import create_app
from gateway.core.settings import load_settings
from gateway.store.db import create_engine
from providers.emulation import FaultPlan
from tests.conftest import ADMIN_KEY
from tests.integration.conftest import TREE, wait_synced


async def test_customer_tree_reaches_both_providers(live_client: AsyncTestClient,
                                                    emulators: dict[str, Any]) -> None:
    """User, location with the meter's point id, two resources, a space and a meter device appear."""
    created = (await live_client.post("/v1/customers", json=TREE)).json()
    site = (await live_client.get(f"/v1/customers/{created['id']}/sites")).json()["items"][0]
    devices = (await live_client.get(f"/v1/sites/{site['id']}/devices")).json()["items"]
    paths = [f"/v1/customers/{created['id']}", f"/v1/sites/{site['id']}"]
    paths += [f"/v1/devices/{d['id']}" for d in devices]
    await wait_synced(live_client, paths)
    volue = emulators["volue"].state.volue.store
    zf = emulators["zf"].state.zaehlerfreunde
    assert created["id"] in volue.users and site["id"] in volue.locations
    assert len(zf.spaces) == 1 and len(zf.devices) == 1


async def _tree(client: AsyncTestClient) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    created = (await client.post("/v1/customers", json=TREE)).json()
    site = (await client.get(f"/v1/customers/{created['id']}/sites")).json()["items"][0]
    devices = (await client.get(f"/v1/sites/{site['id']}/devices")).json()["items"]
    return created, site, devices


async def test_upstream_objects_match_the_tree(live_client: AsyncTestClient,
                                               emulators: dict[str, Any]) -> None:
    """Volue gets user, location (with the meter point id) and two resources; ZF a space and a meter."""
    customer, site, devices = await _tree(live_client)
    paths = [f"/v1/customers/{customer['id']}", f"/v1/sites/{site['id']}"]
    paths += [f"/v1/devices/{d['id']}" for d in devices]
    synced = await wait_synced(live_client, paths)
    volue = emulators["volue"].state.volue.store
    zf = emulators["zf"].state.zaehlerfreunde
    assert customer["id"] in volue.users
    location = volue.locations[site["id"]]
    assert location.meter_point_ids == ("707057500012345678",)
    assert len(volue.resources) == 2
    space_id = synced[1]["sync"]["zaehlerfreunde"]["externalId"]
    assert list(zf.spaces) == [space_id]
    meter = next(d for d in devices if d["kind"] == "meter")
    assert [d.body.externalDeviceId for d in zf.devices.values()] == [meter["id"]]
    assert emulators["volue"].state.emulation.stats.duplicates == {}
    assert emulators["zf"].state.emulation.stats.duplicates == {}


async def test_patch_and_delete_reach_upstream(live_client: AsyncTestClient,
                                               emulators: dict[str, Any]) -> None:
    """New coordinates reach Volue's location and ZF's space; a deleted device disappears upstream."""
    _, site, devices = await _tree(live_client)
    site_path = f"/v1/sites/{site['id']}"
    await wait_synced(live_client, [site_path] + [f"/v1/devices/{d['id']}" for d in devices])
    patched = await live_client.patch(site_path, json={
        "coordinates": {"latitude": 79.52, "longitude": 15.97}, "name": "Hytta 2"})
    assert patched.status_code == 200, patched.text
    await wait_synced(live_client, [site_path])
    volue = emulators["volue"].state.volue.store
    zf = emulators["zf"].state.zaehlerfreunde
    assert volue.locations[site["id"]].coordinates == (79.52, 15.97)
    assert [sp.name for sp in zf.spaces.values()] == ["Hytta 2"]
    tank = next(d for d in devices if d["kind"] == "hot_water_tank")
    meter = next(d for d in devices if d["kind"] == "meter")
    assert (await live_client.delete(f"/v1/devices/{tank['id']}")).status_code == 200
    assert (await live_client.delete(f"/v1/devices/{meter['id']}")).status_code == 200
    for _ in range(200):
        if tank["id"] not in volue.resources and not zf.devices:
            break
        await asyncio.sleep(0.05)
    assert tank["id"] not in volue.resources
    assert not zf.devices
    await wait_synced(live_client, [site_path])
    assert volue.locations[site["id"]].meter_point_ids == ()


async def test_rejected_task_dead_letters_and_retry_works(live_client: AsyncTestClient,
                                                          emulators: dict[str, Any]) -> None:
    """A location Volue refuses is dead-lettered with the reason; after a fix, retry syncs it."""
    body = {**TREE, "externalRef": "c-2", "vehicles": [], "sites": [{
        **TREE["sites"][0], "externalRef": "s-2", "coordinates": None, "devices": []}]}
    customer = (await live_client.post("/v1/customers", json=body)).json()
    site = (await live_client.get(f"/v1/customers/{customer['id']}/sites")).json()["items"][0]
    site_path = f"/v1/sites/{site['id']}"
    for _ in range(200):
        sync = (await live_client.get(site_path)).json()["sync"]
        if sync["volue"]["status"] == "failed":
            break
        await asyncio.sleep(0.05)
    assert sync["volue"]["status"] == "failed"
    assert "coordinates" in sync["volue"]["lastError"] or "meterPointIds" in sync["volue"]["lastError"]
    dead = (await live_client.get("/v1/sync/tasks", params={"status": "dead",
                                                            "entityId": site["id"]})).json()["items"]
    assert len(dead) == 1
    await live_client.patch(site_path, json={"coordinates": {"latitude": 60.0, "longitude": 10.0}})
    retried = await live_client.post(f"/v1/sync/tasks/{dead[0]['id']}/retry")
    assert retried.status_code in (200, 409), retried.text
    await wait_synced(live_client, [site_path])
    history = (await live_client.get(f"/v1/customers/{customer['id']}/sync-history")).json()["items"]
    assert any(call["status"] == 201 for call in history)


async def test_shutdown_lets_the_round_in_flight_finish(database_url: str, emulators: dict[str, Any]) -> None:
    """Stopping the app while a Volue round waits on a slow answer: the round completes and records
    its outcome (the task ends done), rather than being cut short and handed back."""
    emulators["volue"].state.emulation.set_faults(FaultPlan(latency_ms_min=1500, latency_ms_max=1500))
    settings = load_settings(
        {}, database_url=database_url, admin_api_key=ADMIN_KEY,
        volue_base_url=emulators["volue_url"] + "/energy-coordination/v1",
        zf_base_url=emulators["zf_url"] + "/partner")
    async with AsyncTestClient(create_app(settings)) as client:
        client.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
        created = (await client.post("/v1/customers", json=TREE)).json()
        await asyncio.sleep(0.5)
    engine = create_engine(database_url)
    async with engine.connect() as conn:
        status = (await conn.execute(text(
            "SELECT status FROM outbox_tasks WHERE provider = 'volue' AND entity_id = :id"),
            {"id": created["id"]})).scalar_one()
    await engine.dispose()
    assert status == "done"
    assert created["id"] in emulators["volue"].state.volue.store.users
