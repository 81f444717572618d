"""Customers, sites and devices through the API: CRUD, pages, soft deletes, batches, PATCH."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import delete, select, update
from sqlmodel import col

from gateway.store.db import create_engine, session_factory
from gateway.store.tables import OutboxTaskRow, ProviderLinkRow, TaskDependencyRow
from tests.support import ADDRESS, METER_POINT, customer_body, meter_body, site_body

PROBLEM = "application/problem+json"


def meter(ref: str, point: str = METER_POINT) -> dict[str, Any]:
    return meter_body(ref, point, meterNumber="1ESY1161234567")


VEHICLE = {"externalRef": "car-1", "name": "Family car", "brand": "Volvo", "model": "EX30",
           "year": 2024, "vin": "YV1XZK7V9R2000001", "capacity": 69.0}


async def create(client: AsyncTestClient, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/v1/customers", json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def mark_all_synced(database_url: str) -> None:
    """Do what a worker would: finish every open task and mark every link synced."""
    engine = create_engine(database_url)
    now = datetime.now(UTC)
    try:
        async with session_factory(engine)() as session:
            await session.execute(update(OutboxTaskRow).where(
                col(OutboxTaskRow.status) == "pending").values(status="done", updated_at=now))
            await session.execute(delete(TaskDependencyRow))
            await session.execute(update(ProviderLinkRow).values(
                status="synced", external_id=ProviderLinkRow.entity_id, synced_at=now, updated_at=now))
            await session.commit()
    finally:
        await engine.dispose()


async def pending_tasks(database_url: str) -> tuple[list[OutboxTaskRow], set[tuple[str, str]]]:
    """Pending outbox tasks and the (task, depends_on) pairs among all tasks."""
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            tasks = list((await session.execute(
                select(OutboxTaskRow).where(col(OutboxTaskRow.status) == "pending"))).scalars())
            deps = {(d.task_id, d.depends_on)
                    for d in (await session.execute(select(TaskDependencyRow))).scalars()}
            return tasks, deps
    finally:
        await engine.dispose()


async def test_customer_crud(client: AsyncTestClient) -> None:
    """A customer is created, read, listed, updated and deleted through its routes."""
    created = await create(client, {**customer_body("crud-1"), "providers": ["volue"]})
    assert created["externalRef"] == "crud-1"
    assert created["providers"] == ["volue"]
    assert created["deletedAt"] is None
    assert created["createdAt"] == created["updatedAt"]
    assert (created["sites"], created["vehicles"]) == ([], [])
    path = f"/v1/customers/{created['id']}"
    assert (await client.get(path)).json() == {k: v for k, v in created.items()
                                               if k not in ("sites", "vehicles")}
    listed = (await client.get("/v1/customers")).json()
    assert [c["id"] for c in listed["items"]] == [created["id"]]
    assert listed["nextCursor"] is None
    patched = await client.patch(path, json={"email": "ada@lovelace.example"})
    assert patched.status_code == 200
    assert patched.json()["email"] == "ada@lovelace.example"
    assert (await client.get(path)).json()["email"] == "ada@lovelace.example"
    removed = await client.delete(path)
    assert removed.status_code == 200
    assert removed.json()["deletedAt"] is not None


async def test_site_and_device_crud(client: AsyncTestClient) -> None:
    """Sites and devices are added, read, listed, changed and removed under their customer."""
    customer = await create(client, customer_body("crud-2"))
    added = await client.post(f"/v1/customers/{customer['id']}/sites",
                              json=site_body("crud-2-site", meter("crud-2-meter")))
    assert added.status_code == 201, added.text
    site = added.json()
    assert site["customerId"] == customer["id"]
    assert site["category"] == "HOUSEHOLD"
    assert site["coordinates"] == {"latitude": 59.91, "longitude": 10.75}
    created_devices = site.pop("devices")
    assert [d["externalRef"] for d in created_devices] == ["crud-2-meter"]
    assert (await client.get(f"/v1/sites/{site['id']}")).json() == site
    assert [s["id"] for s in (await client.get(f"/v1/customers/{customer['id']}/sites")).json()["items"]] == [
        site["id"]]

    child = await client.post(f"/v1/customers/{customer['id']}/sites",
                              json={**site_body("crud-2-flat"), "parentSiteId": site["id"],
                                    "kind": "other", "category": "FLAT"})
    assert child.status_code == 201, child.text
    assert child.json()["parentSiteId"] == site["id"]
    assert child.json()["category"] == "FLAT"

    devices = (await client.get(f"/v1/sites/{site['id']}/devices")).json()["items"]
    assert [d["externalRef"] for d in devices] == ["crud-2-meter"]
    tank = await client.post(f"/v1/sites/{site['id']}/devices", json={
        "externalRef": "crud-2-tank", "kind": "hot_water_tank", "name": "Tank", "capacity": 200})
    assert tank.status_code == 201, tank.text
    device_path = f"/v1/devices/{tank.json()['id']}"
    assert (await client.get(device_path)).json()["siteId"] == site["id"]
    renamed = await client.patch(device_path, json={"name": "Boiler"})
    assert renamed.json()["name"] == "Boiler"
    assert renamed.json()["capacity"] == 200

    vehicle = await client.post(f"/v1/customers/{customer['id']}/vehicles", json=VEHICLE)
    assert vehicle.status_code == 201, vehicle.text
    assert vehicle.json()["kind"] == "vehicle"
    assert vehicle.json()["siteId"] is None

    assert (await client.delete(device_path)).status_code == 200
    assert (await client.get(device_path)).status_code == 404
    assert [d["externalRef"] for d in (await client.get(f"/v1/sites/{site['id']}/devices")).json()["items"]
            ] == ["crud-2-meter"]
    refused = await client.delete(f"/v1/sites/{site['id']}")
    assert refused.status_code == 409
    assert refused.headers["content-type"].startswith(PROBLEM)
    assert (await client.delete(f"/v1/sites/{child.json()['id']}")).status_code == 200
    assert (await client.delete(f"/v1/sites/{site['id']}")).status_code == 200
    assert (await client.get(f"/v1/customers/{customer['id']}/sites")).json()["items"] == []


async def test_pagination_walk_covers_every_customer_once(client: AsyncTestClient) -> None:
    """Following nextCursor with a small limit visits each live customer exactly once."""
    made = [(await create(client, customer_body(f"page-{i:02d}")))["id"] for i in range(11)]
    gone = made.pop(4)
    assert (await client.delete(f"/v1/customers/{gone}")).status_code == 200
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = await client.get("/v1/customers", params=params)
        assert page.status_code == 200, page.text
        body = page.json()
        assert len(body["items"]) <= 3
        seen.extend(item["id"] for item in body["items"])
        pages += 1
        cursor = body["nextCursor"]
        if cursor is None:
            break
    assert pages == 4
    assert sorted(seen) == sorted(made)
    assert len(seen) == len(set(seen))
    assert seen == sorted(seen)
    exact = (await client.get("/v1/customers", params={"limit": 10})).json()
    assert len(exact["items"]) == 10 and exact["nextCursor"] is None


async def test_external_ref_filter(client: AsyncTestClient) -> None:
    """``externalRef`` narrows the list to the one live customer carrying it."""
    wanted = await create(client, customer_body("filter-a"))
    await create(client, customer_body("filter-b"))
    found = (await client.get("/v1/customers", params={"externalRef": "filter-a"})).json()
    assert [c["id"] for c in found["items"]] == [wanted["id"]]
    assert found["nextCursor"] is None
    none = (await client.get("/v1/customers", params={"externalRef": "filter-zzz"})).json()
    assert none == {"items": [], "nextCursor": None}
    await client.delete(f"/v1/customers/{wanted['id']}")
    assert (await client.get("/v1/customers", params={"externalRef": "filter-a"})).json()[
        "items"] == []


@pytest.mark.parametrize(
    "cursor",
    ["!!!", "zzzz", base64.urlsafe_b64encode(b"hello").decode(), "%%", "a" * 5],
    ids=["symbols", "not-utf8", "not-an-id", "percent", "bad-padding"],
)
async def test_bad_cursor_is_400(client: AsyncTestClient, cursor: str) -> None:
    """A cursor the API did not hand out is a 400 problem naming ``cursor``."""
    await create(client, customer_body("cursor-1"))
    response = await client.get("/v1/customers", params={"cursor": cursor})
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["field"] == "cursor"


async def test_soft_delete_hides_the_tree(client: AsyncTestClient) -> None:
    """After DELETE the customer, its sites and its devices answer 404 and leave the list."""
    customer = await create(client, customer_body("del-1", site_body("del-1-site", meter("del-1-m"))))
    site = (await client.get(f"/v1/customers/{customer['id']}/sites")).json()["items"][0]
    device = (await client.get(f"/v1/sites/{site['id']}/devices")).json()["items"][0]
    removed = (await client.delete(f"/v1/customers/{customer['id']}")).json()
    assert removed["id"] == customer["id"] and removed["deletedAt"]
    for path in (f"/v1/customers/{customer['id']}", f"/v1/sites/{site['id']}",
                 f"/v1/devices/{device['id']}", f"/v1/customers/{customer['id']}/sites",
                 f"/v1/sites/{site['id']}/devices"):
        assert (await client.get(path)).status_code == 404, path
    assert (await client.patch(f"/v1/customers/{customer['id']}", json={"name": "x"})
            ).status_code == 404
    assert (await client.get("/v1/customers")).json()["items"] == []
    again = await create(client, customer_body("del-1", site_body("del-1-site", meter("del-1-m"))))
    assert again["id"] != customer["id"]


async def test_delete_of_synced_tree_queues_deletes_child_first(
    client: AsyncTestClient, database_url: str
) -> None:
    """Deleting a synced customer marks its links deleting and orders deletes device → site → user."""
    customer = await create(client, customer_body(
        "del-2", site_body("del-2-site", meter("del-2-m"),
                           {"externalRef": "del-2-tank", "kind": "hot_water_tank", "name": "Tank"})))
    vehicle = await client.post(f"/v1/customers/{customer['id']}/vehicles", json=VEHICLE)
    assert vehicle.status_code == 201
    await mark_all_synced(database_url)
    site = (await client.get(f"/v1/customers/{customer['id']}/sites")).json()["items"][0]
    devices = {d["externalRef"]: d for d in (await client.get(f"/v1/sites/{site['id']}/devices")
                                             ).json()["items"]}
    assert site["sync"]["volue"]["status"] == "synced"

    removed = (await client.delete(f"/v1/customers/{customer['id']}")).json()
    assert {p: v["status"] for p, v in removed["sync"].items()} == {"volue": "deleting"}

    tasks, deps = await pending_tasks(database_url)
    assert {t.action for t in tasks} == {"delete"}
    by_key = {(t.entity_id, t.provider): t.id for t in tasks}
    tank, meter_id = devices["del-2-tank"]["id"], devices["del-2-m"]["id"]
    assert set(by_key) == {
        (customer["id"], "volue"), (site["id"], "volue"), (tank, "volue"),
        (vehicle.json()["id"], "volue"), (site["id"], "zaehlerfreunde"),
        (meter_id, "zaehlerfreunde"),
    }
    assert (by_key[site["id"], "volue"], by_key[tank, "volue"]) in deps
    assert (by_key[site["id"], "zaehlerfreunde"], by_key[meter_id, "zaehlerfreunde"]) in deps
    for child in (site["id"], tank, vehicle.json()["id"]):
        assert (by_key[customer["id"], "volue"], by_key[child, "volue"]) in deps
    for child_task in (by_key[tank, "volue"], by_key[meter_id, "zaehlerfreunde"]):
        assert not any(task == child_task for task, _ in deps)


async def test_batch_create_reports_each_item(client: AsyncTestClient) -> None:
    """A batch creates the good items and reports each bad one with its status and field."""
    bad_site = site_body("batch-bad-site")
    bad_site["coordinates"]["latitude"] = 95
    items = [
        customer_body("batch-1", site_body("batch-1-site", meter("batch-1-m"))),
        customer_body("batch-2", bad_site),
        {"externalRef": "batch-3", "name": "No email"},
        customer_body("batch-4"),
        customer_body("batch-1"),
        customer_body("batch-6", site_body("batch-1-site")),
        {**customer_body("batch-7"), "surprise": True},
    ]
    response = await client.post("/v1/customers/batch", json={"customers": items})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["created"], body["failed"]) == (2, 5)
    results = body["results"]
    assert [r["index"] for r in results] == list(range(7))
    assert [r["status"] for r in results] == [201, 400, 400, 201, 409, 409, 400]
    fields = [r["error"]["field"] if r.get("error") else None for r in results]
    assert fields == [None, "sites[0].coordinates.latitude", "email", None, "externalRef",
                      "sites[0].externalRef", "surprise"]
    assert results[0]["customer"]["externalRef"] == "batch-1"
    listed = (await client.get("/v1/customers")).json()["items"]
    assert sorted(c["externalRef"] for c in listed) == ["batch-1", "batch-4"]
    sites = (await client.get(f"/v1/customers/{results[0]['customer']['id']}/sites")).json()["items"]
    assert [s["externalRef"] for s in sites] == ["batch-1-site"]


@pytest.mark.parametrize("payload", [{"customers": []}, {"customers": "x"}, {"items": []}, {}],
                         ids=["empty", "not-a-list", "wrong-envelope", "no-envelope"])
async def test_batch_envelope_errors(client: AsyncTestClient, payload: dict[str, Any]) -> None:
    """A batch without a 1..1000 item ``customers`` list is refused as a whole."""
    response = await client.post("/v1/customers/batch", json=payload)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith(PROBLEM)


async def test_patch_changes_only_what_is_sent(client: AsyncTestClient) -> None:
    """Fields left out of a PATCH stay, ``null`` clears an optional field, ``{}`` changes nothing."""
    customer = await create(client, customer_body("patch-1", site_body("patch-1-site",
                                                                       meter("patch-1-m"))))
    path = f"/v1/customers/{customer['id']}"
    unchanged = (await client.patch(path, json={})).json()
    assert unchanged == {k: v for k, v in customer.items() if k not in ("sites", "vehicles")}
    renamed = (await client.patch(path, json={"name": "Augusta Ada King"})).json()
    assert renamed["name"] == "Augusta Ada King"
    assert renamed["email"] == customer["email"] and renamed["externalRef"] == "patch-1"
    assert renamed["updatedAt"] >= customer["updatedAt"]

    site = (await client.get(f"/v1/customers/{customer['id']}/sites")).json()["items"][0]
    site_path = f"/v1/sites/{site['id']}"
    moved = (await client.patch(site_path, json={"address": {**ADDRESS, "line1": "Kirkegata 2"}})
             ).json()
    assert moved["address"]["line1"] == "Kirkegata 2"
    assert moved["coordinates"] == site["coordinates"]
    assert moved["name"] == site["name"]
    cleared = (await client.patch(site_path, json={"coordinates": None})).json()
    assert cleared["coordinates"] is None
    assert cleared["address"]["line1"] == "Kirkegata 2"
    recat = (await client.patch(site_path, json={"kind": "commercial"})).json()
    assert (recat["kind"], recat["category"]) == ("commercial", "COMMERCIAL")
    kept = (await client.patch(site_path, json={"category": "OFFICE"})).json()
    assert kept["category"] == "OFFICE"
    assert (await client.patch(site_path, json={"kind": "residential"})).json()["category"] == "OFFICE"

    device = (await client.get(f"{site_path}/devices")).json()["items"][0]
    device_path = f"/v1/devices/{device['id']}"
    no_number = (await client.patch(device_path, json={"meterNumber": None})).json()
    assert no_number["meterNumber"] is None
    assert no_number["meterPointId"] == device["meterPointId"]
    assert no_number["medium"] == "electricity"
    refused = await client.patch(device_path, json={"medium": None})
    assert refused.status_code == 400
    assert refused.json()["field"] == "medium"
    assert (await client.get(device_path)).json()["medium"] == "electricity"


async def test_patch_external_ref_moves_and_frees_it(client: AsyncTestClient) -> None:
    """Renaming an externalRef frees the old one for a new customer."""
    first = await create(client, customer_body("ref-old"))
    moved = await client.patch(f"/v1/customers/{first['id']}", json={"externalRef": "ref-new"})
    assert moved.json()["externalRef"] == "ref-new"
    assert (await client.patch(f"/v1/customers/{first['id']}", json={"externalRef": "ref-new"})
            ).status_code == 200
    second = await create(client, customer_body("ref-old"))
    assert second["id"] != first["id"]


async def test_unknown_route_and_method_are_problems(client: AsyncTestClient) -> None:
    """Unknown paths and methods answer with problem documents too."""
    missing = await client.get(f"/v1/nothing/{uuid.uuid4()}")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith(PROBLEM)
    wrong = await client.put("/v1/customers", json={})
    assert wrong.status_code == 405
    assert wrong.headers["content-type"].startswith(PROBLEM)
