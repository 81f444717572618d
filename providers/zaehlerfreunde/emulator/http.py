"""Request decoding, query parsing, auth and error answers for the Zählerfreunde emulator."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, TypeVar

import msgspec
from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from providers.emulation import Emulation, encode_answer
from providers.zaehlerfreunde.emulator.state import ApiError

_T = TypeVar("_T")
_REASONS = {400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 409: "Conflict"}
EMPTY_OK: Response[bytes] = Response(content=b"", status_code=200, media_type="application/json")


def answer(value: Any) -> Response[bytes]:
    """A 200 JSON answer: in full, or only what the document requires in minimal mode."""
    return Response(content=encode_answer(value), status_code=200, media_type="application/json")


def error_response(request: Request[Any, Any, Any], exc: ApiError) -> Response[dict[str, Any]]:
    """The JSON error body the platform answers with (status, error, message, path)."""
    headers = {"WWW-Authenticate": 'Bearer realm="partner"'} if exc.status == 401 else None
    body = {
        "status": exc.status,
        "error": _REASONS.get(exc.status, "Error"),
        "message": exc.message,
        "path": request.url.path,
    }
    return Response(content=body, status_code=exc.status, headers=headers)


def decode_body(body: bytes, decoder: msgspec.json.Decoder[_T]) -> _T:
    """Decode a JSON request body, turning every defect into a 400 naming the field."""
    if not body.strip():
        raise ApiError(400, "request body is required")
    try:
        return decoder.decode(body)
    except msgspec.ValidationError as exc:
        message = str(exc)
        if message.endswith(".timestamp`") and "<=" in message:
            message += " (timestamps are epoch seconds, not milliseconds)"
        raise ApiError(400, message) from None
    except msgspec.DecodeError as exc:
        raise ApiError(400, f"malformed JSON: {exc}") from None


def require_uuid(value: str, name: str) -> str:
    """Refuse a path id the spec declares ``format: uuid`` when it is not one."""
    try:
        uuid.UUID(value)
    except ValueError:
        raise ApiError(400, f"{name} must be a UUID, got {value!r}") from None
    return value


def int_query(request: Request[Any, Any, Any], name: str, default: int, minimum: int) -> int:
    """An int32 query parameter with a lower bound."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"{name} must be an integer, got {raw!r}") from None
    if not minimum <= value <= 2**31 - 1:
        raise ApiError(400, f"{name} must be >= {minimum}, got {value}")
    return value


def required_query(request: Request[Any, Any, Any], name: str) -> str:
    """A query parameter the spec marks as required."""
    raw: str | None = request.query_params.get(name)
    if raw is None:
        raise ApiError(400, f"query parameter {name} is required")
    return raw


def datetime_query(request: Request[Any, Any, Any], name: str) -> int:
    """A required RFC 3339 date-time query parameter, as epoch seconds."""
    raw = required_query(request, name)
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise ApiError(400, f"{name} must be an RFC 3339 date-time, got {raw!r}") from None
    if parsed.tzinfo is None:
        raise ApiError(400, f"{name} must carry a UTC offset, got {raw!r}")
    return int(parsed.timestamp())


def choice_query(request: Request[Any, Any, Any], name: str, allowed: tuple[str, ...]) -> str:
    """A required enum query parameter."""
    raw = required_query(request, name)
    if raw not in allowed:
        raise ApiError(400, f"{name} must be one of {', '.join(allowed)}, got {raw!r}")
    return raw


def has_valid_bearer(emulation: Emulation, header: str) -> bool:
    """Whether an ``Authorization`` header value carries a valid bearer token."""
    scheme, _sep, token = header.partition(" ")
    return scheme.lower() == "bearer" and emulation.tokens.is_valid(token.strip())


def bearer_guard(emulation: Emulation) -> Any:
    """A Litestar guard that answers 401 unless the request carries a valid bearer token."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        if not has_valid_bearer(emulation, connection.headers.get("authorization", "")):
            raise ApiError(401, "a valid bearer token is required")

    return guard
