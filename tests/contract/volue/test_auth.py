"""OAuth2 client credentials and bearer protection of the Volue emulator."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from authlib.integrations.httpx_client import OAuth2Client

from providers.volue.emulator.app import API_PREFIX
from tests.contract.volue.conftest import (
    CLIENT_ID,
    CLIENT_SECRET,
    Emulator,
    SpecChecker,
    make_emulator,
)


@pytest.fixture
def short_lived() -> Iterator[Emulator]:
    yield from make_emulator(token_ttl_s=0.4)


def _form(**overrides: str) -> dict[str, str]:
    form = {
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    form.update(overrides)
    return form


def test_token_grant_returns_bearer_with_lifetime(emulator: Emulator) -> None:
    """A form client-credentials grant returns a Bearer token valid 1,800 s by default."""
    response = httpx.post(f"{emulator.base_url}/connect/token", data=_form())
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 1800
    assert emulator.emulation.tokens.is_valid(body["access_token"])
    assert emulator.emulation.stats.token_fetches == 1


def test_authlib_basic_client_auth_works(emulator: Emulator) -> None:
    """authlib's default HTTP Basic client authentication obtains a usable token."""
    with OAuth2Client(CLIENT_ID, CLIENT_SECRET) as client:
        token = client.fetch_token(
            f"{emulator.base_url}/connect/token", grant_type="client_credentials"
        )
        assert token["token_type"] == "Bearer"
        response = client.get(f"{emulator.base_url}{API_PREFIX}/users")
    assert response.status_code == 200


def test_bad_credentials_and_grant_types_are_refused(emulator: Emulator) -> None:
    """Wrong secrets answer invalid_client (400 form, 401 Basic); other grants are unsupported."""
    url = f"{emulator.base_url}/connect/token"
    wrong = httpx.post(url, data=_form(client_secret="nope"))
    assert (wrong.status_code, wrong.json()) == (400, {"error": "invalid_client"})
    basic = httpx.post(url, data={"grant_type": "client_credentials"}, auth=(CLIENT_ID, "nope"))
    assert (basic.status_code, basic.json()) == (401, {"error": "invalid_client"})
    assert basic.headers["www-authenticate"].startswith("Basic")
    grant = httpx.post(url, data=_form(grant_type="password"))
    assert (grant.status_code, grant.json()) == (400, {"error": "unsupported_grant_type"})
    missing = httpx.post(url, data=_form(grant_type=""))
    assert missing.json() == {"error": "invalid_request"}
    assert emulator.emulation.stats.token_fetches == 0


def test_api_needs_a_bearer_token(emulator: Emulator, spec_checker: SpecChecker) -> None:
    """Without a token, or with a made-up one, every Partner API route answers 401."""
    with httpx.Client(
        base_url=emulator.base_url + API_PREFIX, event_hooks={"response": [spec_checker]}
    ) as c:
        assert c.get("/users").status_code == 401
        assert c.post("/users", json={"userId": "u"}).status_code == 401
        assert c.get("/events", headers={"authorization": "Bearer made-up"}).status_code == 401
    assert spec_checker.checked == 3


def test_token_expires_after_ttl(short_lived: Emulator) -> None:
    """A token is accepted within its TTL and refused with 401 after it."""
    token = short_lived.token()
    headers = {"authorization": f"Bearer {token}"}
    url = f"{short_lived.base_url}{API_PREFIX}/users"
    assert httpx.get(url, headers=headers).status_code == 200
    time.sleep(0.5)
    assert httpx.get(url, headers=headers).status_code == 401
    fresh = {"authorization": f"Bearer {short_lived.token()}"}
    assert httpx.get(url, headers=fresh).status_code == 200


def test_revoked_tokens_are_refused(emulator: Emulator) -> None:
    """After POST /_emulator/revoke-tokens the old token answers 401."""
    headers = {"authorization": f"Bearer {emulator.token()}"}
    url = f"{emulator.base_url}{API_PREFIX}/users"
    assert httpx.get(url, headers=headers).status_code == 200
    assert httpx.post(f"{emulator.base_url}/_emulator/revoke-tokens").status_code == 204
    assert httpx.get(url, headers=headers).status_code == 401
