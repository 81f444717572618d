"""The Volue webhook receiver: Volue's signed test vectors, refusals, dedupe, both secret sources."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest
from cryptography.fernet import Fernet
from litestar.testing import AsyncTestClient

from gateway.app import create_app
from gateway.core.clock import utcnow
from gateway.core.secrets_box import SecretsBox
from gateway.core.settings import load_settings
from gateway.store.db import create_engine, session_factory
from gateway.store.event_tables import VolueWebhookRow
from providers import lenient
from providers.volue.webhooks import sign
from tests.conftest import ADMIN_KEY, SHARED

VECTORS = SHARED / "providers" / "volue" / "webhook-test-data"
KEY = (VECTORS / "signing-key.txt").read_text().strip()
URL = "/v1/providers/volue/webhook"
VECTOR_NAMES = ["price-curve-event.json", "user-eligibility-event.json"]
VECTORS_SENT = datetime(2000, 1, 1, tzinfo=UTC)
VECTORS_MAX_AGE_S = (utcnow() - VECTORS_SENT).total_seconds() + 86_400
"""The published vectors were sent (``notificationSentUtc``) on 2000-01-01 and are signed as they
are, so the receivers here take notifications that old; freshness is tested on its own
(test_webhook_freshness), where the vectors are refused under the default window."""


def _vector(name: str) -> tuple[bytes, str]:
    body = (VECTORS / name).read_bytes()
    signature = (VECTORS / f"{name}.hmacsha256b64").read_text().strip()
    return body, signature


@pytest.fixture
async def receiver(database_url: str) -> AsyncIterator[AsyncTestClient]:
    async with _receiver(database_url) as client:
        yield client


@pytest.fixture
async def legacy_receiver(database_url: str) -> AsyncIterator[AsyncTestClient]:
    """A receiver that also accepts the seed's Spark-Signature (GATEWAY_VOLUE_ACCEPT_LEGACY_SIGNATURE)."""
    async with _receiver(database_url, volue_accept_legacy_signature=True) as client:
        yield client


@contextlib.asynccontextmanager
async def _receiver(database_url: str, **overrides: Any) -> AsyncIterator[AsyncTestClient]:
    overrides.setdefault("volue_webhook_max_age_s", VECTORS_MAX_AGE_S)
    settings = load_settings({}, database_url=database_url, admin_api_key=ADMIN_KEY,
                             volue_webhook_secret=KEY, secrets_key=Fernet.generate_key().decode(),
                             **overrides)
    async with AsyncTestClient(create_app(settings, embedded_worker=False)) as client:
        client.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
        yield client


