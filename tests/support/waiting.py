"""Waiting for something the system does in the background, without fixed sleeps."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    check: Callable[[], T | None] | Callable[[], Awaitable[T | None]],
    *,
    what: str = "condition",
    timeout: float = 20.0,
    interval: float = 0.05,
) -> T:
    """Call ``check`` (plain or async) until it returns something truthy and return that.

    Fails with an ``AssertionError`` naming ``what`` and the last value seen once ``timeout``
    seconds have passed; the check runs once more at the deadline, so a slow machine that
    reaches the condition just then still passes.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"{what}: not met within {timeout} s (last: {value!r})")
        await asyncio.sleep(interval)
