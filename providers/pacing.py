"""A ceiling on the request rate to a provider: a transport that waits its turn before each request.

The pace itself is kept elsewhere (``Pacer``): in this process, or shared by every worker
through Redis (``gateway.outbox.pacing``), so ``GATEWAY_VOLUE_MAX_RPS`` holds for the whole
deployment, not per process. Token fetches go through the same transport and count too.
"""

from __future__ import annotations

from typing import Protocol

import httpx


class Pacer(Protocol):
    """Hands out request slots at a fixed rate."""

    async def wait(self) -> None:
        """Return when the caller's request may go out (its slot is then taken)."""
        ...


class PacedTransport(httpx.AsyncBaseTransport):
    """Waits for a slot from ``pacer`` before handing each request to ``inner``."""

    def __init__(self, inner: httpx.AsyncBaseTransport, pacer: Pacer) -> None:
        self.inner = inner
        self.pacer = pacer

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await self.pacer.wait()
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()
