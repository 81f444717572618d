"""How hard a worker pushes each provider: a circuit breaker, a 429 pause and a concurrency limit.

One :class:`ProviderGuard` per provider and worker process (the state is not shared
between workers; each finds the provider's trouble on its own within a few answers).
The guard learns from every answer as it arrives (``succeeded``/``failed``), not from
whole rounds, so a round's queued requests stop as soon as the provider is known to be down:

* the **circuit** opens on a run of transient upstream failures in a row that would be
  unlikely at the failure rate seen before the run began (:func:`failures_to_open`): at
  least ``circuit_failures`` of them when the provider was healthy, more when failures were
  already common (a provider failing a fifth of its requests needs about nine in a row: it
  is loaded, not down). A 429 is neither: the provider answered, and the pause below is
  what answers it. While it is open the engine claims nothing of the provider's queues and
  sends none of the requests a round still holds, so an outage spends no attempts. After
  ``circuit_open_s`` it is half-open: one probe round of a single task goes out; a success
  (or a 429: the provider is there) closes it, a failure opens it again. ``closed_since``
  tells the engine that it closed, so tasks held back by the outage are made due again and
  their backoff starts afresh.
* a **pause** follows a 429 with ``Retry-After`` when 429s are dense (at least two, and a
  third of the last ``WINDOW`` answers): the gateway is over the provider's rate, and the
  provider's queues wait until then. A sporadic 429 (a neighbour using up a shared quota)
  only cuts the limit; its own task waits out the ``Retry-After`` (``policy.decide``), the
  others go on.
* the **concurrency limit** bounds the requests in flight (AIMD): +1/limit per success,
  halved on a timeout, 429 or 5xx at most once per ``cut_every_s`` (a burst of failures
  of requests that were in flight together is one signal, not ten), between 1 and the
  worker's concurrency. It also climbs back with time (``recover_per_s`` per second once
  ``quiet_s`` passed without overload), so a limit cut by a burst does not need the
  traffic it refuses in order to recover.
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from providers.base import ProviderError, TransientError

Clock = Callable[[], float]
log = logging.getLogger("gateway.sync")

WINDOW = 20
"""The recent answers whose 429 share decides whether 429s are dense."""
REPEATS_PER_SUCCESS = 0.5
"""The repeat budget a success adds (a provider failing a fifth of its requests needs a quarter)."""
REPEATS_SAVED = 1.0
"""The most repeats the budget holds: what an outage can cost beyond one request per request
(the budget starts empty: a worker that meets an outage first thing repeats nothing)."""
PRIOR_FAILURE_RATE = 0.05
"""The failure rate a worker's guard assumes before its first answer: a fresh worker needs 5
failures in a row to open the circuit (a provider failing a fifth of its requests makes such a
run about once in 600 starts, where 3 would make it once in 25), 3 once about 80 successes
brought the moving rate below one in a hundred."""
RATE_WEIGHT = 0.02
"""Weight of each answer in the moving failure rate (about the last fifty answers)."""
UNLIKELY = 1e-6
"""How unlikely, at the failure rate seen before it, a run of failures must be to open the
circuit (about one false opening in a million answers of a provider that is up)."""


def failures_to_open(rate: float, *, floor: int, ceiling: int = 30) -> int:
    """Failures in a row that open the circuit when a share ``rate`` of answers failed before
    them: the shortest run with a chance below :data:`UNLIKELY` at that rate, at least
    ``floor`` and at most ``ceiling`` (a provider failing most answers is opened by its run)."""
    if rate <= 0.0:
        return floor
    if rate >= 1.0:
        return ceiling
    return max(floor, min(ceiling, math.ceil(math.log(UNLIKELY) / math.log(rate))))


class CircuitState(enum.IntEnum):
    """A circuit's state; the number is the value of its metrics gauge."""

    CLOSED = 0
    HALF_OPEN = 1
    OPEN = 2


