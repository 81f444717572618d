"""The one HTTP path to an upstream: pooled client, bearer token, error table, call log.

Each provider gets one ``httpx.AsyncClient`` per process, built with ``client_options``,
and one ``ProviderHttp`` around it and the transport it was built on. That transport is
:class:`providers.transport.UpstreamTransport` (aiohttp under httpx's API) unless a caller
passes its own (tests pass httpx's ASGI or mock transports). ``ProviderHttp.send`` adds the
bearer token, turns an unsuccessful answer into a ``ProviderError`` (``providers.errors``),
answers a 401 by invalidating the token, fetching one new token and retrying once, repeats
a request once at once when that is safe and the caller allows it (:func:`repeatable`), and
appends a ``CallRecord`` for every exchange (its bodies redacted, ``providers.redact``) to the
list in ``call_log`` when one is set. Once :func:`trace_exchanges` was called (traces on),
each exchange is an OpenTelemetry client span (method, route template, status) under
whatever span is current, its context sent along in a ``traceparent`` header; before that
nothing of OpenTelemetry is imported.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import time
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from contextvars import ContextVar
from typing import Any, Protocol, TypeVar
from urllib.parse import quote

import httpx
import msgspec

from providers.base import CallRecord, Operation, Outcome, ProviderError, TransientError
from providers.errors import error_for_exception, error_for_response, message_from_body
from providers.lenient import decode_lenient, log_unknown_fields
from providers.redact import keep_body
from providers.transport import UpstreamTransport

call_log: ContextVar[list[CallRecord] | None] = ContextVar("provider_call_log", default=None)
"""Where upstream exchanges are recorded; the sync engine sets a fresh list per task."""
may_repeat: ContextVar[Callable[[], bool] | None] = ContextVar("provider_may_repeat", default=None)
"""Asked before a failed request is sent once more (:func:`repeatable`); None (the default): it
is not. The sync engine sets it for the requests it sends, answering no while the provider's
circuit is not closed (a probe goes out once) or its repeat budget is spent (an outage is not
met with a second request per request); other callers (the events poll, ops commands) try
again on their own schedule."""

REPEATABLE_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
"""Idempotent methods (RFC 9110, 9.2.2): sending one twice does what sending it once does."""
REPEAT_PAUSE_S = (0.05, 0.25)
"""The pause before a failed request is sent once more (drawn at random)."""


def repeatable(method: str, error: TransientError) -> bool:
    """Whether a request that failed with ``error`` is sent once more at once, within the same
    call: a read, replace or delete that failed on the way (a 500, 502 or 504, a connection lost
    after sending: repeating an idempotent request is harmless), or any request the server
    answered at once with 408 or 503 without taking it on. Never a 429 (the provider sets the
    pace), a refused connection, nor a create that may have been carried out (the caller looks
    for it first). A single sporadic failure then costs no retry of the whole task, and a task
    that reads before it writes fails about as often as one request."""
    if error.status == 429:
        return False
    if error.maybe_sent:
        allowed = method in REPEATABLE_METHODS
    else:
        allowed = error.status in (408, 503)
    check = may_repeat.get()
    return allowed and check is not None and check()

_encoder = msgspec.json.Encoder()
_JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}
_ACCEPT_HEADERS = {"Accept": "application/json"}
_tracer: Any = None
"""OpenTelemetry's tracer once :func:`trace_exchanges` turned spans on; None: no spans, and
nothing of OpenTelemetry imported."""


def trace_exchanges(on: bool = True) -> None:
    """Make every exchange a client span from now on (the gateway calls this when it
    installs a tracer provider), or no more (``on`` false)."""
    global _tracer
    if not on:
        _tracer = None
        return
    from opentelemetry import trace

    _tracer = trace.get_tracer("providers.http")


class _NoSpan:
    """What an exchange writes to while spans are off."""

    def is_recording(self) -> bool:
        return False

    def set_attribute(self, key: str, value: Any) -> None:
        return None


_NO_SPAN = contextlib.nullcontext(_NoSpan())


def _client_span(method: str, route: str, host: str) -> contextlib.AbstractContextManager[Any]:
    if _tracer is None:
        return _NO_SPAN
    from opentelemetry.trace import SpanKind

    return _tracer.start_as_current_span(  # type: ignore[no-any-return]
        f"{method} {route}", kind=SpanKind.CLIENT, record_exception=False,
        set_status_on_exception=False,
        attributes={"http.request.method": method, "url.template": route, "server.address": host})


def _failed(span: Any, kind: str, message: str | None = None) -> None:
    if span.is_recording():
        from opentelemetry.trace import StatusCode

        span.set_status(StatusCode.ERROR, message)
        span.set_attribute("error.type", kind)


def _trace_id() -> str | None:
    """The current span's trace id (32 hex digits) while spans are on and one is current."""
    if _tracer is None:
        return None
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None

