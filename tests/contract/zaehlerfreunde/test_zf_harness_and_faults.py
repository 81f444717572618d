"""The contract checker itself, and the emulator's fault injection and counters."""

from __future__ import annotations

import httpx
import pytest
from openapi_core import OpenAPI

from tests.contract.zaehlerfreunde.conftest import ContractChecker, Emulator

BASE = "http://127.0.0.1:1"


def _exchange(
    method: str, path: str, status: int, *, request_json: object, body: bytes
) -> httpx.Response:
    request = httpx.Request(
        method, BASE + path, json=request_json, headers={"authorization": "Bearer t"}
    )
    return httpx.Response(
        status, content=body, headers={"content-type": "application/json"}, request=request
    )


def test_checker_flags_a_forbidden_request_that_was_accepted(openapi: OpenAPI) -> None:
    """A request missing a required field answered 200 fails the contract check."""
    response = _exchange(
        "POST", "/partner/spaces", 200, request_json={"name": "x"}, body=b'{"spaceId":"1"}'
    )
    with pytest.raises(AssertionError, match="forbidden by the spec"):
        ContractChecker(openapi)(response)


def test_checker_flags_a_response_of_the_wrong_shape(openapi: OpenAPI) -> None:
    """A documented 200 whose body breaks the schema fails the contract check."""
    response = _exchange(
        "GET", "/partner/spaces", 200, request_json=None, body=b'{"spaces": [{"id": 1}]}'
    )
    with pytest.raises(Exception, match=r"(?i)invalid|required"):
        ContractChecker(openapi)(response)


def test_injected_errors_and_rate_limits(zf: Emulator) -> None:
    """Fault plans answer 5xx or 429 with Retry-After before the handler runs; stats count them."""
    space_id = zf.create_space()
    plan = {"errorRate": 1.0, "paths": ["/partner/spaces"]}
    assert zf.client.put("/_emulator/faults", json=plan).status_code == 200
    body = {"name": "n", "addressLineOne": "a", "postcode": "1", "city": "c", "category": "FLAT"}
    response = zf.client.post("/partner/spaces", json=body)
    assert response.status_code in (500, 502, 503)
    assert zf.client.delete(f"/partner/devices/{space_id}").status_code == 404
    zf.client.put("/_emulator/faults", json={"rateLimitRate": 1.0, "retryAfterS": 7})
    limited = zf.client.get("/partner/spaces")
    assert (limited.status_code, limited.headers["retry-after"]) == (429, "7")
    stats = zf.stats()
    assert stats["requests"]["GET /partner/spaces"] == {"429": 1}
    assert stats["entities"]["spaces"] == 1


def test_dropped_connection_gives_no_response(zf: Emulator) -> None:
    """With dropRate 1 the readings endpoint closes the connection without answering."""
    zf.client.put("/_emulator/faults", json={"dropRate": 1.0, "paths": ["/partner/devices"]})
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        zf.client.post("/partner/devices/readings", json=[])
    zf.client.put("/_emulator/faults", json={})
    assert zf.client.post("/partner/devices/readings", json=[]).status_code == 200


def test_token_route_is_faulted_only_when_listed(zf: Emulator) -> None:
    """Faults reach /auth/token only when its path is listed explicitly."""
    zf.client.put("/_emulator/faults", json={"errorRate": 1.0})
    assert zf.token()
    zf.client.put("/_emulator/faults", json={"errorRate": 1.0, "paths": ["/partner/auth/token"]})
    response = zf.client.post("/partner/auth/token", json={"clientId": "a", "clientSecret": "b"})
    assert response.status_code >= 500