@dataclass(frozen=True, slots=True)
class CircuitView:
    """A provider's circuit as ops see it (times are wall-clock seconds since the epoch)."""

    provider: str
    state: str
    """``closed``, ``open`` or ``half-open`` (the open time is over: a probe goes out next)."""
    since: float | None = None
    """When it opened (None while closed)."""
    next_probe: float | None = None
    """When the open time ends and a probe may go out (None unless open)."""
    reason: str | None = None
    limit: int | None = None
    """The concurrency limit in this process (None when read from the shared store)."""
    source: str = "this process"


def _wall(monotonic_at: float, clock: Clock) -> float:
    return time.time() + (monotonic_at - clock())


def upstream_transient(error: ProviderError | None) -> bool:
    """Whether ``error`` is a transient failure of the provider itself (not of this worker)."""
    return isinstance(error, TransientError) and error.route is not None


class AdaptiveLimit:
    """An AIMD bound on the requests in flight: +1/limit per success, halved on overload, and
    recovering with time while no overload is seen.

    Waiters queue in order and a freed slot wakes exactly one of them, so a round of many
    operations waiting for a few slots costs one wake-up per request, not one per waiter.
    """

    def __init__(self, *, ceiling: int, cut_every_s: float = 1.0, quiet_s: float = 2.0,
                 recover_per_s: float = 1.0, clock: Clock = time.monotonic) -> None:
        self.ceiling = max(1, ceiling)
        self.limit: float = float(self.ceiling)
        self.in_flight = 0
        self.cut_every_s = cut_every_s
        self.quiet_s = quiet_s
        self.recover_per_s = recover_per_s
        self._clock = clock
        self._cut_at = float("-inf")
        self._recovered_at = clock()
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def current(self) -> int:
        """The whole number of requests allowed in flight now."""
        self._recover()
        return max(1, int(self.limit))

    def _recover(self) -> None:
        """Additive increase with time: once ``quiet_s`` passed since the last cut, the limit
        grows by ``recover_per_s`` per second, with or without traffic."""
        if self.limit >= self.ceiling:
            return
        now = self._clock()
        since = max(self._recovered_at, self._cut_at + self.quiet_s)
        if now > since:
            self.limit = min(float(self.ceiling), self.limit + (now - since) * self.recover_per_s)
            self._recovered_at = now

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
        if not self._waiters:
            return
        allowed = self.current
        while self._waiters and self.in_flight < allowed:
            granted = self._waiters.popleft()
            if not granted.done():
                self.in_flight += 1
                granted.set_result(None)

    def succeeded(self) -> None:
        self.limit = min(float(self.ceiling), self.limit + 1.0 / max(1.0, self.limit))
        self._wake()

    def overloaded(self) -> None:
        """Halve the limit, at most once per ``cut_every_s``."""
        now = self._clock()
        if now - self._cut_at < self.cut_every_s:
            return
        self._recover()
        self._cut_at = now
        self.limit = max(1.0, self.limit / 2)

    def reset(self) -> None:
        """Back to the ceiling (the provider's circuit closed after an outage)."""
        self.limit = float(self.ceiling)
        self._cut_at = float("-inf")
        self._wake()


