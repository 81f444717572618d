"""Every write leaves exactly the outbox tasks (and task dependencies) its providers need."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import delete, select, update
from sqlmodel import col

from gateway.core.clock import utcnow
from gateway.core.domain import EntityType, Provider
from gateway.outbox.claim import claim
from gateway.outbox.plan import OutboxPlanner
from gateway.store.db import create_engine, session_factory
from gateway.store.tables import DeviceRow, OutboxTaskRow, ProviderLinkRow, TaskDependencyRow

VOLUE, ZF = "volue", "zaehlerfreunde"
ADDRESS = {"line1": "Hauptstraße 5", "postcode": "10115", "city": "Berlin", "country": "DE"}
METER_POINT = "DE0001234567890123456789012345678"


def meter(ref: str, point: str | None = METER_POINT) -> dict[str, Any]:
    return {"externalRef": ref, "kind": "meter", "name": "Main meter", "medium": "electricity",
            "isMain": True, "meterPointId": point}


def tank(ref: str) -> dict[str, Any]:
    return {"externalRef": ref, "kind": "hot_water_tank", "name": "Hot water", "capacity": 300}


def site_body(ref: str, *devices: dict[str, Any]) -> dict[str, Any]:
    return {"externalRef": ref, "name": "Home", "kind": "residential", "address": ADDRESS,
            "coordinates": {"latitude": 52.53, "longitude": 13.38}, "devices": list(devices)}


def vehicle(ref: str) -> dict[str, Any]:
    return {"externalRef": ref, "name": "Car", "brand": "Volvo", "model": "EX30", "year": 2024,
            "vin": "YV1XZK7V9R2000001"}


@dataclass
class Outbox:
    """A snapshot of the outbox and the provider links."""

    tasks: list[OutboxTaskRow]
    deps: set[tuple[str, str]]
    links: dict[tuple[str, str], ProviderLinkRow]

    def open(self, action: str = "upsert") -> Counter[tuple[str, str]]:
        """(entity id, provider) → number of pending tasks with ``action``."""
        return Counter((t.entity_id, t.provider) for t in self.tasks
                       if t.status == "pending" and t.action == action)

    def task(self, entity_id: str, provider: str, status: str = "pending",
             action: str | None = None) -> OutboxTaskRow:
        """The one task of the entity at the provider in ``status`` (and ``action``)."""
        found = [t for t in self.tasks
                 if t.entity_id == entity_id and t.provider == provider and t.status == status
                 and action in (None, t.action)]
        assert len(found) == 1, (entity_id, provider, status, found)
        return found[0]

    def waits_for(self, child: OutboxTaskRow) -> set[str]:
        return {on for task, on in self.deps if task == child.id}


async def outbox(database_url: str) -> Outbox:
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            tasks = list((await session.execute(select(OutboxTaskRow))).scalars())
            deps = {(d.task_id, d.depends_on)
                    for d in (await session.execute(select(TaskDependencyRow))).scalars()}
            links = {(link.entity_id, link.provider): link
                     for link in (await session.execute(select(ProviderLinkRow))).scalars()}
            return Outbox(tasks, deps, links)
    finally:
        await engine.dispose()


async def mark_all_synced(database_url: str, **task_values: Any) -> None:
    """Do what a worker would: finish every pending task and mark every live link synced."""
    engine = create_engine(database_url)
    now = datetime.now(UTC)
    try:
        async with session_factory(engine)() as session:
            await session.execute(update(OutboxTaskRow).where(
                col(OutboxTaskRow.status) == "pending").values(status="done", updated_at=now,
                                                                **task_values))
            await session.execute(delete(TaskDependencyRow))
            await session.execute(update(ProviderLinkRow).where(
                col(ProviderLinkRow.status) == "pending").values(
                status="synced", external_id=ProviderLinkRow.entity_id, synced_at=now,
                updated_at=now))
            await session.commit()
    finally:
        await engine.dispose()


async def set_task(database_url: str, task_id: str, **values: Any) -> None:
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            await session.execute(update(OutboxTaskRow).where(
                col(OutboxTaskRow.id) == task_id).values(**values))
            await session.commit()
    finally:
        await engine.dispose()


async def create_tree(client: AsyncTestClient, database_url: str, ref: str,
                      **extra: Any) -> dict[str, Any]:
    """Customer + site (meter, tank) + vehicle; returns the ids by role."""
    body = {"externalRef": ref, "name": "Emmy Noether", "email": "emmy@example.com",
            "sites": [site_body(f"{ref}-site", meter(f"{ref}-meter"), tank(f"{ref}-tank"))],
            "vehicles": [vehicle(f"{ref}-car")], **extra}
    response = await client.post("/v1/customers", json=body)
    assert response.status_code == 201, response.text
    customer = response.json()
    site = (await client.get(f"/v1/customers/{customer['id']}/sites")).json()["items"][0]
    listed = (await client.get(f"/v1/sites/{site['id']}/devices")).json()["items"]
    devices = {d["kind"]: d["id"] for d in listed}
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            car = (await session.execute(select(col(DeviceRow.id)).where(
                col(DeviceRow.customer_id) == customer["id"], col(DeviceRow.kind) == "vehicle"))
                   ).scalar_one()
    finally:
        await engine.dispose()
    return {"customer": customer["id"], "site": site["id"], "meter": devices["meter"],
            "tank": devices["hot_water_tank"], "car": car}


async def test_customer_tree_plans_parent_first(client: AsyncTestClient, database_url: str) -> None:
    """Volue gets user, location and two resources; Zählerfreunde a space and its meter device."""
    ids = await create_tree(client, database_url, "plan-1")
    box = await outbox(database_url)
    assert box.open() == Counter({
        (ids["customer"], VOLUE): 1, (ids["site"], VOLUE): 1, (ids["tank"], VOLUE): 1,
        (ids["car"], VOLUE): 1, (ids["site"], ZF): 1, (ids["meter"], ZF): 1,
    })
    assert all(t.attempts == 0 and t.customer_id == ids["customer"] for t in box.tasks)
    user = box.task(ids["customer"], VOLUE)
    location = box.task(ids["site"], VOLUE)
    space = box.task(ids["site"], ZF)
    assert box.waits_for(user) == set()
    assert box.waits_for(location) == {user.id}
    assert box.waits_for(box.task(ids["tank"], VOLUE)) == {location.id}
    assert box.waits_for(box.task(ids["car"], VOLUE)) == {user.id}
    assert box.waits_for(space) == set()
    assert box.waits_for(box.task(ids["meter"], ZF)) == {space.id}
    assert {(t.entity_id, t.entity_type) for t in box.tasks} == {
        (ids["customer"], "customer"), (ids["site"], "site"), (ids["tank"], "device"),
        (ids["car"], "device"), (ids["meter"], "device")}
    assert {key: link.status for key, link in box.links.items()} == {
        key: "pending" for key in box.open()}


async def test_only_enrolled_providers_get_work(client: AsyncTestClient, database_url: str) -> None:
    """A customer enrolled at Zählerfreunde only leaves no Volue tasks or links."""
    ids = await create_tree(client, database_url, "plan-zf", providers=[ZF])
    box = await outbox(database_url)
    assert box.open() == Counter({(ids["site"], ZF): 1, (ids["meter"], ZF): 1})
    assert {provider for _, provider in box.links} == {ZF}


async def test_patch_while_pending_does_not_queue_twice(
    client: AsyncTestClient, database_url: str
) -> None:
    """Changes to an entity whose upsert is still pending add no second upsert."""
    ids = await create_tree(client, database_url, "plan-2")
    before = await outbox(database_url)
    site_path = f"/v1/sites/{ids['site']}"
    assert (await client.patch(site_path, json={"name": "Cottage"})).status_code == 200
    assert (await client.patch(site_path, json={"meterPointIds": [METER_POINT]})).status_code == 200
    assert (await client.patch(f"/v1/devices/{ids['meter']}", json={"name": "M2"})).status_code == 200
    after = await outbox(database_url)
    assert after.open() == before.open()
    assert len(after.tasks) == len(before.tasks)


async def test_a_waiting_upsert_relied_on_is_not_claimed_before_the_change_commits(
    client: AsyncTestClient, database_url: str
) -> None:
    """A change that leaves its sending to the entity's pending upsert holds that task until it
    commits: a worker's claim in between skips it and takes it after (so it reads the change)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL's row lock: on SQLite the claim waits for the write's database lock")
    ids = await create_tree(client, database_url, "plan-lock")
    engine = create_engine(database_url)
    sessions = session_factory(engine)

    async def claim_customer_task() -> list[str]:
        async with sessions() as worker:
            tasks = await claim(worker, provider=VOLUE, now=utcnow(), lease_s=30.0, limit=50,
                                sqlite_lock=asyncio.Lock())
            await worker.commit()
        return [t.id for t in tasks if t.entity_id == ids["customer"]]

    try:
        async with sessions() as changing:
            planner = OutboxPlanner(changing, utcnow())
            await planner.upsert(provider=Provider.VOLUE, entity_type=EntityType.CUSTOMER,
                                 entity_id=ids["customer"], customer_id=ids["customer"],
                                 parent_id=None)
            assert planner.created == []
            assert await claim_customer_task() == []
            await changing.commit()
        assert len(await claim_customer_task()) == 1
    finally:
        await engine.dispose()


