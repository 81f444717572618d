"""Deletes racing child writes: a customer deleted while its site is changed and devices, a
vehicle and a site are added to it, against the gateway served on loopback (uvicorn) with its
embedded worker and both emulators, so the requests really overlap.

The writes of one customer's tree serialise (the customer's row is locked first, then the site's,
then the device's), so whichever comes second sees the other: a write under a deleted parent
answers 404 and queues nothing, and a delete takes every child committed before it along, with
their untried upserts cancelled. Upstream, nothing of a deleted tree is left behind and nothing
deleted is created again.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select, text, update

from gateway.app import create_app
from gateway.core.clock import utcnow
from gateway.core.domain import Provider
from gateway.core.settings import load_settings
from gateway.customers import locks, writes
from gateway.customers.sync.context import prepare
from gateway.outbox.unit_of_work import unit_of_work
from gateway.store.db import create_engine, session_factory
from gateway.store.tables import OutboxTaskRow, ProviderLinkRow, SiteRow, table_of
from providers.emulation import serve_in_thread
from tests.conftest import ADMIN_KEY

ROUNDS = 20


def _tree(i: int) -> dict[str, Any]:
    return {
        "externalRef": f"race-c{i}", "name": f"Race {i}", "email": f"race{i}@example.com",
        "sites": [{
            "externalRef": f"race-s{i}", "name": f"race{i}-site", "kind": "residential",
            "address": {"line1": "Vei 1", "postcode": "9170", "city": "Longyearbyen", "country": "NO"},
            "coordinates": {"latitude": 78.22, "longitude": 15.63},
            "devices": [{"externalRef": f"race-m{i}", "kind": "meter", "name": "Meter",
                         "medium": "electricity", "isMain": True,
                         "meterPointId": f"7070575000{i:08d}"}],
        }],
    }


@pytest.fixture
async def api(database_url: str, emulators: dict[str, Any]) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the gateway served on loopback, with its embedded worker and the emulators."""
    settings = load_settings(
        {}, database_url=database_url, admin_api_key=ADMIN_KEY,
        volue_base_url=emulators["volue_url"] + "/energy-coordination/v1",
        zf_base_url=emulators["zf_url"] + "/partner", sync_backoff_base_s=0.05,
        sync_backoff_max_s=1.0, events_poll_interval_s=0,
    )
    with serve_in_thread(create_app(settings)) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30.0,
                                     headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as client:
            yield client


class Upstream:
    """Every create and delete the emulators carry out, in order, per record it stands for."""

    def __init__(self, volue: Any, zf: Any) -> None:
        self.history: dict[str, list[str]] = defaultdict(list)
        self._space_keys: dict[str, str] = {}
        self._wrap_zaehlerfreunde(zf)
        self._wrap_volue(volue)

    def _note(self, key: str, what: str) -> None:
        self.history[key].append(what)

    def recreated(self) -> list[str]:
        """The records created upstream again after they were deleted there."""
        return sorted(key for key, events in self.history.items()
                      if "delete" in events and "create" in events[events.index("delete"):])

    def _wrap_zaehlerfreunde(self, zf: Any) -> None:
        create_space, delete_space = zf.create_space, zf.delete_space
        create_device, delete_device = zf.create_device, zf.delete_device

        def space_key(name: str) -> str:
            return "space:" + name.removesuffix("-patched")

        def on_create_space(body: Any) -> Any:
            record = create_space(body)
            self._space_keys[record.id] = space_key(body.name)
            self._note(space_key(body.name), "create")
            return record

        def on_delete_space(space_id: str) -> None:
            delete_space(space_id)
            self._note(self._space_keys.get(space_id, space_id), "delete")

        def on_create_device(space_id: str, body: Any) -> Any:
            record = create_device(space_id, body)
            self._note(f"zf-device:{body.externalDeviceId}", "create")
            return record

        def on_delete_device(device_id: str) -> None:
            ours = zf.devices[device_id].body.externalDeviceId if device_id in zf.devices else device_id
            delete_device(device_id)
            self._note(f"zf-device:{ours}", "delete")

        zf.create_space, zf.delete_space = on_create_space, on_delete_space
        zf.create_device, zf.delete_device = on_create_device, on_delete_device

    def _wrap_volue(self, store: Any) -> None:
        create_users, delete_user = store.create_users, store.delete_user
        insert_location, drop_location = store._insert_location, store._drop_location
        create_resource, delete_resource = store.create_resource, store.delete_resource

        def on_create_users(user_ids: Any) -> Any:
            ids = list(user_ids)
            new = [i for i in ids if i not in store.users]
            answer = create_users(ids)
            for user_id in new:
                self._note(f"volue:{user_id}", "create")
            return answer

        def on_delete_user(user_id: str) -> None:
            held = store.users.get(user_id)
            inside = [*held.locations, *held.resources] if held is not None else []
            delete_user(user_id)
            for key in [user_id, *inside]:
                self._note(f"volue:{key}", "delete")

        def on_insert_location(location: Any) -> None:
            insert_location(location)
            self._note(f"volue:{location.location_id}", "create")

        def on_drop_location(location: Any) -> None:
            inside = list(location.resources)
            drop_location(location)
            for key in [location.location_id, *inside]:
                self._note(f"volue:{key}", "delete")

        def on_create_resource(*args: Any, **kwargs: Any) -> Any:
            resource, new = create_resource(*args, **kwargs)
            if new:
                self._note(f"volue:{resource.resource_id}", "create")
            return resource, new

        def on_delete_resource(resource_id: str) -> None:
            delete_resource(resource_id)
            self._note(f"volue:{resource_id}", "delete")

        wrapped: dict[str, Callable[..., Any]] = {
            "create_users": on_create_users, "delete_user": on_delete_user,
            "_insert_location": on_insert_location, "_drop_location": on_drop_location,
            "create_resource": on_create_resource, "delete_resource": on_delete_resource,
        }
        for name, function in wrapped.items():
            setattr(store, name, function)