class ProviderGuard:
    """The circuit, the 429 pause and the concurrency limit of one provider in this process."""

    def __init__(self, *, failures_to_open: int, open_s: float, concurrency: int,
                 prior_failure_rate: float = 0.0, clock: Clock = time.monotonic) -> None:
        self.failures_to_open = failures_to_open
        self.open_s = open_s
        self.limit = AdaptiveLimit(ceiling=concurrency, clock=clock)
        self.state = CircuitState.CLOSED
        self.consecutive_failures = 0
        self.failure_rate = prior_failure_rate
        """Moving share of transient upstream failures among the answers (429s left out); it
        starts at ``prior_failure_rate`` (what a guard assumes before it saw any answer)."""
        self.rate_before_run = prior_failure_rate
        """``failure_rate`` when the current run of failures began (what the run is weighed at)."""
        self.repeat_budget = 0.0
        """Requests that failed and may be sent once more at once (:meth:`take_repeat`)."""
        self.recent_429: deque[bool] = deque(maxlen=WINDOW)
        """The last answers, True for a 429."""
        self.open_until = 0.0
        self.paused_until = 0.0
        self.probing = False
        self.reason: str | None = None
        """The last failure that opened the circuit (shown while it is not closed)."""
        self.closed_since: float | None = None
        """Set when a probe closed the circuit, until the engine took note (``take_closed``)."""
        self.latency_s: float | None = None
        """Moving average of the provider's answer time, as seen by this worker."""
        self.adopted = False
        """The circuit is open because another worker opened it (:class:`SharedCircuits`)."""
        self.clock = clock
        self.opened_at: float | None = None
        """Wall-clock time the circuit opened (kept through half-open probes until it closes)."""

    def view(self, provider: str) -> CircuitView:
        """The circuit as ops see it."""
        now = self.clock()
        state = self.state
        if state is CircuitState.OPEN and now >= self.open_until:
            state = CircuitState.HALF_OPEN
        return CircuitView(
            provider=provider, state=state.name.lower().replace("_", "-"),
            since=self.opened_at if state is not CircuitState.CLOSED else None,
            next_probe=_wall(self.open_until, self.clock) if self.state is CircuitState.OPEN else None,
            reason=self.reason if state is not CircuitState.CLOSED else None, limit=self.limit.current)

    def take_repeat(self) -> bool:
        """Whether a request that failed may be sent once more at once
        (``providers.http.repeatable``): only while the circuit is closed, and within a budget
        of :data:`REPEATS_PER_SUCCESS` repeats per success, at most :data:`REPEATS_SAVED`
        saved up, so an outage costs at most that many extra requests."""
        if self.state is not CircuitState.CLOSED or self.repeat_budget < 1.0:
            return False
        self.repeat_budget -= 1.0
        return True

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

    def round_size(self, *, batch_size: int, lease_s: float, per_request: int = 1) -> int:
        """Tasks a round may claim so that it finishes well within its lease: the requests the
        current limit lets out in a quarter of the lease at the observed answer time, each
        carrying up to ``per_request`` tasks (a batch request)."""
        if self.latency_s is None:
            return batch_size
        waves = max(1.0, (lease_s / 4) / max(self.latency_s, 0.001))
        return max(1, min(batch_size, int(self.limit.current * waves * max(1, per_request) + 1e-6)))

    def allows(self, now: float) -> bool:
        """Whether a request may go out now (not open, not paused). A half-open circuit lets
        its probe round's requests through."""
        return self.state is not CircuitState.OPEN and now >= self.paused_until

    def resumes_at(self) -> float:
        """When claiming may start again (clock time), or 0 when it is not held back."""
        held = self.open_until if self.state is CircuitState.OPEN else 0.0
        return max(held, self.paused_until)

    def pause(self, now: float, seconds: float) -> None:
        """Hold the provider's queues back for ``seconds`` (a 429's ``Retry-After``)."""
        self.paused_until = max(self.paused_until, now + seconds)

    def answered(self, latency_s: float) -> None:
        """Feed the moving average of answer times (any answer, success or failure)."""
        previous = self.latency_s
        self.latency_s = latency_s if previous is None else previous * 0.8 + latency_s * 0.2

    def succeeded(self, now: float) -> None:
        """An upstream request succeeded: failures in a row start again, a probe closes."""
        self.consecutive_failures = 0
        self.failure_rate *= 1.0 - RATE_WEIGHT
        self.repeat_budget = min(REPEATS_SAVED, self.repeat_budget + REPEATS_PER_SUCCESS)
        self.recent_429.append(False)
        self.limit.succeeded()
        if self.state is CircuitState.HALF_OPEN:
            self._close(now)

    def failed(self, now: float, error: ProviderError) -> None:
        """A request failed transiently upstream: a 429 may pause the provider and cuts the
        limit; any other failure cuts the limit and opens the circuit on a run too long for
        the failure rate seen before it (at once while probing)."""
        self.limit.overloaded()
        if isinstance(error, TransientError) and error.status == 429:
            self.rate_limited(now, error.retry_after)
            if self.state is CircuitState.HALF_OPEN:
                self._close(now)  # the provider answers; its Retry-After paces what follows
            return
        self.recent_429.append(False)
        self._count_failures(1)
        if self.state is CircuitState.HALF_OPEN or (
            self.state is CircuitState.CLOSED and self.consecutive_failures >= self.run_to_open()
        ):
            self._open(now, error)

    def _count_failures(self, failures: int) -> None:
        """Add ``failures`` to the run in a row (noting the rate it began at) and to the rate."""
        if failures and self.consecutive_failures == 0:
            self.rate_before_run = self.failure_rate
        self.consecutive_failures += failures
        self.failure_rate = 1.0 - (1.0 - self.failure_rate) * (1.0 - RATE_WEIGHT) ** min(failures, 1000)

    def run_to_open(self) -> int:
        """Failures in a row that open the circuit now (:func:`failures_to_open`)."""
        return failures_to_open(self.rate_before_run, floor=self.failures_to_open)

    def rate_limited(self, now: float, retry_after: float | None) -> None:
        """A 429: the provider's queues wait out its ``Retry-After`` when 429s are dense."""
        self.recent_429.append(True)
        limited = sum(self.recent_429)
        if retry_after and limited >= 2 and 3 * limited >= len(self.recent_429):
            self.pause(now, retry_after)

    def round_finished(self, now: float, *, successes: int, failures: int) -> None:
        """Feed the circuit with a round's results that were not fed one by one (task kinds
        that make their own requests), and end a probe round."""
        if self.state is CircuitState.HALF_OPEN:
            self.probing = False
            if failures:
                self._open(now, None)
            elif successes:
                self._close(now)
            return
        self.probing = False
        self.recent_429.extend([False] * min(successes, WINDOW))
        self._count_failures(failures)
        if successes:
            # the provider answers: a share of failures is load or bad luck, not an outage
            self.consecutive_failures = 0
            self.failure_rate *= (1.0 - RATE_WEIGHT) ** min(successes, 1000)
            return
        if self.state is CircuitState.CLOSED and self.consecutive_failures >= self.run_to_open():
            self._open(now, None)

    def adopt_open(self, until: float, *, reason: str) -> None:
        """Hold the provider back until ``until`` because another worker found it down."""
        self.state = CircuitState.OPEN
        self.open_until = until
        self.probing = False
        self.adopted = True
        self.reason = self.reason or reason
        self.opened_at = self.opened_at or time.time()

    def adopt_closed(self) -> None:
        """Another worker's probe closed the circuit."""
        self._close(time.monotonic())
        self.closed_since = None

    def take_closed(self) -> bool:
        """True once after a probe closed the circuit (for the engine to release held tasks)."""
        closed = self.closed_since is not None
        self.closed_since = None
        return closed

    def _open(self, now: float, error: ProviderError | None) -> None:
        self.adopted = False
        self.opened_at = self.opened_at or time.time()
        self.state = CircuitState.OPEN
        self.open_until = now + self.open_s
        self.probing = False
        if error is not None:
            self.reason = f"{error.status or ''} {error.message}".strip()[:500]

    def _close(self, now: float) -> None:
        self.adopted = False
        self.state = CircuitState.CLOSED
        self.consecutive_failures = 0
        self.probing = False
        self.reason = None
        self.opened_at = None
        self.closed_since = now
        self.limit.reset()


