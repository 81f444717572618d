"""How an upstream answer or failure becomes a ``ProviderError``: one table, read once.

``STATUS_ERRORS`` maps the status codes that mean something specific;
``EXCEPTION_ERRORS`` maps transport failures. A transient failure says whether the
request may have been carried out (``maybe_sent``): every 5xx but 503 and every transport
failure after the request left may have been (a 503, like a 408 or a 429, says the server did
not take the request on). Every other 4xx is a
``RejectedError`` (the provider refused the payload; its own message is kept),
every other 5xx a plain ``ProviderError`` (fatal, not retried). A 404 on delete
is not an error at all: adapters ask for it to be tolerated.
"""

from __future__ import annotations

import math
import time
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import msgspec

from providers.base import (
    AuthError,
    ConflictError,
    ProviderError,
    RejectedError,
    TransientError,
)

STATUS_ERRORS: dict[int, type[ProviderError]] = {
    401: AuthError,
    403: AuthError,
    408: TransientError,
    409: ConflictError,
    429: TransientError,
    500: TransientError,
    502: TransientError,
    503: TransientError,
    504: TransientError,
}
"""Status codes with a class of their own; see ``error_class_for_status`` for the rest."""

EXCEPTION_ERRORS: tuple[tuple[type[Exception], type[ProviderError]], ...] = (
    (httpx.TimeoutException, TransientError),
    (httpx.NetworkError, TransientError),
    (httpx.RemoteProtocolError, TransientError),
    (httpx.ProxyError, TransientError),
    (httpx.TransportError, ProviderError),
)
"""Transport failures, most specific first; the first matching row wins."""

NOT_SENT_STATUSES = frozenset({408, 429, 503})
"""Transient answers that say the request was not carried out: a timeout waiting for the
request, a rate limit, a server unable to handle requests now (RFC 9110, 15.5.9, 15.6.4; a
slow 503 excepted, see :func:`error_for_response`)."""
NOT_SENT_EXCEPTIONS: tuple[type[Exception], ...] = (
    httpx.ConnectTimeout,
    httpx.ConnectError,
    httpx.PoolTimeout,
    httpx.ProxyError,
)
"""Transport failures that happen before the request leaves; every other one may follow it."""

_MAX_MESSAGE = 500


def error_class_for_status(status: int) -> type[ProviderError]:
    """The error class for an unsuccessful HTTP status."""
    listed = STATUS_ERRORS.get(status)
    if listed is not None:
        return listed
    if 400 <= status < 500:
        return RejectedError
    return ProviderError


def error_class_for_exception(exc: Exception) -> type[ProviderError]:
    """The error class for an exception raised while talking to the provider."""
    for exc_type, error_class in EXCEPTION_ERRORS:
        if isinstance(exc, exc_type):
            return error_class
    return ProviderError


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delay-seconds or an HTTP date."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    current = time.time() if now is None else now
    return max(when.timestamp() - current, 0.0)


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"


def _field_errors(errors: Any) -> list[str]:
    if isinstance(errors, dict):
        found: list[str] = []
        for field, messages in errors.items():
            if isinstance(messages, list):
                joined = ", ".join(str(m) for m in messages)
            else:
                joined = str(messages)
            found.append(f"{field}: {joined}" if field else joined)
        return found
    if isinstance(errors, list):
        return [str(e) for e in errors]
    if isinstance(errors, str):
        return [errors]
    return []


def message_from_body(content: bytes) -> str | None:
    """The provider's own words from an error body, or None when it said nothing.

    Reads Volue's ``Problem`` (``message``), ``HttpValidationProblemDetails``
    (``title`` plus the per-field ``errors``), RFC 9457 problems (``title``,
    ``detail``), ``{"error": ...}`` objects, JSON strings and plain text.
    """
    if not content.strip():
        return None
    try:
        body: Any = msgspec.json.decode(content)
    except msgspec.DecodeError:
        return _clip(content.decode("utf-8", errors="replace"))
    if isinstance(body, str):
        return _clip(body) if body.strip() else None
    if not isinstance(body, dict):
        return _clip(content.decode("utf-8", errors="replace"))
    parts: list[str] = []
    for key in ("message", "title", "detail", "error", "error_description"):
        value = body.get(key)
        if isinstance(value, str) and value.strip() and value not in parts:
            parts.append(value.strip())
    fields = _field_errors(body.get("errors"))
    text = "; ".join(parts)
    if fields:
        text = f"{text}: {'; '.join(fields)}" if text else "; ".join(fields)
    return _clip(text) if text else None


def error_for_response(response: httpx.Response, *, method: str, route: str,
                       answered_after_s: float | None = None,
                       slow_s: float = math.inf) -> ProviderError:
    """The error an unsuccessful response stands for, with the provider's message kept.

    A 503 that took ``slow_s`` or longer (``answered_after_s``) counts as maybe sent: a proxy
    that gave up waiting for a server still at work answers 503 too, not only a server that
    refused the request at once."""
    status = response.status_code
    error_class = error_class_for_status(status)
    said = message_from_body(response.content)
    reason = response.reason_phrase or "error"
    message = f"{method} {route} answered {status} {reason}"
    if said:
        message = f"{message}: {said}"
    if error_class is TransientError:
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        slow = answered_after_s is not None and answered_after_s >= slow_s
        return TransientError(message, status=status, route=route, retry_after=retry_after,
                              maybe_sent=status not in NOT_SENT_STATUSES or (status == 503 and slow))
    return error_class(message, status=status, route=route)


def error_for_exception(exc: Exception, *, method: str, route: str) -> ProviderError:
    """The error a transport failure stands for; names the failure, never the request."""
    error_class = error_class_for_exception(exc)
    detail = str(exc).strip()
    kind = type(exc).__name__
    message = f"{method} {route} failed: {kind}" + (f" ({_clip(detail)})" if detail else "")
    if error_class is TransientError:
        return TransientError(message, route=route,
                              maybe_sent=not isinstance(exc, NOT_SENT_EXCEPTIONS))
    return error_class(message, route=route)
