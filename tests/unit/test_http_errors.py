"""The error table, Retry-After, provider messages, and ProviderHttp's 401/call-log rules."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from types import SimpleNamespace

import httpx
import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from providers.base import (
    RETRIABLE,
    AuthError,
    CallRecord,
    ConflictError,
    ProviderError,
    RejectedError,
    TransientError,
)
from providers.errors import (
    error_class_for_exception,
    error_class_for_status,
    error_for_exception,
    error_for_response,
    message_from_body,
    parse_retry_after,
)
from providers.http import ProviderHttp, apply_each, call_log, may_repeat
from providers.zaehlerfreunde.tokens import JsonTokenProvider

SECRET = "s3cret-client-secret"
REQUEST = httpx.Request("POST", "http://127.0.0.1/users")


def _response(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, content=body, headers=headers, request=REQUEST)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (401, AuthError),
        (403, AuthError),
        (409, ConflictError),
        (429, TransientError),
        (500, TransientError),
        (502, TransientError),
        (503, TransientError),
        (504, TransientError),
        (400, RejectedError),
        (404, RejectedError),
        (422, RejectedError),
        (501, ProviderError),
    ],
)
def test_status_table(status: int, expected: type[ProviderError]) -> None:
    """Each status maps to the class the taxonomy names, other 4xx to RejectedError."""
    assert error_class_for_status(status) is expected


def test_only_transient_errors_are_retried() -> None:
    """An unlisted 5xx is fatal: it is neither transient nor retriable."""
    error = error_for_response(_response(501), method="GET", route="/x")
    assert type(error) is ProviderError
    assert not isinstance(error, RETRIABLE)


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ConnectTimeout("timed out"),
        httpx.ReadTimeout("timed out"),
        httpx.PoolTimeout("pool"),
        httpx.ConnectError("refused"),
        httpx.ReadError("reset"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
    ],
)
def test_transport_failures_are_transient(exc: Exception) -> None:
    """Timeouts, connection errors and protocol errors are TransientError."""
    assert error_class_for_exception(exc) is TransientError
    error = error_for_exception(exc, method="GET", route="/users/{userId}")
    assert isinstance(error, TransientError)
    assert error.route == "/users/{userId}"
    assert type(exc).__name__ in error.message


def test_unsupported_protocol_is_not_transient() -> None:
    """A transport failure that cannot heal (bad URL scheme) is a plain ProviderError."""
    assert error_class_for_exception(httpx.UnsupportedProtocol("ftp")) is ProviderError


@pytest.mark.parametrize(("status", "maybe_sent"), [(408, False), (429, False), (503, False),
                                                    (500, True), (502, True), (504, True)])
def test_which_transient_answers_may_have_been_carried_out(status: int, maybe_sent: bool) -> None:
    """408, 429 and 503 say the request was not taken on; 500, 502 and 504 may follow its work."""
    error = error_for_response(_response(status), method="POST", route="/users/batch")
    assert isinstance(error, TransientError)
    assert error.maybe_sent is maybe_sent


def test_a_slow_503_may_have_been_carried_out() -> None:
    """A 503 answered only after a long wait (a proxy giving up on a busy server) counts as
    maybe sent; a quick one does not."""
    quick = error_for_response(_response(503), method="POST", route="/spaces",
                               answered_after_s=0.05, slow_s=5.0)
    slow = error_for_response(_response(503), method="POST", route="/spaces",
                              answered_after_s=6.0, slow_s=5.0)
    assert isinstance(quick, TransientError) and quick.maybe_sent is False
    assert isinstance(slow, TransientError) and slow.maybe_sent is True


def test_retry_after_seconds() -> None:
    """``Retry-After: 7`` on a 429 gives ``retry_after == 7``."""
    error = error_for_response(_response(429, headers={"Retry-After": "7"}), method="POST", route="/users")
    assert isinstance(error, TransientError)
    assert error.retry_after == 7.0
    assert error.status == 429


def test_retry_after_http_date() -> None:
    """An HTTP-date ``Retry-After`` becomes the seconds until that moment."""
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    header = format_datetime(now + timedelta(seconds=90), usegmt=True)
    assert parse_retry_after(header, now=now.timestamp()) == pytest.approx(90.0)
    past = format_datetime(now - timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(past, now=now.timestamp()) == 0.0


@pytest.mark.parametrize("value", [None, "", "soon", "nan", "inf"])
def test_retry_after_unusable(value: str | None) -> None:
    """A missing or unreadable ``Retry-After`` gives None."""
    assert parse_retry_after(value) is None


@given(st.integers(min_value=0, max_value=10**9))
def test_retry_after_integer_roundtrip(seconds: int) -> None:
    """Any delay-seconds value reads back as that many seconds."""
    assert parse_retry_after(str(seconds)) == float(seconds)


def test_volue_problem_message() -> None:
    """Volue's ``Problem.message`` is kept."""
    body = msgspec.json.encode(
        {"problemType": "MissingMpidOnLocation", "message": "Location has no meter point id"}
    )
    assert message_from_body(body) == "Location has no meter point id"


