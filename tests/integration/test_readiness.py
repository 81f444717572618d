"""Readiness reflects the database and, where configured, Redis; liveness does not depend on either."""

from __future__ import annotations

from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from gateway.app import create_app
from gateway.core.settings import load_settings
from gateway.outbox.dispatch import ArqDispatcher
from gateway.runtime.process import Runtime
from gateway.store.db import create_engine, session_factory


async def test_ready_when_the_database_answers(client: AsyncTestClient) -> None:
    """Embedded mode: ready checks the database only, and says so."""
    response = await client.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok"}}


async def test_not_ready_when_the_database_is_gone(client: AsyncTestClient, tmp_path: Path) -> None:
    """A database that cannot be opened makes ready answer 503 naming it; live stays 200."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'gateway.db'}")
    runtime = Runtime.of(client.app)
    original = runtime.sessions
    runtime.sessions = session_factory(engine)
    try:
        response = await client.get("/health/ready")
        assert response.status_code == 503
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "database failed" in response.json()["detail"]
        assert (await client.get("/health/live")).status_code == 200
    finally:
        runtime.sessions = original
        await engine.dispose()


async def test_not_ready_when_configured_redis_is_down(client: AsyncTestClient) -> None:
    """With Redis configured but unreachable, ready answers 503 naming Redis; the database is still ok."""
    dead = Redis.from_url("redis://127.0.0.1:9/0", socket_connect_timeout=1)
    runtime = Runtime.of(client.app)
    original = runtime.dispatcher
    runtime.dispatcher = ArqDispatcher(dead)
    try:
        response = await client.get("/health/ready")
        assert response.status_code == 503
        assert "redis failed" in response.json()["detail"]
        assert "database" not in response.json()["detail"]
    finally:
        runtime.dispatcher = original
        await dead.aclose()


@pytest.mark.redis
async def test_ready_checks_a_live_redis(database_url: str, redis_url: str) -> None:
    """Scale-out mode with a reachable Redis: ready reports both checks ok."""
    settings = load_settings({}, database_url=database_url, redis_url=redis_url)
    async with AsyncTestClient(create_app(settings)) as client:
        response = await client.get("/health/ready")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "redis": "ok"}
