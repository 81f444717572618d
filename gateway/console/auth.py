"""Console sign-in: a signed session cookie, a CSRF token per session, and the guard.

The session lives in the cookie itself (``gw_console``: HttpOnly, SameSite=Strict,
``Secure`` when ``GATEWAY_CONSOLE_COOKIE_SECURE`` is set), signed with HMAC-SHA256 under
``GATEWAY_CONSOLE_SESSION_SECRET``. It names the API key it was opened with (its id and a
keyed fingerprint of its hash, never the key), the session's CSRF token and when it ends.
Every request checks the signature and the expiry, and that the key is still there, not
revoked and still allowed the console, so revoking a key ends its sessions.

Every form carries the session's CSRF token and every POST checks it; the sign-in form,
which has no session yet, is protected by a token in a cookie of its own (double submit).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from typing import Any

import msgspec
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.handlers.base import BaseRouteHandler

from gateway.core.errors import ForbiddenError
from gateway.core.settings import Settings
from gateway.http.apikeys import Principal, Scope, hash_key
from gateway.store.tables import ApiKeyRow

SESSION_COOKIE = "gw_console"
SIGN_IN_COOKIE = "gw_console_sign_in"
NOTICE_COOKIE = "gw_console_notice"
"""What an action did, for the page it redirects to (set by the gateway, so no link can forge it)."""
COOKIE_PATH = "/console"
SIGN_IN_PATH = "/console/sign-in"


class ConsoleSession(msgspec.Struct, frozen=True):
    """What the session cookie carries (signed, not secret)."""

    key_id: str
    name: str
    fingerprint: str
    """HMAC of the key's SHA-256 under the session secret: ties the session to that exact key."""
    csrf: str
    expires: float


class CsrfRefused(ForbiddenError):
    """A console form whose CSRF token is missing or not the session's (403)."""

    slug, title = "csrf", "Form token refused"


class SignInRequired(Exception):
    """The request has no valid console session."""


class SessionSigner:
    """Signs and reads session cookies with one secret (random per process when none is set)."""

    def __init__(self, secret: str) -> None:
        self._secret = (secret or secrets.token_urlsafe(32)).encode()

    def fingerprint(self, key_hash: str) -> str:
        return hmac.new(self._secret, b"key:" + key_hash.encode(), hashlib.sha256).hexdigest()[:32]

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._secret, b"session:" + payload, hashlib.sha256).digest()

    def sign(self, session: ConsoleSession) -> str:
        payload = msgspec.json.encode(session)
        return f"{_b64(payload)}.{_b64(self._mac(payload))}"

    def read(self, cookie: str | None, *, now: float | None = None) -> ConsoleSession | None:
        """The session of a cookie whose signature holds and which has not ended, else None."""
        if not cookie or cookie.count(".") != 1:
            return None
        payload_text, mac_text = cookie.split(".")
        try:
            payload, mac = _unb64(payload_text), _unb64(mac_text)
        except ValueError:
            return None
        if not hmac.compare_digest(mac, self._mac(payload)):
            return None
        try:
            session = msgspec.json.decode(payload, type=ConsoleSession)
        except msgspec.DecodeError:
            return None
        if session.expires <= (time.time() if now is None else now):
            return None
        return session


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (ValueError, UnicodeEncodeError):
        raise ValueError("not base64url") from None


def open_session(signer: SessionSigner, principal: Principal, key: str, ttl_s: float) -> ConsoleSession:
    """A new session for a principal that just signed in with ``key``."""
    return ConsoleSession(key_id=principal.key_id, name=principal.name,
                          fingerprint=signer.fingerprint(hash_key(key)),
                          csrf=secrets.token_urlsafe(32), expires=time.time() + ttl_s)


def may_use_console(principal: Principal) -> bool:
    return principal.allows(Scope.CONSOLE.value)


def session_cookie(settings: Settings, value: str, *, max_age: int | None = None) -> Cookie:
    """The session cookie (an empty value with ``max_age=0`` clears it)."""
    return Cookie(key=SESSION_COOKIE, value=value, path=COOKIE_PATH, httponly=True, samesite="strict",
                  secure=settings.console.cookie_secure, max_age=max_age)


def notice_cookie(settings: Settings, value: str, *, max_age: int = 60) -> Cookie:
    """The notice an action leaves for the next page (an empty value with ``max_age=0`` clears it)."""
    return Cookie(key=NOTICE_COOKIE, value=value, path=COOKIE_PATH, httponly=True, samesite="strict",
                  secure=settings.console.cookie_secure, max_age=max_age)


def sign_in_cookie(settings: Settings, value: str, *, max_age: int = 3600) -> Cookie:
    """The sign-in form's CSRF cookie."""
    return Cookie(key=SIGN_IN_COOKIE, value=value, path=COOKIE_PATH, httponly=True, samesite="strict",
                  secure=settings.console.cookie_secure, max_age=max_age)


async def _still_valid(connection: ASGIConnection[Any, Any, Any, Any], session: ConsoleSession) -> bool:
    """Whether the key behind ``session`` still exists, is not revoked and may use the console."""
    state = connection.app.state
    signer: SessionSigner = state.console_signer
    if session.key_id == "admin":
        admin = state.settings.http.admin_api_key.value
        return bool(admin) and hmac.compare_digest(session.fingerprint, signer.fingerprint(hash_key(admin)))
    async with state.sessions() as db:
        row = await db.get(ApiKeyRow, session.key_id)
    if row is None or row.revoked_at is not None:
        return False
    if not hmac.compare_digest(session.fingerprint, signer.fingerprint(row.key_hash)):
        return False
    return may_use_console(Principal(row.id, row.name, frozenset(row.scopes)))


async def require_session(
    connection: ASGIConnection[Any, Any, Any, Any], route_handler: BaseRouteHandler
) -> None:
    """Guard of every console route but sign-in: a valid session, kept in ``scope["console"]``."""
    signer: SessionSigner = connection.app.state.console_signer
    session = signer.read(connection.cookies.get(SESSION_COOKIE))
    if session is None or not await _still_valid(connection, session):
        raise SignInRequired()
    connection.scope["console"] = session  # type: ignore[typeddict-unknown-key]


def session_of(connection: ASGIConnection[Any, Any, Any, Any]) -> ConsoleSession:
    """The session :func:`require_session` found for this request."""
    session: ConsoleSession = connection.scope["console"]  # type: ignore[typeddict-item]
    return session


def check_csrf(connection: ASGIConnection[Any, Any, Any, Any], token: str) -> ConsoleSession:
    """Refuse (403, field ``csrf``) a form whose token is not this session's."""
    session = session_of(connection)
    if not token or not hmac.compare_digest(token.encode(), session.csrf.encode()):
        raise CsrfRefused("the form's CSRF token does not belong to this session; reload the page",
                             field="csrf")
    return session
