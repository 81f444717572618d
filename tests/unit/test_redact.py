"""Bodies of upstream exchanges as the sync history keeps them: redacted, capped, recorded."""

from __future__ import annotations

import httpx
import msgspec
import pytest

from providers.base import CallRecord
from providers.http import ProviderHttp, call_log, client_options
from providers.redact import BODY_LIMIT, PARSE_LIMIT, REDACTED, keep_body, secret_key


@pytest.mark.parametrize("name", ["password", "clientSecret", "client_secret", "ACCESS_TOKEN",
                                  "refresh-token", "Authorization", "apiKey", "X-Api-Key",
                                  "webhookSecret", "signingSecret", "inviteLink", "code", "credentials"])
def test_secret_keys_are_recognised_in_any_case_and_spelling(name: str) -> None:
    """Keys naming tokens, passwords, secrets, credentials and invite links are secret, in any case."""
    assert secret_key(name)


@pytest.mark.parametrize("name", ["postcode", "obisCode", "userId", "name", "email", "status"])
def test_ordinary_keys_are_kept(name: str) -> None:
    """Field names that merely contain a short secret word (postcode, obisCode) are not secret."""
    assert not secret_key(name)


def test_json_is_redacted_at_every_depth() -> None:
    """A secret value is replaced wherever its key appears, inside objects and arrays, whatever it holds."""
    body = {"name": "Kari", "Password": "hunter2", "hooks": [{"url": "https://x", "secret": "s3"}],
            "auth": {"user": "u", "pass": "p"}, "credentials": {"clientId": "c", "other": "o"}}
    kept = keep_body(msgspec.json.encode(body))
    assert kept is not None and not kept.truncated
    assert msgspec.json.decode(kept.text) == {
        "name": "Kari", "Password": REDACTED, "hooks": [{"url": "https://x", "secret": REDACTED}],
        "auth": REDACTED, "credentials": REDACTED}


def test_form_and_text_bodies_are_redacted_by_pair() -> None:
    """A body that is not JSON has its key=value and "key": value pairs with secret keys redacted."""
    kept = keep_body(b"grant_type=client_credentials&client_secret=abc&scope=x")
    assert kept is not None and kept.text == f"grant_type=client_credentials&client_secret={REDACTED}&scope=x"
    broken = keep_body(b'{"token": "abc", "n": 1')
    assert broken is not None and "abc" not in broken.text and '"n": 1' in broken.text


def test_long_bodies_are_cut_and_marked() -> None:
    """A body longer than the limit is kept cut to it and marked truncated, still redacted."""
    items = [{"id": n, "token": f"t-{n}"} for n in range(2_000)]
    raw = msgspec.json.encode(items)
    assert BODY_LIMIT < len(raw) <= PARSE_LIMIT
    kept = keep_body(raw)
    assert kept is not None and kept.truncated and len(kept.text) == BODY_LIMIT
    assert "t-1" not in kept.text
    huge = msgspec.json.encode([{"id": n, "password": f"p-{n}"} for n in range(20_000)])
    assert len(huge) > PARSE_LIMIT
    cut = keep_body(huge)
    assert cut is not None and cut.truncated and len(cut.text) <= BODY_LIMIT and "p-1" not in cut.text


def test_no_body_is_kept_as_none() -> None:
    """An exchange without a body keeps None, not an empty text."""
    assert keep_body(None) is None and keep_body(b"") is None


class _Tokens:
    async def bearer(self) -> str:
        return "token-very-secret"

    async def invalidate(self, stale: str) -> None:
        return None


async def test_call_records_carry_redacted_bodies() -> None:
    """Each exchange's record holds its request and response bodies, secrets redacted, no bearer token."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(201, json={"id": "w-1", "secret": "whsec-answer", "url": "https://h"})

    transport = httpx.MockTransport(handler)
    client = httpx.AsyncClient(base_url="https://provider.test/api", **client_options(transport=transport))
    http = ProviderHttp(client=client, transport=transport, tokens=_Tokens())
    log: list[CallRecord] = []
    token = call_log.set(log)
    try:
        await http.send("POST", "/webhooks", body={"url": "https://h", "secret": "whsec-sent"})
    finally:
        call_log.reset(token)
        await http.aclose()
    [record] = log
    assert record.request_body is not None and record.response_body is not None
    assert msgspec.json.decode(record.request_body) == {"url": "https://h", "secret": REDACTED}
    assert msgspec.json.decode(record.response_body) == {"id": "w-1", "secret": REDACTED, "url": "https://h"}
    dumped = msgspec.json.encode(record).decode()
    assert "whsec" not in dumped and "token-very-secret" not in dumped
