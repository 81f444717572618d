"""What every console controller shares: the navigation, the base form, and the helpers that
render a page, go back to one with a notice, and run an action in one unit of work."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, unquote

import msgspec
from litestar import Request
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template
from msgspec import Meta

from gateway.console.auth import CSRF_FIELD, NOTICE_COOKIE, csrf_token, notice_cookie, session_of
from gateway.core.clock import utcnow
from gateway.outbox.unit_of_work import unit_of_work
from gateway.runtime.process import Runtime

NAV = [
    ("overview", "Overview", "/console"),
    ("customers", "Customers", "/console/customers"),
    ("onboarding", "Onboarding", "/console/onboarding"),
    ("problems", "Problems", "/console/problems"),
    ("drift", "Drift", "/console/drift"),
    ("audit", "Audit", "/console/audit"),
    ("events", "Events", "/console/events"),
    ("subscriptions", "Subscriptions", "/console/subscriptions"),
    ("keys", "API keys", "/console/keys"),
]
"""The console's navigation: (id, label, path); a new page adds one entry here."""

Token = Annotated[str, Meta(max_length=200)]
RecordId = Annotated[str, Meta(pattern="^[0-9a-f-]{36}$")]
"""A record id (a UUID) from a form, before it goes into a path."""


class CsrfForm(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A form carrying only its CSRF token (checked by the CSRF middleware before the handler);
    the base of every console form."""

    form_token: Token = msgspec.field(default="", name=CSRF_FIELD)


Form = Body(media_type=RequestEncodingType.URL_ENCODED)


def page(request: Request[Any, Any, Any], name: str, active: str, **context: Any) -> Template:
    """A console page; shows (and clears) the notice an action left for it."""
    session = session_of(request)
    notice = unquote(request.cookies.get(NOTICE_COOKIE, ""))[:500]
    answer = Template(template_name=name, context={
        "nav": NAV, "active": active, "session": session, "csrf": csrf_token(request),
        "notice": notice, "now": utcnow(), **context})
    if notice:
        answer.cookies.append(notice_cookie(request.app.state.settings, "", max_age=0))
    return answer


def back(request: Request[Any, Any, Any], path: str, notice: str) -> Redirect:
    """Back to a page after an action, with a notice of what it did for that page to show."""
    response = Redirect(path=path, status_code=303)
    response.cookies.append(notice_cookie(request.app.state.settings, quote(notice[:500])))
    return response


async def action(request: Request[Any, Any, Any], work: Any) -> Any:
    """Run ``work(session, planner)`` in one unit of work (committed, then queues woken)."""
    runtime = Runtime.of(request)
    async with unit_of_work(runtime.sessions, runtime.dispatcher) as uow:
        return await work(uow.session, uow.planner)
