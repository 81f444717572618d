"""Delivery batches on PostgreSQL: requests top up a customer's largest open batch, never a taken or
locked one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text

from gateway.app import create_app
from gateway.core.settings import load_settings
from gateway.store.db import create_engine, plan_with_values
from tests.conftest import ADMIN_KEY, _truncate
from tests.integration.test_readings_api import T0, _customer, _item, _tasks

pytestmark = pytest.mark.postgres
BATCH = 4


@pytest.fixture
async def pg_client(postgres_url: str) -> AsyncIterator[AsyncTestClient]:
    """The API on an emptied PostgreSQL database with batches of four readings and no worker."""
    await _truncate(postgres_url)
    settings = load_settings({}, database_url=postgres_url, admin_api_key=ADMIN_KEY,
                             readings_batch_size=BATCH)
    async with AsyncTestClient(create_app(settings, embedded_worker=False)) as client:
        client.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
        yield client


async def _post(client: AsyncTestClient, meter: str, start: int, count: int) -> None:
    response = await client.post("/v1/readings", json={"readings": [
        _item(meter, T0 + 60 * n) for n in range(start, start + count)]})
    assert response.status_code == 202 and response.json()["accepted"] == count, response.text


async def _batches(url: str) -> list[tuple[str, int, str]]:
    engine = create_engine(url)
    async with engine.connect() as conn:
        rows = (await conn.execute(text(
            "SELECT b.id, b.size, t.status FROM reading_batches b JOIN outbox_tasks t "
            "ON t.entity_id = b.id ORDER BY b.created_at, b.size DESC"))).all()
    await engine.dispose()
    return [tuple(row) for row in rows]  # type: ignore[misc]


async def test_small_requests_fill_one_batch_before_opening_the_next(
        pg_client: AsyncTestClient, postgres_url: str) -> None:
    """Three requests of 1, 2 and 3 readings make batches of 4 and 2, one task each."""
    meter = (await _customer(pg_client))["meter"]["id"]
    for start, count in ((0, 1), (1, 2), (3, 3)):
        await _post(pg_client, meter, start, count)
    batches = await _batches(postgres_url)
    assert sorted(size for _, size, _ in batches) == [2, 4]
    tasks = await _tasks(pg_client)
    assert sorted(t["entityId"] for t in tasks) == sorted(batch_id for batch_id, _, _ in batches)
    engine = create_engine(postgres_url)
    async with engine.connect() as conn:
        per_batch = dict((await conn.execute(text(
            "SELECT batch_id, COUNT(*) FROM readings GROUP BY batch_id"))).all())
    await engine.dispose()
    assert per_batch == {batch_id: size for batch_id, size, _ in batches}


async def test_a_batch_a_worker_took_is_not_topped_up(pg_client: AsyncTestClient, postgres_url: str) -> None:
    """Once its task is running, a batch takes no more readings: they go into a new batch."""
    meter = (await _customer(pg_client))["meter"]["id"]
    await _post(pg_client, meter, 0, 1)
    engine = create_engine(postgres_url)
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE outbox_tasks SET status = 'running', attempts = 1 "
                                "WHERE provider = 'zf-readings'"))
    await engine.dispose()
    await _post(pg_client, meter, 1, 1)
    assert sorted((size, status) for _, size, status in await _batches(postgres_url)) == [
        (1, "pending"), (1, "running")]


async def test_a_locked_batch_is_skipped_without_waiting(
        pg_client: AsyncTestClient, postgres_url: str) -> None:
    """While another transaction holds the open batch's task, a request opens a new batch at once;
    later a request tops up the largest open batch only, and what does not fit opens a new one."""
    meter = (await _customer(pg_client))["meter"]["id"]
    await _post(pg_client, meter, 0, 1)
    engine = create_engine(postgres_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("SELECT id FROM outbox_tasks WHERE provider = 'zf-readings' FOR UPDATE"))
            await _post(pg_client, meter, 1, 2)
    finally:
        await engine.dispose()
    sizes: list[Any] = sorted(size for _, size, _ in await _batches(postgres_url))
    assert sizes == [1, 2]
    await _post(pg_client, meter, 3, 3)
    assert sorted(size for _, size, _ in await _batches(postgres_url)) == [1, 1, 4]


async def test_a_request_takes_only_the_largest_free_batch(
        pg_client: AsyncTestClient, postgres_url: str) -> None:
    """A request locks one open batch per customer, the largest not locked: with the largest held
    elsewhere it tops up the next one."""
    meter = (await _customer(pg_client))["meter"]["id"]
    await _post(pg_client, meter, 0, 1)
    engine = create_engine(postgres_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("SELECT id FROM outbox_tasks WHERE provider = 'zf-readings' FOR UPDATE"))
            await _post(pg_client, meter, 1, 2)
        [(largest, _, _)] = [batch for batch in await _batches(postgres_url) if batch[1] == 2]
        async with engine.begin() as conn:
            await conn.execute(text("SELECT id FROM outbox_tasks WHERE entity_id = :b FOR UPDATE"),
                               {"b": largest})
            await _post(pg_client, meter, 3, 2)
    finally:
        await engine.dispose()
    assert sorted(size for _, size, _ in await _batches(postgres_url)) == [2, 3]


async def test_planning_with_values_lasts_for_its_transaction_only(postgres_url: str) -> None:
    """``plan_with_values`` switches PostgreSQL to plans made with the statement's values inside
    the transaction; the pooled connection is back to the default after the commit."""
    engine = create_engine(postgres_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            default = (await conn.execute(text("SHOW plan_cache_mode"))).scalar_one()
            await conn.commit()
            await plan_with_values(conn)
            assert (await conn.execute(text("SHOW plan_cache_mode"))).scalar_one() == "force_custom_plan"
            await conn.commit()
            assert (await conn.execute(text("SHOW plan_cache_mode"))).scalar_one() == default
    finally:
        await engine.dispose()
