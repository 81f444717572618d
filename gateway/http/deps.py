"""Request plumbing shared by the controllers: sessions, bodies, authentication, scopes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, TypeVar

import msgspec
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.handlers.base import BaseRouteHandler
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.errors import ForbiddenError, InvalidError, UnauthorizedError
from gateway.core.wire import field_of
from gateway.http.apikeys import Principal
from gateway.http.enum_values import with_valid_values
from gateway.http.ratelimit import ApiGuards, resolve_key
from gateway.runtime.process import Runtime
from providers.lenient import decode_lenient, log_unknown_fields

T = TypeVar("T")

MAX_NESTING = 64
"""Arrays and objects in a JSON body may nest this deep; deeper bodies are refused with 400."""

_OUTSIDE_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_DEPTH_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


async def provide_session(state: State) -> AsyncIterator[AsyncSession]:
    async with Runtime.of_state(state).sessions() as session:
        yield session


def decode(body: bytes, type_: type[T], *, check_text: bool = True, sent_by: str | None = None) -> T:
    """Decode a JSON body into ``type_``, naming the offending field when it does not fit.

    ``check_text=False`` skips the NUL check, for envelopes whose items are checked one by one.
    ``sent_by`` names a provider posting to us: fields its contract does not name are then
    dropped and logged (:mod:`providers.lenient`) instead of refused.
    """
    if not body:
        raise InvalidError("the request needs a JSON body")
    if nests_too_deep(body):
        raise InvalidError(f"the body nests arrays or objects deeper than {MAX_NESTING} levels")
    try:
        if sent_by is None:
            value = msgspec.json.decode(body, type=type_)
        else:
            value, dropped = decode_lenient(body, type_)
            if dropped:
                log_unknown_fields(sent_by, dropped)
    except msgspec.ValidationError as exc:
        retried = _with_integral_floats(body, type_) if "got `float`" in str(exc) else None
        if retried is None:
            message, field = field_of(exc)
            raise InvalidError(with_valid_values(message, type_, field), field=field) from None
        value = retried
    except UnicodeDecodeError:
        raise InvalidError("a string in the body is not valid UTF-8",
                           field=_bad_text_path(body)) from None
    except msgspec.DecodeError as exc:
        if not_utf8(exc):
            raise InvalidError("a string in the body is not valid UTF-8",
                               field=_bad_text_path(body)) from None
        raise InvalidError(f"the body is not valid JSON: {exc}") from None
    if check_text:
        refuse_nul(body)
    return value


def not_utf8(exc: msgspec.DecodeError) -> bool:
    """The decode failed on bytes that are not UTF-8 (msgspec 0.23 and later say so with a
    ``DecodeError``; earlier releases raised ``UnicodeDecodeError``)."""
    return "UTF-8" in str(exc)


def _with_integral_floats(body: bytes, type_: type[T]) -> T | None:
    """``body`` decoded with numbers such as ``2024.0`` read as integers (JSON Schema counts
    them as integers, msgspec does not); None when it still does not fit."""
    try:
        return msgspec.convert(_integral(msgspec.json.decode(body)), type_)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None


def _integral(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    if isinstance(value, list):
        return [_integral(item) for item in value]
    if isinstance(value, dict):
        return {key: _integral(item) for key, item in value.items()}
    return value


def nests_too_deep(body: bytes) -> bool:
    """Whether the arrays and objects of a JSON text nest deeper than :data:`MAX_NESTING`
    (brackets inside strings not counted).

    Cheap for ordinary bodies: the bracket count bounds the depth, and only a body with
    more brackets than the limit is scanned.
    """
    if body.count(b"[") + body.count(b"{") <= MAX_NESTING:
        return False
    unquoted = body.replace(b"\\\\", b"").replace(b'\\"', b"").split(b'"')[::2]
    depth = deepest = 0
    for byte in b"".join(unquoted).translate(None, _OUTSIDE_BRACKETS):
        depth += _DEPTH_STEP[byte]
        deepest = max(deepest, depth)
    return deepest > MAX_NESTING


def _bad_text_path(body: bytes) -> str | None:
    """The field whose string holds the bytes that are not UTF-8, when the rest is valid JSON."""
    try:
        value = msgspec.json.decode(body.decode("utf-8", errors="replace"))
    except msgspec.DecodeError:
        return None
    return _text_path(value, "", "\ufffd") or None


def refuse_nul(body: bytes) -> None:
    """Refuse a (valid JSON) body with a string holding U+0000, which PostgreSQL cannot store."""
    if b"\\u0000" not in body:
        return
    field = _text_path(msgspec.json.decode(body), "", "\x00")
    if field is not None:
        raise InvalidError("text may not contain the NUL character (U+0000)", field=field or None)


def _text_path(value: object, path: str, char: str) -> str | None:
    """The path of the first string in ``value`` holding ``char`` ("" for the top level)."""
    if isinstance(value, str):
        return path if char in value else None
    if isinstance(value, list):
        items: list[tuple[str, object]] = [(f"{path}[{i}]", v) for i, v in enumerate(value)]
    elif isinstance(value, dict):
        items = [(f"{path}.{k}" if path else str(k), v) for k, v in value.items()]
    else:
        return None
    for item_path, item in items:
        found = _text_path(item, item_path, char)
        if found is not None:
            return found
    return None


async def authenticate(
    connection: ASGIConnection[Any, Any, Any, Any], route_handler: BaseRouteHandler
) -> None:
    """Guard: a valid ``Authorization: Bearer <key>`` whose scopes include the route's ``scope``."""
    header = connection.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise UnauthorizedError("send the API key as 'Authorization: Bearer <key>'")
    principal = await resolve_key(connection, key.strip())  # 429 after too many wrong keys
    if principal is None:
        raise UnauthorizedError("the API key is unknown or revoked")
    scope = route_handler.opt.get("scope")
    if scope and not principal.allows(scope):
        raise ForbiddenError(f"this route needs the scope {scope!r}")
    if scope:
        await ApiGuards.of(connection).rate_limiter.check(principal.key_id, scope)
    connection.scope["auth"] = principal


def principal_of(request: Request[Any, Principal, Any]) -> Principal:
    return request.auth
