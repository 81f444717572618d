"""Outbox dependencies end to end: deletes supersede upserts, blocked tasks, cascade resync,
bulk dead-letter retry (API → outbox → in-process worker → emulators)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from litestar.testing import AsyncTestClient

from tests.integration.conftest import TREE, wait_synced
from tests.integration.test_outbox_planning import set_task

NO_PLACE_SITE = {**TREE["sites"][0], "coordinates": None}
"""A site whose Volue location gets its meter point ids only from its meter."""


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def tree(client: AsyncTestClient, ref: str, site: dict[str, Any]) -> tuple[str, str, list[Any]]:
    body = {**TREE, "externalRef": ref, "vehicles": [], "sites": [{**site, "externalRef": f"{ref}-s",
            "devices": [{**d, "externalRef": f"{ref}-{d['externalRef']}"} for d in site["devices"]]}]}
    created = await client.post("/v1/customers", json=body)
    assert created.status_code == 201, created.text
    customer_id = created.json()["id"]
    site_id = (await client.get(f"/v1/customers/{customer_id}/sites")).json()["items"][0]["id"]
    devices = (await client.get(f"/v1/sites/{site_id}/devices")).json()["items"]
    return customer_id, site_id, devices


async def test_delete_after_a_refused_upsert_leaves_nothing_upstream(
        live_client: AsyncTestClient, emulators: dict[str, Any]) -> None:
    """Deleting the meter and then the site at once removes the Volue location, though the
    site upsert the meter delete queued is refused locally."""
    volue = emulators["volue"].state.volue.store
    customer_id, site_id, devices = await tree(live_client, "dep-1", NO_PLACE_SITE)
    await wait_synced(live_client, [f"/v1/sites/{site_id}"] + [f"/v1/devices/{d['id']}" for d in devices])
    assert site_id in volue.locations
    meter = next(d for d in devices if d["kind"] == "meter")
    assert (await live_client.delete(f"/v1/devices/{meter['id']}")).status_code == 200
    assert (await live_client.delete(f"/v1/sites/{site_id}")).status_code == 200

    async def gone() -> bool:
        return site_id not in volue.locations and not volue.resources

    async def settled() -> bool:
        tasks = (await live_client.get("/v1/sync/tasks", params={"entityId": site_id})).json()["items"]
        return all(t["status"] not in ("pending", "running") for t in tasks)

    await until(gone)
    await until(settled)
    tasks = (await live_client.get("/v1/sync/tasks", params={"entityId": site_id})).json()["items"]
    assert {t["status"] for t in tasks if t["action"] == "delete"} == {"done"}
    assert not [t for t in tasks if t["status"] in ("blocked", "dead")]
    assert customer_id in volue.users


async def test_a_task_behind_a_dead_task_is_blocked_with_its_reason(
        live_client: AsyncTestClient, emulators: dict[str, Any]) -> None:
    """The tank under a refused location shows blocked with blockedBy and why, in the API, the task
    list and the metrics; once the location is fixed the tank syncs by itself."""
    site = {**NO_PLACE_SITE, "devices": [d for d in NO_PLACE_SITE["devices"] if d["kind"] != "meter"]}
    _, site_id, devices = await tree(live_client, "dep-2", site)
    tank_path = f"/v1/devices/{devices[0]['id']}"

    async def blocked() -> bool:
        return bool((await live_client.get(tank_path)).json()["sync"]["volue"]["status"] == "blocked")

    await until(blocked)
    dead = (await live_client.get("/v1/sync/tasks",
                                  params={"status": "dead", "entityId": site_id})).json()["items"]
    assert len(dead) == 1
    volue_sync = (await live_client.get(tank_path)).json()["sync"]["volue"]
    assert volue_sync["blockedBy"] == dead[0]["id"]
    assert dead[0]["id"] in volue_sync["blockedReason"] and "is dead" in volue_sync["blockedReason"]
    task = (await live_client.get("/v1/sync/tasks", params={"status": "blocked",
                                                            "entityId": devices[0]["id"]})).json()["items"]
    assert [t["blockedBy"] for t in task] == [dead[0]["id"]]
    metrics = (await live_client.get("/metrics")).text
    assert 'gateway_outbox_tasks{kind="device",provider="volue",status="blocked"} 1.0' in metrics

    fixed = await live_client.patch(f"/v1/sites/{site_id}",
                                    json={"coordinates": {"latitude": 78.2, "longitude": 15.6}})
    assert fixed.status_code == 200, fixed.text
    await wait_synced(live_client, [f"/v1/sites/{site_id}", tank_path])
    assert devices[0]["id"] in emulators["volue"].state.volue.store.resources


async def test_retried_parent_releases_its_blocked_children(
        live_client: AsyncTestClient, emulators: dict[str, Any], database_url: str) -> None:
    """A dead user task blocks the location; retrying it (now accepted) syncs both."""
    customer_id, site_id, _ = await tree(live_client, "dep-3", TREE["sites"][0])
    paths = [f"/v1/customers/{customer_id}", f"/v1/sites/{site_id}"]
    await wait_synced(live_client, paths)
    emulators["volue"].state.volue.store.delete_location(customer_id, site_id)
    user_task = (await live_client.get("/v1/sync/tasks", params={"entityId": customer_id})).json()["items"][0]
    await set_task(database_url, user_task["id"], status="dead", last_error="refused for the test")
    resync = await live_client.post("/v1/sync/resync", json={"entityType": "site", "entityId": site_id,
                                                             "cascade": False})
    assert resync.status_code == 202, resync.text

    async def blocked() -> bool:
        sync = (await live_client.get(paths[1])).json()["sync"]["volue"]
        return bool(sync["status"] == "blocked" and sync["blockedBy"] == user_task["id"])

    await until(blocked)
    retried = await live_client.post(f"/v1/sync/tasks/{user_task['id']}/retry")
    assert retried.status_code == 200, retried.text
    await wait_synced(live_client, paths)
    assert site_id in emulators["volue"].state.volue.store.locations


async def test_cascade_resync_recreates_children_deleted_upstream(
        live_client: AsyncTestClient, emulators: dict[str, Any]) -> None:
    """Resyncing a site whose location (and so its resources) vanished at Volue brings all back."""
    volue = emulators["volue"].state.volue.store
    customer_id, site_id, devices = await tree(live_client, "dep-4", TREE["sites"][0])
    await wait_synced(live_client, [f"/v1/sites/{site_id}"] + [f"/v1/devices/{d['id']}" for d in devices])
    tank = next(d for d in devices if d["kind"] == "hot_water_tank")
    volue.delete_location(customer_id, site_id)
    assert tank["id"] not in volue.resources
    resync = await live_client.post("/v1/sync/resync", json={"entityType": "site", "entityId": site_id})
    assert resync.status_code == 202, resync.text
    assert {t["entityId"] for t in resync.json() if t["provider"] == "volue"} == {site_id, tank["id"]}

    async def back() -> bool:
        return site_id in volue.locations and tank["id"] in volue.resources

    await until(back)
    assert volue.resources[tank["id"]].location_id == site_id


async def test_bulk_retry_sends_dead_tasks_matching_the_filter(
        live_client: AsyncTestClient, database_url: str) -> None:
    """Two refused locations are retried by provider, kind and error text; other filters match none."""
    site = {**NO_PLACE_SITE, "devices": []}
    sites = [(await tree(live_client, f"dep-5{n}", site))[1] for n in range(2)]

    async def both_dead() -> bool:
        dead = (await live_client.get("/v1/sync/tasks", params={"status": "dead"})).json()["items"]
        return {t["entityId"] for t in dead} == set(sites)

    await until(both_dead)
    for miss in ({"kind": "customer"}, {"provider": "zaehlerfreunde"}, {"errorContains": "no such text"},
                 {"deadBefore": "2000-01-01T00:00:00Z"}):
        answer = await live_client.post("/v1/sync/tasks/retry", json=miss)
        assert answer.json() == {"retried": 0, "more": False}, (miss, answer.text)
    answer = await live_client.post("/v1/sync/tasks/retry", json={
        "provider": "volue", "kind": "site", "errorContains": "coordinates", "limit": 1,
        "deadAfter": "2000-01-01T00:00:00Z"})
    assert answer.json() == {"retried": 1, "more": True}, answer.text
    answer = await live_client.post("/v1/sync/tasks/retry", json={"provider": "volue"})
    assert answer.json()["retried"] in (1, 2) and answer.json()["more"] is False
    await until(both_dead)
    attempts = [t["attempts"] for t in (await live_client.get(
        "/v1/sync/tasks", params={"status": "dead"})).json()["items"]]
    assert attempts == [1, 1]


async def test_a_dead_readings_task_can_be_retried(
        live_client: AsyncTestClient, emulators: dict[str, Any], database_url: str) -> None:
    """A dead zf-readings task goes back to pending on retry and its readings are delivered."""
    _, _, devices = await tree(live_client, "dep-6", TREE["sites"][0])
    meter = next(d for d in devices if d["kind"] == "meter")
    await wait_synced(live_client, [f"/v1/devices/{meter['id']}"])
    posted = await live_client.post("/v1/readings", json={"readings": [
        {"deviceId": meter["id"], "obisCode": "1.8.0", "timestamp": 1_700_000_000, "value": 1.5}]})
    assert posted.status_code in (200, 202), posted.text

    async def delivered_task() -> bool:
        tasks = (await live_client.get("/v1/sync/tasks", params={"provider": "zf-readings"})).json()["items"]
        return bool(tasks) and tasks[0]["status"] == "done"

    await until(delivered_task)
    task = (await live_client.get("/v1/sync/tasks", params={"provider": "zf-readings"})).json()["items"][0]
    await set_task(database_url, task["id"], status="dead", last_error="refused for the test")
    retried = await live_client.post(f"/v1/sync/tasks/{task['id']}/retry")
    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] == "pending" and retried.json()["attempts"] == 0
    await until(delivered_task)
