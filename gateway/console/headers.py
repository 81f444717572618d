"""Security headers on every response under ``/console`` (pages, redirects, errors, assets).

The console may not be framed (``X-Frame-Options: DENY`` and CSP ``frame-ancestors
'none'``), is never cached (``Cache-Control: no-store``: its pages show customer data and
carry form tokens), runs no inline script (its CSP allows scripts, styles and images from
itself only) and sends no referrer to other sites.
"""

from __future__ import annotations

from litestar._asgi.utils import wrap_in_exception_handler
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

CONSOLE_PREFIX = "/console"
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}


class ConsoleHeadersMiddleware:
    """Adds :data:`HEADERS` to every HTTP response whose path is under ``/console``.

    The console router's outermost middleware: what it wraps answers errors through Litestar's
    exception handling inside it, so a refusal by the session or CSRF middleware gets the
    headers too."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = wrap_in_exception_handler(app)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"] if scope["type"] == ScopeType.HTTP else ""
        if path != CONSOLE_PREFIX and not path.startswith(CONSOLE_PREFIX + "/"):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                for name, value in HEADERS.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