def test_validation_problem_details() -> None:
    """``HttpValidationProblemDetails`` keeps its title and every field error."""
    body = msgspec.json.encode(
        {
            "type": "https://tools.ietf.org/html/rfc9110#section-15.5.1",
            "title": "One or more validation errors occurred.",
            "status": 400,
            "errors": {"resourceType": ["must be Vehicle"], "resourceId": ["is required"]},
        }
    )
    said = message_from_body(body)
    assert said is not None
    assert said.startswith("One or more validation errors occurred.")
    assert "resourceType: must be Vehicle" in said
    assert "resourceId: is required" in said


def test_json_string_and_plain_text_bodies() -> None:
    """A JSON string body and a plain-text body are both kept as the message."""
    assert message_from_body(b'"userId must not be empty"') == "userId must not be empty"
    assert message_from_body(b"upstream exploded") == "upstream exploded"
    assert message_from_body(b"") is None


def test_zaehlerfreunde_error_body() -> None:
    """Zählerfreunde's ``{status, error, message, path}`` body keeps message and error."""
    body = msgspec.json.encode(
        {"status": 400, "error": "Bad Request", "message": "spaceId must be a UUID", "path": "/x"}
    )
    error = error_for_response(_response(400, body), method="POST", route="/spaces")
    assert isinstance(error, RejectedError)
    assert "spaceId must be a UUID" in error.message
    assert error.status == 400


def test_long_bodies_are_clipped() -> None:
    """A huge error body does not become a huge message."""
    said = message_from_body(b"x" * 10_000)
    assert said is not None
    assert len(said) <= 500


class FixedTokens:
    """Hands out ``token-1``, ``token-2`` ... and records invalidations."""

    def __init__(self) -> None:
        self.issued = 0
        self.invalidated: list[str] = []
        self.current: str | None = None

    async def bearer(self) -> str:
        if self.current is None:
            self.issued += 1
            self.current = f"token-{self.issued}"
        return self.current

    async def invalidate(self, stale: str) -> None:
        self.invalidated.append(stale)
        if self.current == stale:
            self.current = None


def _http(handler: Callable[[httpx.Request], httpx.Response]) -> tuple[ProviderHttp, FixedTokens]:
    tokens = FixedTokens()
    transport = httpx.MockTransport(handler)
    client = httpx.AsyncClient(base_url="http://127.0.0.1/api", transport=transport)
    return ProviderHttp(client=client, transport=transport, tokens=tokens), tokens


async def test_401_refreshes_once_and_retries() -> None:
    """A 401 invalidates the token, fetches one new token and retries once."""
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        return httpx.Response(401 if len(seen) == 1 else 200, json={"ok": True})

    http, tokens = _http(handler)
    response = await http.send("GET", "/users/{userId}", path={"userId": "u1"})
    assert response.status_code == 200
    assert seen == ["Bearer token-1", "Bearer token-2"]
    assert tokens.invalidated == ["token-1"]
    await http.aclose()


async def test_401_twice_is_auth_error() -> None:
    """A 401 that survives the one refresh is an AuthError, after exactly two tries."""
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(401)

    http, tokens = _http(handler)
    with pytest.raises(AuthError) as caught:
        await http.send("GET", "/users")
    assert calls == 2
    assert tokens.issued == 2
    assert "token-" not in caught.value.message
    await http.aclose()


async def test_tolerated_status_is_returned() -> None:
    """A status the caller tolerates (404 on delete) comes back instead of raising."""
    http, _ = _http(lambda request: httpx.Response(404))
    response = await http.send("DELETE", "/users/{userId}", path={"userId": "u"}, tolerate=(404,))
    assert response.status_code == 404
    with pytest.raises(RejectedError):
        await http.send("DELETE", "/users/{userId}", path={"userId": "u"})
    await http.aclose()


async def test_path_values_are_percent_encoded() -> None:
    """Ids are encoded into the path, so a slash in an id cannot change the route."""
    paths: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.raw_path.decode())
        return httpx.Response(204)

    http, _ = _http(handler)
    await http.send("DELETE", "/users/{userId}", path={"userId": "a/b c"})
    assert paths == ["/api/users/a%2Fb%20c"]
    await http.aclose()


