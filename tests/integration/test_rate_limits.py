"""Per-key rate limits of the API: 429 problems with Retry-After, per scope, shared through Redis."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager

import pytest
from litestar.testing import AsyncTestClient

from gateway.app import create_app
from gateway.core.settings import Settings, load_settings
from gateway.http.apikeys import Scope
from gateway.http.ratelimit import ApiGuards, Counter, LocalCounter, RateLimiter, RedisCounter
from tests.conftest import ADMIN_KEY
from tests.integration.test_api_auth import add_key, bearer

WINDOW_S = 60.0


def limited(database_url: str, **extra: object) -> Settings:
    return load_settings({}, database_url=database_url, admin_api_key=ADMIN_KEY,
                         rate_limit_window_s=WINDOW_S, rate_limit_customers_read=3,
                         rate_limit_ops=0, **extra)


@asynccontextmanager
async def clients(settings: Settings, counter: Callable[[], Counter], now: float, copies: int
                  ) -> AsyncIterator[list[AsyncTestClient]]:
    """``copies`` API processes, each with a ``counter()`` of its own, at the fixed time ``now``."""
    async with AsyncExitStack() as stack:
        found = []
        for _ in range(copies):
            app = create_app(settings, embedded_worker=False)
            client = await stack.enter_async_context(AsyncTestClient(app))
            guards = ApiGuards.of(app)
            await guards.rate_limiter.close()
            guards.rate_limiter = RateLimiter(settings.http, counter(), clock=lambda: now)
            client.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
            found.append(client)
        yield found


async def assert_limited(clients_: list[AsyncTestClient], database_url: str, now: float) -> None:
    first, last = clients_[0], clients_[-1]
    for index in range(3):
        answer = await clients_[index % len(clients_)].get("/v1/customers")
        assert answer.status_code == 200, answer.text
    refused = await last.get("/v1/customers")
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["type"].endswith("/rate-limited")
    window_end = (now // WINDOW_S + 1) * WINDOW_S
    assert int(refused.headers["retry-after"]) == max(1, int(-(-(window_end - now) // 1)))
    # another scope (ops: no limit) and another key have budgets of their own
    assert (await first.get("/v1/sync/tasks")).status_code == 200
    other = await add_key(database_url, Scope.CUSTOMERS_READ.value)
    assert (await first.get("/v1/customers", headers=bearer(other))).status_code == 200


async def test_in_process_limit_answers_429_with_retry_after(database_url: str) -> None:
    """Without Redis a key over its scope's budget gets 429 with Retry-After; others are untouched."""
    now = 1_000_000.0 + 17.4
    async with clients(limited(database_url), LocalCounter, now, 1) as found:
        await assert_limited(found, database_url, now)


@pytest.mark.redis
async def test_redis_limit_is_shared_by_every_process(sqlite_url: str, redis_url: str) -> None:
    """With Redis two API processes draw on one budget per key and scope."""
    settings = limited(sqlite_url, redis_url=redis_url)
    now = random.randrange(10**6, 10**7) * WINDOW_S + 41.0  # a window no earlier run counted in
    async with clients(settings, lambda: RedisCounter(redis_url), now, 2) as found:
        await assert_limited(found, sqlite_url, now)