async def _race(client: httpx.AsyncClient, i: int, customer: dict[str, Any]) -> dict[str, int]:
    """One round: the customer's delete at the same time as five writes under it."""
    site = customer["sites"][0]
    meter = site["devices"][0]
    writes = {
        "delete customer": client.delete(f"/v1/customers/{customer['id']}"),
        "patch site": client.patch(f"/v1/sites/{site['id']}", json={"name": f"race{i}-site-patched"}),
        "add device": client.post(f"/v1/sites/{site['id']}/devices", json={
            "externalRef": f"race-d{i}", "kind": "hot_water_tank", "name": "Tank"}),
        "patch device": client.patch(f"/v1/devices/{meter['id']}", json={"name": "Meter 2"}),
        "add vehicle": client.post(f"/v1/customers/{customer['id']}/vehicles", json={
            "externalRef": f"race-v{i}", "name": "Car", "brand": "Polestar", "model": "2",
            "year": 2023, "vin": "YSMED1234PE123456"}),
        "add site": client.post(f"/v1/customers/{customer['id']}/sites", json={
            **{k: v for k, v in _tree(i)["sites"][0].items() if k != "devices"},
            "externalRef": f"race-s{i}b", "name": f"race{i}-second"}),
    }
    order = list(writes)
    order.insert(i % len(order), order.pop(0))  # the delete goes first, second ... last in turn
    answers = await asyncio.gather(*(writes[name] for name in order))
    return {name: answer.status_code for name, answer in zip(order, answers, strict=True)}


async def _synced(client: httpx.AsyncClient, path: str) -> None:
    for _ in range(400):
        sync = (await client.get(path)).json()["sync"]
        if sync and all(link["status"] == "synced" for link in sync.values()):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{path} not synced in time: {sync}")


async def _open_tasks(url: str) -> int:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(text(
                "SELECT count(*) FROM outbox_tasks WHERE status IN ('pending', 'running', 'blocked')"
            ))).scalar_one())
    finally:
        await engine.dispose()


ORPHANS = {
    "live sites of deleted customers":
        "SELECT count(*) FROM sites s JOIN customers c ON c.id = s.customer_id "
        "WHERE s.deleted_at IS NULL AND c.deleted_at IS NOT NULL",
    "live devices of deleted customers":
        "SELECT count(*) FROM devices d JOIN customers c ON c.id = d.customer_id "
        "WHERE d.deleted_at IS NULL AND c.deleted_at IS NOT NULL",
    "live devices of deleted sites":
        "SELECT count(*) FROM devices d JOIN sites s ON s.id = d.site_id "
        "WHERE d.deleted_at IS NULL AND s.deleted_at IS NOT NULL",
    "links of deleted records not deleted":
        "SELECT count(*) FROM provider_links l WHERE l.status <> 'deleted' AND ("
        "l.entity_id IN (SELECT id FROM customers WHERE deleted_at IS NOT NULL) OR "
        "l.entity_id IN (SELECT id FROM sites WHERE deleted_at IS NOT NULL) OR "
        "l.entity_id IN (SELECT id FROM devices WHERE deleted_at IS NOT NULL))",
    "tasks that failed":
        "SELECT count(*) FROM outbox_tasks WHERE status = 'dead'",
}


