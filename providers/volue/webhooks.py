"""Volue webhook signatures.

Volue signs each notification with ``x-payload-signature``: the base64 of
HMAC-SHA256 over the raw request body, keyed with the webhook secret as chosen at
``POST /webhooks``. The key is the secret's UTF-8 text as is, not base64-decoded:
Volue's published test vectors (``webhook-test-data``: key ``Secret123%``, payload
files including their trailing newline) verify only that way. The older quickstart
(seed 000) also names a ``Spark-Signature`` header that carries the webhook secret
itself; the emulator sends both.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping

SIGNATURE_HEADER = "x-payload-signature"
LEGACY_SECRET_HEADER = "Spark-Signature"


def sign(body: bytes, secret: str) -> str:
    """Return base64(HMAC-SHA256(body, key=UTF-8 bytes of ``secret``))."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify(body: bytes, signature: str, secret: str) -> bool:
    """Whether ``signature`` is the base64 HMAC-SHA256 of ``body``; constant-time compare."""
    try:
        given = base64.b64decode(signature.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    expected = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return hmac.compare_digest(given, expected)


def signature_headers(body: bytes, secret: str | None) -> dict[str, str]:
    """Headers Volue sends with a notification body for a webhook with ``secret``."""
    headers = {SIGNATURE_HEADER: sign(body, secret or "")}
    if secret:
        headers[LEGACY_SECRET_HEADER] = secret
    return headers


def verify_headers(body: bytes, headers: Mapping[str, str], secret: str) -> bool:
    """Whether a received notification carries a valid ``x-payload-signature``."""
    signature = headers.get(SIGNATURE_HEADER) or headers.get(SIGNATURE_HEADER.title())
    return signature is not None and verify(body, signature, secret)
