"""100,000 readings for 100 meters through PostgreSQL, Redis and two worker processes, with faults."""

from __future__ import annotations

import asyncio
import signal
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text

from gateway.store.db import create_engine
from providers.emulation import FaultPlan
from tests.integration.test_readings_api import T0
from tests.integration.test_readings_delivery import wait_delivered
from tests.integration.test_sync_faults import _tree
from tests.integration.test_sync_scaleout import (  # noqa: F401  (fixtures)
    scaleout_client,
    scaleout_env,
    start_worker,
)

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
METERS = 100
PER_METER = 1000


async def test_hundred_thousand_readings_arrive_exactly_once_with_faults(
    scaleout_env: dict[str, str], scaleout_client: AsyncTestClient,  # noqa: F811
    emulators: dict[str, Any],
) -> None:
    """Every reading reaches the emulator once (duplicate counter 0) and shows delivered."""
    plan = FaultPlan(latency_ms_min=0, latency_ms_max=20, error_rate=0.15, rate_limit_rate=0.05,
                     retry_after_s=1, seed=11)
    for name in ("volue", "zf"):
        emulators[name].state.emulation.set_faults(plan)
    # A device task makes two calls per attempt, so a fifth of calls failing kills about one in
    # 3,500 device tasks within the default 8 attempts; this test is about exactly-once
    # delivery, not dead letters, so the workers get attempts to spare.
    env = {**scaleout_env, "GATEWAY_SYNC_MAX_ATTEMPTS": "30"}
    workers = [start_worker(env) for _ in range(2)]
    try:
        created = (await scaleout_client.post(
            "/v1/customers/batch", json={"customers": [_tree(n) for n in range(METERS)]})).json()
        assert created["created"] == METERS, created
        meters = []
        for result in created["results"]:
            sites = await scaleout_client.get(f"/v1/customers/{result['customer']['id']}/sites")
            site = sites.json()["items"][0]
            devices = (await scaleout_client.get(f"/v1/sites/{site['id']}/devices")).json()["items"]
            meters += [d["id"] for d in devices if d["kind"] == "meter"]
        assert len(meters) == METERS
        accepted = 0
        for first in range(0, PER_METER, 100):
            items = [{"deviceId": meter, "obisCode": "1-1:1.8.0", "timestamp": T0 + n * 900,
                      "value": n * 0.25} for n in range(first, first + 100) for meter in meters]
            response = await scaleout_client.post("/v1/readings", json={"readings": items})
            assert response.status_code == 202, response.text[:300]
            accepted += response.json()["accepted"]
        assert accepted == METERS * PER_METER
        zf = emulators["zf"]
        deadline = asyncio.get_running_loop().time() + 240
        while zf.state.zaehlerfreunde.reading_count < METERS * PER_METER:
            if asyncio.get_running_loop().time() >= deadline:
                pytest.fail(f"{zf.state.zaehlerfreunde.reading_count} readings arrived; unfinished "
                            f"tasks: {await _unfinished(scaleout_env)}")
            await asyncio.sleep(0.5)
        await wait_delivered(scaleout_client, meters, PER_METER, timeout=60)
        assert zf.state.zaehlerfreunde.reading_count == METERS * PER_METER
        assert dict(zf.state.emulation.stats.duplicates) == {}
        requests = zf.state.emulation.stats.snapshot({})["requests"]["POST /partner/devices/readings"]
        assert sum(n for status, n in requests.items() if status != "200") > 0, "no fault was injected"
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(30)


async def _unfinished(env: dict[str, str]) -> list[tuple[Any, ...]]:
    """Tasks not done, with what they wait for: what a stalled delivery shows."""
    engine = create_engine(env["GATEWAY_DATABASE_URL"])
    async with engine.connect() as conn:
        rows = (await conn.execute(text(
            "SELECT t.provider, t.entity_type, t.status, t.attempts, t.last_error, t.run_after, "
            "t.lease_until, (SELECT string_agg(p.provider || ':' || p.entity_type || ':' || p.status, ',') "
            "FROM task_dependencies d JOIN outbox_tasks p ON p.id = d.depends_on WHERE d.task_id = t.id) "
            "FROM outbox_tasks t WHERE t.status <> 'done' LIMIT 20"))).all()
    await engine.dispose()
    return [tuple(row) for row in rows]
