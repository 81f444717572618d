"""Reading delivery batches linger open for ``readings_linger_s`` before a worker may claim them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import redis
from arq.connections import RedisSettings, create_pool
from litestar.testing import AsyncTestClient
from sqlalchemy import text

from gateway.app import create_app
from gateway.core.clock import as_utc, utcnow
from gateway.core.settings import load_settings
from gateway.outbox.claim import claim
from gateway.outbox.dispatch import DRAIN_JOB, ArqDispatcher, QueuedTask
from gateway.outbox.queues import READINGS_QUEUE
from gateway.store.db import create_engine, session_factory
from gateway.store.tables import UTC_DATETIME
from tests.conftest import ADMIN_KEY
from tests.integration.test_readings_api import T0, _customer, _item
from tests.integration.test_readings_delivery import onboard_meters

BATCH = 4
LINGER_S = 30.0
"""Long enough that no test here reaches it by waiting: claims are asked with a chosen time."""
ON_POSTGRES = pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
"""Batches stay open (later requests add to them) on PostgreSQL only."""


@pytest.fixture
async def batch_client(database_url: str) -> AsyncIterator[AsyncTestClient]:
    """The API without a worker, batches of four readings, a linger of 30 s."""
    settings = load_settings({}, database_url=database_url, admin_api_key=ADMIN_KEY,
                             readings_batch_size=BATCH, readings_linger_s=LINGER_S)
    async with AsyncTestClient(create_app(settings, embedded_worker=False)) as client:
        client.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
        yield client


async def _meter_without_open_work(client: AsyncTestClient, url: str) -> str:
    """A meter of a Zählerfreunde customer whose entity tasks are done (nothing holds readings back)."""
    meter: str = (await _customer(client))["meter"]["id"]
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text(
            f"UPDATE outbox_tasks SET status = 'done' WHERE provider <> '{READINGS_QUEUE}'"))
    await engine.dispose()
    return meter


async def _post(client: AsyncTestClient, meter: str, start: int, count: int) -> datetime:
    """Post ``count`` readings of ``meter``; the time just before the request."""
    before = utcnow()
    response = await client.post("/v1/readings", json={"readings": [
        _item(meter, T0 + 60 * n) for n in range(start, start + count)]})
    assert response.status_code == 202 and response.json()["accepted"] == count, response.text
    return before


async def _reading_tasks(url: str) -> list[tuple[str, int, datetime, datetime]]:
    """(task id, batch size, run_after, created_at) of every reading task, oldest batch first."""
    engine = create_engine(url)
    async with engine.connect() as conn:
        rows = (await conn.execute(
            text("SELECT t.id, b.size, t.run_after, t.created_at FROM outbox_tasks t "
                 "JOIN reading_batches b ON b.id = t.entity_id "
                 f"WHERE t.provider = '{READINGS_QUEUE}' ORDER BY b.created_at, b.size DESC")
            .columns(run_after=UTC_DATETIME, created_at=UTC_DATETIME))).all()
    await engine.dispose()
    return [(row[0], row[1], as_utc(row[2]), as_utc(row[3])) for row in rows]


async def _claim(url: str, now: datetime) -> list[str]:
    """Ids of the reading tasks a worker claims at ``now``."""
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            tasks = await claim(session, provider=READINGS_QUEUE, now=now, lease_s=60, limit=100,
                                sqlite_lock=asyncio.Lock())
    finally:
        await engine.dispose()
    return [task.id for task in tasks]


async def test_a_new_batch_is_claimed_only_once_its_linger_ends(
        batch_client: AsyncTestClient, database_url: str) -> None:
    """A batch that is not full gets run_after = creation + linger: no claim before, a claim after."""
    meter = await _meter_without_open_work(batch_client, database_url)
    await _post(batch_client, meter, 0, 1)
    [(task_id, size, run_after, created_at)] = await _reading_tasks(database_url)
    assert size == 1
    assert run_after - created_at == timedelta(seconds=LINGER_S)
    assert await _claim(database_url, run_after - timedelta(seconds=0.5)) == []
    assert await _claim(database_url, run_after) == [task_id]


async def test_a_batch_full_when_created_is_claimable_at_once(
        batch_client: AsyncTestClient, database_url: str) -> None:
    """Of a request's five readings, the full batch of four is claimable now, the batch of one lingers."""
    meter = await _meter_without_open_work(batch_client, database_url)
    await _post(batch_client, meter, 0, 5)
    tasks = await _reading_tasks(database_url)
    assert sorted((size, run_after - created_at) for _, size, run_after, created_at in tasks) == [
        (1, timedelta(seconds=LINGER_S)), (4, timedelta(0))]
    full = next(task_id for task_id, size, _, _ in tasks if size == BATCH)
    assert await _claim(database_url, utcnow()) == [full]


