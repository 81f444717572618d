"""Drift reconciliation end to end: objects deleted and changed in the emulators are listed by
``gateway reconcile``, marked drifted, and put back by ``--repair`` through the outbox."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from typing import Any

import redis.asyncio
from litestar.testing import AsyncTestClient

from gateway.app import create_app
from gateway.core.settings import load_settings
from gateway.reconcile.schedule import DUE_KEY, SEEN_KEY, due
from providers.volue.schemas import Coordinate, LocationType, PutLocationRequest
from providers.zaehlerfreunde.schemas import NewSpace, UpdateSpace
from tests.conftest import ADMIN_KEY
from tests.integration.conftest import TREE, wait_synced

SITE = TREE["sites"][0]


def _customer(ref: str, *, providers: list[str] | None = None, devices: bool = True) -> dict[str, Any]:
    site = {**SITE, "externalRef": f"{ref}-site", "name": f"Site {ref}",
            "devices": [{"externalRef": f"{ref}-charger", "kind": "charger", "name": "Charger"}]
            if devices else []}
    body: dict[str, Any] = {"externalRef": ref, "name": f"Customer {ref}", "email": f"{ref}@example.com",
                            "sites": [site]}
    if providers is not None:
        body["providers"] = providers
    return body


def _reconcile(emulators: dict[str, Any], database_url: str, *args: str) -> tuple[int, dict[str, Any]]:
    """Run ``gateway reconcile --json`` as an operator would, against the test's database and emulators."""
    env = {**os.environ, "GATEWAY_DATABASE_URL": database_url, "GATEWAY_LOG_LEVEL": "WARNING",
           "GATEWAY_VOLUE_BASE_URL": emulators["volue_url"] + "/energy-coordination/v1",
           "GATEWAY_ZF_BASE_URL": emulators["zf_url"] + "/partner"}
    env.pop("GATEWAY_REDIS_URL", None)
    done = subprocess.run([sys.executable, "-m", "gateway.cli", "reconcile", "--json", *args],
                          capture_output=True, text=True, env=env, timeout=120, check=False)
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, json.loads(done.stdout)


def _found(outcome: dict[str, Any]) -> set[tuple[str, str, str, tuple[str, ...]]]:
    return {(i["drift"], i["entityType"], i["entityId"] or i["externalId"], tuple(i["fields"]))
            for i in outcome["report"]["items"]}


async def _tree(client: AsyncTestClient, body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any],
                                                                         list[dict[str, Any]]]:
    created = await client.post("/v1/customers", json=body)
    assert created.status_code == 201, created.text
    customer = created.json()
    site = (await client.get(f"/v1/customers/{customer['id']}/sites")).json()["items"][0]
    devices = (await client.get(f"/v1/sites/{site['id']}/devices")).json()["items"]
    paths = [f"/v1/customers/{customer['id']}", f"/v1/sites/{site['id']}"]
    await wait_synced(client, paths + [f"/v1/devices/{d['id']}" for d in devices], timeout=30)
    return customer, site, devices