class SharedCircuits:
    """The provider circuits of every worker process, kept in step through Redis.

    Each worker's :class:`ProviderGuard` still learns on its own, but what one learns the
    others adopt before their next claim: a circuit one worker opened is open for all (so
    the others send nothing more into the outage), only the worker that takes the probe
    lock sends a probe when the open time ends (one probe per provider, not one per
    worker), and a probe's success closes every worker's circuit. Redis failing leaves each
    worker with its own circuit, as without Redis.
    """

    def __init__(self, redis: Any, *, prefix: str = "gateway:circuit") -> None:
        self.redis = redis
        self.prefix = prefix
        self._published: dict[str, tuple[CircuitState, float]] = {}
        """Per provider, the state (and open time) this worker last published or adopted."""

    async def before_claim(self, provider: str, guard: ProviderGuard, *, probe: bool = True) -> None:
        """Adopt what other workers learnt, and (``probe``) take the probe lock before a probe."""
        try:
            await self._adopt(provider, guard, probe=probe)
        except Exception as exc:
            log.warning("shared circuit of %s unavailable: %s", provider, exc)

    async def publish(self, provider: str, guard: ProviderGuard) -> None:
        """Publish a circuit this worker opened (or opened again after a failed probe) or closed."""
        state = guard.state
        seen = (state, guard.open_until if state is CircuitState.OPEN else 0.0)
        if self._published.get(provider) == seen or state is CircuitState.HALF_OPEN:
            return
        try:
            key = f"{self.prefix}:{provider}"
            if state is CircuitState.OPEN:
                until = time.time() + max(0.0, guard.open_until - time.monotonic())
                await self.redis.set(key, f"open:{until:.3f}", px=max(1, int(guard.open_s * 4000)))
                info = {"since": guard.opened_at, "reason": guard.reason}
                await self.redis.set(f"{key}:info", json.dumps(info), px=max(1, int(guard.open_s * 4000)))
            else:
                await self.redis.set(key, "closed", px=int(max(guard.open_s, 1.0) * 4000))
                await self.redis.delete(f"{key}:probe")
            self._published[provider] = seen
        except Exception as exc:
            log.warning("publishing the circuit of %s failed: %s", provider, exc)

    async def read(self, providers: Iterable[str]) -> list[CircuitView]:
        """Each provider's circuit as the workers last published it (closed when none did)."""
        views = []
        for provider in providers:
            key = f"{self.prefix}:{provider}"
            raw = await self.redis.get(key)
            value = raw.decode() if isinstance(raw, bytes) else raw
            if not value or not value.startswith("open:"):
                views.append(CircuitView(provider=provider, state="closed", source="workers (Redis)"))
                continue
            until = float(value[5:])
            raw_info = await self.redis.get(f"{key}:info")
            info = json.loads(raw_info) if raw_info else {}
            views.append(CircuitView(
                provider=provider, state="open" if until > time.time() else "half-open",
                since=info.get("since"), next_probe=until, reason=info.get("reason"),
                source="workers (Redis)"))
        return views

    async def _adopt(self, provider: str, guard: ProviderGuard, *, probe: bool) -> None:
        key = f"{self.prefix}:{provider}"
        raw = await self.redis.get(key)
        value = raw.decode() if isinstance(raw, bytes) else raw
        now = time.monotonic()
        if value and value.startswith("open:") and guard.state is CircuitState.CLOSED:
            until = now + (float(value[5:]) - time.time())
            if until > now:
                guard.adopt_open(until, reason="opened by another worker")
                self._published[provider] = (CircuitState.OPEN, guard.open_until)
        elif value == "closed" and guard.state is not CircuitState.CLOSED and guard.adopted:
            guard.adopt_closed()
            self._published[provider] = (CircuitState.CLOSED, 0.0)
        if probe and guard.state is CircuitState.OPEN and now >= guard.open_until and not guard.probing:
            # The open time is over: one worker of all probes; the others wait another spell.
            taken = await self.redis.set(f"{key}:probe", "1", nx=True, px=max(1, int(guard.open_s * 1000)))
            if not taken:
                guard.adopt_open(now + guard.open_s, reason=guard.reason or "another worker probes")
