"""Volue's programme end to end against the emulator: eligibility from events, enrollment
through the outbox, compensation per site with its problems, and leaving."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from gateway.app import create_app
from gateway.core.settings import load_settings
from tests.conftest import ADMIN_KEY
from tests.integration.conftest import wait_synced
from tests.support import eventually

AREA_1 = {"latitude": 79.51913682860402, "longitude": 15.97611317258921}
TRONDHEIM = {"latitude": 63.43, "longitude": 10.39}
MPID = "707057500012340001"
ADDRESS = {"line1": "Vei 1", "postcode": "9170", "city": "Longyearbyen", "country": "NO"}
CUSTOMER = {
    "externalRef": "c-spark",
    "name": "Kari Nordmann",
    "email": "kari@example.com",
    "providers": ["volue"],
    "sites": [
        {"externalRef": "s-metered", "name": "Hytta", "kind": "residential", "address": ADDRESS,
         "coordinates": AREA_1, "devices": [
             {"externalRef": "m-1", "kind": "meter", "name": "Meter", "medium": "electricity",
              "isMain": True, "meterPointId": MPID},
             {"externalRef": "ch-1", "kind": "charger", "name": "Wallbox"}]},
        {"externalRef": "s-bare", "name": "Naust", "kind": "residential", "address": ADDRESS,
         "coordinates": AREA_1},
    ],
}


@pytest.fixture
async def spark_client(database_url: str, emulators: dict[str, Any]) -> AsyncIterator[AsyncTestClient]:
    settings = load_settings(
        {}, database_url=database_url, admin_api_key=ADMIN_KEY,
        volue_base_url=emulators["volue_url"] + "/energy-coordination/v1",
        zf_base_url=emulators["zf_url"] + "/partner", sync_backoff_base_s=0.05,
        sync_backoff_max_s=1.0, events_poll_interval_s=1,
    )
    async with AsyncTestClient(create_app(settings)) as client:
        client.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
        yield client


async def _programme(client: AsyncTestClient, customer_id: str) -> dict[str, Any]:
    body = (await client.get(f"/v1/customers/{customer_id}")).json()
    return dict(body["programmes"]["volue"])


async def _listed(client: AsyncTestClient, eligible: bool) -> list[str]:
    page = (await client.get("/v1/customers", params={"eligible": str(eligible).lower()})).json()
    return [c["id"] for c in page["items"]]


async def test_programme_end_to_end(spark_client: AsyncTestClient, emulators: dict[str, Any]) -> None:
    """Inside a test area a customer becomes eligible by event, enrolls, shows compensation and
    its bare site's problem; moved outside it becomes ineligible, and it can leave."""
    client = spark_client
    created = await client.post("/v1/customers", json=CUSTOMER)
    assert created.status_code == 201, created.text
    customer = created.json()
    cid = customer["id"]
    assert customer["programmes"] == {"volue": {"status": "not_enrolled", "enrolledAt": None,
                                                "eligible": None, "eligibilityCheckedAt": None,
                                                "lastError": None}}
    sites = {s["externalRef"]: s for s in (await client.get(f"/v1/customers/{cid}/sites")).json()["items"]}
    metered, bare = sites["s-metered"], sites["s-bare"]
    await wait_synced(client, [f"/v1/customers/{cid}", f"/v1/sites/{metered['id']}",
                               f"/v1/sites/{bare['id']}"])

    # Eligible by Volue's UserEligibility event (read by the reconciliation poll).
    async def eligible() -> bool:
        return (await _programme(client, cid))["eligible"] is True

    await eventually(eligible, what="eligibility from the event", timeout=30.0)
    assert cid in await _listed(client, True)
    assert cid not in await _listed(client, False)
    checked = (await client.get(f"/v1/meter-points/{MPID}/eligibility")).json()
    assert (checked["meterPointId"], checked["eligible"]) == (MPID, True)

    # Enroll through the outbox.
    queued = await client.put(f"/v1/customers/{cid}/programmes/volue", json={})
    assert queued.status_code == 202, queued.text
    assert queued.json()["status"] == "pending"

    async def enrolled() -> dict[str, Any] | None:
        found = await _programme(client, cid)
        return found if found["status"] == "enrolled" else None

    membership = await eventually(enrolled, what="enrollment", timeout=30.0)
    assert membership["enrolledAt"] is not None
    assert emulators["volue"].state.volue.store.users[cid].enrollment_id is not None

    # Energy reported for the metered site earns compensation; the bare site has a problem.
    usage = await client.post(f"/v1/sites/{metered['id']}/energy-usage", json={"points": [
        {"timestamp": "2025-03-01T00:00:00Z", "kwh": 4.0}]})
    assert usage.status_code == 202, usage.text

    async def sent() -> bool:
        report = (await client.get(f"/v1/reports/{usage.json()['id']}")).json()
        return bool(report["status"] == "sent")

    await eventually(sent, what="the energy-usage report", timeout=30.0)
    compensation = (await client.get(f"/v1/customers/{cid}/programmes/volue/compensation")).json()
    by_site = {s["siteId"]: s for s in compensation["sites"]}
    assert by_site[metered["id"]]["activeAmount"] == pytest.approx(2.0)
    assert (by_site[metered["id"]]["currency"], by_site[metered["id"]]["problems"]) == ("NOK", [])
    # The meter point ids Volue holds (the meter's, on the location), not the site's own (none).
    assert metered["meterPointIds"] == []
    assert by_site[metered["id"]]["meterPointIds"] == [MPID]
    metered_read = (await client.get(f"/v1/sites/{metered['id']}")).json()
    assert metered_read["compensation"]["volue"]["meterPointIds"] == [MPID]
    [problem] = by_site[bare["id"]]["problems"]
    assert problem["kind"] == "MissingMpidOnLocation" and problem["field"] == "meterPointIds"
    assert problem["message"].startswith(f"site {bare['id']} has no meter point id")
    shown = (await client.get(f"/v1/sites/{bare['id']}")).json()["compensation"]["volue"]
    assert shown["problems"] == [problem]
    listed = (await client.get(f"/v1/customers/{cid}/sites")).json()["items"]
    assert [s["compensation"]["volue"]["activeAmount"] for s in listed
            if s["id"] == metered["id"]] == [pytest.approx(2.0)]

    # Moved outside the test areas: ineligible by event, and on demand.
    for site in (metered, bare):
        moved = await client.patch(f"/v1/sites/{site['id']}", json={"coordinates": TRONDHEIM})
        assert moved.status_code == 200, moved.text

    async def ineligible() -> bool:
        return (await _programme(client, cid))["eligible"] is False

    await eventually(ineligible, what="ineligibility from the event", timeout=30.0)
    assert cid in await _listed(client, False)
    assert cid not in await _listed(client, True)
    refreshed = (await client.get(f"/v1/customers/{cid}/programmes/volue/eligibility",
                                  params={"refresh": "true"})).json()
    assert (refreshed["customerId"], refreshed["eligible"]) == (cid, False)

    # Leave.
    left = await client.delete(f"/v1/customers/{cid}/programmes/volue")
    assert left.status_code == 202, left.text

    async def not_enrolled() -> bool:
        return (await _programme(client, cid))["status"] == "not_enrolled"

    await eventually(not_enrolled, what="leaving", timeout=30.0)
    assert emulators["volue"].state.volue.store.users[cid].enrollment_id is None


