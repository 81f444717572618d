"""Per-key rate limits of the gateway's own API, so one runaway caller cannot starve the others.

Each API key gets, per route scope (``customers:read``, ``customers:write``,
``readings:write``, ``invites:write``, ``ops``), a budget of requests per fixed window
(``GATEWAY_RATE_LIMIT_*``, window ``GATEWAY_RATE_LIMIT_WINDOW_S``). A request over the
budget is answered 429 ``rate-limited`` with ``Retry-After`` (the seconds until the
window ends). With Redis configured the counts are shared by every API process
(one ``INCR`` + ``EXPIRE`` per request); without it each process counts on its own.
Should Redis fail, requests are let through (logged): the limit protects the gateway,
it must not take it down.

Wrong credentials are throttled apart (:class:`FailureThrottle`): wrong API keys and
failed console sign-ins are counted per client address and per key prefix
(``GATEWAY_AUTH_FAILURE_LIMIT`` per ``GATEWAY_AUTH_FAILURE_WINDOW_S``, through Redis when
configured). An address over the limit gets 429 for any key, the right one too, until its
window ends. A prefix over the limit (someone trying secrets of one key from many
addresses) gets 429 only from the addresses that sent a wrong key with it in the window,
so the key's owner, sending the right key from an address of its own, is not locked out.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass
from typing import Any, Protocol, cast

from litestar.connection import ASGIConnection

from gateway.core.errors import RateLimited
from gateway.core.settings import HttpSettings, Settings
from gateway.http.apikeys import KeyResolver, Principal, key_prefix
from gateway.runtime.process import Runtime

log = logging.getLogger("gateway.api")
KEY_PREFIX = "gateway:ratelimit:"
FAILURES_PREFIX = "gateway:authfail:"


class Counter(Protocol):
    async def count(self, key: str, window: int, window_s: float) -> int:
        """Add one request to ``key``'s count in ``window``; the count so far."""
        ...

    async def close(self) -> None: ...


class LocalCounter:
    """Counts in this process; windows that ended are dropped as new ones start."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, int], int] = {}
        self._window = -1

    async def count(self, key: str, window: int, window_s: float) -> int:
        if window != self._window:
            self._counts = {k: v for k, v in self._counts.items() if k[1] >= window}
            self._window = window
        total = self._counts.get((key, window), 0) + 1
        self._counts[(key, window)] = total
        return total

    async def close(self) -> None:
        self._counts.clear()


class RedisCounter:
    """Counts in Redis, shared by every process using the same Redis."""

    def __init__(self, url: str) -> None:
        from redis.asyncio import Redis

        self._redis: Any = Redis.from_url(url)

    async def count(self, key: str, window: int, window_s: float) -> int:
        name = f"{KEY_PREFIX}{key}:{window}"
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.incr(name)
            pipe.expire(name, max(1, math.ceil(window_s * 2)))
            total, _ = await pipe.execute()
        return int(total)

    async def close(self) -> None:
        await self._redis.aclose()


class RateLimiter:
    def __init__(self, settings: HttpSettings, counter: Counter, *,
                 clock: Any = time.time) -> None:
        self.settings = settings
        self.counter = counter
        self._clock = clock

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimiter:
        counter: Counter = RedisCounter(settings.store.redis_url) if settings.store.redis_url \
            else LocalCounter()
        return cls(settings.http, counter)

    async def check(self, key_id: str, scope: str) -> None:
        """Count one request of ``key_id`` to a ``scope`` route; :class:`RateLimited` when over."""
        limit = self.settings.rate_limit(scope)
        if limit <= 0:
            return
        window_s = self.settings.rate_limit_window_s
        now = self._clock()
        window = int(now // window_s)
        try:
            total = await asyncio.wait_for(self.counter.count(f"{key_id}:{scope}", window, window_s), 1.0)
        except Exception as exc:  # Redis down or slow: let the request through
            log.warning("rate limit not checked: %s: %s", type(exc).__name__, exc)
            return
        if total > limit:
            retry_after = max(1, math.ceil((window + 1) * window_s - now))
            raise RateLimited(f"at most {limit} requests per {window_s:g} s for scope {scope!r}; "
                              f"try again in {retry_after} s", retry_after_s=retry_after)

    async def close(self) -> None:
        await self.counter.close()


class FailureCounts(Protocol):
    async def read(self, names: list[str], window: int) -> list[int]:
        """The failures counted so far under each of ``names`` in ``window``."""
        ...

    async def add(self, names: list[str], window: int, window_s: float) -> None:
        """Count one failure under each of ``names`` in ``window``."""
        ...

    async def close(self) -> None: ...


class LocalFailureCounts:
    """Failure counts of this process; windows that ended are dropped as new ones start."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._window = -1

    def _roll(self, window: int) -> None:
        if window != self._window:
            self._counts = {}
            self._window = window

    async def read(self, names: list[str], window: int) -> list[int]:
        self._roll(window)
        return [self._counts.get(name, 0) for name in names]

    async def add(self, names: list[str], window: int, window_s: float) -> None:
        self._roll(window)
        for name in names:
            self._counts[name] = self._counts.get(name, 0) + 1

    async def close(self) -> None:
        self._counts.clear()


