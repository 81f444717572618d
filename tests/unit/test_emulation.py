"""The shared emulator machinery: tokens, fault plans, counters and the control surface."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
from litestar import Litestar, get, post

from providers.emulation import (
    Emulation,
    FaultPlan,
    TokenStore,
    control_router,
    fault_middleware,
    serve_in_thread,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _app(emulation: Emulation, made: list[str] | None = None) -> Litestar:
    @get("/things/{thing_id:str}", sync_to_thread=False)
    def thing(thing_id: str) -> dict[str, str]:
        return {"id": thing_id}

    @post("/things/{thing_id:str}", sync_to_thread=False)
    def make_thing(thing_id: str) -> dict[str, str]:
        if made is not None:
            made.append(thing_id)
        return {"id": thing_id}

    @post("/connect/token", sync_to_thread=False)
    def token() -> dict[str, str]:
        return {"access_token": emulation.tokens.issue()}

    return Litestar(
        [thing, make_thing, token, control_router(emulation, lambda: {"things": 7})],
        middleware=[fault_middleware(emulation)],
        logging_config=None,
    )


@pytest.fixture
def served() -> Iterator[tuple[httpx.Client, Emulation]]:
    emulation = Emulation(token_ttl_s=60.0)
    with serve_in_thread(_app(emulation)) as url, httpx.Client(base_url=url) as client:
        yield client, emulation


@pytest.fixture
def served_with_log() -> Iterator[tuple[httpx.Client, Emulation, list[str]]]:
    emulation = Emulation(token_ttl_s=60.0)
    made: list[str] = []
    with serve_in_thread(_app(emulation, made)) as url, httpx.Client(base_url=url) as client:
        yield client, emulation, made


def _put_faults(client: httpx.Client, **plan: object) -> None:
    response = client.put("/_emulator/faults", json=plan)
    assert response.status_code == 200, response.text


def test_token_expires_after_ttl() -> None:
    """A token is valid until its TTL has passed, then refused."""
    clock = FakeClock()
    store = TokenStore(ttl_s=30.0, clock=clock)
    token = store.issue()
    clock.now += 29.9
    assert store.is_valid(token)
    clock.now += 0.2
    assert not store.is_valid(token)


def test_revoke_all_invalidates_every_token() -> None:
    """revoke_all makes every issued token invalid; unknown tokens never are valid."""
    store = TokenStore(ttl_s=30.0)
    tokens = [store.issue() for _ in range(3)]
    assert all(store.is_valid(t) for t in tokens)
    store.revoke_all()
    assert not any(store.is_valid(t) for t in tokens)
    assert not store.is_valid("made-up")


def test_fault_plan_uses_camel_case_and_refuses_inconsistent_plans(
    served: tuple[httpx.Client, Emulation],
) -> None:
    """The control surface speaks camelCase and refuses unknown keys and impossible rates."""
    client, emulation = served
    _put_faults(client, errorRate=0.25, retryAfterS=4, paths=["/things"])
    assert emulation.faults == FaultPlan(error_rate=0.25, retry_after_s=4, paths=["/things"])
    assert client.get("/_emulator/faults").json()["errorRate"] == 0.25
    assert client.put("/_emulator/faults", json={"error_rate": 0.5}).status_code == 400
    assert (
        client.put("/_emulator/faults", json={"errorRate": 0.7, "dropRate": 0.7}).status_code == 400
    )
    bad_latency = {"latencyMsMin": 50, "latencyMsMax": 10}
    assert client.put("/_emulator/faults", json=bad_latency).status_code == 400


def test_latency_is_added_within_bounds(served: tuple[httpx.Client, Emulation]) -> None:
    """With latency 80-120 ms every faulted request takes at least 80 ms."""
    client, _ = served
    _put_faults(client, latencyMsMin=80, latencyMsMax=120, seed=3)
    for _ in range(3):
        began = time.perf_counter()
        assert client.get("/things/a").status_code == 200
        assert time.perf_counter() - began >= 0.08


def test_error_share_is_seeded_and_repeatable(served: tuple[httpx.Client, Emulation]) -> None:
    """errorRate 0.3 answers about 30% with 500/502/503, the same ones for the same seed."""
    client, _ = served

    def run() -> list[int]:
        _put_faults(client, errorRate=0.3, seed=42)
        return [client.get("/things/x").status_code for _ in range(200)]

    first, second = run(), run()
    assert first == second
    counts = Counter(first)
    failures = sum(counts[code] for code in (500, 502, 503))
    assert 40 <= failures <= 80
    assert set(counts) <= {200, 500, 502, 503}
    assert len({code for code in counts if code >= 500}) >= 2


def test_rate_limit_answers_429_with_retry_after(served: tuple[httpx.Client, Emulation]) -> None:
    """rateLimitRate 1 answers 429 with the configured Retry-After before the handler runs."""
    client, emulation = served
    _put_faults(client, rateLimitRate=1.0, retryAfterS=7)
    response = client.get("/things/a")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"
    assert response.headers["content-type"] == "application/problem+json"
    assert emulation.stats.requests["GET /things/{thing_id}"][429] == 1


def test_dropped_connection_sends_no_response(served: tuple[httpx.Client, Emulation]) -> None:
    """dropRate 1 closes the socket without a status line: httpx sees a protocol error."""
    client, emulation = served
    _put_faults(client, dropRate=1.0)
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        client.get("/things/a")
    assert emulation.stats.dropped["GET /things/{thing_id}"] == 1
    _put_faults(client)
    assert client.get("/things/a").status_code == 200


def test_faults_respect_paths_token_routes_and_control_surface(
    served: tuple[httpx.Client, Emulation],
) -> None:
    """Faults skip /_emulator, skip token routes unless listed, and honour the paths filter."""
    client, _ = served
    _put_faults(client, errorRate=1.0)
    assert client.get("/things/a").status_code >= 500
    assert client.post("/connect/token").status_code == 201
    assert client.get("/_emulator/stats").status_code == 200
    _put_faults(client, errorRate=1.0, paths=["/connect/token"])
    assert client.post("/connect/token").status_code >= 500
    assert client.get("/things/a").status_code == 200
    _put_faults(client, errorRate=1.0, paths=["/elsewhere"])
    assert client.get("/things/a").status_code == 200


def test_stats_count_routes_duplicates_and_reset(served: tuple[httpx.Client, Emulation]) -> None:
    """Stats count requests per route template and status, duplicates and entities."""
    client, emulation = served
    client.get("/things/a")
    client.get("/things/b")
    emulation.stats.count_duplicate("user", 3)
    emulation.stats.token_fetches += 2
    stats = client.get("/_emulator/stats").json()
    assert stats["requests"] == {"GET /things/{thing_id}": {"200": 2}}
    assert stats["duplicates"] == {"user": 3}
    assert stats["tokenFetches"] == 2
    assert stats["entities"] == {"things": 7}
    assert client.post("/_emulator/reset-stats").status_code == 204
    assert client.get("/_emulator/stats").json()["requests"] == {}


def test_revoke_tokens_route(served: tuple[httpx.Client, Emulation]) -> None:
    """POST /_emulator/revoke-tokens invalidates issued tokens."""
    client, emulation = served
    token = emulation.tokens.issue()
    assert client.post("/_emulator/revoke-tokens").status_code == 204
    assert not emulation.tokens.is_valid(token)


def test_a_dropped_connection_is_logged_as_one_line() -> None:
    """uvicorn's error record for a deliberately dropped connection becomes one line, no traceback."""
    import logging

    from providers.emulation import ConnectionDropped, install_drop_log_filter

    install_drop_log_filter()
    logger = logging.getLogger("uvicorn.error")
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep()
    logger.addHandler(handler)
    try:
        try:
            raise RuntimeError("ASGI callable returned without completing") from ConnectionDropped()
        except RuntimeError:
            logger.exception("Exception in ASGI application")
        logger.error("something else")
    finally:
        logger.removeHandler(handler)
    dropped, other = records
    assert (dropped.getMessage(), dropped.exc_info, dropped.levelno) == (
        "connection dropped by the fault plan", None, logging.INFO)
    assert other.getMessage() == "something else"


