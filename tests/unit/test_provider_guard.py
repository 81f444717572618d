"""The provider guard learns from each answer, and the retry policy lets the provider set the pace."""

from __future__ import annotations

import asyncio
import os
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gateway.core.settings import load_settings
from gateway.outbox.circuit import (
    PRIOR_FAILURE_RATE,
    REPEATS_SAVED,
    CircuitState,
    ProviderGuard,
    SharedCircuits,
    failures_to_open,
)
from gateway.outbox.policy import backoff_s, decide
from gateway.store.tables import OutboxTaskRow
from providers.base import RejectedError, TransientError

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class _Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _guard(clock: _Clock, *, failures: int = 5, open_s: float = 30.0) -> ProviderGuard:
    return ProviderGuard(failures_to_open=failures, open_s=open_s, concurrency=32, clock=clock)


def _transient(status: int = 503, retry_after: float | None = None) -> TransientError:
    return TransientError("upstream trouble", status=status, route="/spaces", retry_after=retry_after)


def _task(attempts: int = 1, first_failed_at: datetime | None = None) -> OutboxTaskRow:
    return OutboxTaskRow(id="t-1", provider="zaehlerfreunde", entity_type="site", entity_id="s-1",
                         customer_id="c-1", action="upsert", status="running", attempts=attempts,
                         run_after=NOW, created_at=NOW, updated_at=NOW, first_failed_at=first_failed_at)


def test_the_circuit_opens_on_the_answer_that_makes_enough_failures_in_a_row() -> None:
    """The fifth transient failure in a row opens the circuit at once, and from then on the
    guard lets no queued request out until it is half-open."""
    clock = _Clock()
    guard = _guard(clock)
    for _ in range(4):
        guard.failed(clock.now, _transient())
    assert guard.state is CircuitState.CLOSED and guard.allows(clock.now)
    guard.failed(clock.now, _transient())
    assert guard.state is CircuitState.OPEN
    assert not guard.allows(clock.now)
    assert guard.claim_limit(clock.now, 500) == 0


def test_a_success_between_failures_keeps_the_circuit_closed() -> None:
    """A provider that answers some requests is loaded, not down: failures in a row restart."""
    clock = _Clock()
    guard = _guard(clock)
    for _ in range(20):
        guard.failed(clock.now, _transient())
        guard.failed(clock.now, _transient())
        guard.succeeded(clock.now)
        if guard.state is not CircuitState.CLOSED:
            break
    assert guard.state is CircuitState.CLOSED


def test_a_probe_closes_the_circuit_and_tells_the_engine_once() -> None:
    """After the open time one probe task is claimed; its success closes the circuit, resets
    the limit to the ceiling, and ``take_closed`` is true exactly once."""
    clock = _Clock()
    guard = _guard(clock, open_s=30)
    for _ in range(5):
        guard.failed(clock.now, _transient())
    clock.now += 31
    assert guard.claim_limit(clock.now, 500) == 1
    assert guard.state is CircuitState.HALF_OPEN
    assert guard.claim_limit(clock.now, 500) == 0, "one probe at a time"
    guard.succeeded(clock.now)
    assert guard.state is CircuitState.CLOSED
    assert guard.limit.current == 32
    assert guard.take_closed() is True
    assert guard.take_closed() is False


def test_a_failed_probe_opens_the_circuit_again() -> None:
    """A probe that fails transiently opens the circuit for another open time."""
    clock = _Clock()
    guard = _guard(clock, open_s=30)
    for _ in range(5):
        guard.failed(clock.now, _transient())
    clock.now += 31
    guard.claim_limit(clock.now, 500)
    guard.failed(clock.now, _transient())
    assert guard.state is CircuitState.OPEN
    assert guard.resumes_at() == clock.now + 30


def test_dense_429s_pause_the_provider_for_their_retry_after() -> None:
    """A second 429 in a row with ``Retry-After: 2`` holds the provider's requests back for two
    seconds (the gateway is over the provider's rate)."""
    clock = _Clock()
    guard = _guard(clock)
    guard.failed(clock.now, _transient(429, retry_after=2.0))
    assert guard.allows(clock.now), "one 429 alone is not yet a rate the gateway is over"
    guard.failed(clock.now, _transient(429, retry_after=2.0))
    assert not guard.allows(clock.now + 1.9)
    assert guard.allows(clock.now + 2.0)


def test_sporadic_429s_among_successes_only_cut_the_limit() -> None:
    """One 429 in five answers (a neighbour using a shared quota) pauses nothing: the other
    requests go on, the limit is cut once."""
    clock = _Clock()
    guard = _guard(clock)
    for _ in range(3):
        for _ in range(4):
            guard.succeeded(clock.now)
        guard.failed(clock.now, _transient(429, retry_after=1.0))
        assert guard.allows(clock.now)
        clock.now += 2.0
    assert guard.limit.current < guard.limit.ceiling
    for _ in range(4):
        guard.failed(clock.now, _transient(429, retry_after=1.0))
    assert not guard.allows(clock.now), "429s that turn dense pause the provider again"


