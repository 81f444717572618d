"""Zählerfreunde emulator: tokens, expiry, revocation and the bearer requirement."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager

import pytest

from tests.contract.zaehlerfreunde.conftest import CLIENT_ID, CLIENT_SECRET, Emulator

Start = Callable[..., AbstractContextManager[Emulator]]


def test_token_is_issued_for_good_credentials(zf: Emulator) -> None:
    """POST /auth/token with the client credentials returns {accessToken} and no expiry."""
    response = zf.client.post(
        "/partner/auth/token", json={"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET}
    )
    assert response.status_code == 200
    assert set(response.json()) == {"accessToken"}
    assert zf.stats()["tokenFetches"] == 2


@pytest.mark.parametrize(
    "body",
    [
        {"clientId": CLIENT_ID, "clientSecret": "wrong"},
        {"clientId": "someone-else", "clientSecret": CLIENT_SECRET},
    ],
)
def test_bad_credentials_are_refused(zf: Emulator, body: dict[str, str]) -> None:
    """Wrong client id or secret answers 401 without a token."""
    response = zf.client.post("/partner/auth/token", json=body)
    assert response.status_code == 401
    assert "accessToken" not in response.json()


@pytest.mark.parametrize(
    ("body", "field"),
    [({"clientId": CLIENT_ID}, "clientSecret"), ({"clientSecret": CLIENT_SECRET}, "clientId")],
)
def test_token_request_missing_a_field_is_refused(
    zf: Emulator, body: dict[str, str], field: str
) -> None:
    """A token request without a required field is a 400 naming that field."""
    response = zf.client.post("/partner/auth/token", json=body)
    assert response.status_code == 400
    assert field in response.json()["message"]


def test_routes_need_a_bearer_token(zf: Emulator) -> None:
    """Without a token, or with a forged one, protected routes answer 401."""
    del zf.client.headers["authorization"]
    assert zf.client.get("/partner/spaces").status_code == 401
    forged = {"authorization": "Bearer not-a-token"}
    assert zf.client.get("/partner/spaces", headers=forged).status_code == 401
    response = zf.client.post("/partner/devices/readings", json=[], headers=forged)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_token_expires_after_its_lifetime(start_emulator: Start) -> None:
    """With a short token lifetime, a token stops working once it has expired."""
    with start_emulator(token_ttl_s=0.3) as zf:
        zf.login()
        assert zf.client.get("/partner/spaces").status_code == 200
        time.sleep(0.4)
        assert zf.client.get("/partner/spaces").status_code == 401
        zf.login()
        assert zf.client.get("/partner/spaces").status_code == 200


def test_default_token_lifetime_is_one_day(zf: Emulator) -> None:
    """Tokens live 24 hours unless configured otherwise, as the guide says."""
    assert zf.app.state.emulation.tokens.ttl_s == 86400.0


def test_revoked_tokens_are_refused(zf: Emulator) -> None:
    """After /_emulator/revoke-tokens the old token answers 401 and a new one works."""
    assert zf.client.get("/partner/spaces").status_code == 200
    assert zf.client.post("/_emulator/revoke-tokens").status_code == 204
    assert zf.client.get("/partner/spaces").status_code == 401
    zf.login()
    assert zf.client.get("/partner/spaces").status_code == 200