async def test_patch_after_sync_queues_one_upsert_per_provider(
    client: AsyncTestClient, database_url: str
) -> None:
    """Once synced, a site change queues one fresh upsert at each provider holding the site."""
    ids = await create_tree(client, database_url, "plan-3")
    await mark_all_synced(database_url)
    response = await client.patch(f"/v1/sites/{ids['site']}", json={"name": "Cottage"})
    assert {p: s["status"] for p, s in response.json()["sync"].items()} == {
        VOLUE: "pending", ZF: "pending"}
    await client.patch(f"/v1/sites/{ids['site']}", json={"name": "Cabin"})
    box = await outbox(database_url)
    assert box.open() == Counter({(ids["site"], VOLUE): 1, (ids["site"], ZF): 1})
    assert box.deps == set()


async def test_customer_name_change_needs_no_upstream_work(
    client: AsyncTestClient, database_url: str
) -> None:
    """Volue users carry only their id: renaming a synced customer queues nothing."""
    ids = await create_tree(client, database_url, "plan-4")
    await mark_all_synced(database_url)
    patched = await client.patch(f"/v1/customers/{ids['customer']}",
                                 json={"name": "E. Noether", "email": "noether@example.com"})
    assert patched.status_code == 200
    assert (await outbox(database_url)).open() == Counter()