async def test_enroll_only_if_eligible_leaves_an_ineligible_customer_out(
        spark_client: AsyncTestClient, emulators: dict[str, Any]) -> None:
    """onlyIfEligible asks Volue first: a customer outside the test areas stays not_enrolled, with why."""
    body = {**CUSTOMER, "externalRef": "c-far", "sites": [
        {**CUSTOMER["sites"][1], "externalRef": "s-far", "coordinates": TRONDHEIM}]}  # type: ignore[index]
    created = await spark_client.post("/v1/customers", json=body)
    assert created.status_code == 201, created.text
    cid = created.json()["id"]
    queued = await spark_client.put(f"/v1/customers/{cid}/programmes/volue", json={"onlyIfEligible": True})
    assert queued.status_code == 202, queued.text
    renamed = await spark_client.patch(f"/v1/customers/{cid}", json={"name": "Ola Nordmann"})
    assert renamed.status_code == 200, renamed.text
    tasks = (await spark_client.get("/v1/sync/tasks", params={"provider": "volue"})).json()["items"]
    kinds = {t["entityType"] for t in tasks if t["entityId"] == cid}
    assert "volue_enrollment" not in kinds  # the enrollment task names the membership, not the customer
    assert [t for t in tasks if t["entityType"] == "volue_enrollment"]

    async def settled() -> dict[str, Any] | None:
        found = await _programme(spark_client, cid)
        return found if found["status"] != "pending" else None

    membership = await eventually(settled, what="the enrollment task", timeout=30.0)
    assert (membership["status"], membership["eligible"]) == ("not_enrolled", False)
    assert "not eligible" in membership["lastError"]
    assert emulators["volue"].state.volue.store.users[cid].enrollment_id is None


async def test_programme_routes_refuse_bad_input(spark_client: AsyncTestClient) -> None:
    """A bad meter point id is a 400 naming it; unknown customers 404; a customer not at Volue 409."""
    bad = await spark_client.get("/v1/meter-points/abc/eligibility")
    assert bad.status_code == 400 and bad.json()["field"] == "meterPointId"
    assert bad.headers["content-type"].startswith("application/problem+json")
    missing = await spark_client.put("/v1/customers/00000000-0000-0000-0000-000000000000/programmes/volue",
                                     json={})
    assert missing.status_code == 404
    typo = await spark_client.put("/v1/customers/00000000-0000-0000-0000-000000000000/programmes/volue",
                                  json={"onlyIfEligble": True})
    assert typo.status_code == 400 and typo.json()["field"] == "onlyIfEligble"
    zf = {**CUSTOMER, "externalRef": "c-zf", "providers": ["zaehlerfreunde"], "sites": []}
    created = await spark_client.post("/v1/customers", json=zf)
    refused = await spark_client.put(f"/v1/customers/{created.json()['id']}/programmes/volue", json={})
    assert refused.status_code == 409
    assert created.json()["programmes"] == {}
