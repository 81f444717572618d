"""Provider request rate ceilings: every request waits for a slot, and Redis shares the slots."""

from __future__ import annotations

import asyncio
import os
import uuid
from typing import Any

import httpx
import pytest

from gateway.outbox import pacing
from gateway.outbox.pacing import LocalPacer, RedisPacer, pacer_for
from providers.factory import ZaehlerfreundeConfig, build_zaehlerfreunde
from providers.zaehlerfreunde.emulator.app import create_app


class _CountingPacer:
    """Counts the slots asked for."""

    def __init__(self) -> None:
        self.slots = 0

    async def wait(self) -> None:
        self.slots += 1


async def test_every_upstream_request_waits_for_a_slot() -> None:
    """Each request the adapter makes (the token fetch included) takes a slot from the pacer."""
    app = create_app()
    pacer = _CountingPacer()
    adapter = build_zaehlerfreunde(ZaehlerfreundeConfig(
        base_url="http://zf.test/partner", client_id="zf-emulator", client_secret="zf-emulator-secret"),
        transport=httpx.ASGITransport(app=app), pacer=pacer)
    try:
        await adapter.check_credentials()
    finally:
        await adapter.aclose()
    requests = sum(sum(by_status.values()) for by_status in
                   app.state.emulation.stats.snapshot({})["requests"].values())
    assert requests >= 1 and pacer.slots == requests


def _recorded_sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    monkeypatch.setattr(pacing.asyncio, "sleep", sleep)
    return sleeps


async def test_a_local_pacer_spaces_requests_by_the_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    """At 10 requests a second, five requests at once are given slots 0.1 s apart."""
    sleeps = _recorded_sleeps(monkeypatch)
    pacer = LocalPacer(10)
    for _ in range(5):
        await pacer.wait()
    assert len(sleeps) == 4
    for n, slept in enumerate(sleeps, start=1):
        assert slept == pytest.approx(0.1 * n, abs=0.02)


def test_no_ceiling_means_no_pacer() -> None:
    """A rate of 0 (the default) paces nothing."""
    assert pacer_for("volue", 0) is None
    assert isinstance(pacer_for("volue", 5), LocalPacer)


@pytest.mark.redis
async def test_workers_sharing_redis_share_one_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two pacers on one Redis key (two worker processes) hand out slots of one shared rate:
    ten requests at 10 a second, alternating between them, wait 0.1 s more each."""
    url = os.environ.get("GATEWAY_TEST_REDIS_URL")
    if not url:
        pytest.skip("GATEWAY_TEST_REDIS_URL is not set")
    import redis.asyncio as aioredis

    client: Any = aioredis.Redis.from_url(url)
    sleeps = _recorded_sleeps(monkeypatch)
    key = f"gateway:pace:test:{uuid.uuid4().hex}"
    first, second = RedisPacer(client, key=key, rate=10), RedisPacer(client, key=key, rate=10)
    try:
        for n in range(10):
            await (first if n % 2 == 0 else second).wait()
        assert len(sleeps) == 9
        for n, slept in enumerate(sleeps, start=1):
            assert slept == pytest.approx(0.1 * n, abs=0.05)
    finally:
        await client.delete(key)
        await client.aclose()


async def test_a_redis_failure_sends_unpaced() -> None:
    """Pacing never stops the sync: when Redis cannot be reached the request goes out."""
    class _Broken:
        async def eval(self, *args: Any) -> int:
            raise ConnectionError("redis away")

    pacer = RedisPacer(_Broken(), key="k", rate=1)
    await asyncio.wait_for(pacer.wait(), timeout=1)
    await asyncio.wait_for(pacer.wait(), timeout=1)