async def test_delete_racing_child_writes_leaves_no_orphans(
        api: httpx.AsyncClient, emulators: dict[str, Any], database_url: str) -> None:
    """20 rounds of a customer's delete against writes under it: no live child under a deleted
    parent, nothing of the deleted trees left upstream, nothing created there again once deleted."""
    upstream = Upstream(emulators["volue"].state.volue.store, emulators["zf"].state.zaehlerfreunde)

    async def one_round(i: int) -> dict[str, int]:
        created = await api.post("/v1/customers", json=_tree(i))
        assert created.status_code == 201, created.text
        customer = created.json()
        if i % 2 == 0:  # half the rounds race a synced tree (updates), half a new one (creates)
            await _synced(api, f"/v1/sites/{customer['sites'][0]['id']}")
        return await _race(api, i, customer)

    outcomes: list[dict[str, int]] = []
    for i in range(0, ROUNDS, 2):  # two rounds at a time, one racing while the other syncs
        outcomes.extend(await asyncio.gather(one_round(i), one_round(i + 1)))
    for outcome in outcomes:
        assert outcome.pop("delete customer") == 200
        assert set(outcome.values()) <= {200, 201, 404}, outcome
    for _ in range(300):
        if not await _open_tasks(database_url):
            break
        await asyncio.sleep(0.05)
    assert await _open_tasks(database_url) == 0

    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            found = {name: int((await conn.execute(text(sql))).scalar_one()) for name, sql in ORPHANS.items()}
    finally:
        await engine.dispose()
    assert found == dict.fromkeys(ORPHANS, 0)

    zf = emulators["zf"].state.zaehlerfreunde
    volue = emulators["volue"].state.volue.store
    assert (list(zf.spaces), list(zf.devices)) == ([], [])
    assert (list(volue.users), list(volue.locations), list(volue.resources)) == ([], [], [])
    assert upstream.recreated() == []
    assert upstream.history, "the emulators saw no creates or deletes at all"


async def test_updates_of_deleted_or_deleting_records_may_not_recreate(
        client: AsyncTestClient, database_url: str) -> None:
    """Preparing an upsert of a record with an upstream id: ``recreate_if_gone`` only while the
    record is live and its link is neither deleting nor deleted."""
    customer = (await client.post("/v1/customers", json=_tree(0))).json()
    site_id = customer["sites"][0]["id"]
    engine = create_engine(database_url)
    sessions = session_factory(engine)
    links = table_of(ProviderLinkRow)
    sites = table_of(SiteRow)

    async def recreate(**changes: Any) -> bool:
        async with sessions() as session:
            for table, key, values in changes.values():
                await session.execute(update(table).where(key).values(**values))
            await session.commit()
            task = OutboxTaskRow(id="t-1", provider=Provider.ZAEHLERFREUNDE.value, entity_type="site",
                                 entity_id=site_id, customer_id=customer["id"], action="upsert",
                                 status="running", attempts=1, run_after=utcnow(), created_at=utcnow(),
                                 updated_at=utcnow())
            prepared = await prepare(session, Provider.ZAEHLERFREUNDE, [task])
            return prepared.operations["t-1"].recreate_if_gone

    zf_link = (links.c.entity_id == site_id) & (links.c.provider == Provider.ZAEHLERFREUNDE.value)
    try:
        assert await recreate(link=(links, zf_link, {"external_id": "space-1", "status": "synced"}))
        assert not await recreate(link=(links, zf_link, {"status": "deleting"}))
        assert not await recreate(link=(links, zf_link, {"status": "deleted"}))
        assert not await recreate(link=(links, zf_link, {"status": "synced"}),
                                  site=(sites, sites.c.id == site_id, {"deleted_at": utcnow()}))
    finally:
        await engine.dispose()


async def test_tree_delete_waits_for_a_link_a_round_holds(client: AsyncTestClient, database_url: str) -> None:
    """A customer's delete whose links another transaction holds (as a round recording its
    results does) waits without holding any link, then deletes the tree and queues its deletes."""
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL's row locks: SQLite's one write lock serialises the round and the delete")
    customer = (await client.post("/v1/customers", json=_tree(1))).json()
    site_id = customer["sites"][0]["id"]
    engine = create_engine(database_url)
    sessions = session_factory(engine)
    links = table_of(ProviderLinkRow)
    try:
        async with sessions() as round_session:
            await round_session.execute(  # a round holding the customer's link, the delete's last
                select(links.c.entity_id).where(links.c.entity_id == customer["id"]).with_for_update())

            async def delete() -> None:
                async with unit_of_work(sessions, None) as uow:
                    row = await locks.lock_customer(uow.session, customer["id"])
                    await writes.delete_customer(uow.session, uow.planner, row, uow.planner.now)

            deleting = asyncio.create_task(delete())
            await asyncio.sleep(1.0)  # time for the delete to go as far as it can
            assert not deleting.done()
            # the delete holds no link meanwhile (not even the meter's, which it changes first):
            # the round can take it too, where it would deadlock with a delete holding it
            meter_id = customer["sites"][0]["devices"][0]["id"]
            await round_session.execute(
                select(links.c.entity_id).where(links.c.entity_id == meter_id).with_for_update())
            await round_session.rollback()
        await asyncio.wait_for(deleting, 10)
        async with sessions() as session:
            deleted = (await session.execute(text(
                "SELECT count(*) FROM sites WHERE id = :id AND deleted_at IS NOT NULL"), {"id": site_id}
            )).scalar_one()
            ending = (await session.execute(text(
                "SELECT count(*) FROM provider_links WHERE entity_id = :id "
                "AND status IN ('deleting', 'deleted')"), {"id": site_id})).scalar_one()
        assert (deleted, ending) == (1, 2)
    finally:
        await engine.dispose()