class RedisFailureCounts:
    """Failure counts in Redis, shared by every API process using the same Redis; a Redis
    slower than ``timeout_s`` fails the call (and the throttle lets the request through)."""

    def __init__(self, url: str, *, timeout_s: float = 1.0) -> None:
        from redis.asyncio import Redis

        self._redis: Any = Redis.from_url(url)
        self._timeout_s = timeout_s

    async def read(self, names: list[str], window: int) -> list[int]:
        async with asyncio.timeout(self._timeout_s):
            values = await self._redis.mget([f"{FAILURES_PREFIX}{name}:{window}" for name in names])
        return [int(value or 0) for value in values]

    async def add(self, names: list[str], window: int, window_s: float) -> None:
        async with asyncio.timeout(self._timeout_s), self._redis.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.incr(f"{FAILURES_PREFIX}{name}:{window}")
                pipe.expire(f"{FAILURES_PREFIX}{name}:{window}", max(1, math.ceil(window_s * 2)))
            await pipe.execute()

    async def close(self) -> None:
        await self._redis.aclose()


class FailureThrottle:
    """Throttles wrong credentials per client address and per key prefix (see the module)."""

    def __init__(self, settings: HttpSettings, counts: FailureCounts, *, clock: Any = time.time) -> None:
        self.limit = settings.auth_failure_limit
        self.window_s = settings.auth_failure_window_s
        self.counts = counts
        self._clock = clock

    @classmethod
    def from_settings(cls, settings: Settings) -> FailureThrottle:
        counts: FailureCounts = RedisFailureCounts(settings.store.redis_url) if settings.store.redis_url \
            else LocalFailureCounts()
        return cls(settings.http, counts)

    @staticmethod
    def _names(address: str, key: str) -> list[str]:
        prefix = key_prefix(key)
        return [f"addr:{address}", f"prefix:{prefix}", f"addr-prefix:{address}:{prefix}"]

    def _window(self) -> tuple[int, int]:
        """The current window and the whole seconds until it ends (at least 1)."""
        now = self._clock()
        window = int(now // self.window_s)
        return window, max(1, math.ceil((window + 1) * self.window_s - now))

    async def check(self, address: str, key: str) -> None:
        """:class:`RateLimited` when ``address`` may not present ``key`` now (before it is checked)."""
        if self.limit <= 0:
            return
        window, retry_after = self._window()
        try:
            by_address, by_prefix, mine = await self.counts.read(self._names(address, key), window)
        except Exception as exc:  # Redis down or slow: let the request through
            log.warning("failed credentials not checked: %s: %s", type(exc).__name__, exc)
            return
        if by_address >= self.limit:
            whose = "from this address"
        elif by_prefix >= self.limit and mine > 0:
            whose = "with this key's prefix"
        else:
            return
        raise RateLimited(f"too many wrong API keys {whose} (at most {self.limit} per {self.window_s:g} s); "
                          f"try again in {retry_after} s", retry_after_s=retry_after)

    async def failed(self, address: str, key: str) -> None:
        """Count a wrong ``key`` presented from ``address``."""
        if self.limit <= 0:
            return
        window, _ = self._window()
        try:
            await self.counts.add(self._names(address, key), window, self.window_s)
        except Exception as exc:
            log.warning("failed credentials not counted: %s: %s", type(exc).__name__, exc)

    async def close(self) -> None:
        await self.counts.close()


def client_address(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """The address the request came from (as the server saw it; behind a proxy, the server's
    forwarded-address handling decides)."""
    return connection.client.host if connection.client else "unknown"


@dataclass(kw_only=True)
class ApiGuards:
    """The API's request guards, built once with the app and kept in ``app.state.guards``: the
    API keys, the wrong-key throttle and the rate limits."""

    api_keys: KeyResolver
    auth_throttle: FailureThrottle
    rate_limiter: RateLimiter

    @classmethod
    def from_settings(cls, settings: Settings) -> ApiGuards:
        return cls(api_keys=KeyResolver(admin_key=settings.http.admin_api_key.value),
                   auth_throttle=FailureThrottle.from_settings(settings),
                   rate_limiter=RateLimiter.from_settings(settings))

    @staticmethod
    def of(holder: Any) -> ApiGuards:
        """The guards of an app, or of the app a request or connection belongs to."""
        app = getattr(holder, "app", holder)
        return cast(ApiGuards, app.state.guards)

    async def close(self) -> None:
        await self.rate_limiter.close()
        await self.auth_throttle.close()


async def resolve_key(connection: ASGIConnection[Any, Any, Any, Any], key: str) -> Principal | None:
    """The principal of ``key`` (None: unknown or revoked), counting a wrong key against the
    caller's address and the key's prefix; :class:`RateLimited` instead once there were too many."""
    guards = ApiGuards.of(connection)
    address = client_address(connection)
    await guards.auth_throttle.check(address, key)
    principal = await guards.api_keys.resolve(Runtime.of(connection).sessions, key)
    if principal is None:
        await guards.auth_throttle.failed(address, key)
    return principal