async def test_call_log_records_every_exchange(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each exchange, the refused one included, lands in the call log with its route and its own latency."""
    statuses = iter([401, 201])
    took = iter([0.25, 0.0125])
    clock = [100.0]
    monkeypatch.setattr("providers.http.time", SimpleNamespace(perf_counter=lambda: clock[0]))

    def handler(request: httpx.Request) -> httpx.Response:
        clock[0] += next(took)
        return httpx.Response(next(statuses), json={"userId": "u"})

    http, _ = _http(handler)
    log: list[CallRecord] = []
    token = call_log.set(log)
    try:
        await http.send("POST", "/users", body={"userId": "u"})
    finally:
        call_log.reset(token)
    assert [(r.method, r.route, r.status) for r in log] == [
        ("POST", "/users", 401),
        ("POST", "/users", 201),
    ]
    assert log[0].error is not None and log[1].error is None
    assert [r.latency_ms for r in log] == [250.0, 12.5]
    assert all("token-" not in (r.error or "") for r in log)
    await http.aclose()


async def test_no_call_log_by_default() -> None:
    """Without a call log set, nothing is recorded and nothing fails."""
    http, _ = _http(lambda request: httpx.Response(200))
    assert call_log.get() is None
    await http.send("GET", "/users")
    await http.aclose()


@pytest.mark.parametrize(("method", "exchanges"), [("POST", 1), ("GET", 2)])
async def test_transport_failure_is_recorded_and_transient(method: str, exchanges: int) -> None:
    """A dropped connection raises TransientError and each exchange is logged without a status
    (a GET is repeated once first, a POST is not)."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.RemoteProtocolError("Server disconnected", request=request)

    http, _ = _http(handler)
    log: list[CallRecord] = []
    token, allowed = call_log.set(log), may_repeat.set(lambda: True)
    try:
        with pytest.raises(TransientError):
            await http.send(method, "/users")
    finally:
        call_log.reset(token)
        may_repeat.reset(allowed)
    assert len(log) == exchanges and all(r.status is None and r.error for r in log)
    await http.aclose()


def _token_server(status: int = 200, delay_s: float = 0.0) -> tuple[httpx.AsyncClient, list[bytes]]:
    bodies: list[bytes] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(request.content)
        await asyncio.sleep(delay_s)
        if status != 200:
            return httpx.Response(status, json={"status": status, "message": "invalid client"})
        return httpx.Response(200, json={"accessToken": f"tok-{len(bodies)}"})

    client = httpx.AsyncClient(base_url="http://127.0.0.1/partner", transport=httpx.MockTransport(handler))
    return client, bodies


async def test_json_tokens_single_flight() -> None:
    """Fifty concurrent callers share one token fetch."""
    client, bodies = _token_server(delay_s=0.05)
    tokens = JsonTokenProvider(client=client, client_id="id", client_secret=SECRET)
    got = await asyncio.gather(*(tokens.bearer() for _ in range(50)))
    assert set(got) == {"tok-1"}
    assert len(bodies) == 1
    assert msgspec.json.decode(bodies[0]) == {"clientId": "id", "clientSecret": SECRET}
    await client.aclose()


async def test_json_tokens_refresh_after_age() -> None:
    """A token older than ``refresh_age_s`` is replaced; a younger one is reused."""
    now = [1000.0]
    client, bodies = _token_server()
    tokens = JsonTokenProvider(
        client=client,
        client_id="id",
        client_secret=SECRET,
        refresh_age_s=100.0,
        clock=lambda: now[0],
    )
    assert await tokens.bearer() == "tok-1"
    now[0] += 99.0
    assert await tokens.bearer() == "tok-1"
    now[0] += 2.0
    assert await tokens.bearer() == "tok-2"
    assert len(bodies) == 2
    await client.aclose()


async def test_json_tokens_invalidate_only_the_stale_token() -> None:
    """Invalidating a token someone already replaced keeps the replacement."""
    client, bodies = _token_server()
    tokens = JsonTokenProvider(client=client, client_id="id", client_secret=SECRET)
    first = await tokens.bearer()
    await tokens.invalidate(first)
    second = await tokens.bearer()
    await tokens.invalidate(first)
    assert await tokens.bearer() == second
    assert len(bodies) == 2
    await client.aclose()


async def test_refused_credentials_are_auth_error_without_secret() -> None:
    """A token endpoint refusing us is AuthError, and the secret appears nowhere."""
    client, _ = _token_server(status=401)
    tokens = JsonTokenProvider(client=client, client_id="id", client_secret=SECRET)
    log: list[CallRecord] = []
    token = call_log.set(log)
    try:
        with pytest.raises(AuthError) as caught:
            await tokens.bearer()
    finally:
        call_log.reset(token)
    assert SECRET not in str(caught.value)
    assert SECRET not in repr(tokens)
    assert log and all(SECRET not in msgspec.json.encode(r).decode() for r in log)
    await client.aclose()


async def test_apply_each_keeps_order_and_errors() -> None:
    """Per-item application returns results in order, a ProviderError in place of a failure."""
    from gateway.core.domain import Customer, Provider, TaskAction
    from providers.base import Operation, Outcome

    ops = [
        Operation(
            task_id=str(n),
            action=TaskAction.UPSERT,
            entity=Customer(
                id=str(n),
                external_ref=str(n),
                name="n",
                email="n@example.com",
                providers=(Provider.VOLUE,),
            ),
        )
        for n in range(5)
    ]

    async def apply(op: Operation) -> Outcome:
        await asyncio.sleep(0.001 * (5 - int(op.task_id)))
        if op.task_id == "2":
            raise RejectedError("bad", status=400)
        return Outcome(external_id=op.task_id)

    results = await apply_each(apply, ops, concurrency=3)
    assert [r.external_id if isinstance(r, Outcome) else "error" for r in results] == [
        "0",
        "1",
        "error",
        "3",
        "4",
    ]