async def test_reconcile_lists_drift_and_repair_restores_it(live_client: AsyncTestClient,
                                                            emulators: dict[str, Any],
                                                            database_url: str) -> None:
    """Deleted and changed upstream objects are listed exactly, marked drifted, and restored by
    --repair (children included), as the emulators' own state shows."""
    a, site_a, devices_a = await _tree(live_client, _customer("a"))
    b, site_b, _ = await _tree(live_client, _customer("b", devices=False))
    c, site_c, _ = await _tree(live_client, _customer("c", providers=["volue"], devices=False))
    charger_a = devices_a[0]
    space_a, space_b = [(await live_client.get(f"/v1/sites/{s['id']}")).json()["sync"]["zaehlerfreunde"]
                        ["externalId"] for s in (site_a, site_b)]
    volue = emulators["volue"].state.volue.store
    zf = emulators["zf"].state.zaehlerfreunde

    clean_code, clean = await asyncio.to_thread(_reconcile, emulators, database_url)
    assert clean_code == 0 and all(not o["report"]["items"] for o in clean.values()), clean

    # Upstream drift made behind the gateway's back, straight in the emulators' state.
    volue.delete_location(a["id"], site_a["id"])        # the location and its tank resource
    volue.replace_location(b["id"], site_b["id"], PutLocationRequest(
        location_id=site_b["id"], location_type=LocationType.RESIDENTIAL,
        coordinates=Coordinate(latitude=60.0, longitude=11.0), meter_point_ids=[]))
    volue.delete_user(c["id"])                         # the user and its location
    zf.delete_space(space_a)                           # the space (and its tank device)
    zf.update_space(space_b, UpdateSpace(name="Renamed upstream"))
    stray = zf.create_space(NewSpace(name="Not ours", addressLineOne="Vei 9", postcode="0150",
                                     city="Oslo", category="HOUSEHOLD"))
    zf_tank = [d for d in (await live_client.get(f"/v1/sites/{site_a['id']}/devices")).json()["items"]
               if d["sync"].get("zaehlerfreunde")]

    code, found = await asyncio.to_thread(_reconcile, emulators, database_url)
    assert code == 1
    assert _found(found["volue"]) == {
        ("missing", "site", site_a["id"], ()), ("missing", "device", charger_a["id"], ()),
        ("differing", "site", site_b["id"], ("coordinates",)),
        ("missing", "customer", c["id"], ()), ("missing", "site", site_c["id"], ()),
    }
    assert _found(found["zaehlerfreunde"]) == {
        ("missing", "site", site_a["id"], ()), ("differing", "site", site_b["id"], ("name",)),
        ("unexpected", "site", stray.id, ()),
        *{("missing", "device", d["id"], ()) for d in zf_tank},
    }
    shown = (await live_client.get(f"/v1/sites/{site_a['id']}")).json()["sync"]
    assert shown["volue"]["status"] == "drifted" and shown["zaehlerfreunde"]["status"] == "drifted"
    metrics = (await live_client.get("/metrics")).text
    assert 'gateway_records_drifted{entity_type="site",provider="volue"} 3.0' in metrics

    code, repaired = await asyncio.to_thread(_reconcile, emulators, database_url, "--repair")
    assert code == 0
    assert repaired["volue"]["repair"]["queued"] == 5
    assert repaired["zaehlerfreunde"]["repair"]["left"][0]["externalId"] == stray.id
    paths = [f"/v1/customers/{x['id']}" for x in (a, b, c)]
    paths += [f"/v1/sites/{s['id']}" for s in (site_a, site_b, site_c)]
    paths += [f"/v1/devices/{d['id']}" for d in devices_a]
    synced = await wait_synced(live_client, paths, timeout=30)

    assert volue.locations[site_a["id"]].coordinates == (78.22, 15.63)
    assert charger_a["id"] in volue.users[a["id"]].resources
    assert volue.locations[site_b["id"]].coordinates == (78.22, 15.63)
    assert c["id"] in volue.users and site_c["id"] in volue.users[c["id"]].locations
    new_space_a = synced[3]["sync"]["zaehlerfreunde"]["externalId"]
    assert new_space_a != space_a and zf.spaces[new_space_a].name == "Site a"
    assert {zf.devices[i].body.externalDeviceId for i in zf.spaces[new_space_a].device_ids} == {
        d["id"] for d in zf_tank}
    assert zf.spaces[space_b].name == "Site b"

    code, after = await asyncio.to_thread(_reconcile, emulators, database_url)
    assert not after["volue"]["report"]["items"]
    assert _found(after["zaehlerfreunde"]) == {("unexpected", "site", stray.id, ())}


async def test_scheduled_run_marks_drift_on_records_and_metrics(database_url: str,
                                                                emulators: dict[str, Any]) -> None:
    """The embedded schedule (GATEWAY_RECONCILE_INTERVAL_S) finds a location deleted upstream: the
    site reads drifted and /metrics counts it, with nothing repaired."""
    settings = load_settings(
        {}, database_url=database_url, admin_api_key=ADMIN_KEY,
        volue_base_url=emulators["volue_url"] + "/energy-coordination/v1",
        zf_base_url=emulators["zf_url"] + "/partner", reconcile_interval_s=1, events_poll_interval_s=0)
    async with AsyncTestClient(create_app(settings)) as client:
        client.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
        customer, site, _ = await _tree(client, _customer("s", providers=["volue"], devices=False))
        emulators["volue"].state.volue.store.delete_location(customer["id"], site["id"])
        for _ in range(200):
            sync = (await client.get(f"/v1/sites/{site['id']}")).json()["sync"]["volue"]
            if sync["status"] == "drifted":
                break
            await asyncio.sleep(0.1)
        assert sync["status"] == "drifted"
        metrics = (await client.get("/metrics")).text
        assert 'gateway_records_drifted{entity_type="site",provider="volue"} 1.0' in metrics
        assert 'gateway_drift_objects{drift="missing",provider="volue"} 1.0' in metrics
        assert site["id"] not in emulators["volue"].state.volue.store.locations


async def test_one_worker_takes_each_scheduled_interval(redis_url: str) -> None:
    """The first interval starts when the schedule is first seen; after it, of workers asking at
    once, one runs the reconciliation; none when the interval is 0."""
    client = redis.asyncio.Redis.from_url(redis_url)
    try:
        await client.delete(DUE_KEY, SEEN_KEY)
        assert not any(await asyncio.gather(*(due(client, 60) for _ in range(3))))
        assert 0 < await client.ttl(DUE_KEY) <= 60
        await client.delete(DUE_KEY)  # the interval has passed
        answers = await asyncio.gather(*(due(client, 60) for _ in range(5)))
        assert sorted(answers) == [False, False, False, False, True]
        await client.delete(DUE_KEY)
        assert not await due(client, 0)
    finally:
        await client.delete(DUE_KEY, SEEN_KEY)
        await client.aclose()