def test_a_round_is_sized_to_finish_within_a_quarter_of_its_lease() -> None:
    """At 3 s per answer and a limit cut to 2, a 60 s lease allows 2 requests x 5 waves."""
    clock = _Clock()
    guard = _guard(clock)
    assert guard.round_size(batch_size=500, lease_s=60, per_request=1) == 500, "no answer seen yet"
    guard.limit.limit = 2.0
    guard.limit._cut_at = clock.now
    for _ in range(30):
        guard.answered(3.0)
    assert guard.round_size(batch_size=500, lease_s=60, per_request=1) == 10
    assert guard.round_size(batch_size=500, lease_s=60, per_request=100) == 500


def test_retry_after_is_the_delay_give_or_take_the_jitter() -> None:
    """A 429's ``Retry-After: 1`` is retried after 1 to 1.1 s, whatever the attempt count; without
    one, exponential backoff with full jitter under the cap."""
    rng = random.Random(7)
    delays = [backoff_s(9, base_s=0.5, max_s=300, retry_after=1.0, rng=rng) for _ in range(200)]
    assert min(delays) >= 1.0 and max(delays) <= 1.1
    long = [backoff_s(1, base_s=0.5, max_s=300, retry_after=120.0, rng=rng) for _ in range(200)]
    assert min(long) >= 120 and max(long) <= 121
    plain = [backoff_s(4, base_s=0.5, max_s=300, rng=rng) for _ in range(200)]
    assert 0 <= min(plain) and max(plain) <= 4.0


def test_decide_gives_back_the_attempt_of_a_429_and_of_a_failed_probe() -> None:
    """Neither a 429 nor a probe's transient failure counts as an attempt of the task; an
    ordinary transient failure does, and a refusal dead-letters at once."""
    settings = load_settings({})
    task = _task(attempts=3)
    assert decide(task, _transient(429, 1.0), None, now=NOW, settings=settings).attempts == 2
    assert decide(task, _transient(503), None, now=NOW, settings=settings, probe=True).attempts == 2
    assert decide(task, _transient(503), None, now=NOW, settings=settings).attempts == 3
    refused = decide(task, RejectedError("bad", status=400, route="/spaces"), None, now=NOW,
                     settings=settings)
    assert refused.dead


def test_decide_retries_a_429_when_the_provider_says() -> None:
    """The next attempt after a 429 with ``Retry-After: 1`` is due 1-1.1 s later, not minutes."""
    settings = load_settings({})
    decision = decide(_task(attempts=7), _transient(429, 1.0), None, now=NOW, settings=settings,
                      rng=random.Random(1))
    assert NOW + timedelta(seconds=1) <= decision.run_after <= NOW + timedelta(seconds=1.1)


def test_transient_upstream_failures_dead_letter_only_after_the_budget() -> None:
    """An upstream 503 is retried until the task's first failure is older than the budget."""
    settings = load_settings({})
    young = decide(_task(attempts=40, first_failed_at=NOW - timedelta(hours=1)), _transient(), None,
                   now=NOW, settings=settings)
    old = decide(_task(attempts=40, first_failed_at=NOW - timedelta(days=2)), _transient(), None,
                 now=NOW, settings=settings)
    assert not young.dead and old.dead


def test_a_quarter_of_failures_never_opens_the_circuit() -> None:
    """A provider failing one request in four (runs of five and more now and then) stays
    closed: at that failure rate such runs are expected, not an outage."""
    clock = _Clock()
    guard = _guard(clock, failures=3)
    rng = random.Random(3)
    longest = run = 0
    for _ in range(5000):
        if rng.random() < 0.25:
            guard.failed(clock.now, _transient())
            run += 1
            longest = max(longest, run)
        else:
            guard.succeeded(clock.now)
            run = 0
        assert guard.state is CircuitState.CLOSED
    assert longest >= 5, "the seed should give runs a fixed count of five would take for an outage"


def test_an_outage_after_steady_successes_opens_on_the_fewest_failures() -> None:
    """After a spell of successes, a provider that starts failing everything is cut off by the
    ``circuit_failures``-th failure in a row."""
    clock = _Clock()
    guard = _guard(clock, failures=3)
    for _ in range(200):
        guard.succeeded(clock.now)
    sent = 0
    while guard.allows(clock.now):
        guard.failed(clock.now, _transient())
        sent += 1
    assert sent == 3


def test_the_run_that_opens_grows_with_the_failure_rate_seen_before_it() -> None:
    """After a fifth of the answers failed, about nine failures in a row open the circuit, and
    one fewer does not; a healthy provider's run is the floor."""
    assert failures_to_open(0.0, floor=3) == 3
    assert failures_to_open(0.01, floor=3) == 3
    assert failures_to_open(0.2, floor=3) == 9
    assert failures_to_open(0.9, floor=3) == 30
    clock = _Clock()
    guard = _guard(clock, failures=3)
    for i in range(1000):
        guard.failed(clock.now, _transient()) if i % 5 == 0 else guard.succeeded(clock.now)
    needed = guard.run_to_open()
    assert guard.consecutive_failures == 0 and 8 <= failures_to_open(guard.failure_rate, floor=3) <= 10
    for _ in range(needed - 1):
        guard.failed(clock.now, _transient())
    assert guard.state is CircuitState.CLOSED
    guard.failed(clock.now, _transient())
    assert guard.state is CircuitState.OPEN