T = TypeVar("T")


def record_call(
    *, method: str, route: str, status: int | None, started: float, error: str | None = None,
    request: bytes | None = None, response: bytes | None = None,
) -> None:
    """Append one exchange to the current call log (no-op when none is set).

    ``started`` is a ``time.perf_counter()`` reading taken before the request. ``request``
    and ``response`` are the bodies, kept redacted and capped (:func:`providers.redact.keep_body`);
    token exchanges pass none. The trace id is the current span's, when it is recorded.
    """
    log = call_log.get()
    if log is None:
        return
    latency_ms = round((time.perf_counter() - started) * 1000.0, 3)
    sent = keep_body(request)
    got = keep_body(response)
    log.append(CallRecord(
        method=method, route=route, status=status, latency_ms=latency_ms, error=error,
        request_body=sent.text if sent else None, request_truncated=bool(sent and sent.truncated),
        response_body=got.text if got else None, response_truncated=bool(got and got.truncated),
        trace_id=_trace_id(),
    ))


class TokenProvider(Protocol):
    """Bearer tokens for one provider: one shared token, fetched once at a time."""

    async def bearer(self) -> str:
        """A token believed valid, fetching one first when there is none or it is too old."""
        ...

    async def invalidate(self, stale: str) -> None:
        """Forget ``stale`` if it is still the current token (the provider answered 401)."""
        ...


KEEPALIVE_S = 4.0
"""How long an idle upstream connection is kept for reuse."""


def client_options(
    *,
    timeout_s: float = 10.0,
    max_connections: int = 50,
    transport: httpx.AsyncBaseTransport | None = None,
) -> dict[str, Any]:
    """Keyword arguments for an ``httpx.AsyncClient``: explicit timeouts and pool limits.

    The transport is an :class:`UpstreamTransport` with those limits unless ``transport``
    names another one.
    """
    # A connection idle for longer than KEEPALIVE_S is not reused: servers commonly close
    # idle connections after 5 s (uvicorn, Node), and one closed just as a request is
    # written to it fails that request after it may have left (a retry, an extra request).
    limits = httpx.Limits(
        max_connections=max_connections,
        max_keepalive_connections=max_connections,
        keepalive_expiry=KEEPALIVE_S,
    )
    return {
        "timeout": httpx.Timeout(timeout_s, connect=min(timeout_s, 5.0)),
        "limits": limits,
        "transport": transport if transport is not None else UpstreamTransport(limits=limits),
        "follow_redirects": False,
        "trust_env": False,
    }


def decode(response: httpx.Response, type_: type[T], *, route: str) -> T:
    """The response body as ``type_``; a body that does not fit is a ``ProviderError``.

    Fields the contract does not name are dropped and logged, not refused
    (:mod:`providers.lenient`).
    """
    try:
        value, dropped = decode_lenient(response.content, type_)
        if dropped:
            log_unknown_fields(f"{response.request.method} {route}", dropped)
        return value
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ProviderError(
            f"{response.request.method} {route} answered {response.status_code} with an "
            f"unexpected body: {exc}",
            status=response.status_code,
            route=route,
        ) from None


