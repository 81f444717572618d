"""Console sign-in: Litestar's server-side session and CSRF protection, and the guard.

The session (:mod:`gateway.console.sessions`) is Litestar's server-side session: the
cookie ``gw_console`` (HttpOnly, SameSite=Strict, ``Secure`` when
``GATEWAY_CONSOLE_COOKIE_SECURE`` is set, path ``/console``) holds a random id, and the
session's data (the API key's id and name, the SHA-256 of the key it was opened with, never
the key, and when it ends) lives in Redis or the database. Every request checks that the
session has not ended and that its key is still there, not revoked and still allowed the
console; signing out deletes the session, and revoking the key ends it on its next request.

Forms are protected by Litestar's CSRF middleware (:func:`csrf_config`): a signed token in
the cookie ``gw_console_csrf`` which every form repeats in its ``_csrf_token`` field; a post
whose field is missing or does not match is refused with 403 before it reaches a handler.
"""

from __future__ import annotations

import hmac
import io
import secrets
import time
from typing import Any

import msgspec
import multipart
from litestar.config.csrf import CSRFConfig
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.enums import RequestEncodingType, ScopeType
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware.csrf import CSRFMiddleware
from litestar.types import Receive, Send
from litestar.types import Scope as AsgiScope
from litestar.utils.scope.state import ScopeState

from gateway.core.errors import ForbiddenError, InvalidError
from gateway.core.settings import Settings
from gateway.http.apikeys import Principal, Scope, hash_key
from gateway.runtime.process import Runtime
from gateway.store.tables import ApiKeyRow

SESSION_COOKIE = "gw_console"
CSRF_COOKIE = "gw_console_csrf"
CSRF_FIELD = "_csrf_token"
"""The form field carrying the CSRF token (the name Litestar's CSRF middleware reads)."""
NOTICE_COOKIE = "gw_console_notice"
"""What an action did, for the page it redirects to (set by the gateway, so no link can forge it)."""
COOKIE_PATH = "/console"
SIGN_IN_PATH = "/console/sign-in"


class ConsoleSession(msgspec.Struct, frozen=True):
    """What a console session holds (on the server)."""

    key_id: str
    name: str
    key_hash: str
    """The SHA-256 of the key the session was opened with: ties the session to that exact key."""
    ends: float
    """When the session ends (seconds since the epoch), however often it is used before."""


class CsrfRefused(ForbiddenError):
    """A console form whose CSRF token is missing or not the one of its cookie (403)."""

    slug, title = "csrf", "Form token refused"


class SignInRequired(Exception):
    """The request has no valid console session."""


def csrf_config(settings: Settings) -> CSRFConfig:
    """Litestar's CSRF protection for the console's forms (signed with
    ``GATEWAY_CONSOLE_SESSION_SECRET``, a random secret per process when unset)."""
    return CSRFConfig(secret=settings.console.session_secret.value or secrets.token_urlsafe(32),
                      cookie_name=CSRF_COOKIE, cookie_path=COOKIE_PATH, cookie_httponly=True,
                      cookie_samesite="strict", cookie_secure=settings.console.cookie_secure)


def _undecodable_field(body: bytes, boundary: str) -> str | None:
    """The first text field (not a file) of a multipart body whose bytes are not text in its charset."""
    try:
        for part in multipart.MultipartParser(io.BytesIO(body), boundary):
            if not part.filename:
                try:
                    part.raw.decode(part.charset)
                except (UnicodeDecodeError, LookupError):
                    return str(part.name)
    except multipart.MultipartError:
        pass
    return None


class ConsoleCSRFMiddleware(CSRFMiddleware):
    """Litestar's CSRF check, on a form read first: a form Litestar cannot read (a text field of
    a multipart body that is not text in its charset) is refused with a 400 naming the field,
    where the check, reading the form for its token, would fail with a 500."""

    async def __call__(self, scope: AsgiScope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP:
            request = scope["litestar_app"].request_class(scope=scope, receive=receive)
            content_type, options = request.content_type
            if content_type == RequestEncodingType.MULTI_PART:
                body = await request.body()
                try:
                    await request.form()
                except (UnicodeDecodeError, LookupError):
                    raise InvalidError("a form field that is not a file must be text in its charset "
                                       "(UTF-8 unless its part names another)",
                                       field=_undecodable_field(body, options.get("boundary", ""))) from None
        await super().__call__(scope, receive, send)


def csrf_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """The CSRF token this request's forms carry (set by the CSRF middleware)."""
    token = ScopeState.from_scope(connection.scope).csrf_token
    return token if isinstance(token, str) else ""


def open_session(principal: Principal, key: str, ttl_s: float) -> ConsoleSession:
    """A new session for a principal that just signed in with ``key``."""
    return ConsoleSession(key_id=principal.key_id, name=principal.name, key_hash=hash_key(key),
                          ends=time.time() + ttl_s)


def may_use_console(principal: Principal) -> bool:
    return principal.allows(Scope.CONSOLE.value)


def notice_cookie(settings: Settings, value: str, *, max_age: int = 60) -> Cookie:
    """The notice an action leaves for the next page (an empty value with ``max_age=0`` clears it)."""
    return Cookie(key=NOTICE_COOKIE, value=value, path=COOKIE_PATH, httponly=True, samesite="strict",
                  secure=settings.console.cookie_secure, max_age=max_age)


async def _still_valid(connection: ASGIConnection[Any, Any, Any, Any], session: ConsoleSession) -> bool:
    """Whether the session has not ended and the key behind it still exists, is not revoked and
    may use the console."""
    if session.ends <= time.time():
        return False
    state = connection.app.state
    if session.key_id == "admin":
        admin = state.settings.http.admin_api_key.value
        return bool(admin) and hmac.compare_digest(session.key_hash, hash_key(admin))
    async with Runtime.of_state(state).sessions() as db:
        row = await db.get(ApiKeyRow, session.key_id)
    if row is None or row.revoked_at is not None:
        return False
    if not hmac.compare_digest(session.key_hash, row.key_hash):
        return False
    return may_use_console(Principal(row.id, row.name, frozenset(row.scopes)))


def _read(connection: ASGIConnection[Any, Any, Any, Any]) -> ConsoleSession | None:
    data = connection.scope.get("session")
    if not isinstance(data, dict) or not data:
        return None
    try:
        return msgspec.convert(data, ConsoleSession)
    except msgspec.ValidationError:
        return None


async def require_session(
    connection: ASGIConnection[Any, Any, Any, Any], route_handler: BaseRouteHandler
) -> None:
    """Guard of every console route but sign-in: a valid session, kept in ``scope["console"]``.

    A session that ended (or whose key did) is deleted from the store."""
    session = _read(connection)
    if session is None or not await _still_valid(connection, session):
        connection.clear_session()
        raise SignInRequired()
    connection.scope["console"] = session  # type: ignore[typeddict-unknown-key]


def session_of(connection: ASGIConnection[Any, Any, Any, Any]) -> ConsoleSession:
    """The session :func:`require_session` found for this request."""
    session: ConsoleSession = connection.scope["console"]  # type: ignore[typeddict-item]
    return session
