"""How a provider's circuit is shown to ops: its state, since when, the next probe and why."""

from __future__ import annotations

import os
import time
import uuid
from typing import Any

import pytest

from gateway.outbox.circuit import ProviderGuard, SharedCircuits
from providers.base import TransientError


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _failure() -> TransientError:
    return TransientError("bad gateway", status=502, route="/users")


def test_an_open_circuit_shows_since_when_its_next_probe_and_reason_then_closed_shows_none() -> None:
    """Open: since (wall clock), next probe at the end of the open time, the failure; half-open
    once that time passed; closed after a successful probe, with nothing left of the outage."""
    clock = _Clock()
    guard = ProviderGuard(failures_to_open=2, open_s=30.0, concurrency=8, clock=clock)
    assert guard.view("volue").state == "closed"
    before = time.time()
    guard.failed(clock.now, _failure())
    guard.failed(clock.now, _failure())
    shown = guard.view("volue")
    assert shown.state == "open" and shown.reason == "502 bad gateway"
    assert shown.since is not None and before <= shown.since <= time.time()
    assert shown.next_probe is not None and 29 <= shown.next_probe - time.time() <= 31
    clock.now += 31
    assert guard.view("volue").state == "half-open"
    assert guard.claim_limit(clock.now, 10) == 1
    guard.succeeded(clock.now)
    closed = guard.view("volue")
    assert (closed.state, closed.since, closed.next_probe, closed.reason) == ("closed", None, None, None)


@pytest.mark.redis
async def test_the_circuit_published_by_a_worker_reads_open_with_its_reason_then_closed() -> None:
    """Through Redis (arq workers): the console reads the circuit one worker opened, with the
    time it opened and why, and closed once its probe succeeded."""
    url = os.environ.get("GATEWAY_TEST_REDIS_URL")
    if not url:
        pytest.skip("GATEWAY_TEST_REDIS_URL is not set")
    import redis.asyncio as aioredis

    client: Any = aioredis.Redis.from_url(url)
    prefix = f"gateway:circuit:test:{uuid.uuid4().hex}"
    shared = SharedCircuits(client, prefix=prefix)
    guard = ProviderGuard(failures_to_open=2, open_s=5.0, concurrency=8)
    try:
        assert [v.state for v in await shared.read(["volue", "zaehlerfreunde"])] == ["closed", "closed"]
        guard.failed(time.monotonic(), _failure())
        guard.failed(time.monotonic(), _failure())
        await shared.publish("volue", guard)
        volue, zf = await shared.read(["volue", "zaehlerfreunde"])
        assert (volue.state, volue.reason, zf.state) == ("open", "502 bad gateway", "closed")
        assert volue.since == guard.opened_at and volue.next_probe is not None
        guard.open_until = time.monotonic()
        assert guard.claim_limit(time.monotonic(), 10) == 1
        guard.succeeded(time.monotonic())
        await shared.publish("volue", guard)
        assert (await shared.read(["volue"]))[0].state == "closed"
    finally:
        keys = await client.keys(f"{prefix}*")
        if keys:
            await client.delete(*keys)
        await client.aclose()
