"""How hard a worker pushes each provider: a circuit breaker, a 429 pause and a concurrency limit.

One :class:`ProviderGuard` per provider and worker process (the state is not shared
between workers; each finds the provider's trouble on its own within a round or two):

* the **circuit** opens after ``circuit_failures`` consecutive transient upstream
  failures; while it is open the engine claims nothing of the provider's queues, so
  an outage spends no attempts. After ``circuit_open_s`` it is half-open: one probe
  round of a single task goes out; a success closes it, a failure opens it again.
* a **pause** follows a 429 with ``Retry-After``: the provider's queues wait until then.
* the **concurrency limit** bounds the requests in flight: additive increase on each
  success, halved on a timeout, 429 or 5xx (AIMD), between 1 and the worker's concurrency.
"""

from __future__ import annotations

import asyncio
import enum
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from providers.base import ProviderError, TransientError


class CircuitState(enum.IntEnum):
    """A circuit's state; the number is the value of its metrics gauge."""

    CLOSED = 0
    HALF_OPEN = 1
    OPEN = 2


def upstream_transient(error: ProviderError | None) -> bool:
    """Whether ``error`` is a transient failure of the provider itself (not of this worker)."""
    return isinstance(error, TransientError) and error.route is not None


class AdaptiveLimit:
    """An AIMD bound on the requests in flight: +1 per success, halved on overload.

    Waiters queue in order and a freed slot wakes exactly one of them, so a round of many
    operations waiting for a few slots costs one wake-up per request, not one per waiter.
    """

    def __init__(self, *, ceiling: int) -> None:
        self.ceiling = max(1, ceiling)
        self.limit: float = float(self.ceiling)
        self.in_flight = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def current(self) -> int:
        """The whole number of requests allowed in flight now."""
        return max(1, int(self.limit))

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one of the allowed requests for the duration of the block."""
        await self.acquire()
        try:
            yield
        finally:
            self.release()

    def release(self) -> None:
        """Give back a slot taken with :meth:`acquire` (the engine's hot path pairs the two in
        ``try``/``finally``: a generator context manager per request costs five times as much)."""
        self.in_flight -= 1
        self._wake()

    async def acquire(self) -> None:
        """Take one of the allowed requests, waiting in order for a free one."""
        if not self._waiters and self.in_flight < self.current:
            self.in_flight += 1
            return
        granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(granted)
        try:
            await granted  # the waker counted this request in flight
        except asyncio.CancelledError:
            if granted.done() and not granted.cancelled():
                self.in_flight -= 1
                self._wake()
            else:
                self._waiters.remove(granted)
            raise

    def _wake(self) -> None:
        while self._waiters and self.in_flight < self.current:
            granted = self._waiters.popleft()
            if not granted.done():
                self.in_flight += 1
                granted.set_result(None)

    def succeeded(self) -> None:
        self.limit = min(float(self.ceiling), self.limit + 1.0 / max(1.0, self.limit))
        self._wake()

    def overloaded(self) -> None:
        self.limit = max(1.0, self.limit / 2)


class ProviderGuard:
    """The circuit, the 429 pause and the concurrency limit of one provider in this process."""

    def __init__(self, *, failures_to_open: int, open_s: float, concurrency: int) -> None:
        self.failures_to_open = failures_to_open
        self.open_s = open_s
        self.limit = AdaptiveLimit(ceiling=concurrency)
        self.state = CircuitState.CLOSED
        self.consecutive_failures = 0
        self.open_until = 0.0
        self.paused_until = 0.0
        self.probing = False

    def claim_limit(self, now: float, batch_size: int) -> int:
        """How many tasks a round may claim now: 0 while open or paused, 1 for a probe."""
        if now < self.paused_until:
            return 0
        if self.state is CircuitState.OPEN:
            if now < self.open_until:
                return 0
            self.state = CircuitState.HALF_OPEN
        if self.state is CircuitState.HALF_OPEN:
            if self.probing:
                return 0
            self.probing = True
            return 1
        return batch_size

    def resumes_at(self) -> float:
        """When claiming may start again (loop time), or 0 when it is not held back."""
        held = self.open_until if self.state is CircuitState.OPEN else 0.0
        return max(held, self.paused_until)

    def pause(self, now: float, seconds: float) -> None:
        """Hold the provider's queues back for ``seconds`` (a 429's ``Retry-After``)."""
        self.paused_until = max(self.paused_until, now + seconds)

    def round_finished(self, now: float, *, successes: int, failures: int) -> None:
        """Feed the circuit with a round's upstream results (failures: transient ones)."""
        if self.state is CircuitState.HALF_OPEN:
            self.probing = False
            if failures:
                self._open(now)
            elif successes:
                self._close()
            return
        if successes:
            # the provider answers: a share of failures is load or bad luck, not an outage
            self.consecutive_failures = 0
            return
        self.consecutive_failures += failures
        if self.consecutive_failures >= self.failures_to_open:
            self._open(now)

    def _open(self, now: float) -> None:
        self.state = CircuitState.OPEN
        self.open_until = now + self.open_s
        self.probing = False

    def _close(self) -> None:
        self.state = CircuitState.CLOSED
        self.consecutive_failures = 0
