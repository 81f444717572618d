"""Machinery shared by the provider emulators: faults, counters, tokens, serving.

Each emulator owns one :class:`Emulation`. Its ASGI middleware injects the faults
of the current :class:`FaultPlan` (latency, 5xx, 429 with ``Retry-After``, dropped
connections) before a route handler runs and counts every answered request per
route template and status. :meth:`Emulation.control_router` mounts the control
surface under ``/_emulator`` (never faulted, never counted).

A route whose handler carries a :data:`FastPath` in ``opt`` (see :func:`fast_path_opt`)
is answered by that function, straight from the raw request body, when it can (see
:meth:`Emulation.install_fast_paths`): the frequent single-entity writes then skip
Litestar's routing and handler pipeline (signature model, guards, response objects).
Whenever the fast path declines, the request goes on through Litestar as if the fast
path did not exist, body included.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
import secrets
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NamedTuple, cast

import msgspec
import uvicorn
from litestar import Litestar, Router, get, post, put
from litestar.exceptions import ValidationException
from litestar.routes import HTTPRoute
from litestar.types import (
    ASGIApp,
    HTTPResponseStartEvent,
    HTTPScope,
    Message,
    Receive,
    ReceiveMessage,
    Scope,
    Send,
)

CONTROL_PREFIX = "/_emulator"
DEFAULT_TOKEN_PATHS = ("/connect/token", "/auth/token")
_ERROR_STATUSES = (500, 502, 503)
_PROBLEM_HEADERS = [(b"content-type", b"application/problem+json")]
FAST_PATH = "emulator_fast_path"
_FAST_BODY_LIMIT = 64 * 1024
_JSON_CONTENT_TYPE = (b"content-type", b"application/json")
_PLAIN_HOST = re.compile(rb"[0-9A-Za-z.:\-]*")


class FastAnswer(NamedTuple):
    """A JSON answer given without the route handler: status and encoded body."""

    status: int
    body: bytes


class FastRequest(NamedTuple):
    """What a fast path is given: the scope, its headers, the path parameters and the body.

    No header name occurs twice in the request (requests repeating one go to Litestar).
    """

    scope: Scope
    headers: dict[bytes, bytes]
    params: dict[str, str]
    body: bytes

    def header(self, name: bytes) -> str | None:
        """The value of header ``name`` (lower case), as Litestar decodes it."""
        value = self.headers.get(name)
        return None if value is None else value.decode("latin-1")


FastPath = Callable[[FastRequest], "FastAnswer | None"]
"""Answers a request for its route, or declines with ``None``.