@ON_POSTGRES
async def test_a_second_request_within_the_linger_joins_the_batch(
        batch_client: AsyncTestClient, database_url: str) -> None:
    """On PostgreSQL a request during the linger adds to the open batch: one task, still lingering."""
    meter = await _meter_without_open_work(batch_client, database_url)
    await _post(batch_client, meter, 0, 1)
    await _post(batch_client, meter, 1, 2)
    [(task_id, size, run_after, created_at)] = await _reading_tasks(database_url)
    assert size == 3
    assert run_after - created_at == timedelta(seconds=LINGER_S)
    assert await _claim(database_url, utcnow()) == []
    assert await _claim(database_url, run_after) == [task_id]


@ON_POSTGRES
async def test_a_batch_a_request_fills_up_is_claimable_at_once(
        batch_client: AsyncTestClient, database_url: str) -> None:
    """On PostgreSQL the request that fills an open batch makes its task claimable in its transaction."""
    meter = await _meter_without_open_work(batch_client, database_url)
    await _post(batch_client, meter, 0, 1)
    filling = await _post(batch_client, meter, 1, 3)
    [(task_id, size, run_after, _)] = await _reading_tasks(database_url)
    assert size == BATCH
    assert filling <= run_after <= utcnow()
    assert await _claim(database_url, utcnow()) == [task_id]


async def test_the_embedded_worker_delivers_when_the_linger_ends(
        live_client: AsyncTestClient, emulators: dict[str, Any]) -> None:
    """The embedded loop sleeps until the batch's run_after: not delivered before the linger, soon after."""
    linger = live_client.app.state.settings.readings.linger_s
    assert linger > 0
    [meter] = await onboard_meters(live_client, 1)
    state = emulators["zf"].state.zaehlerfreunde
    loop = asyncio.get_running_loop()
    started = loop.time()
    items = [{"deviceId": meter, "obisCode": "1-1:1.8.0", "timestamp": T0 + n, "value": 1.0}
             for n in range(10)]
    assert (await live_client.post("/v1/readings", json={"readings": items})).json()["accepted"] == 10
    while state.reading_count < 10 and loop.time() - started < linger + 10:
        await asyncio.sleep(0.02)
    took = loop.time() - started
    assert state.reading_count == 10
    # Without sleeping until run_after the loop would look again only after its 5 s fallback.
    assert linger <= took < linger + 3.0, took


@pytest.fixture
async def arq_pool(redis_url: str) -> AsyncIterator[Any]:
    """An arq pool on the emptied test Redis database."""
    redis.Redis.from_url(redis_url).flushdb()
    pool = await create_pool(RedisSettings.from_dsn(redis_url))
    yield pool
    await pool.aclose()


async def test_arq_dispatcher_defers_one_job_per_queue_until_the_latest_linger(arq_pool: Any) -> None:
    """Lingering tasks of a flush share one deferred arq job per queue, due at the latest ready_at;
    tasks claimable now (or already due) get the immediate wake-up."""
    dispatcher = ArqDispatcher(arq_pool, coalesce_s=3600)
    try:
        await _notify_and_check(dispatcher, arq_pool)
    finally:
        await dispatcher.close()


async def _notify_and_check(dispatcher: ArqDispatcher, arq_pool: Any) -> None:
    now = utcnow()
    soon, later = now + timedelta(seconds=20), now + timedelta(seconds=40)
    await dispatcher.notify([QueuedTask("t-soon", READINGS_QUEUE, soon),
                             QueuedTask("t-later", READINGS_QUEUE, later),
                             QueuedTask("t-full", READINGS_QUEUE),
                             QueuedTask("t-due", "zaehlerfreunde", now - timedelta(seconds=1))])
    await dispatcher.flush()
    jobs = {job.job_id: job for job in await arq_pool.queued_jobs()}
    assert set(jobs) == {f"linger:{READINGS_QUEUE}:t-later", f"wake:{READINGS_QUEUE}:t-full",
                         "wake:zaehlerfreunde:t-due"}
    deferred = jobs[f"linger:{READINGS_QUEUE}:t-later"]
    assert (deferred.function, deferred.args) == (DRAIN_JOB, (READINGS_QUEUE,))
    assert abs(deferred.score - later.timestamp() * 1000) <= 1
    assert jobs[f"wake:{READINGS_QUEUE}:t-full"].score <= int(utcnow().timestamp() * 1000)
    await dispatcher.notify([QueuedTask("t-next", READINGS_QUEUE, soon)])
    await dispatcher.flush()
    assert f"linger:{READINGS_QUEUE}:t-next" in {job.job_id for job in await arq_pool.queued_jobs()}
