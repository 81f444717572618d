"""Transient failures are retried, not dead-lettered, and an outage is not hammered."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar.testing import AsyncTestClient

from gateway.app import create_app
from gateway.core.settings import load_settings
from gateway.outbox.circuit import REPEATS_SAVED, CircuitState
from gateway.runtime.process import Runtime
from providers.emulation import FaultPlan
from tests.conftest import ADMIN_KEY
from tests.integration.conftest import TREE, wait_synced
from tests.support import numbered_tree


@asynccontextmanager
async def gateway(database_url: str, emulators: dict[str, Any],
                  **overrides: Any) -> AsyncIterator[AsyncTestClient]:
    overrides = {"sync_backoff_base_s": 0.05, "sync_backoff_max_s": 0.5, **overrides}
    settings = load_settings(
        {}, database_url=database_url, admin_api_key=ADMIN_KEY,
        volue_base_url=emulators["volue_url"] + "/energy-coordination/v1",
        zf_base_url=emulators["zf_url"] + "/partner", **overrides,
    )
    async with AsyncTestClient(create_app(settings)) as client:
        client.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
        yield client


def _customers(n: int, tag: str) -> dict[str, Any]:
    return {"customers": [numbered_tree(TREE, tag, i) for i in range(n)]}


async def _site_paths(client: AsyncTestClient, created: dict[str, Any]) -> list[str]:
    paths = []
    for result in created["results"]:
        for site in (await client.get(f"/v1/customers/{result['customer']['id']}/sites")).json()["items"]:
            paths.append(f"/v1/sites/{site['id']}")
            paths += [f"/v1/devices/{d['id']}"
                      for d in (await client.get(f"/v1/sites/{site['id']}/devices")).json()["items"]]
    return paths


def _zf_requests(emulators: dict[str, Any], status: str | None = None) -> int:
    requests = emulators["zf"].state.emulation.stats.snapshot({})["requests"]
    return sum(n for route, by in requests.items() if route != "POST /partner/auth/token"
               for code, n in by.items() if status is None or code == status)


async def _tasks(client: AsyncTestClient, **query: str) -> list[dict[str, Any]]:
    return list((await client.get("/v1/sync/tasks", params={"limit": "1000", **query})).json()["items"])


async def test_an_outage_longer_than_the_old_attempt_budget_ends_synced(
    database_url: str, emulators: dict[str, Any]
) -> None:
    """5 s of 5xx (old budget: 3 attempts), then recovery: all synced, none dead, none spent while open."""
    zf = emulators["zf"].state.emulation
    async with gateway(database_url, emulators, sync_max_attempts=3, sync_circuit_failures=3,
                       sync_circuit_open_s=1.0) as client:
        zf.set_faults(FaultPlan(error_rate=1.0, seed=5, paths=["/partner/spaces"]))
        created = (await client.post("/v1/customers/batch", json=_customers(6, "out"))).json()
        guard = Runtime.of(client.app).worker().guards["zaehlerfreunde"]
        loop = asyncio.get_running_loop()
        seen_open, until = False, loop.time() + 5.0
        while loop.time() < until:
            seen_open = seen_open or guard.state is CircuitState.OPEN
            await asyncio.sleep(0.05)
        failed = _zf_requests(emulators)
        zf.set_faults(FaultPlan())
        await wait_synced(client, await _site_paths(client, created), timeout=60)
        assert seen_open, "the circuit never opened"
        # the first round (6 spaces), the repeats the guard's budget allows and about one probe
        # a second while open, not 6 tasks a round
        assert failed <= 6 + REPEATS_SAVED + 5 / 1.0 + 2, failed
        assert await _tasks(client, status="dead") == []
        assert emulators["zf"].state.zaehlerfreunde.entity_counts()["spaces"] == 6
        assert dict(zf.stats.duplicates) == {}


async def test_a_429_pauses_the_provider_and_spends_no_attempt(
    database_url: str, emulators: dict[str, Any]
) -> None:
    """A 429 with Retry-After: 2 holds the whole provider back two seconds and costs no attempt."""
    zf = emulators["zf"].state.emulation
    async with gateway(database_url, emulators) as client:
        zf.set_faults(FaultPlan(rate_limit_rate=1.0, retry_after_s=2, seed=1, paths=["/partner/spaces"]))
        created = (await client.post("/v1/customers/batch", json=_customers(3, "rl"))).json()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while _zf_requests(emulators, "429") == 0:
            assert loop.time() < deadline, "no 429 was answered"
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.3)
        during = _zf_requests(emulators)
        await asyncio.sleep(1.2)
        assert _zf_requests(emulators) == during, "requests went out while the provider was paused"
        zf.set_faults(FaultPlan())
        await wait_synced(client, await _site_paths(client, created), timeout=30)
        spaces = await _tasks(client, provider="zaehlerfreunde")
        assert spaces and all(t["attempts"] <= 1 for t in spaces), spaces


async def test_an_operator_retry_after_a_timed_out_create_makes_one_space(
    database_url: str, emulators: dict[str, Any]
) -> None:
    """A timed-out space create, dead-lettered and retried by ops, looks for its earlier create: one space."""
    zf = emulators["zf"].state.emulation
    async with gateway(database_url, emulators, upstream_timeout_s=0.3, sync_retry_budget_s=0) as client:
        zf.set_faults(FaultPlan(latency_ms_min=800, latency_ms_max=800, paths=["/partner/spaces"]))
        created = (await client.post("/v1/customers/batch", json=_customers(1, "to"))).json()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20
        while not (dead := await _tasks(client, status="dead", provider="zaehlerfreunde")):
            assert loop.time() < deadline, "the timed-out create was not dead-lettered"
            await asyncio.sleep(0.05)
        assert all(task["attempts"] == 1 for task in dead)
        state = emulators["zf"].state.zaehlerfreunde
        zf.set_faults(FaultPlan())
        for task in dead:
            assert (await client.post(f"/v1/sync/tasks/{task['id']}/retry")).status_code == 200
        await wait_synced(client, await _site_paths(client, created), timeout=30)
        listed = zf.stats.snapshot({})["requests"].get("GET /partner/spaces", {})
        assert listed.get("200", 0) >= 1, "the retried create did not look for the earlier one"
        assert state.entity_counts()["spaces"] == 1
        assert dict(zf.stats.duplicates) == {}


async def test_a_site_renamed_after_an_unanswered_create_keeps_one_space(
    database_url: str, emulators: dict[str, Any]
) -> None:
    """A space create carried out whose answer was lost, then a rename: the retry adopts that space
    (found by the content it was sent with) and renames it, instead of creating a second one."""
    zf = emulators["zf"].state.emulation
    state = emulators["zf"].state.zaehlerfreunde
    async with gateway(database_url, emulators, sync_backoff_base_s=3.0, sync_backoff_max_s=3.0) as client:
        zf.set_faults(FaultPlan(lost_rate=1.0, paths=["/partner/spaces"]))
        created = (await client.post("/v1/customers/batch", json=_customers(1, "lost"))).json()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20
        while state.entity_counts()["spaces"] == 0:
            assert loop.time() < deadline, "the create never reached the emulator"
            await asyncio.sleep(0.02)
        zf.set_faults(FaultPlan())
        site_path = (await _site_paths(client, created))[0]
        renamed = await client.patch(site_path, json={"name": "lost 0 renamed"})
        assert renamed.status_code == 200, renamed.text
        await wait_synced(client, await _site_paths(client, created), timeout=30)
        spaces = [s for s in state.spaces.values()]
        assert [s.name for s in spaces] == ["lost 0 renamed"]
        assert dict(zf.stats.duplicates) == {}


async def test_deleting_a_site_whose_create_went_unanswered_removes_that_space(
    database_url: str, emulators: dict[str, Any]
) -> None:
    """The create is carried out but its answer lost, the task dies, the customer is deleted: the delete
    finds the space by what the create sent and removes it, so nothing is left behind upstream."""
    zf = emulators["zf"].state.emulation
    state = emulators["zf"].state.zaehlerfreunde
    async with gateway(database_url, emulators, sync_retry_budget_s=0) as client:
        zf.set_faults(FaultPlan(lost_rate=1.0, paths=["/partner/spaces"]))
        created = (await client.post("/v1/customers/batch", json=_customers(1, "gone"))).json()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20
        while not await _tasks(client, status="dead", provider="zaehlerfreunde"):
            assert loop.time() < deadline, "the unanswered create was not dead-lettered"
            await asyncio.sleep(0.05)
        assert state.entity_counts()["spaces"] == 1
        zf.set_faults(FaultPlan())
        customer_id = created["results"][0]["customer"]["id"]
        assert (await client.delete(f"/v1/customers/{customer_id}")).status_code in (200, 202, 204)
        deadline = loop.time() + 20
        while state.entity_counts()["spaces"]:
            assert loop.time() < deadline, f"space left behind: {[s.name for s in state.spaces.values()]}"
            await asyncio.sleep(0.05)
        while await _tasks(client, status="pending", provider="zaehlerfreunde"):
            assert loop.time() < deadline, "the delete did not finish"
            await asyncio.sleep(0.05)
        assert not await _tasks(client, status="dead", provider="zaehlerfreunde")
