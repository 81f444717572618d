"""The request rate a provider allows: ``GATEWAY_VOLUE_MAX_RPS`` and ``GATEWAY_ZF_MAX_RPS``.

Both pacers follow the generic cell rate algorithm: a theoretical arrival time (TAT) moves
on by ``1 / rate`` for every request; a request whose slot lies in the future sleeps until
then. :class:`LocalPacer` keeps the TAT in this process (embedded mode);
:class:`RedisPacer` keeps it in Redis, moved by one Lua script on Redis' own clock, so every
worker process shares one rate. Should Redis fail, a request goes out unpaced (a warning is
logged once per outage) rather than stopping the sync.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

log = logging.getLogger("gateway.sync")

_TAKE_SLOT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local nxt = tat + interval
redis.call('SET', KEYS[1], nxt, 'PX', math.floor((nxt - now) / 1000) + 1000)
return tat - now
"""
"""Take the next slot; returns the microseconds until it comes."""


class LocalPacer:
    """At most ``rate`` requests a second from this process."""

    def __init__(self, rate: float) -> None:
        if rate <= 0:
            raise ValueError("rate must be above 0")
        self.interval = 1.0 / rate
        self._tat = 0.0

    async def wait(self) -> None:
        now = time.monotonic()
        slot = max(self._tat, now)
        self._tat = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)


class RedisPacer:
    """At most ``rate`` requests a second from every process sharing ``redis`` and ``key``."""

    def __init__(self, redis: Any, *, key: str, rate: float) -> None:
        if rate <= 0:
            raise ValueError("rate must be above 0")
        self.redis = redis
        self.key = key
        self.interval_us = max(1, round(1_000_000 / rate))
        self._failing = False

    async def wait(self) -> None:
        try:
            wait_us = int(await self.redis.eval(_TAKE_SLOT, 1, self.key, self.interval_us))
        except Exception as exc:
            if not self._failing:
                log.warning("request pacing through Redis failed (%s); sending unpaced", exc)
                self._failing = True
            return
        self._failing = False
        if wait_us > 0:
            await asyncio.sleep(wait_us / 1_000_000)


def pacer_for(provider: str, rate: float, *, redis: Any = None) -> LocalPacer | RedisPacer | None:
    """The pacer for ``provider`` at ``rate`` requests a second (None for 0: no ceiling),
    shared through ``redis`` when one is given."""
    if rate <= 0:
        return None
    if redis is not None:
        return RedisPacer(redis, key=f"gateway:pace:{provider}", rate=rate)
    return LocalPacer(rate)