async def test_deleting_never_sent_entities_cancels_their_tasks(
    client: AsyncTestClient, database_url: str
) -> None:
    """A delete before the first send cancels the pending upsert and marks the link deleted."""
    ids = await create_tree(client, database_url, "plan-5")
    assert (await client.delete(f"/v1/devices/{ids['meter']}")).status_code == 200
    box = await outbox(database_url)
    assert box.task(ids["meter"], ZF, status="cancelled").action == "upsert"
    assert box.links[ids["meter"], ZF].status == "deleted"
    assert box.open("delete") == Counter()
    assert box.open()[ids["site"], VOLUE] == 1

    removed = await client.delete(f"/v1/customers/{ids['customer']}")
    assert {p: s["status"] for p, s in removed.json()["sync"].items()} == {VOLUE: "deleted"}
    box = await outbox(database_url)
    assert {t.status for t in box.tasks} == {"cancelled"}
    assert {link.status for link in box.links.values()} == {"deleted"}
    assert box.deps == set()


async def test_delete_after_an_attempt_waits_for_the_upsert(
    client: AsyncTestClient, database_url: str
) -> None:
    """An upsert that was tried may have reached the provider: the delete is queued behind it."""
    ids = await create_tree(client, database_url, "plan-6")
    box = await outbox(database_url)
    tank_upsert = box.task(ids["tank"], VOLUE)
    await set_task(database_url, tank_upsert.id, attempts=1, last_error="timeout")
    assert (await client.delete(f"/v1/devices/{ids['tank']}")).status_code == 200
    box = await outbox(database_url)
    delete_task = next(t for t in box.tasks if t.entity_id == ids["tank"] and t.action == "delete")
    assert box.waits_for(delete_task) == {tank_upsert.id}
    assert box.links[ids["tank"], VOLUE].status == "deleting"
    assert box.task(ids["tank"], VOLUE, action="upsert").id == tank_upsert.id


async def test_a_delete_cancels_the_upsert_queued_last_even_when_its_write_began_first(
    client: AsyncTestClient, database_url: str
) -> None:
    """A write that waited for the tree's lock queues its upsert behind a running one with an
    earlier ``created_at`` (its transaction began first); a delete after it still cancels that
    upsert and waits only for the running one, so the two never run side by side."""
    ids = await create_tree(client, database_url, "plan-lock-order")
    await mark_all_synced(database_url)
    engine = create_engine(database_url)
    sessions = session_factory(engine)
    began_first = utcnow()

    async def plan(now: datetime, action: str) -> list[OutboxTaskRow]:
        async with sessions() as session:
            planner = OutboxPlanner(session, now)
            step = planner.upsert if action == "upsert" else planner.delete
            extra = {"parent_id": ids["customer"]} if action == "upsert" else {}
            await step(provider=Provider.VOLUE, entity_type=EntityType.SITE, entity_id=ids["site"],
                       customer_id=ids["customer"], **extra)
            await session.commit()
            return planner.created

    try:
        (running,) = await plan(utcnow(), "upsert")
        await set_task(database_url, running.id, status="running", attempts=1)
        (waiting,) = await plan(began_first, "upsert")
        assert waiting.created_at < running.created_at
        (deleting,) = await plan(utcnow(), "delete")
    finally:
        await engine.dispose()
    box = await outbox(database_url)
    assert box.task(ids["site"], VOLUE, status="cancelled").id == waiting.id
    assert box.waits_for(box.task(ids["site"], VOLUE, action="delete")) == {running.id}
    assert deleting.action == "delete"