def _post(client: AsyncTestClient, body: bytes, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    plain = {k: v for k, v in client.headers.items() if k.lower() != "authorization"}
    return client.post(URL, content=body, headers={**plain, "content-type": "application/json",
                                                     "authorization": "", **headers})


@pytest.mark.parametrize("name", VECTOR_NAMES)
async def test_published_vectors_are_accepted_byte_for_byte(receiver: AsyncTestClient, name: str) -> None:
    """Each of Volue's signed test payloads, posted as published, is accepted and stored."""
    body, signature = _vector(name)
    response = await _post(receiver, body, {"x-payload-signature": signature})
    assert response.status_code == 200, response.text
    assert response.json()["duplicate"] is False
    event_id = msgspec.json.decode(body)["eventId"]
    events = (await receiver.get("/v1/events")).json()["items"]
    assert [e["volueEventId"] for e in events] == [event_id]
    assert events[0]["source"] == "webhook"


@pytest.mark.parametrize("name", VECTOR_NAMES)
async def test_any_changed_byte_is_refused(receiver: AsyncTestClient, name: str) -> None:
    """Flipping one byte anywhere in a vector's body (or dropping its newline) gives 401."""
    body, signature = _vector(name)
    positions = [0, len(body) // 3, len(body) // 2, len(body) - 2]
    for position in positions:
        changed = bytearray(body)
        changed[position] ^= 0x01
        response = await _post(receiver, bytes(changed), {"x-payload-signature": signature})
        assert response.status_code == 401, (position, response.text)
    response = await _post(receiver, body.rstrip(b"\n"), {"x-payload-signature": signature})
    assert response.status_code == 401
    assert (await receiver.get("/v1/events")).json()["items"] == []


@pytest.mark.parametrize("name", VECTOR_NAMES)
async def test_changed_or_missing_signature_is_refused(receiver: AsyncTestClient, name: str) -> None:
    """A signature with one character changed, a foreign one, garbage or none at all gives 401."""
    body, signature = _vector(name)
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    other = _vector(next(n for n in VECTOR_NAMES if n != name))[1]
    for bad in (flipped, other, "not base64!", ""):
        response = await _post(receiver, body, {"x-payload-signature": bad})
        assert response.status_code == 401, bad
        assert response.headers["content-type"].startswith("application/problem+json")
    assert (await _post(receiver, body, {})).status_code == 401


async def test_refusals_log_no_secret(receiver: AsyncTestClient, caplog: pytest.LogCaptureFixture) -> None:
    """A refused notification is logged without the secret or the signature expected."""
    body, _ = _vector(VECTOR_NAMES[0])
    caplog.set_level(logging.DEBUG)
    await _post(receiver, body, {"x-payload-signature": sign(body, "wrong")})
    assert "signature mismatch" in caplog.text
    assert KEY not in caplog.text
    assert sign(body, KEY) not in caplog.text


async def test_repeated_notification_is_stored_once(receiver: AsyncTestClient) -> None:
    """Volue's retry of a notification (same notificationId) is acknowledged but not stored again."""
    body, signature = _vector(VECTOR_NAMES[1])
    first = await _post(receiver, body, {"x-payload-signature": signature})
    again = await _post(receiver, body, {"x-payload-signature": signature})
    assert again.status_code == 200
    assert again.json() == {"eventId": first.json()["eventId"], "duplicate": True}
    assert len((await receiver.get("/v1/events")).json()["items"]) == 1


async def test_seed_spark_signature_is_refused_by_default(receiver: AsyncTestClient) -> None:
    """The seed's Spark-Signature (the secret in clear) authenticates nothing without the setting."""
    body, _ = _vector(VECTOR_NAMES[0])
    assert (await _post(receiver, body, {"Spark-Signature": KEY})).status_code == 401


async def test_seed_spark_signature_is_accepted_when_turned_on(legacy_receiver: AsyncTestClient) -> None:
    """With the setting on, a notification may carry the secret instead; a wrong secret still fails."""
    body, _ = _vector(VECTOR_NAMES[0])
    assert (await _post(legacy_receiver, body, {"Spark-Signature": "Secret123"})).status_code == 401
    assert (await _post(legacy_receiver, body, {"Spark-Signature": KEY})).status_code == 200


async def test_x_payload_signature_wins_over_spark_signature(legacy_receiver: AsyncTestClient) -> None:
    """A body whose x-payload-signature fails is refused even when Spark-Signature carries the secret."""
    body, signature = _vector(VECTOR_NAMES[0])
    changed = body.replace(b"SE1", b"SE2")
    response = await _post(legacy_receiver, changed,
                           {"x-payload-signature": signature, "Spark-Signature": KEY})
    assert response.status_code == 401


async def test_signed_but_malformed_body_names_the_field(receiver: AsyncTestClient) -> None:
    """A correctly signed body that is not an EventNotification gets 400 naming the field."""
    body, _ = _vector(VECTOR_NAMES[1])
    changed = body.replace(b'"notificationType":"UserEligibilityUpdated"', b'"notificationType":"Nope"')
    response = await _post(receiver, changed, {"x-payload-signature": sign(changed, KEY)})
    assert response.status_code == 400
    assert response.json()["field"] == "notificationType"
    missing = body.replace(b'"eventId":"ca05399b-c2d6-4dd6-b278-40a7e2061d42",', b"")
    response = await _post(receiver, missing, {"x-payload-signature": sign(missing, KEY)})
    assert response.status_code == 400
    assert response.json()["field"] == "eventId"


async def test_signed_body_with_fields_the_contract_does_not_name_is_stored(
    receiver: AsyncTestClient, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A signed notification carrying new fields (top level and in its payload) is accepted, stored
    once, and the new fields are named in a warning."""
    monkeypatch.setattr(lenient, "_REPORTED", set())
    body, _ = _vector(VECTOR_NAMES[0])
    extended = body.replace(b'"notificationType"', b'"retryCount":2,"notificationType"', 1)
    extended = extended.replace(b'"payloadType"', b'"region":"north","payloadType"', 1)
    with caplog.at_level(logging.WARNING, logger="providers.lenient"):
        response = await _post(receiver, extended, {"x-payload-signature": sign(extended, KEY)})
    assert response.status_code == 200, response.text
    events = (await receiver.get("/v1/events")).json()["items"]
    assert [e["volueEventId"] for e in events] == [msgspec.json.decode(body)["eventId"]]
    assert "$.retryCount" in caplog.text and "$.payload.region" in caplog.text


async def test_secret_of_a_registered_webhook_is_accepted(database_url: str) -> None:
    """With no configured secret, a signature made with a registered webhook's stored secret verifies."""
    key = Fernet.generate_key().decode()
    settings = load_settings({}, database_url=database_url, admin_api_key=ADMIN_KEY, secrets_key=key,
                             volue_webhook_max_age_s=VECTORS_MAX_AGE_S)
    body, _ = _vector(VECTOR_NAMES[0])
    app = create_app(settings, embedded_worker=False)
    async with AsyncTestClient(app) as client:
        assert (await client.post(URL, content=body, headers={
            "x-payload-signature": sign(body, "hook-secret")})).status_code == 401
        engine = create_engine(database_url)
        try:
            async with session_factory(engine)() as session:
                session.add(VolueWebhookRow(webhook_id="hook-1", url="http://127.0.0.1/x",
                                            notification_types=[], created_at=utcnow(),
                                            secret_sealed=SecretsBox(keys=key).seal("hook-secret")))
                await session.commit()
            app.state.volue_webhook_secrets.forget()
            response = await client.post(URL, content=body, headers={
                "x-payload-signature": sign(body, "hook-secret")})
            assert response.status_code == 200, response.text
            async with session_factory(engine)() as session:
                stored = await session.get(VolueWebhookRow, "hook-1")
            assert stored is not None and "hook-secret" not in stored.secret_sealed
        finally:
            await engine.dispose()


def test_vectors_are_where_the_tests_look() -> None:
    """The shared provider documents hold both vectors and the signing key."""
    assert Path(VECTORS / "signing-key.txt").is_file()
    assert all((VECTORS / n).is_file() for n in VECTOR_NAMES)
