"""Bodies of upstream exchanges as the sync history keeps them: secrets redacted, size capped.

A value is redacted when its key names a secret (:func:`secret_key`, case-insensitive, at any
depth): tokens, passwords, client and webhook secrets, API keys, credentials, signatures,
``Authorization``-like fields and invite links or codes (whoever holds one joins the space).
A JSON body is decoded, redacted and encoded again; a body that is not JSON, or one too large
to decode for a history entry (more than :data:`PARSE_LIMIT`), is cut first and its
``key: value`` and ``key=value`` pairs with secret keys redacted in the text. What is kept is
at most :data:`BODY_LIMIT` characters; a longer body is cut and marked truncated.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, NamedTuple

import msgspec

BODY_LIMIT = 16 * 1024
"""The most characters of one body kept in the history."""

PARSE_LIMIT = 4 * BODY_LIMIT
"""Larger bodies are redacted in their cut text instead of decoded whole."""

REDACTED = "[redacted]"

_SECRET_PARTS = ("token", "password", "passwd", "secret", "authorization", "apikey", "credential",
                 "signature", "cookie", "privatekey", "sessionid", "invitelink", "inviteurl",
                 "invitecode")
"""A key containing one of these (lower case, without ``_``, ``-`` or spaces) names a secret."""

_SECRET_KEYS = frozenset({"auth", "code", "pin", "otp", "key", "pass"})
"""Keys that name a secret only as a whole (``postcode`` or ``obisCode`` do not)."""

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()

_KEY = r"[A-Za-z0-9_\-]+"
_TEXT_PAIR = re.compile(
    r"""(?P<key>"(?P<qk>""" + _KEY + r""")"\s*:\s*)(?P<qv>"(?:[^"\\]|\\.)*"?|[^,}\]\s]+)"""
    r"""|(?P<fk>(?<![A-Za-z0-9_\-])""" + _KEY + r""")=(?P<fv>[^&\s]*)"""
)


class KeptBody(NamedTuple):
    """A body as the history keeps it."""

    text: str
    truncated: bool


@lru_cache(maxsize=4096)
def secret_key(name: str) -> bool:
    """Whether a field called ``name`` holds a secret."""
    key = name.lower().replace("_", "").replace("-", "").replace(" ", "")
    return key in _SECRET_KEYS or any(part in key for part in _SECRET_PARTS)


def redact(value: Any) -> Any:
    """``value`` (decoded JSON) with every value under a secret key replaced, at any depth."""
    if isinstance(value, dict):
        return {k: REDACTED if isinstance(k, str) and secret_key(k) else redact(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value


def _redact_text(text: str) -> str:
    def swap(match: re.Match[str]) -> str:
        if match.group("qk") is not None:
            if not secret_key(match.group("qk")):
                return match.group(0)
            return f'{match.group("key")}"{REDACTED}"'
        if not secret_key(match.group("fk")):
            return match.group(0)
        return f'{match.group("fk")}={REDACTED}'

    return _TEXT_PAIR.sub(swap, text)


def keep_body(content: bytes | None) -> KeptBody | None:
    """What the history keeps of a request or response body (None when there was none)."""
    if not content:
        return None
    if len(content) <= PARSE_LIMIT:
        try:
            text = _encoder.encode(redact(_decoder.decode(content))).decode()
        except msgspec.DecodeError:
            text = _redact_text(content.decode("utf-8", "replace"))
        if len(text) <= BODY_LIMIT:
            return KeptBody(text, False)
        return KeptBody(text[:BODY_LIMIT], True)
    # Cut before redacting: a pair cut in two loses its value with the cut.
    head = content[:BODY_LIMIT + 1024].decode("utf-8", "ignore")
    return KeptBody(_redact_text(head)[:BODY_LIMIT], True)
