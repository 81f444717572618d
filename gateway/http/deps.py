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
from gateway.http.apikeys import Principal
from gateway.http.problems import field_of
from providers.lenient import decode_lenient, log_unknown_fields

T = TypeVar("T")


async def provide_session(state: State) -> AsyncIterator[AsyncSession]:
    async with state.sessions() as session:
        yield session


def decode(body: bytes, type_: type[T], *, check_text: bool = True, sent_by: str | None = None) -> T:
    """Decode a JSON body into ``type_``, naming the offending field when it does not fit.

    ``check_text=False`` skips the NUL check, for envelopes whose items are checked one by one.
    ``sent_by`` names a provider posting to us: fields its contract does not name are then
    dropped and logged (:mod:`providers.lenient`) instead of refused.
    """
    if not body:
        raise InvalidError("the request needs a JSON body")
    try:
        if sent_by is None:
            value = msgspec.json.decode(body, type=type_)
        else:
            value, dropped = decode_lenient(body, type_)
            if dropped:
                log_unknown_fields(sent_by, dropped)
    except msgspec.ValidationError as exc:
        message, field = field_of(exc)
        raise InvalidError(message, field=field) from None
    except msgspec.DecodeError as exc:
        raise InvalidError(f"the body is not valid JSON: {exc}") from None
    if check_text:
        refuse_nul(body)
    return value


def refuse_nul(body: bytes) -> None:
    """Refuse a (valid JSON) body with a string holding U+0000, which PostgreSQL cannot store."""
    if b"\\u0000" not in body:
        return
    field = _nul_path(msgspec.json.decode(body), "")
    if field is not None:
        raise InvalidError("text may not contain the NUL character (U+0000)", field=field or None)


def _nul_path(value: object, path: str) -> str | None:
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, list):
        items: list[tuple[str, object]] = [(f"{path}[{i}]", v) for i, v in enumerate(value)]
    elif isinstance(value, dict):
        items = [(f"{path}.{k}" if path else str(k), v) for k, v in value.items()]
    else:
        return None
    for item_path, item in items:
        found = _nul_path(item, item_path)
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
    state = connection.app.state
    principal = await state.api_keys.resolve(state.sessions, key.strip())
    if principal is None:
        raise UnauthorizedError("the API key is unknown or revoked")
    scope = route_handler.opt.get("scope")
    if scope and not principal.allows(scope):
        raise ForbiddenError(f"this route needs the scope {scope!r}")
    connection.scope["auth"] = principal


def principal_of(request: Request[Any, Principal, Any]) -> Principal:
    return request.auth
