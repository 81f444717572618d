"""The throttle of wrong credentials on its own: windows, limits, prefixes, a failing store."""

from __future__ import annotations

import pytest

from gateway.core.errors import RateLimited
from gateway.core.settings import load_settings
from gateway.http.apikeys import key_prefix
from gateway.http.ratelimit import FailureThrottle, LocalFailureCounts


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def throttle(clock: Clock, limit: int = 3) -> FailureThrottle:
    settings = load_settings({}, auth_failure_limit=limit, auth_failure_window_s=60)
    return FailureThrottle(settings.http, LocalFailureCounts(), clock=clock)


def test_key_prefixes_are_the_public_part_of_minted_keys() -> None:
    """``gw_<8 hex>_<secret>`` gives its prefix; any other key (the admin key) shares ``-``."""
    assert key_prefix("gw_0a1b2c3d_secret_with_underscores") == "0a1b2c3d"
    for other in ("test-admin-key", "gw_0A1B2C3D_x", "gw_0a1b2c_x", "gw__x", "gw_0a1b2c3d"):
        assert key_prefix(other) == "-"


async def test_an_address_over_the_limit_waits_for_the_window_to_end() -> None:
    """After ``limit`` failures an address gets 429 with the seconds left in its window, then tries again."""
    clock = Clock(6_000.0 + 15.0)
    guard = throttle(clock)
    for _ in range(3):
        await guard.check("192.0.2.1", "wrong")
        await guard.failed("192.0.2.1", "wrong")
    with pytest.raises(RateLimited) as refused:
        await guard.check("192.0.2.1", "gw_0a1b2c3d_right")
    assert refused.value.retry_after_s == 45
    await guard.check("192.0.2.2", "gw_0a1b2c3d_right")  # another address is not affected
    clock.now += 45
    await guard.check("192.0.2.1", "gw_0a1b2c3d_right")


async def test_a_prefix_over_the_limit_refuses_only_addresses_that_failed_with_it() -> None:
    """Failures spread over addresses throttle the prefix for those addresses only."""
    guard = throttle(Clock(1_000.0))
    for address in ("192.0.2.1", "192.0.2.2", "192.0.2.3"):
        await guard.failed(address, "gw_0a1b2c3d_guess")
    with pytest.raises(RateLimited):
        await guard.check("192.0.2.2", "gw_0a1b2c3d_guess")
    await guard.check("192.0.2.2", "gw_99999999_other")
    await guard.check("198.51.100.1", "gw_0a1b2c3d_right")


async def test_limit_zero_counts_nothing() -> None:
    """``GATEWAY_AUTH_FAILURE_LIMIT=0`` turns the throttle off."""
    guard = throttle(Clock(1_000.0), limit=0)
    for _ in range(50):
        await guard.failed("192.0.2.1", "wrong")
        await guard.check("192.0.2.1", "wrong")


async def test_a_failing_store_lets_requests_through() -> None:
    """Should the counts be unreachable (Redis down), credentials are checked as if unthrottled."""

    class Broken(LocalFailureCounts):
        async def read(self, names: list[str], window: int) -> list[int]:
            raise ConnectionError("redis is down")

        async def add(self, names: list[str], window: int, window_s: float) -> None:
            raise ConnectionError("redis is down")

    settings = load_settings({}, auth_failure_limit=1)
    guard = FailureThrottle(settings.http, Broken())
    await guard.failed("192.0.2.1", "wrong")
    await guard.check("192.0.2.1", "wrong")
