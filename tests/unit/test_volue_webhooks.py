"""Volue webhook signatures against Volue's published test vectors."""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path

import msgspec
import pytest

from providers.volue import schemas
from providers.volue.webhooks import sign, signature_headers, verify, verify_headers

SHARED_DIR = Path(
    os.environ.get("GATEWAY_SHARED_DIR", Path(__file__).resolve().parents[2] / ".." / "shared")
)
VECTORS = SHARED_DIR / "providers" / "volue" / "webhook-test-data"
PAYLOADS = ["price-curve-event.json", "user-eligibility-event.json"]


def _key() -> str:
    return (VECTORS / "signing-key.txt").read_text(encoding="utf-8")


def _vector(name: str) -> tuple[bytes, str]:
    body = (VECTORS / name).read_bytes()
    signature = (VECTORS / f"{name}.hmacsha256b64").read_text(encoding="ascii").strip()
    return body, signature


@pytest.mark.parametrize("name", PAYLOADS)
def test_published_vectors_sign_byte_for_byte(name: str) -> None:
    """sign() reproduces Volue's signature of the raw payload file, key used as plain text."""
    body, signature = _vector(name)
    assert sign(body, _key()) == signature
    assert verify(body, signature, _key())


@pytest.mark.parametrize("name", PAYLOADS)
def test_changed_body_key_or_encoding_fails(name: str) -> None:
    """A changed byte, a wrong key or a malformed signature all fail verification."""
    body, signature = _vector(name)
    assert not verify(body.rstrip(b"\n"), signature, _key())
    assert not verify(body, signature, _key() + "x")
    assert not verify(body, "not base64 at all!", _key())


def test_signing_key_is_text_not_base64() -> None:
    """Volue's key 'Secret123%' is not base64 at all, so it can only be used as UTF-8 text."""
    with pytest.raises(binascii.Error):
        base64.b64decode(_key(), validate=True)


@pytest.mark.parametrize("name", PAYLOADS)
def test_vectors_decode_as_event_notifications(name: str) -> None:
    """The published payloads decode strictly into the EventNotification struct."""
    body, _ = _vector(name)
    notification = msgspec.json.decode(body, type=schemas.EventNotification)
    assert notification.notification_type in (
        schemas.NotificationType.PRICE_CURVE_CREATED,
        schemas.NotificationType.USER_ELIGIBILITY_UPDATED,
    )


def test_signature_headers_carry_hmac_and_legacy_secret() -> None:
    """Outgoing headers hold the HMAC signature and the seed's Spark-Signature secret."""
    headers = signature_headers(b"{}", "s3cret")
    assert headers["x-payload-signature"] == sign(b"{}", "s3cret")
    assert headers["Spark-Signature"] == "s3cret"
    assert verify_headers(b"{}", headers, "s3cret")
    assert not verify_headers(b"{ }", headers, "s3cret")
    assert "Spark-Signature" not in signature_headers(b"{}", None)
