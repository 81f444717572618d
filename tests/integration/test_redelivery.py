"""Re-delivery is bounded: what a provider took is recorded at once, so a worker that stops
mid-round sends again at most what it had in flight, and never an invite or report it sent."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from gateway.app import create_app
from gateway.bootstrap import build_adapters, build_kinds
from gateway.core.clock import utcnow
from gateway.core.domain import Provider
from gateway.core.settings import Settings, load_settings
from gateway.invites.delivery import INVITE_ENTITY
from gateway.outbox.claim import claim, release_lapsed, renew_leases
from gateway.outbox.engine import RoundResult, SyncEngine
from gateway.outbox.queues import READINGS_QUEUE
from gateway.reports.delivery import REPORT_KIND
from gateway.store.db import create_engine, session_factory
from tests.conftest import ADMIN_KEY
from tests.integration.test_readings_api import T0
from tests.integration.test_readings_delivery import ROUTE, readings_requests, wait_delivered
from tests.integration.test_sync_faults import _tree

BATCH = 100
CONCURRENCY = 2
READINGS = 1000


@pytest.fixture
async def manual(database_url: str,
                 emulators: dict[str, Any]) -> AsyncIterator[tuple[AsyncTestClient, SyncEngine]]:
    """The API without its embedded worker, and a sync engine the test drives itself."""
    settings: Settings = load_settings(
        {}, database_url=database_url, admin_api_key=ADMIN_KEY,
        volue_base_url=emulators["volue_url"] + "/energy-coordination/v1",
        zf_base_url=emulators["zf_url"] + "/partner", readings_batch_size=BATCH,
        readings_concurrency=CONCURRENCY,
    )
    async with AsyncTestClient(create_app(settings, embedded_worker=False)) as client:
        client.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
        # Its own database engine: the app's connections belong to the app's event loop.
        database = create_engine(database_url)
        engine = SyncEngine(sessions=session_factory(database), adapters=build_adapters(settings),
                            settings=settings, kinds=build_kinds(settings))
        try:
            yield client, engine
        finally:
            await engine.adapters.aclose()
            await database.dispose()


async def drain_all(engine: SyncEngine) -> None:
    """Run every queue until none has ready work."""
    while sum([await engine.drain(queue) for queue in engine.queues]):
        pass


async def die_after_run(engine: SyncEngine, queue: str, entity_type: str) -> None:
    """Claim the queue's ready tasks and run those of ``entity_type`` without finishing the round,
    as a worker killed after its upstream calls would; then let their leases lapse."""
    async with engine.sessions() as session:
        tasks = await claim(session, provider=queue, now=utcnow(), lease_s=engine.settings.sync.lease_s,
                            limit=10, sqlite_lock=asyncio.Lock())
    results = [RoundResult(task) for task in tasks if task.entity_type == entity_type]
    assert results, f"no ready {entity_type} task on {queue}"
    await engine.kinds[entity_type].run(engine, results)
    assert all(r.outcome is not None for r in results), [r.error for r in results]
    later = utcnow() + timedelta(seconds=engine.settings.sync.lease_s + 1)
    async with engine.sessions() as session:
        assert queue in await release_lapsed(session, now=later)


async def onboarded_site(client: AsyncTestClient, engine: SyncEngine) -> tuple[dict[str, Any], str]:
    """A customer's site synced at both providers, and the id of its meter."""
    customer = (await client.post("/v1/customers", json=_tree(0))).json()
    await drain_all(engine)
    site = (await client.get(f"/v1/customers/{customer['id']}/sites")).json()["items"][0]
    assert {v["status"] for v in site["sync"].values()} == {"synced"}, site
    devices = (await client.get(f"/v1/sites/{site['id']}/devices")).json()["items"]
    return site, next(d["id"] for d in devices if d["kind"] == "meter")


