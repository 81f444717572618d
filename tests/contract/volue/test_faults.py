"""Faults on the Volue emulator: the token route is spared unless listed, the API is not.

Fault answers (429, 5xx, drops) are transport-level behaviour outside the spec's
declared responses, so these calls use a plain client without the spec hook.
"""

from __future__ import annotations

import httpx
import pytest

from providers.volue.emulator.app import API_PREFIX
from tests.contract.volue.conftest import Emulator


def test_rate_limit_on_api_spares_token_route(emulator: Emulator) -> None:
    """With rateLimitRate 1 the API answers 429 + Retry-After while tokens are still issued."""
    plan = {"rateLimitRate": 1.0, "retryAfterS": 2, "seed": 1}
    assert httpx.put(f"{emulator.base_url}/_emulator/faults", json=plan).status_code == 200
    token = emulator.token()
    response = httpx.get(
        f"{emulator.base_url}{API_PREFIX}/users", headers={"authorization": f"Bearer {token}"}
    )
    assert response.status_code == 429
    assert response.headers["retry-after"] == "2"
    stats = httpx.get(f"{emulator.base_url}/_emulator/stats").json()
    assert stats["requests"][f"GET {API_PREFIX}/users"] == {"429": 1}


def test_listed_token_route_is_faulted_and_drops_close_the_socket(emulator: Emulator) -> None:
    """Listing /connect/token subjects it to faults; a drop there is a protocol error."""
    plan = {"dropRate": 1.0, "paths": ["/connect/token"]}
    assert httpx.put(f"{emulator.base_url}/_emulator/faults", json=plan).status_code == 200
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        emulator.token()
    assert emulator.emulation.stats.token_fetches == 0


def test_server_errors_share_with_fixed_seed(emulator: Emulator) -> None:
    """errorRate 0.5 with a fixed seed fails the same requests on every run."""
    headers = {"authorization": f"Bearer {emulator.token()}"}

    def run() -> list[int]:
        httpx.put(f"{emulator.base_url}/_emulator/faults", json={"errorRate": 0.5, "seed": 9})
        with httpx.Client(base_url=emulator.base_url + API_PREFIX, headers=headers) as client:
            return [client.get("/users").status_code for _ in range(40)]

    first = run()
    assert first == run()
    assert 10 <= sum(code >= 500 for code in first) <= 30
