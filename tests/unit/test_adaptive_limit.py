"""The per-provider concurrency limit: bounded in flight, fair, and leak-free on cancellation."""

from __future__ import annotations

import asyncio

from gateway.outbox.circuit import AdaptiveLimit


async def test_never_more_requests_in_flight_than_the_limit() -> None:
    """Fifty jobs through a limit of four: at most four at a time, and all of them run."""
    limit = AdaptiveLimit(ceiling=4)
    peak = done = 0

    async def job() -> None:
        nonlocal peak, done
        async with limit.slot():
            peak = max(peak, limit.in_flight)
            await asyncio.sleep(0.001)
            done += 1

    await asyncio.gather(*(job() for _ in range(50)))
    assert (peak, done, limit.in_flight) == (4, 50, 0)


async def test_a_cancelled_waiter_leaves_no_slot_taken() -> None:
    """Cancelling jobs that wait for a slot (or were just granted one) frees every slot."""
    limit = AdaptiveLimit(ceiling=1)
    release = asyncio.Event()

    async def holder() -> None:
        async with limit.slot():
            await release.wait()

    first = asyncio.create_task(holder())
    await asyncio.sleep(0)
    waiters = [asyncio.create_task(holder()) for _ in range(5)]
    await asyncio.sleep(0)
    waiters[0].cancel()
    release.set()
    waiters[1].cancel()
    await asyncio.gather(first, *waiters, return_exceptions=True)
    assert limit.in_flight == 0
    async with limit.slot():
        assert limit.in_flight == 1


class _Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_overload_halves_the_limit_and_success_grows_it_back() -> None:
    """Multiplicative decrease on overload, additive increase on success, within [1, ceiling]."""
    clock = _Clock()
    limit = AdaptiveLimit(ceiling=8, cut_every_s=1.0, quiet_s=2.0, clock=clock)
    limit.overloaded()
    clock.now += 1.0
    limit.overloaded()
    assert limit.current == 2
    for _ in range(100):
        limit.succeeded()
    assert limit.current == 8
    for _ in range(10):
        clock.now += 1.0
        limit.overloaded()
    assert limit.current == 1


async def test_failures_in_flight_together_cut_the_limit_once() -> None:
    """Ten failures answered in the same second halve the limit once, not ten times."""
    clock = _Clock()
    limit = AdaptiveLimit(ceiling=32, cut_every_s=1.0, clock=clock)
    for _ in range(10):
        limit.overloaded()
    assert limit.current == 16


async def test_the_limit_recovers_with_time_without_traffic() -> None:
    """A limit cut to 1 climbs back by itself once the overload is quiet: it does not need the
    requests it refuses in order to grow."""
    clock = _Clock()
    limit = AdaptiveLimit(ceiling=32, cut_every_s=0.0, quiet_s=2.0, recover_per_s=1.0, clock=clock)
    for _ in range(6):
        limit.overloaded()
    assert limit.current == 1
    clock.now += 1.5
    assert limit.current == 1, "no recovery within the quiet period"
    clock.now += 10.5
    assert limit.current == 11
    clock.now += 100
    assert limit.current == 32


async def test_acquire_waits_for_a_release_and_hands_the_slot_over_in_order() -> None:
    """Explicit acquire/release (the engine's hot path): a full limit waits; each release
    admits the oldest waiter, and the count ends at zero."""
    limit = AdaptiveLimit(ceiling=2)
    await limit.acquire()
    await limit.acquire()
    order: list[int] = []

    async def waiter(n: int) -> None:
        await limit.acquire()
        order.append(n)

    waiting = [asyncio.create_task(waiter(n)) for n in range(3)]
    await asyncio.sleep(0)
    assert (order, limit.in_flight) == ([], 2)
    limit.release()
    await asyncio.sleep(0)
    assert order == [0]
    limit.release()
    limit.release()
    await asyncio.gather(*waiting)
    assert (order, limit.in_flight) == ([0, 1, 2], 2)
    limit.release()
    limit.release()
    assert limit.in_flight == 0
