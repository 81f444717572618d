"""Which answers the client sends again, how long it waits, and that its attempts are bounded."""

from __future__ import annotations

import email.utils
import socket
import time

import httpx
import pytest
from gateway_client import GatewayClient
from gateway_client._transport import MAX_WAIT_S, retry_wait
from gateway_client.errors import Conflict, GatewayProblem, NotFound, RateLimited, Validation, problem_from

from tests.client.conftest import CLIENT_DIR  # noqa: F401  (puts gateway_client on the path)


def _answer(status: int, body: dict[str, object] | None = None, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


def test_retryable_answers_and_their_waits() -> None:
    """429, 503 and 409 in-progress are sent again after Retry-After; other answers are final."""
    in_progress = {"type": "https://gateway/problems/idempotency-in-progress", "status": 409}
    assert retry_wait(_answer(429, {}, **{"Retry-After": "2"}), 0) == 2.0
    assert retry_wait(_answer(503, {}, **{"Retry-After": "1.5"}), 3) == 1.5
    assert retry_wait(_answer(409, in_progress, **{"Retry-After": "1"}), 0) == 1.0
    assert retry_wait(_answer(429, {}, **{"Retry-After": "3600"}), 0) == MAX_WAIT_S
    later = email.utils.formatdate(time.time() + 5, usegmt=True)
    wait = retry_wait(_answer(503, {}, **{"Retry-After": later}), 0)
    assert wait is not None and 3.0 <= wait <= 5.0
    backoff = retry_wait(_answer(503, {}), 2)
    assert backoff is not None and 0.2 <= backoff <= 0.4
    for final in (_answer(409, {"type": "https://gateway/problems/conflict"}), _answer(400, {}),
                  _answer(404, {}), _answer(500, {}), _answer(201, {})):
        assert retry_wait(final, 0) is None


def test_problems_map_to_their_classes_with_every_member() -> None:
    """A problem+json answer becomes the subclass of its status with status, type, title, detail, field."""
    body = {"type": "https://gateway/problems/validation", "title": "Bad request", "status": 400,
            "detail": "email: not an address", "field": "email"}
    problem = problem_from(_answer(400, body))
    assert isinstance(problem, Validation)
    assert (problem.status, problem.type, problem.title, problem.detail, problem.field) == (
        400, body["type"], "Bad request", "email: not an address", "email")
    assert isinstance(problem_from(_answer(404, {"status": 404})), NotFound)
    assert isinstance(problem_from(_answer(409, {"status": 409})), Conflict)
    limited = problem_from(_answer(429, {"status": 429}, **{"Retry-After": "7"}))
    assert isinstance(limited, RateLimited) and limited.retry_after == 7.0
    other = problem_from(httpx.Response(502, text="bad gateway"))
    assert type(other) is GatewayProblem and other.status == 502 and other.field is None


def test_connection_errors_are_retried_a_bounded_number_of_times() -> None:
    """Against a closed port the client tries 1 + max_retries times, then raises the connection error."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    attempts: list[str] = []
    http = httpx.Client(base_url=f"http://127.0.0.1:{port}",
                        event_hooks={"request": [lambda r: attempts.append(r.headers["Idempotency-Key"])]})
    with GatewayClient("unused", "key", max_retries=2, http=http) as client:
        with pytest.raises(httpx.ConnectError):
            client.customers.create({"externalRef": "x", "name": "X", "email": "x@example.com"})
    assert len(attempts) == 3 and len(set(attempts)) == 1
