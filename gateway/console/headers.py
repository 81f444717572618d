"""Security headers on every response under ``/console`` (pages, redirects, errors, assets).

The console may not be framed (``X-Frame-Options: DENY`` and CSP ``frame-ancestors
'none'``), is never cached (``Cache-Control: no-store``: its pages show customer data and
carry form tokens), runs no inline script (its CSP allows scripts, styles, images and the
requests of its live pages from itself only) and sends no referrer to other sites.

:func:`add_console_headers` is one of the app's ``before_send`` hooks, which see every
response the app sends, so refusals by the session or CSRF middleware and answers for
paths no route matches (404, 405) carry the headers too.
"""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.types import Message, Scope

CONSOLE_PREFIX = "/console"
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}


def is_console_path(path: str) -> bool:
    return path == CONSOLE_PREFIX or path.startswith(CONSOLE_PREFIX + "/")


async def add_console_headers(message: Message, scope: Scope) -> None:
    """Add :data:`HEADERS` to the start of every HTTP response under ``/console``."""
    if (message["type"] == "http.response.start" and scope["type"] == ScopeType.HTTP
            and is_console_path(scope["path"])):
        headers = MutableScopeHeaders.from_message(message)
        for name, value in HEADERS.items():
            headers[name] = value
