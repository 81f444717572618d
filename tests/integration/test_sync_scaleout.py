"""Scale-out mode: PostgreSQL, Redis and separate `gateway worker` processes."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import redis
from litestar.testing import AsyncTestClient

from gateway.app import create_app
from gateway.core.settings import load_settings
from tests.conftest import ADMIN_KEY, _truncate
from tests.integration.conftest import wait_synced
from tests.integration.test_sync_faults import _all_paths, _tree

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture
def scaleout_env(postgres_url: str, redis_url: str, emulators: dict[str, Any]) -> Iterator[dict[str, str]]:
    asyncio.run(_truncate(postgres_url))
    redis.Redis.from_url(redis_url).flushdb()
    env = {
        **os.environ,
        "GATEWAY_DATABASE_URL": postgres_url,
        "GATEWAY_REDIS_URL": redis_url,
        "GATEWAY_VOLUE_BASE_URL": emulators["volue_url"] + "/energy-coordination/v1",
        "GATEWAY_ZF_BASE_URL": emulators["zf_url"] + "/partner",
        "GATEWAY_SYNC_LEASE_S": "3",
        "GATEWAY_SYNC_BACKOFF_BASE_S": "0.05",
        "GATEWAY_ADMIN_API_KEY": ADMIN_KEY,
    }
    yield env


def start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "gateway.cli", "worker"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.fixture
async def scaleout_client(scaleout_env: dict[str, str]) -> AsyncIterator[AsyncTestClient]:
    settings = load_settings(scaleout_env)
    async with AsyncTestClient(create_app(settings)) as client:
        client.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
        yield client


async def test_worker_process_syncs_and_survives_sigkill_and_redis_flush(
    scaleout_env: dict[str, str], scaleout_client: AsyncTestClient, emulators: dict[str, Any]
) -> None:
    """A worker killed with SIGKILL mid-run plus a Redis flush still ends with everything synced."""
    worker = start_worker(scaleout_env)
    try:
        created = (await scaleout_client.post(
            "/v1/customers/batch", json={"customers": [_tree(n) for n in range(40)]})).json()
        assert created["created"] == 40, created
        store = emulators["volue"].state.volue.store
        for _ in range(400):
            if store.users:
                break
            await asyncio.sleep(0.02)
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        redis.Redis.from_url(scaleout_env["GATEWAY_REDIS_URL"]).flushdb()
        worker = start_worker(scaleout_env)
        ids = [r["customer"]["id"] for r in created["results"]]
        await wait_synced(scaleout_client, await _all_paths(scaleout_client, ids), timeout=60)
        assert len(store.users) == 40 and len(store.resources) == 80
        zf = emulators["zf"].state.zaehlerfreunde
        assert len(zf.spaces) == 40 and len(zf.devices) == 40
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(15)
        except subprocess.TimeoutExpired:
            worker.kill()


async def test_sigterm_hands_in_flight_work_back(
    scaleout_env: dict[str, str], scaleout_client: AsyncTestClient, emulators: dict[str, Any]
) -> None:
    """After SIGTERM no task stays leased to the stopped worker; a new worker finishes the rest."""
    from providers.emulation import FaultPlan

    env = {**scaleout_env, "GATEWAY_SYNC_LEASE_S": "120"}
    for name in ("volue", "zf"):
        emulators[name].state.emulation.set_faults(FaultPlan(latency_ms_min=20, latency_ms_max=60))
    worker = start_worker(env)
    created = (await scaleout_client.post(
        "/v1/customers/batch", json={"customers": [_tree(n) for n in range(30)]})).json()
    await asyncio.sleep(1.5)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(40) is not None
    running = (await scaleout_client.get("/v1/sync/tasks", params={"status": "running"})).json()["items"]
    assert running == []
    for name in ("volue", "zf"):
        emulators[name].state.emulation.set_faults(FaultPlan())
    worker = start_worker(env)
    try:
        ids = [r["customer"]["id"] for r in created["results"]]
        await wait_synced(scaleout_client, await _all_paths(scaleout_client, ids), timeout=60)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(40)