def test_slow_answer_is_processed_and_sent_past_the_timeout(
    served_with_log: tuple[httpx.Client, Emulation, list[str]],
) -> None:
    """slowRate 1 processes the request and holds its answer for slowMs: a client with a
    shorter timeout gives up, yet the work is done and counted under the handler's status."""
    client, emulation, made = served_with_log
    _put_faults(client, slowRate=1.0, slowMs=400)
    with pytest.raises(httpx.ReadTimeout):
        client.post("/things/a", timeout=0.1)
    began = time.perf_counter()
    assert client.post("/things/b", timeout=5).json() == {"id": "b"}
    assert time.perf_counter() - began >= 0.4
    assert made == ["a", "b"]
    assert emulation.stats.requests["POST /things/{thing_id}"][201] == 2


def test_slow_answer_unprocessed_is_503_after_the_delay(
    served_with_log: tuple[httpx.Client, Emulation, list[str]],
) -> None:
    """With slowProcessed false a slow request is answered 503 after slowMs, never processed."""
    client, emulation, made = served_with_log
    _put_faults(client, slowRate=1.0, slowMs=200, slowProcessed=False)
    began = time.perf_counter()
    assert client.post("/things/a").status_code == 503
    assert time.perf_counter() - began >= 0.2
    assert made == []
    assert emulation.stats.requests["POST /things/{thing_id}"][503] == 1


def test_lost_answer_is_processed_then_502(
    served_with_log: tuple[httpx.Client, Emulation, list[str]],
) -> None:
    """lostRate 1 runs the handler, then answers 502: the work exists, the client saw a failure."""
    client, emulation, made = served_with_log
    _put_faults(client, lostRate=1.0)
    response = client.post("/things/a")
    assert response.status_code == 502
    assert response.headers["content-type"] == "application/problem+json"
    assert made == ["a"]
    assert emulation.stats.requests["POST /things/{thing_id}"] == {201: 1}


def test_slow_and_lost_rates_are_validated(served: tuple[httpx.Client, Emulation]) -> None:
    """slowRate needs slowMs, and every rate counts towards the total of 1."""
    client, _ = served
    assert client.put("/_emulator/faults", json={"slowRate": 0.1}).status_code == 400
    too_much = {"errorRate": 0.5, "slowRate": 0.3, "slowMs": 10, "lostRate": 0.3}
    assert client.put("/_emulator/faults", json=too_much).status_code == 400
    assert client.put("/_emulator/faults", json={"lostRate": 1.5}).status_code == 400
    _put_faults(client, errorRate=0.2, slowRate=0.05, slowMs=100, lostRate=0.05)