async def test_a_round_stopped_mid_delivery_resends_at_most_its_requests_in_flight(
    manual: tuple[AsyncTestClient, SyncEngine], emulators: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Cancelled after Zählerfreunde stored its 4th request, the round's delivered requests are
    not sent again: duplicates stay within readings_concurrency requests."""
    client, engine = manual
    _, meter = await onboarded_site(client, engine)
    items = [{"deviceId": meter, "obisCode": "1-1:1.8.0", "timestamp": T0 + n * 900, "value": n / 4}
             for n in range(READINGS)]
    assert (await client.post("/v1/readings", json={"readings": items})).json()["accepted"] == READINGS
    zf = emulators["zf"].state.zaehlerfreunde
    loop = asyncio.get_running_loop()
    delivery = asyncio.create_task(engine.drain(READINGS_QUEUE))
    stored = 0
    store_readings = zf.store_readings

    def store_then_stop(batch: Any) -> int:
        nonlocal stored
        added: int = store_readings(batch)
        stored += 1
        if stored == 4:
            loop.call_soon_threadsafe(delivery.cancel)
        return added

    monkeypatch.setattr(zf, "store_readings", store_then_stop)
    with pytest.raises(asyncio.CancelledError):
        await delivery
    assert stored < READINGS // BATCH, "the round ended before it was stopped"
    await drain_all(engine)
    await wait_delivered(client, [meter], READINGS, timeout=10)
    assert zf.reading_count == READINGS
    duplicates = emulators["zf"].state.emulation.stats.duplicates.get("reading", 0)
    assert duplicates <= CONCURRENCY * BATCH
    assert readings_requests(emulators["zf"]) <= READINGS // BATCH + CONCURRENCY, ROUTE


async def test_an_invite_sent_before_the_worker_died_is_not_sent_again(
    manual: tuple[AsyncTestClient, SyncEngine], emulators: dict[str, Any],
) -> None:
    """The link is stored right after Zählerfreunde answered, so the next attempt sends nothing."""
    client, engine = manual
    site, _ = await onboarded_site(client, engine)
    invite = (await client.post(f"/v1/sites/{site['id']}/invites", json={})).json()
    await die_after_run(engine, Provider.ZAEHLERFREUNDE.value, INVITE_ENTITY)
    await drain_all(engine)
    sent = (await client.get(f"/v1/invites/{invite['id']}")).json()
    zf = emulators["zf"].state
    assert sent["status"] == "sent"
    assert [i.link for i in zf.zaehlerfreunde.invites.values()] == [sent["inviteLink"]]
    assert "invite" not in zf.emulation.stats.duplicates


async def test_a_report_sent_before_the_worker_died_is_not_sent_again(
    manual: tuple[AsyncTestClient, SyncEngine], emulators: dict[str, Any],
) -> None:
    """The report is marked sent right after Volue answered, so the next attempt sends nothing."""
    client, engine = manual
    site, _ = await onboarded_site(client, engine)
    points = [{"timestamp": "2025-03-01T00:00:00Z", "kwh": 1.25}]
    queued = (await client.post(f"/v1/sites/{site['id']}/energy-usage", json={"points": points})).json()
    await die_after_run(engine, Provider.VOLUE.value, REPORT_KIND)
    await drain_all(engine)
    report = (await client.get(f"/v1/reports/{queued['id']}")).json()
    volue = emulators["volue"].state
    assert report["status"] == "sent"
    assert list(volue.volue.store.reports) == [report["volueReportId"]]
    assert "report" not in volue.emulation.stats.duplicates


async def test_a_report_whose_lease_lapsed_before_its_turn_is_not_sent(
    manual: tuple[AsyncTestClient, SyncEngine], emulators: dict[str, Any],
) -> None:
    """A round that reaches a report after the task's lease ran out leaves it to the next holder:
    nothing reaches Volue from the stale round, and the next round sends it once."""
    client, engine = manual
    site, _ = await onboarded_site(client, engine)
    points = [{"timestamp": "2025-03-01T00:00:00Z", "kwh": 1.25}]
    queued = (await client.post(f"/v1/sites/{site['id']}/energy-usage", json={"points": points})).json()
    async with engine.sessions() as session:
        # A lease that has already run out, as after a round slower than its lease.
        tasks = await claim(session, provider=Provider.VOLUE.value, now=utcnow(), lease_s=-1.0,
                            limit=10, sqlite_lock=asyncio.Lock())
    results = [RoundResult(task) for task in tasks if task.entity_type == REPORT_KIND]
    assert results
    await engine.kinds[REPORT_KIND].run(engine, results)
    volue = emulators["volue"].state
    assert all(r.outcome is None and r.error is not None for r in results)
    assert list(volue.volue.store.reports) == []
    async with engine.sessions() as session:
        await release_lapsed(session, now=utcnow())
    await drain_all(engine)
    report = (await client.get(f"/v1/reports/{queued['id']}")).json()
    assert report["status"] == "sent"
    assert list(volue.volue.store.reports) == [report["volueReportId"]]


async def test_the_round_that_creates_a_meter_wakes_the_readings_waiting_for_it(
    manual: tuple[AsyncTestClient, SyncEngine],
) -> None:
    """Readings queued behind their meter's device task: the Zählerfreunde round that creates the
    device asks for the readings queue to be woken, rather than leaving it to the periodic look."""
    client, engine = manual
    woken: list[str] = []

    async def wake(queue: str, when: datetime) -> None:
        woken.append(queue)

    engine.on_retry = wake
    customer = (await client.post("/v1/customers", json=_tree(0))).json()
    site = (await client.get(f"/v1/customers/{customer['id']}/sites")).json()["items"][0]
    devices = (await client.get(f"/v1/sites/{site['id']}/devices")).json()["items"]
    meter = next(d["id"] for d in devices if d["kind"] == "meter")
    items = [{"deviceId": meter, "obisCode": "1-1:1.8.0", "timestamp": T0, "value": 1.0}]
    assert (await client.post("/v1/readings", json={"readings": items})).json()["accepted"] == 1
    while await engine.drain("zaehlerfreunde"):
        pass
    assert READINGS_QUEUE in woken


async def test_customers_created_before_the_worker_died_are_not_created_again(
    manual: tuple[AsyncTestClient, SyncEngine], emulators: dict[str, Any],
) -> None:
    """Volue carried out a users batch, then the worker died before recording it: once the
    lease lapses the users are read first, not created a second time."""
    client, engine = manual
    batch = {"customers": [{**_tree(n), "sites": [], "vehicles": []} for n in range(3)]}
    created = await client.post("/v1/customers/batch", json=batch)
    assert created.json()["created"] == 3, created.text
    await die_after_run(engine, Provider.VOLUE.value, "customer")
    await drain_all(engine)
    volue = emulators["volue"].state
    assert len(volue.volue.store.users) == 3
    assert dict(volue.emulation.stats.duplicates) == {}


async def test_renewing_a_rounds_leases_skips_tasks_another_worker_claimed_since(
        manual: tuple[AsyncTestClient, SyncEngine]) -> None:
    """The round's heartbeat extends the leases of the tasks it still holds (same attempt, still
    running) in one statement, and not of a task whose lease lapsed and was claimed again."""
    client, engine = manual
    for i in range(3):
        assert (await client.post("/v1/customers", json=_tree(f"lease-{i}"))).status_code == 201
    lease_s = engine.settings.sync.lease_s
    async with engine.sessions() as session:
        tasks = await claim(session, provider=Provider.VOLUE.value, now=utcnow(), lease_s=lease_s,
                            limit=500, sqlite_lock=asyncio.Lock())
    assert len(tasks) >= 3
    async with engine.sessions() as session:
        assert await renew_leases(session, tasks, now=utcnow(), lease_s=lease_s) == {t.id for t in tasks}
    later = utcnow() + timedelta(seconds=lease_s * 2 + 1)
    async with engine.sessions() as session:
        await release_lapsed(session, now=later)
    async with engine.sessions() as session:
        again = await claim(session, provider=Provider.VOLUE.value, now=later, lease_s=lease_s,
                            limit=1, sqlite_lock=asyncio.Lock())
    assert len(again) == 1
    async with engine.sessions() as session:
        renewed = await renew_leases(session, tasks, now=later, lease_s=lease_s)
    assert renewed == set()  # every lease lapsed: back to pending, one claimed by another worker
    async with engine.sessions() as session:
        mine = await renew_leases(session, again, now=later, lease_s=lease_s)
        stale = [task for task in tasks if task.id == again[0].id]
        assert await renew_leases(session, stale, now=later, lease_s=lease_s) == set()
    assert mine == {again[0].id}
