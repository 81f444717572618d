"""Per-key rate limits of the gateway's own API, so one runaway caller cannot starve the others.

Each API key gets, per route scope (``customers:read``, ``customers:write``,
``readings:write``, ``invites:write``, ``ops``), a budget of requests per fixed window
(``GATEWAY_RATE_LIMIT_*``, window ``GATEWAY_RATE_LIMIT_WINDOW_S``). A request over the
budget is answered 429 ``rate-limited`` with ``Retry-After`` (the seconds until the
window ends). With Redis configured the counts are shared by every API process
(one ``INCR`` + ``EXPIRE`` per request); without it each process counts on its own.
Should Redis fail, requests are let through (logged): the limit protects the gateway,
it must not take it down.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from typing import Any, Protocol

from gateway.core.errors import RateLimited
from gateway.core.settings import HttpSettings, Settings

log = logging.getLogger("gateway.api")
KEY_PREFIX = "gateway:ratelimit:"


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
