"""Enrollment against the Volue emulator: reconciliation reads every customer's enrollment back and
repairs the caller's wish; an enrollment waits only on live prerequisites and fails fast otherwise."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from gateway.app import create_app
from gateway.bootstrap import build_adapters
from gateway.core.domain import Provider
from gateway.core.settings import load_settings
from gateway.reconcile.service import ENROLLMENT, compare, record_drift, repair
from gateway.store.db import create_engine, session_factory
from providers.emulation import AnswerMode, FaultPlan
from tests.conftest import ADMIN_KEY
from tests.integration.conftest import wait_synced
from tests.integration.test_programme_e2e import AREA_1, CUSTOMER, TRONDHEIM

ADDRESS = CUSTOMER["sites"][1]["address"]  # type: ignore[index]


def _settings(database_url: str, emulators: dict[str, Any], **extra: Any) -> Any:
    return load_settings(
        {}, database_url=database_url, admin_api_key=ADMIN_KEY,
        volue_base_url=emulators["volue_url"] + "/energy-coordination/v1",
        zf_base_url=emulators["zf_url"] + "/partner", sync_backoff_base_s=0.05,
        sync_backoff_max_s=0.5, events_poll_interval_s=0, **extra)


@pytest.fixture
async def spark_client(database_url: str, emulators: dict[str, Any]) -> AsyncIterator[AsyncTestClient]:
    settings = _settings(database_url, emulators, sync_retry_budget_s=0.0, sync_circuit_failures=1000)
    async with AsyncTestClient(create_app(settings)) as client:
        client.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
        yield client


def _site(ref: str, coordinates: dict[str, float] | None) -> dict[str, Any]:
    site: dict[str, Any] = {"externalRef": ref, "name": ref, "kind": "residential", "address": ADDRESS}
    if coordinates is not None:
        site["coordinates"] = coordinates
    return site


async def _create(client: AsyncTestClient, ref: str, sites: list[dict[str, Any]]) -> str:
    body = {**CUSTOMER, "externalRef": ref, "sites": sites}
    created = await client.post("/v1/customers", json=body)
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def _membership(client: AsyncTestClient, cid: str, *, until: str | None = None,
                      timeout: float = 20.0) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found: dict[str, Any] = (await client.get(f"/v1/customers/{cid}/programmes/volue")).json()
        if until is None or found["status"] == until:
            return found
        assert asyncio.get_running_loop().time() < deadline, f"membership not {until}: {found}"
        await asyncio.sleep(0.05)


async def test_reconcile_reads_enrollments_back_and_repairs_the_wish(
        spark_client: AsyncTestClient, emulators: dict[str, Any], database_url: str) -> None:
    """An enrollment Volue lost and one nobody asked for are drift; the first is enrolled again."""
    client = spark_client
    volue = emulators["volue"].state.volue.store
    wished = await _create(client, "c-wish", [_site("s-wish", AREA_1)])
    other = await _create(client, "c-other", [_site("s-other", AREA_1)])
    await wait_synced(client, [f"/v1/customers/{wished}", f"/v1/customers/{other}"])
    queued = await client.put(f"/v1/customers/{wished}/programmes/volue", json={})
    assert queued.status_code == 202, queued.text
    await _membership(client, wished, until="enrolled")

    volue.leave(wished)   # lost behind the gateway's back
    volue.enroll(other)   # enrolled by someone else
    engine = create_engine(database_url)
    adapters = build_adapters(_settings(database_url, emulators))
    sessions = session_factory(engine)
    try:
        report = await compare(sessions, adapters, Provider.VOLUE)
        found = {(i.entity_type, i.entity_id, tuple(i.fields), (i.expected or {}).get("isEnrolled"))
                 for i in report.items}
        assert found == {(ENROLLMENT, wished, ("isEnrolled",), True),
                         (ENROLLMENT, other, ("isEnrolled",), False)}
        await record_drift(sessions, report)
        lost = await _membership(client, wished)
        assert lost["status"] == "not_enrolled" and "read back" in lost["lastError"]
        assert (await _membership(client, other))["status"] == "enrolled"
        repaired = await repair(sessions, None, report)
        assert (repaired.queued, repaired.records) == (1, [wished])
        await _membership(client, wished, until="enrolled")
        assert volue.users[wished].enrollment_id is not None
        assert volue.users[other].enrollment_id is not None  # nobody's wish: left as Volue holds it
        assert not (await compare(sessions, adapters, Provider.VOLUE)).items
    finally:
        await adapters.aclose()
        await engine.dispose()


async def test_enrollment_does_not_wait_on_a_dead_site_task(spark_client: AsyncTestClient,
                                                            emulators: dict[str, Any]) -> None:
    """A site Volue cannot take (dead task) does not hold the enrollment back: enrolled at once."""
    client = spark_client
    cid = await _create(client, "c-dead-site", [_site("s-good", AREA_1), _site("s-bad", None)])
    sites = {s["externalRef"]: s["id"] for s in
             (await client.get(f"/v1/customers/{cid}/sites")).json()["items"]}
    await wait_synced(client, [f"/v1/customers/{cid}", f"/v1/sites/{sites['s-good']}"])
    tasks = (await client.get("/v1/sync/tasks", params={"entityId": sites["s-bad"]})).json()["items"]
    assert [t["status"] for t in tasks if t["provider"] == "volue"] == ["dead"]
    queued = await client.put(f"/v1/customers/{cid}/programmes/volue", json={})
    assert queued.status_code == 202, queued.text
    await _membership(client, cid, until="enrolled")


async def test_enrollment_fails_fast_when_the_user_task_is_dead(spark_client: AsyncTestClient,
                                                                emulators: dict[str, Any]) -> None:
    """A customer whose user Volue never got: the enrollment fails at once, naming the dead task."""
    client = spark_client
    emulation = emulators["volue"].state.emulation
    emulation.set_faults(FaultPlan(error_rate=1.0, error_statuses=[503],
                                   paths=["/energy-coordination/v1/users"]))
    try:
        cid = await _create(client, "c-dead-user", [_site("s-1", AREA_1)])
        deadline = asyncio.get_running_loop().time() + 20
        while True:
            tasks = (await client.get("/v1/sync/tasks", params={"entityId": cid})).json()["items"]
            dead = [t for t in tasks if t["provider"] == "volue" and t["status"] == "dead"]
            if dead:
                break
            assert asyncio.get_running_loop().time() < deadline, tasks
            await asyncio.sleep(0.05)
    finally:
        emulation.set_faults(FaultPlan())
    answer = await client.put(f"/v1/customers/{cid}/programmes/volue", json={})
    assert answer.status_code == 202, answer.text
    assert answer.json()["status"] == "failed"
    assert dead[0]["id"] in answer.json()["lastError"]
    tasks = (await client.get("/v1/sync/tasks", params={"provider": "volue"})).json()["items"]
    assert not [t for t in tasks if t["entityType"] == "volue_enrollment"]


async def test_only_if_eligible_for_a_known_ineligible_customer_ends_at_once(
        spark_client: AsyncTestClient, emulators: dict[str, Any]) -> None:
    """Known ineligible (asked on demand): onlyIfEligible answers not_enrolled with why, no task queued."""
    client = spark_client
    cid = await _create(client, "c-far", [_site("s-far", TRONDHEIM)])
    await wait_synced(client, [f"/v1/customers/{cid}"])
    checked = await client.get(f"/v1/customers/{cid}/programmes/volue/eligibility",
                               params={"refresh": "true"})
    assert checked.json()["eligible"] is False, checked.text
    answer = await client.put(f"/v1/customers/{cid}/programmes/volue", json={"onlyIfEligible": True})
    assert answer.status_code == 202, answer.text
    assert answer.json()["status"] == "not_enrolled" and "not eligible" in answer.json()["lastError"]
    tasks = (await client.get("/v1/sync/tasks", params={"provider": "volue"})).json()["items"]
    assert not [t for t in tasks if t["entityType"] == "volue_enrollment"]
    assert emulators["volue"].state.volue.store.users[cid].enrollment_id is None


async def test_enrollment_and_compensation_with_volue_minimal_answers(
        spark_client: AsyncTestClient, emulators: dict[str, Any], database_url: str) -> None:
    """With Volue's minimal answers a customer enrolls, reconciles clean, reads compensation, leaves."""
    client = spark_client
    emulation = emulators["volue"].state.emulation
    emulation.answers = AnswerMode(minimal=True)
    engine = create_engine(database_url)
    adapters = build_adapters(_settings(database_url, emulators))
    try:
        cid = await _create(client, "c-minimal", [_site("s-min", AREA_1)])
        await wait_synced(client, [f"/v1/customers/{cid}"])
        queued = await client.put(f"/v1/customers/{cid}/programmes/volue", json={})
        assert queued.status_code == 202, queued.text
        await _membership(client, cid, until="enrolled")
        report = await compare(session_factory(engine), adapters, Provider.VOLUE)
        assert not [i for i in report.items if i.entity_type == ENROLLMENT]
        paid = await client.get(f"/v1/customers/{cid}/programmes/volue/compensation")
        assert paid.status_code == 200, paid.text
        # The document requires no member of a location's compensation: without locationId none
        # can be put on a site, and none is put on the wrong one.
        assert paid.json()["sites"] == []
        left = await client.delete(f"/v1/customers/{cid}/programmes/volue")
        assert left.status_code == 202, left.text
        await _membership(client, cid, until="not_enrolled")
        assert emulators["volue"].state.volue.store.users[cid].enrollment_id is None
    finally:
        emulation.answers = AnswerMode()
        await adapters.aclose()
        await engine.dispose()