It must decline whenever it cannot give exactly the answer the route handler would
give: it applies the route's guards and hooks itself, and it declines before
changing any state, so that the handler then finds the state as the request found
it. Its answer goes out with ``content-type: application/json`` and
``content-length`` only, as a Litestar ``Response`` with bytes content and that
media type does. ``scope["litestar_app"]`` is set; the routing keys are not.
"""


def fast_path_opt(answer: FastPath, **opt: Any) -> dict[str, Any]:
    """Return a route handler ``opt`` that lets ``answer`` answer the route first."""
    return {**opt, FAST_PATH: answer}


class _FastRoute(NamedTuple):
    key: str  # as counted: "POST /partner/spaces/{spaceId}/devices"
    pattern: re.Pattern[str]  # the whole path; one group per parameter
    names: tuple[str, ...]  # the parameters, in order
    answer: FastPath


class _FastRoutes:
    """The app's routes that carry a :data:`FastPath`, matched as Litestar would match them.

    A path matches when its segments equal the route's text segments and its
    parameter segments are non-empty and differ from every text segment of every
    route of the app: Litestar's routing tree always prefers a text segment, so such
    a path reaches this route there too. Paths Litestar would normalise (trailing or
    double slashes) never match. Apps with routes other than HTTP ones, with
    parameters other than plain ``str`` ones, or with CORS, CSRF, compression or
    allowed-hosts settings (which act before or around the handlers) get no fast
    paths; nor do cached routes.
    """

    def __init__(self, app: Litestar) -> None:
        self.texts: set[str] = set()
        self.routes: dict[tuple[str, int], list[_FastRoute]] = {}
        self.usable = not (
            app.cors_config or app.csrf_config or app.compression_config or app.allowed_hosts
        )
        for route in app.routes:
            parts: list[str] = []
            names: list[str] = []
            for component in route.path_components:
                if isinstance(component, str):
                    self.texts.add(component)
                    parts.append(re.escape(component))
                elif component.type is str and component.parser is None:
                    parts.append("([^/]+)")
                    names.append(component.name)
                else:
                    self.usable = False
            if not isinstance(route, HTTPRoute):
                self.usable = False
                continue
            pattern = re.compile("/" + "/".join(parts))
            for method, (handler, _) in route.route_handler_map.items():
                answer = handler.opt.get(FAST_PATH)
                if answer is not None and not handler.cache:
                    fast = _FastRoute(f"{method} {route.path_format}", pattern, tuple(names), answer)
                    self.routes.setdefault((method, len(parts)), []).append(fast)

    def __bool__(self) -> bool:
        return bool(self.routes) and self.usable

    def match(self, method: str, path: str) -> tuple[_FastRoute, dict[str, str]] | None:
        """The route and path parameters of a request, or ``None``."""
        candidates = self.routes.get((method, path.count("/")))
        if candidates:
            for route in candidates:
                found = route.pattern.fullmatch(path)
                if found is not None:
                    values = found.groups()
                    if self.texts.isdisjoint(values):
                        return route, dict(zip(route.names, values, strict=False))
        return None


def _replaying(messages: list[ReceiveMessage], receive: Receive) -> Receive:
    """A ``receive`` that hands out ``messages`` again before reading further."""
    pending = deque(messages)

    async def replay() -> ReceiveMessage:
        if pending:
            return pending.popleft()
        return await receive()

    return replay


def _raising(exc: Exception) -> Receive:
    """A ``receive`` that raises ``exc``: the route handler fails as the fast path did."""

    async def receive() -> ReceiveMessage:
        raise exc

    return receive


class FaultPlan(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, rename="camel"):
    """What an emulator does wrong, drawn per request from ``random.Random(seed)``."""

    latency_ms_min: int = 0
    latency_ms_max: int = 0
    error_rate: float = 0.0
    rate_limit_rate: float = 0.0
    retry_after_s: int = 1
    drop_rate: float = 0.0
    seed: int = 0
    paths: list[str] = msgspec.field(default_factory=list)

    def problems(self) -> list[str]:
        """Return what is inconsistent in this plan (empty when it is usable)."""
        found: list[str] = []
        if self.latency_ms_min < 0 or self.latency_ms_max < self.latency_ms_min:
            found.append("latencyMsMin must be >= 0 and <= latencyMsMax")
        rates = (self.error_rate, self.rate_limit_rate, self.drop_rate)
        if any(rate < 0.0 or rate > 1.0 for rate in rates):
            found.append("errorRate, rateLimitRate and dropRate must lie in [0, 1]")
        elif sum(rates) > 1.0 + 1e-9:
            found.append("errorRate + rateLimitRate + dropRate must not exceed 1")
        if self.retry_after_s < 0:
            found.append("retryAfterS must be >= 0")
        return found

    @property
    def is_active(self) -> bool:
        """Whether the plan injects anything at all."""
        return bool(
            self.latency_ms_max or self.error_rate or self.rate_limit_rate or self.drop_rate
        )


class ConnectionDropped(Exception):
    """Raised after an emulator deliberately abandoned a request without answering."""


class EmulatorStats:
    """Plain counters, cheap to update from request handlers."""

    def __init__(self) -> None:
        self.requests: defaultdict[str, defaultdict[int, int]] = defaultdict(
            lambda: defaultdict(int)
        )
        self.dropped: defaultdict[str, int] = defaultdict(int)
        self.duplicates: defaultdict[str, int] = defaultdict(int)
        self.token_fetches = 0

    def count_request(self, route: str, status: int) -> None:
        """Count one answered request, ``route`` being e.g. ``"POST /users/batch"``."""
        self.requests[route][status] += 1

    def count_drop(self, route: str) -> None:
        """Count one request whose connection was dropped without an answer."""
        self.dropped[route] += 1

    def count_duplicate(self, kind: str, n: int = 1) -> None:
        """Count ``n`` identical re-creates of an entity of ``kind`` (e.g. ``"user"``)."""
        if n:
            self.duplicates[kind] += n

    def reset(self) -> None:
        """Zero every counter."""
        self.requests.clear()
        self.dropped.clear()
        self.duplicates.clear()
        self.token_fetches = 0

    def snapshot(self, entities: dict[str, int]) -> dict[str, Any]:
        """Return the counters as JSON-ready data, with the emulator's entity counts."""
        return {
            "requests": {
                route: {str(status): n for status, n in by_status.items()}
                for route, by_status in self.requests.items()
            },
            "dropped": dict(self.dropped),
            "tokenFetches": self.token_fetches,
            "duplicates": dict(self.duplicates),
            "entities": dict(entities),
        }


