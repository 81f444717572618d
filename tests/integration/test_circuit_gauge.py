"""Circuits shared by workers: a worker's gauge follows the circuit it adopted, open and closed,
and an API process without a worker reads them from Redis."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from gateway.bootstrap import build_adapters
from gateway.core.settings import load_settings
from gateway.observability.metrics import REGISTRY
from gateway.outbox.circuit import ProviderGuard, SharedCircuits
from gateway.outbox.engine import SyncEngine
from gateway.store.db import create_engine, session_factory
from providers.base import TransientError
from tests.conftest import ADMIN_KEY


def _gauge() -> float | None:
    return REGISTRY.get_sample_value("gateway_provider_circuit_state", {"provider": "volue"})


@pytest.mark.redis
async def test_the_gauge_resets_when_another_workers_probe_closes_the_circuit(
        database_url: str, redis_url: str, emulators: dict[str, Any]) -> None:
    """A worker that adopted another's open circuit shows 2 (open) at once, and 0 (closed) as soon
    as it learns that the other's probe closed it, without a round of its own."""
    import redis.asyncio as aioredis

    settings = load_settings({}, database_url=database_url, admin_api_key=ADMIN_KEY,
                             volue_base_url=emulators["volue_url"] + "/energy-coordination/v1",
                             zf_base_url=emulators["zf_url"] + "/partner")
    client: Any = aioredis.Redis.from_url(redis_url)
    prefix = f"gateway:circuit:test:{uuid.uuid4().hex}"
    database = create_engine(database_url)
    engine = SyncEngine(sessions=session_factory(database), adapters=build_adapters(settings),
                        settings=settings, shared=SharedCircuits(client, prefix=prefix))
    other = ProviderGuard(failures_to_open=2, open_s=5.0, concurrency=4)
    others = SharedCircuits(client, prefix=prefix)
    try:
        assert _gauge() == 0
        for _ in range(2):
            other.failed(time.monotonic(), TransientError("down", status=503, route="/users"))
        await others.publish("volue", other)
        assert await engine.held_back_s("volue") > 0
        assert _gauge() == 2
        other.open_until = time.monotonic()
        assert other.claim_limit(time.monotonic(), 10) == 1
        other.succeeded(time.monotonic())
        await others.publish("volue", other)
        assert await engine.held_back_s("volue") == 0
        assert _gauge() == 0
    finally:
        await engine.adapters.aclose()
        await database.dispose()
        keys = await client.keys(f"{prefix}*")
        if keys:
            await client.delete(*keys)
        await client.aclose()


@pytest.mark.redis
async def test_an_api_without_a_worker_reads_the_circuits_the_workers_share(sqlite_url: str,
                                                                             redis_url: str) -> None:
    """Scale-out: the API process (no worker of its own) answers the circuit an arq worker
    published in Redis, open with why and the next probe, and the other provider closed."""
    import redis.asyncio as aioredis
    from litestar.testing import AsyncTestClient

    from gateway.app import create_app

    client: Any = aioredis.Redis.from_url(redis_url)
    guard = ProviderGuard(failures_to_open=1, open_s=30.0, concurrency=4)
    guard.failed(time.monotonic(), TransientError("bad gateway", status=502, route="/spaces"))
    await SharedCircuits(client).publish("zaehlerfreunde", guard)
    settings = load_settings({}, database_url=sqlite_url, admin_api_key=ADMIN_KEY, redis_url=redis_url)
    try:
        async with AsyncTestClient(create_app(settings, embedded_worker=False)) as api:
            answer = await api.get("/v1/sync/circuits", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
        circuits = answer.json()["circuits"]
        assert circuits["zaehlerfreunde"]["state"] == "open" and circuits["volue"]["state"] == "closed"
        assert circuits["zaehlerfreunde"]["reason"] == "502 bad gateway"
        assert circuits["zaehlerfreunde"]["source"] == "workers (Redis)"
        assert circuits["zaehlerfreunde"]["nextProbeAt"] is not None
    finally:
        keys = await client.keys("gateway:circuit:*")
        if keys:
            await client.delete(*keys)
        await client.aclose()
