"""The circuit gauge of a worker follows a circuit it adopted from the others, open and closed."""

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
        await others.after_round("volue", other)
        assert await engine.held_back_s("volue") > 0
        assert _gauge() == 2
        other.open_until = time.monotonic()
        assert other.claim_limit(time.monotonic(), 10) == 1
        other.succeeded(time.monotonic())
        await others.after_round("volue", other)
        assert await engine.held_back_s("volue") == 0
        assert _gauge() == 0
    finally:
        await engine.adapters.aclose()
        await database.dispose()
        keys = await client.keys(f"{prefix}*")
        if keys:
            await client.delete(*keys)
        await client.aclose()
