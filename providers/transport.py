"""The transport under every provider client: aiohttp's HTTP/1.1 engine behind httpx's API.

httpx's own transport (httpcore) costs 2.7-4.6 ms of client CPU per small JSON
request on loopback; the ``httpx-aiohttp`` transport does the same exchange in
about 0.75 ms (``tests/perf/transport.py`` measures both side by side). Clients
keep httpx's API (requests, responses, timeouts, limits, exceptions), so
nothing above the transport changes.

One thing the package gets wrong for us is how aiohttp's failures become
httpx's: it maps every ``aiohttp.ClientConnectionError`` to ``ConnectTimeout``,
so a connection the server closed after taking the request would read as
"never sent" (``providers.errors.NOT_SENT_EXCEPTIONS``) and a create could be
repeated. :class:`UpstreamTransport` maps them again, from the aiohttp
exception itself: only failures to connect (or to get a pooled connection in
time) are ``ConnectError``/``ConnectTimeout``; a dropped connection, a read
timeout and a broken answer are failures after the request left.

aiohttp has no write timeout; httpx's ``connect`` timeout bounds connecting,
``pool`` the wait for a pooled connection plus connecting, ``read`` each read.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from functools import cache

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport


def upstream_error(exc: BaseException) -> type[httpx.TransportError] | None:
    """The httpx exception class an aiohttp failure stands for (``None``: not aiohttp's)."""
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout
    if isinstance(exc, aiohttp.ServerTimeoutError):
        return httpx.ReadTimeout
    if isinstance(exc, aiohttp.ClientProxyConnectionError | aiohttp.ClientHttpProxyError):
        return httpx.ProxyError
    if isinstance(exc, aiohttp.ClientConnectorError):
        return httpx.ConnectError
    if isinstance(exc, aiohttp.InvalidURL):
        return httpx.UnsupportedProtocol
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientResponseError):
        return httpx.RemoteProtocolError
    if isinstance(exc, aiohttp.ClientPayloadError | aiohttp.ClientOSError | aiohttp.ClientConnectionError):
        return httpx.ReadError
    if isinstance(exc, aiohttp.ClientError):
        return httpx.TransportError
    return None


def _remapped(exc: httpx.TransportError) -> httpx.TransportError:
    cause = exc.__cause__
    mapped = upstream_error(cause) if cause is not None else None
    if mapped is None or type(exc) is mapped:
        return exc
    return mapped(str(exc) or type(cause).__name__)


class _Body(httpx.AsyncByteStream):
    """A response body whose read failures are mapped like the request's."""

    def __init__(self, inner: httpx.AsyncByteStream) -> None:
        self._inner = inner

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._inner:
                yield chunk
        except httpx.TransportError as exc:
            raise _remapped(exc) from exc.__cause__
        except aiohttp.ClientError as exc:
            raise (upstream_error(exc) or httpx.TransportError)(str(exc) or type(exc).__name__) from exc

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        except httpx.TransportError as exc:
            raise _remapped(exc) from exc.__cause__


@cache
def verified_tls() -> ssl.SSLContext:
    """The TLS context every upstream connection verifies with (certifi's authorities).

    Built once per process and shared: loading the authorities costs tens of
    milliseconds, and a context holds no per-connection state.
    """
    return httpx.create_ssl_context(verify=True, trust_env=False)


class UpstreamTransport(AiohttpTransport):
    """``httpx_aiohttp.AiohttpTransport`` with failures mapped by when they happened."""

    def __init__(self, *, limits: httpx.Limits) -> None:
        # trust_env=False: no proxy or certificate settings from the environment.
        super().__init__(verify=verified_tls(), limits=limits, trust_env=False)

    def get_client(self) -> aiohttp.ClientSession:
        """The package's session, except that aiohttp adds no ``Content-Type`` of its own: it
        would label a bodiless POST or PUT ``application/octet-stream``, a body type the
        providers do not take. A request with a body names its type itself."""
        connector = aiohttp.TCPConnector(
            keepalive_timeout=self.limits.keepalive_expiry, ssl=self.ssl_context,
            limit=self.limits.max_connections or 0)
        return aiohttp.ClientSession(connector=connector, skip_auto_headers=("Content-Type",))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            response = await super().handle_async_request(request)
        except httpx.TransportError as exc:
            raise _remapped(exc) from exc.__cause__
        except aiohttp.ClientError as exc:
            # Failures the package does not map at all (a malformed answer) reach us as they are.
            raise (upstream_error(exc) or httpx.TransportError)(str(exc) or type(exc).__name__) from exc
        if isinstance(response.stream, httpx.AsyncByteStream):
            response.stream = _Body(response.stream)
        return response