class ProviderHttp:
    """Sends requests to one provider and classifies what comes back.

    ``transport`` is the one ``client`` was built on (the ``transport`` entry of
    ``client_options``). A request goes straight to it, as one exchange: the client's
    request-building, cookie jar, auth and redirect layers would each cost CPU on every
    request and do nothing here (the bearer token is added here, redirects are not
    followed, upstream APIs set no cookies to keep). What the client is configured
    with still applies: its base URL, default headers, timeouts and event hooks. The
    client itself remains for what goes through it (token requests) and owns the pool:
    closing it closes the transport.
    """

    def __init__(self, *, client: httpx.AsyncClient, transport: httpx.AsyncBaseTransport,
                 tokens: TokenProvider) -> None:
        self.client = client
        self.transport = transport
        self.tokens = tokens
        base = client.base_url
        self._base = str(base.copy_with(query=None, fragment=None)).rstrip("/")
        defaults = dict(client.headers)
        self._json_headers = {**defaults, **_JSON_HEADERS}
        self._accept_headers = {**defaults, **_ACCEPT_HEADERS}
        self._extensions = {"timeout": client.timeout.as_dict()}
        self._slow_s = (client.timeout.read or math.inf) / 2
        """A 503 this slow may come from a proxy that gave up on a server still at work."""

    async def send(
        self,
        method: str,
        route: str,
        *,
        path: Mapping[str, str] | None = None,
        body: Any = None,
        params: Mapping[str, str | int] | None = None,
        tolerate: Collection[int] = (),
    ) -> httpx.Response:
        """Send ``method route`` and return the response when it is 2xx or in ``tolerate``.

        ``route`` is the path template (``/users/{userId}``), filled from ``path``
        with each value percent-encoded; ``body`` is JSON-encoded with msgspec.
        Raises the ``ProviderError`` subclass the error table names otherwise.
        """
        url = route.format_map({k: quote(v, safe="") for k, v in path.items()}) if path else route
        content = _encoder.encode(body) if body is not None else None
        try:
            return await self._send_once(method, route, url, content, params, tolerate)
        except TransientError as error:
            if not repeatable(method, error):
                raise
        await asyncio.sleep(random.uniform(*REPEAT_PAUSE_S))
        return await self._send_once(method, route, url, content, params, tolerate)

    async def _send_once(self, method: str, route: str, url: str, content: bytes | None,
                         params: Mapping[str, str | int] | None,
                         tolerate: Collection[int]) -> httpx.Response:
        token = await self.tokens.bearer()
        started = time.perf_counter()
        response = await self._exchange(method, route, url, content, params, token)
        if response.status_code == 401:
            await self.tokens.invalidate(token)
            token = await self.tokens.bearer()
            started = time.perf_counter()
            response = await self._exchange(method, route, url, content, params, token)
        status = response.status_code
        if 200 <= status < 300 or status in tolerate:
            return response
        raise error_for_response(response, method=method, route=route,
                                 answered_after_s=time.perf_counter() - started, slow_s=self._slow_s)

    async def _exchange(
        self,
        method: str,
        route: str,
        url: str,
        content: bytes | None,
        params: Mapping[str, str | int] | None,
        token: str,
    ) -> httpx.Response:
        headers = dict(self._json_headers if content is not None else self._accept_headers)
        headers["Authorization"] = f"Bearer {token}"
        with _client_span(method, route, self.client.base_url.host) as span:
            if span.is_recording():
                from opentelemetry import propagate

                propagate.inject(headers)
            started = time.perf_counter()
            try:
                response = await self._send(httpx.Request(
                    method, self._base + url, content=content, params=params, headers=headers,
                    extensions=self._extensions))
            except httpx.HTTPError as exc:
                error = error_for_exception(exc, method=method, route=route)
                _failed(span, type(exc).__name__, error.message)
                record_call(method=method, route=route, status=None, started=started,
                            error=error.message, request=content)
                raise error from None
            status = response.status_code
            span.set_attribute("http.response.status_code", status)
            failure = None
            if status >= 400:
                said = message_from_body(response.content)
                failure = f"{status} {response.reason_phrase}" + (f": {said}" if said else "")
                _failed(span, str(status))
            record_call(method=method, route=route, status=status, started=started, error=failure,
                        request=content, response=response.content)
        return response

    async def _send(self, request: httpx.Request) -> httpx.Response:
        """One exchange on the transport, the body read in full."""
        if self.client.is_closed:
            raise RuntimeError("the provider's client is closed")
        hooks = self.client.event_hooks
        for hook in hooks["request"]:
            await hook(request)
        response = await self.transport.handle_async_request(request)
        response.request = request
        try:
            for hook in hooks["response"]:
                await hook(response)
            await response.aread()
        except BaseException:
            await response.aclose()
            raise
        return response

    async def aclose(self) -> None:
        """Close the pooled connections."""
        await self.client.aclose()


async def apply_each(
    apply: Callable[[Operation], Awaitable[Outcome]],
    ops: Sequence[Operation],
    *,
    concurrency: int = 8,
) -> list[Outcome | ProviderError]:
    """Run ``apply`` for every operation, at most ``concurrency`` at once, results in order.

    A ``ProviderError`` becomes that operation's result; anything else propagates.
    """
    limit = asyncio.Semaphore(max(concurrency, 1))

    async def one(op: Operation) -> Outcome | ProviderError:
        async with limit:
            try:
                return await apply(op)
            except ProviderError as error:
                return error

    if len(ops) == 1:
        return [await one(ops[0])]
    return list(await asyncio.gather(*(one(op) for op in ops)))