async def test_meter_writes_requeue_the_volue_site(
    client: AsyncTestClient, database_url: str
) -> None:
    """Adding, changing or removing a meter re-sends the Volue location that lists its ids."""
    ids = await create_tree(client, database_url, "plan-7")
    await mark_all_synced(database_url)
    added = await client.post(f"/v1/sites/{ids['site']}/devices",
                              json=meter("plan-7-meter-2", "707057500012345678"))
    assert added.status_code == 201, added.text
    new_meter = added.json()["id"]
    box = await outbox(database_url)
    assert box.open() == Counter({(new_meter, ZF): 1, (ids["site"], VOLUE): 1})
    assert box.deps == set()

    await mark_all_synced(database_url)
    await client.patch(f"/v1/devices/{new_meter}", json={"meterPointId": "707057500087654321"})
    assert (await outbox(database_url)).open() == Counter({(new_meter, ZF): 1,
                                                          (ids["site"], VOLUE): 1})

    await mark_all_synced(database_url)
    await client.delete(f"/v1/devices/{new_meter}")
    box = await outbox(database_url)
    assert box.open() == Counter({(ids["site"], VOLUE): 1})
    assert box.open("delete") == Counter({(new_meter, ZF): 1})

    await mark_all_synced(database_url)
    await client.patch(f"/v1/devices/{ids['tank']}", json={"name": "Boiler"})
    assert (await outbox(database_url)).open() == Counter({(ids["tank"], VOLUE): 1})


async def test_new_upsert_supersedes_a_dead_task(
    client: AsyncTestClient, database_url: str
) -> None:
    """A change to an entity whose task died replaces it; its dependants wait for the new task."""
    ids = await create_tree(client, database_url, "plan-8")
    box = await outbox(database_url)
    location = box.task(ids["site"], VOLUE)
    tank_task = box.task(ids["tank"], VOLUE)
    await set_task(database_url, location.id, status="dead", attempts=8, last_error="HTTP 400")
    await client.patch(f"/v1/sites/{ids['site']}", json={"name": "Cottage"})
    box = await outbox(database_url)
    assert box.task(ids["site"], VOLUE, status="superseded").id == location.id
    successor = box.task(ids["site"], VOLUE)
    assert successor.id != location.id
    assert box.waits_for(tank_task) == {successor.id}
    assert box.waits_for(successor) == {box.task(ids["customer"], VOLUE).id}


async def test_enrolment_changes_plan_the_whole_tree(
    client: AsyncTestClient, database_url: str
) -> None:
    """Joining a provider sends the tree there; leaving one deletes it there, children first."""
    ids = await create_tree(client, database_url, "plan-9", providers=[VOLUE])
    await mark_all_synced(database_url)
    joined = await client.patch(f"/v1/customers/{ids['customer']}", json={"providers": [VOLUE, ZF]})
    assert joined.status_code == 200
    box = await outbox(database_url)
    assert box.open() == Counter({(ids["site"], ZF): 1, (ids["meter"], ZF): 1})
    assert box.waits_for(box.task(ids["meter"], ZF)) == {box.task(ids["site"], ZF).id}

    await mark_all_synced(database_url)
    left = await client.patch(f"/v1/customers/{ids['customer']}", json={"providers": [ZF]})
    assert left.json()["sync"][VOLUE]["status"] == "deleting"
    box = await outbox(database_url)
    assert box.open() == Counter()
    deletes = box.open("delete")
    assert deletes == Counter({(ids["customer"], VOLUE): 1, (ids["site"], VOLUE): 1,
                               (ids["tank"], VOLUE): 1, (ids["car"], VOLUE): 1})
    user_delete = box.task(ids["customer"], VOLUE)
    location_delete = box.task(ids["site"], VOLUE)
    assert box.waits_for(location_delete) == {box.task(ids["tank"], VOLUE).id}
    assert box.waits_for(user_delete) == {location_delete.id, box.task(ids["tank"], VOLUE).id,
                                          box.task(ids["car"], VOLUE).id}
    assert box.links[ids["site"], ZF].status == "synced"