class TokenStore:
    """Opaque bearer tokens with a fixed lifetime."""

    def __init__(self, *, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self._clock = clock
        self._expiry: dict[str, float] = {}

    def issue(self) -> str:
        """Return a new random token, valid for ``ttl_s`` seconds from now."""
        now = self._clock()
        if len(self._expiry) > 10_000:
            self._expiry = {tok: exp for tok, exp in self._expiry.items() if exp > now}
        token = secrets.token_urlsafe(32)
        self._expiry[token] = now + self.ttl_s
        return token

    def is_valid(self, token: str) -> bool:
        """Whether ``token`` was issued here, is not revoked and has not expired."""
        expiry = self._expiry.get(token)
        return expiry is not None and self._clock() < expiry

    def revoke_all(self) -> None:
        """Invalidate every token issued so far."""
        self._expiry.clear()


def _route_key(scope: Scope) -> str:
    return f"{scope.get('method', 'GET')} {scope.get('path_template', scope['path'])}"


async def _send_problem(
    send: Send, status: int, title: str, extra_headers: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    body = msgspec.json.encode({"type": "about:blank", "title": title, "status": status})
    headers = [*_PROBLEM_HEADERS, (b"content-length", str(len(body)).encode()), *extra_headers]
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": status,
        "headers": headers,
    }
    await send(start)
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _drop_connection(send: Send) -> None:
    """Abandon the request so that the server closes the socket without writing a byte.

    The response is started with a header value the HTTP server refuses to write
    (uvicorn checks header values after marking the response as started), then an
    exception is raised; uvicorn closes the transport when an application fails after
    the response started. The client sees the connection closed with no response.
    """
    try:
        await send(
            {"type": "http.response.start", "status": 500, "headers": [(b"x-drop", b"\r\n")]}
        )
    except Exception as exc:
        raise ConnectionDropped("connection dropped by the fault plan") from exc
    raise ConnectionDropped("connection dropped by the fault plan")


class _DropLogFilter(logging.Filter):
    """Keeps deliberate drops out of uvicorn's error log."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        while exc is not None:
            if isinstance(exc, ConnectionDropped):
                return False
            exc = exc.__cause__ or exc.__context__
        return True


class Emulation:
    """State common to both emulators: fault plan, counters, tokens.

    ``fast_paths`` (default True) lets routes with a :data:`FastPath` answer through
    it; False sends every request through the route handlers.
    """

    def __init__(
        self,
        *,
        token_ttl_s: float,
        seed: int = 0,
        token_paths: Sequence[str] = DEFAULT_TOKEN_PATHS,
    ) -> None:
        self.faults = FaultPlan(seed=seed)
        self.stats = EmulatorStats()
        self.tokens = TokenStore(ttl_s=token_ttl_s)
        self.token_paths = tuple(token_paths)
        self.fast_paths = True
        self._rng = random.Random(seed)

    def set_faults(self, plan: FaultPlan) -> None:
        """Replace the fault plan and reseed the fault RNG from ``plan.seed``."""
        self.faults = plan
        self._rng = random.Random(plan.seed)

    def _is_token_path(self, path: str) -> bool:
        return any(path.rstrip("/").endswith(tp) for tp in self.token_paths)

    def applies_to(self, path: str) -> bool:
        """Whether the current plan may inject faults into a request for ``path``."""
        if path.startswith(CONTROL_PREFIX):
            return False
        listed = self.faults.paths
        if self._is_token_path(path):
            return any(p.rstrip("/") == path.rstrip("/") for p in listed)
        return not listed or any(path.startswith(p) for p in listed)

    def middleware(self) -> Callable[[ASGIApp], ASGIApp]:
        """Return Litestar middleware that applies faults and counts requests."""
        emulation = self

        def factory(app: ASGIApp) -> ASGIApp:
            async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
                if scope["type"] != "http" or scope["path"].startswith(CONTROL_PREFIX):
                    await app(scope, receive, send)
                    return
                route = _route_key(scope)
                status = 0

                async def counting_send(message: Message) -> None:
                    nonlocal status
                    if message["type"] == "http.response.start":
                        status = message["status"]
                    await send(message)

                plan = emulation.faults
                if plan.is_active and emulation.applies_to(scope["path"]):
                    rng = emulation._rng
                    if plan.latency_ms_max:
                        delay = rng.randint(plan.latency_ms_min, plan.latency_ms_max)
                        await asyncio.sleep(delay / 1000)
                    draw = rng.random()
                    if draw < plan.drop_rate:
                        emulation.stats.count_drop(route)
                        await _drop_connection(send)
                    draw -= plan.drop_rate
                    if draw < plan.error_rate:
                        code = rng.choice(_ERROR_STATUSES)
                        await _send_problem(counting_send, code, "Injected upstream failure")
                        emulation.stats.count_request(route, code)
                        return
                    draw -= plan.error_rate
                    if draw < plan.rate_limit_rate:
                        retry = [(b"retry-after", str(plan.retry_after_s).encode())]
                        await _send_problem(counting_send, 429, "Too Many Requests", retry)
                        emulation.stats.count_request(route, 429)
                        return
                try:
                    await app(scope, receive, counting_send)
                finally:
                    if status:
                        emulation.stats.count_request(route, status)

            return middleware

        return factory

    def install_fast_paths(self, app: Litestar) -> None:
        """Let the app's :data:`FastPath` routes answer before Litestar routes the request.

        A request for such a route, with a ``content-length`` of at most 64 KiB, a plain
        host, no repeated header and no fault of the current plan applying to it, is
        read here and handed to the fast path; its answer is counted as the middleware
        counts. Any other request, and any the fast path declines, goes on through
        Litestar with its body. Call this once the app's routes are all registered.
        """
        routes = _FastRoutes(app)
        if not routes:
            return
        inner = app.asgi_handler
        emulation = self

        async def front(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http" and emulation.fast_paths and not scope.get("root_path"):
                found = routes.match(cast("HTTPScope", scope)["method"], scope["path"])
                if found is not None:
                    plan = emulation.faults
                    if not (plan.is_active and emulation.applies_to(scope["path"])):
                        rest = await emulation._answer_fast(*found, scope, receive, send)
                        if rest is None:
                            return
                        receive = rest
            await inner(scope, receive, send)

        app.asgi_handler = front

    async def _answer_fast(
        self,
        route: _FastRoute,
        params: dict[str, str],
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> Receive | None:
        """Let ``route`` answer; return ``None`` when it did, else the ``receive`` to go on with."""
        raw_headers = list(scope["headers"])
        headers = dict(raw_headers)
        if len(headers) != len(raw_headers):
            return receive
        length = headers.get(b"content-length")
        if length is None or not length.isdigit() or int(length) > _FAST_BODY_LIMIT:
            return receive
        host = headers.get(b"host")
        if host is not None and _PLAIN_HOST.fullmatch(host) is None:
            return receive
        messages: list[ReceiveMessage] = []
        chunks: list[bytes] = []
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                return _replaying(messages, receive)
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        try:
            answer = route.answer(FastRequest(scope, headers, params, body))
        except Exception as exc:
            return _raising(exc)
        if answer is None:
            return _replaying(messages, receive)
        content = answer.body
        start: HTTPResponseStartEvent = {
            "type": "http.response.start",
            "status": answer.status,
            "headers": [_JSON_CONTENT_TYPE, (b"content-length", str(len(content)).encode())],
        }
        await send(start)
        await send({"type": "http.response.body", "body": content, "more_body": False})
        self.stats.count_request(route.key, answer.status)
        return None

    def control_router(self, entity_counts: Callable[[], dict[str, int]]) -> Router:
        """Return the ``/_emulator`` router: faults, stats, token revocation, stats reset."""
        emulation = self

        @get("/faults", sync_to_thread=False)
        def read_faults() -> FaultPlan:
            return emulation.faults

        @put("/faults", sync_to_thread=False)
        def write_faults(data: FaultPlan) -> FaultPlan:
            problems = data.problems()
            if problems:
                raise ValidationException(detail="; ".join(problems))
            emulation.set_faults(data)
            return data

        @get("/stats", sync_to_thread=False)
        def read_stats() -> dict[str, Any]:
            return emulation.stats.snapshot(entity_counts())

        @post("/revoke-tokens", status_code=204, sync_to_thread=False)
        def revoke_tokens() -> None:
            emulation.tokens.revoke_all()

        @post("/reset-stats", status_code=204, sync_to_thread=False)
        def reset_stats() -> None:
            emulation.stats.reset()

        return Router(
            path=CONTROL_PREFIX,
            route_handlers=[read_faults, write_faults, read_stats, revoke_tokens, reset_stats],
            include_in_schema=False,
        )


def _install_drop_log_filter() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _DropLogFilter) for f in logger.filters):
        logger.addFilter(_DropLogFilter())


def _config(app: Litestar | ASGIApp, host: str, port: int) -> uvicorn.Config:
    _install_drop_log_filter()
    return uvicorn.Config(
        app, host=host, port=port, log_level="warning", access_log=False, lifespan="on"
    )


@contextlib.contextmanager
def serve_in_thread(
    app: Litestar | ASGIApp, *, host: str = "127.0.0.1", port: int = 0
) -> Iterator[str]:
    """Run ``app`` under uvicorn in a background thread; yield its base URL, stop on exit."""
    server = uvicorn.Server(_config(app, host, port))
    thread = threading.Thread(target=server.run, name="emulator-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10.0
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("emulator server did not start")
        time.sleep(0.01)
    bound_port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{bound_port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10.0)


async def serve(app: Litestar | ASGIApp, *, host: str, port: int) -> None:
    """Run ``app`` under uvicorn in the current event loop until it is stopped."""
    await uvicorn.Server(_config(app, host, port)).serve()