def test_a_fresh_worker_weighs_runs_at_the_prior_rate_until_answers_bring_it_down() -> None:
    """A guard built as the engine builds it needs 5 failures in a row before its first answers
    (a fifth of answers failing would open it after 3 about once in 25 worker starts) and 3 once
    about 80 successes brought its moving failure rate below one in a hundred."""
    clock = _Clock()
    fresh = ProviderGuard(failures_to_open=3, open_s=30.0, concurrency=8, clock=clock,
                          prior_failure_rate=PRIOR_FAILURE_RATE)
    assert fresh.run_to_open() == 5
    for _ in range(4):
        fresh.failed(clock.now, _transient())
    assert fresh.state is CircuitState.CLOSED
    fresh.failed(clock.now, _transient())
    assert fresh.state is CircuitState.OPEN
    warm = ProviderGuard(failures_to_open=3, open_s=30.0, concurrency=8, clock=clock,
                         prior_failure_rate=PRIOR_FAILURE_RATE)
    for _ in range(80):
        warm.succeeded(clock.now)
    for _ in range(3):
        warm.failed(clock.now, _transient())
    assert warm.state is CircuitState.OPEN


def test_429s_pause_the_provider_but_never_open_its_circuit() -> None:
    """Fifty 429s in a row: the provider answers, so its circuit stays closed; the pause waits
    out their Retry-After. A probe answered 429 closes an open circuit."""
    clock = _Clock()
    guard = _guard(clock, failures=3)
    for _ in range(50):
        guard.failed(clock.now, _transient(429, retry_after=1.0))
    assert guard.state is CircuitState.CLOSED and not guard.allows(clock.now)
    for _ in range(3):
        guard.failed(clock.now, _transient())
    assert guard.state is CircuitState.OPEN
    clock.now += 31
    assert guard.claim_limit(clock.now, 500) == 1
    guard.failed(clock.now, _transient(429, retry_after=2.0))
    assert guard.state is CircuitState.CLOSED


def test_repeats_come_from_a_budget_that_successes_refill() -> None:
    """A provider that stops answering gets at most ``REPEATS_SAVED`` repeats in all; half a repeat
    per success refills the budget; an open circuit allows none."""
    clock = _Clock()
    guard = _guard(clock, failures=3)
    assert not guard.take_repeat(), "a fresh guard has saved up no repeat"
    for _ in range(10):
        guard.succeeded(clock.now)
    taken = sum(guard.take_repeat() for _ in range(10))
    assert taken == REPEATS_SAVED
    for _ in range(2):
        guard.succeeded(clock.now)
    assert guard.take_repeat() and not guard.take_repeat()
    for _ in range(10):
        guard.succeeded(clock.now)
    for _ in range(3):
        guard.failed(clock.now, _transient())
    assert guard.state is CircuitState.OPEN and not guard.take_repeat()


@pytest.mark.redis
async def test_workers_share_an_open_circuit_one_probe_and_the_close() -> None:
    """Through Redis: a circuit one worker opened is open at the other before it claims; when
    the open time ends only one of them probes; the probe's success closes both."""
    url = os.environ.get("GATEWAY_TEST_REDIS_URL")
    if not url:
        pytest.skip("GATEWAY_TEST_REDIS_URL is not set")
    import redis.asyncio as aioredis

    client: Any = aioredis.Redis.from_url(url)
    prefix = f"gateway:circuit:test:{uuid.uuid4().hex}"
    first, second = SharedCircuits(client, prefix=prefix), SharedCircuits(client, prefix=prefix)
    a = ProviderGuard(failures_to_open=2, open_s=0.3, concurrency=8)
    b = ProviderGuard(failures_to_open=2, open_s=0.3, concurrency=8)
    try:
        for _ in range(2):
            a.failed(time.monotonic(), _transient())
        assert a.state is CircuitState.OPEN
        await first.publish("volue", a)
        await second.before_claim("volue", b)
        assert b.state is CircuitState.OPEN and b.claim_limit(time.monotonic(), 500) == 0
        await asyncio.sleep(0.35)
        await first.before_claim("volue", a)
        await second.before_claim("volue", b)
        probes = [g.claim_limit(time.monotonic(), 500) for g in (a, b)]
        assert sorted(probes) == [0, 1], probes
        prober, other = (a, b) if probes[0] == 1 else (b, a)
        prober.succeeded(time.monotonic())
        assert prober.state is CircuitState.CLOSED
        await (first if prober is a else second).publish("volue", prober)
        await (second if prober is a else first).before_claim("volue", other)
        assert other.state is CircuitState.CLOSED
    finally:
        keys = await client.keys(f"{prefix}*")
        if keys:
            await client.delete(*keys)
        await client.aclose()
