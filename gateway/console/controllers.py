"""The console's pages and form actions under ``/console`` (left out of the OpenAPI document).

Pages are Jinja templates rendered on the server; actions are plain HTML forms that post
and redirect back (no script). Actions call the same functions as the API's controllers
(``retry_task``, ``retry_dead_tasks``, ``resync_entity``, ``invite``, ``create_many``,
``plan_membership``) in the same unit of work, so a console retry, resync, invite, onboarding
or Volue enrollment does exactly what the API would; the Drift page runs the reconciliation
``gateway reconcile`` runs (``reconcile.service.check``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

import msgspec
from litestar import Controller, Request, Response, Router, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.exceptions import PermissionDeniedException
from litestar.middleware import DefineMiddleware
from litestar.params import Body, Parameter
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from msgspec import Meta
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.console import views
from gateway.console.audited import audited_action
from gateway.console.auth import (
    COOKIE_PATH,
    CSRF_FIELD,
    SESSION_COOKIE,
    SIGN_IN_PATH,
    ConsoleCSRFMiddleware,
    CsrfRefused,
    SignInRequired,
    csrf_config,
    csrf_token,
    may_use_console,
    open_session,
    require_session,
    session_of,
)
from gateway.console.charts import Series, bar_chart
from gateway.console.events_pages import EventPages
from gateway.console.keys import KeyPages
from gateway.console.onboard import OnboardingPlan, plan_file, run_file
from gateway.console.ops_pages import OPS_PAGES
from gateway.console.record_pages import RecordPages
from gateway.console.render import NAV, CsrfForm, Form, RecordId, Token
from gateway.console.render import back as _back
from gateway.console.render import page as _page
from gateway.console.sessions import SESSION_STORE, ConsoleSessionConfig, start_new_session
from gateway.core.clock import utcnow
from gateway.core.domain import EntityType
from gateway.core.errors import GatewayError, InvalidError, RateLimited
from gateway.core.settings import Settings
from gateway.customers import reads
from gateway.customers.service import (
    BulkRetryRequest,
    ResyncRequest,
    circuit_views,
    resync_entity,
    retry_dead_tasks,
    retry_task,
)
from gateway.http.problems import problem_response
from gateway.http.ratelimit import ApiGuards, client_address
from gateway.invites.service import InviteCreate, invite
from gateway.outbox.plan import OutboxPlanner
from gateway.outbox.queues import QUEUES
from gateway.programmes.service import plan_membership
from gateway.runtime.process import Runtime

MAX_UPLOAD_BYTES = 1_000_000
"""The largest onboarding file the console takes (``gateway onboard`` takes any size)."""
UPLOAD_BODY_BYTES = 4 * MAX_UPLOAD_BYTES
"""The body limit of the routes carrying a file (a form percent-encodes it, up to three times longer)."""
PROGRESS_SHOWN = 200
"""Customers of an onboarded file whose progress one page follows."""

class SignInForm(CsrfForm, kw_only=True, forbid_unknown_fields=True):
    api_key: Annotated[str, Meta(max_length=500)] = msgspec.field(default="", name="apiKey")
    next: Annotated[str, Meta(max_length=500)] = ""


class RetryGroupForm(CsrfForm, kw_only=True, forbid_unknown_fields=True):
    provider: Annotated[str, Meta(pattern="^(" + "|".join(QUEUES) + ")$")]
    error: Annotated[str, Meta(max_length=100_000)]


class InviteForm(CsrfForm, kw_only=True, forbid_unknown_fields=True):
    email: Annotated[str, Meta(max_length=320)] = ""
    """Empty: the customer's email."""
    send_email: bool = msgspec.field(default=False, name="sendEmail")


class ResyncForm(CsrfForm, kw_only=True, forbid_unknown_fields=True):
    entity_type: EntityType = msgspec.field(name="entityType")
    entity_id: Annotated[str, Meta(min_length=1, max_length=36)] = msgspec.field(name="entityId")
    back: RecordId | None = None
    """The customer whose page to return to."""


class EnrollForm(CsrfForm, kw_only=True, forbid_unknown_fields=True):
    only_if_eligible: bool = msgspec.field(default=False, name="onlyIfEligible")
    """Ask Volue first and leave an ineligible customer ``not_enrolled`` instead of failing."""


class RunForm(CsrfForm, kw_only=True, forbid_unknown_fields=True):
    csv: Annotated[str, Meta(max_length=MAX_UPLOAD_BYTES)] = ""


class UploadForm(msgspec.Struct, kw_only=True):
    form_token: Token = msgspec.field(default="", name=CSRF_FIELD)
    file: UploadFile | None = None


def _safe_next(value: str) -> str:
    """Where to go after sign-in: only a path inside the console."""
    if value.startswith("/console") and not value.startswith("//") and "\\" not in value:
        return value
    return "/console"


class SignInController(Controller):
    path = "/console"
    include_in_schema = False

    @get("/sign-in", summary="The console's sign-in form")
    async def sign_in_page(self, request: Request[Any, Any, Any],
                           next: Annotated[str, Parameter(max_length=500)] = "") -> Template:
        return Template(template_name="sign_in.html", context={
            "csrf": csrf_token(request), "next": _safe_next(next), "error": "", "nav": [], "active": ""})

    @post("/sign-in", status_code=303, summary="Open a console session with an API key")
    async def sign_in(self, request: Request[Any, Any, Any],
                      data: Annotated[SignInForm, Form]) -> Response[Any]:
        state = request.app.state
        settings: Settings = state.settings
        guards = ApiGuards.of(request)
        throttle = guards.auth_throttle
        key = data.api_key.strip()
        address = client_address(request)

        def refused(status: int, error: str, headers: dict[str, str] | None = None) -> Template:
            return Template(template_name="sign_in.html", status_code=status, headers=headers,
                            context={"csrf": csrf_token(request), "next": _safe_next(data.next),
                                     "error": error, "nav": [], "active": ""})

        if not key:
            return refused(401, "enter an API key")
        try:
            await throttle.check(address, key)
        except RateLimited as exc:
            return refused(429, exc.detail, {"Retry-After": str(exc.retry_after_s)})
        principal = await guards.api_keys.resolve(Runtime.of(request).sessions, key)
        if principal is None:
            await throttle.failed(address, key)
            return refused(401, "that API key is unknown or revoked")
        if not may_use_console(principal):
            return refused(403, "that API key has neither the 'console' nor the 'ops' scope")
        session = open_session(principal, key, settings.console.session_ttl_s)
        start_new_session(request, msgspec.to_builtins(session))
        return Redirect(path=_safe_next(data.next), status_code=303)


class ConsoleController(Controller):
    path = "/console"
    include_in_schema = False
    guards = [require_session]

    @post("/sign-out", status_code=303, summary="End the console session")
    async def sign_out(self, request: Request[Any, Any, Any], data: Annotated[CsrfForm, Form]) -> Redirect:
        request.clear_session()
        return Redirect(path=SIGN_IN_PATH, status_code=303)

    @get("/", summary="Overview: provider health, queues, readings per hour, recent events")
    async def overview(self, request: Request[Any, Any, Any]) -> Template:
        circuits = {view.provider: view.state for view in await circuit_views(request.app.state)}
        async with Runtime.of(request).sessions() as session:
            data = await views.overview(session, request.app.state.settings, utcnow(), circuits)
        series = [Series("ingested", data.ingested), Series("delivered", data.delivered)]
        chart = bar_chart(data.hours, series,
                          title="Readings ingested and delivered per hour (UTC), last 24 hours",
                          unit="readings", label_every=3)
        return _page(request, "overview.html", "overview", data=data, chart=chart)

    @post("/resync", status_code=303, summary="Resync a record (customers and sites with their subtree)")
    async def resync(self, request: Request[Any, Any, Any], data: Annotated[ResyncForm, Form]) -> Redirect:
        request_data = ResyncRequest(entity_type=data.entity_type, entity_id=data.entity_id)
        tasks = await audited_action(request, "record.resync", f"{data.entity_type.value}:{data.entity_id}",
                                     lambda s, p: resync_entity(s, p, request_data),
                                     detail=lambda found: f"{len(found)} task(s) queued")
        target = f"/console/customers/{data.back}" if data.back else "/console/customers"
        said = (f"{data.entity_type.value} queued again: {len(tasks)} task(s)" if tasks else
                f"{data.entity_type.value}: nothing new queued, its upstream work is still pending")
        return _back(request, target, said)

    @post("/tasks/{task_id:str}/retry", status_code=303, summary="Send a dead task again")
    async def retry(self, request: Request[Any, Any, Any], task_id: str,
                    data: Annotated[CsrfForm, Form],
                    back: Annotated[str | None, Parameter(pattern="^[0-9a-f-]{36}$")] = None) -> Redirect:
        task = await audited_action(request, "task.retry", f"task:{task_id}",
                                    lambda s, p: retry_task(s, p, task_id))
        target = f"/console/customers/{back}" if back else "/console/problems"
        return _back(request, target, f"task {task.id} ({task.provider} {task.entity_type}) queued again")

    @post("/failures/retry", status_code=303, summary="Send every dead task of a group again")
    async def retry_group(self, request: Request[Any, Any, Any],
                          data: Annotated[RetryGroupForm, Form]) -> Redirect:
        wanted = BulkRetryRequest(provider=data.provider)
        result = await audited_action(request, "task.retry_many", f"queue:{data.provider}",
                                      lambda s, p: retry_dead_tasks(s, p, wanted, error_is=data.error),
                                      detail=lambda r: f"{r.retried} dead task(s) queued again")
        more = " (more remain: retry the group again)" if result.more else ""
        return _back(request, "/console/problems",
                     f"{result.retried} dead task(s) of {data.provider} queued again{more}")

    @post("/sites/{site_id:str}/invite", status_code=303, summary="Invite an address to a site's space")
    async def invite(self, request: Request[Any, Any, Any], site_id: str,
                     data: Annotated[InviteForm, Form]) -> Redirect:
        try:
            wanted = msgspec.convert({"email": data.email.strip() or None, "sendEmail": data.send_email},
                                     InviteCreate)
        except msgspec.ValidationError:
            raise InvalidError(f"{data.email!r} is not an email address", field="email") from None
        status, view = await audited_action(request, "invite.send", f"site:{site_id}",
                                            lambda s, p: invite(s, p, site_id, wanted),
                                            detail=lambda pair: f"{pair[1].email}: {pair[1].status}")
        said = "invite queued" if status == 202 else f"already invited ({view.status})"
        return _back(request, f"/console/customers/{view.customer_id}", f"{said}: {view.email}")

    @post("/customers/{customer_id:str}/volue/enroll", status_code=303,
          summary="Enroll the customer in Volue's programme (through the outbox)")
    async def volue_enroll(self, request: Request[Any, Any, Any], customer_id: str,
                           data: Annotated[EnrollForm, Form]) -> Redirect:
        return await self._membership(request, customer_id, enroll=True,
                                      only_if_eligible=data.only_if_eligible)

    @post("/customers/{customer_id:str}/volue/leave", status_code=303,
          summary="Take the customer out of Volue's programme (through the outbox)")
    async def volue_leave(self, request: Request[Any, Any, Any], customer_id: str,
                          data: Annotated[CsrfForm, Form]) -> Redirect:
        return await self._membership(request, customer_id, enroll=False)

    @staticmethod
    async def _membership(request: Request[Any, Any, Any], customer_id: str, *, enroll: bool,
                          only_if_eligible: bool = False) -> Redirect:
        """What ``PUT``/``DELETE /v1/customers/{id}/programmes/volue`` do, back on the customer's page."""
        async def work(session: AsyncSession, planner: OutboxPlanner) -> tuple[str, str]:
            customer = await reads.get_customer(session, customer_id)
            row = await plan_membership(session, planner, customer, enroll=enroll,
                                        only_if_eligible=only_if_eligible)
            return customer.id, row.status

        found_id, status = await audited_action(
            request, "programme.enroll" if enroll else "programme.leave", f"customer:{customer_id}", work,
            detail=lambda r: f"membership {r[1]}")
        wish = "enrollment" if enroll else "leaving"
        said = (f"Volue {wish} queued: {status}" if status == "pending"
                else f"Volue: already {status.replace('_', ' ')}")
        return _back(request, f"/console/customers/{found_id}", said)

    @get("/devices/{device_id:str}", summary="A meter: its readings, their delivery and consumption")
    async def meter(self, request: Request[Any, Any, Any], device_id: str) -> Template:
        async with Runtime.of(request).sessions() as session:
            page = await views.meter_page(session, device_id)
        charts = [bar_chart(labels, [Series(code, values)], title=f"Consumption between readings, {code}",
                            label_every=max(1, len(labels) // 8))
                  for code, labels, values in page.charts]
        return _page(request, "meter.html", "customers", page=page, charts=charts)

    @get("/onboarding", summary="Upload an onboarding CSV file")
    async def onboarding(self, request: Request[Any, Any, Any]) -> Template:
        return _page(request, "onboarding.html", "onboarding", plan=None)

    @post("/onboarding/plan", status_code=200, request_max_body_size=UPLOAD_BODY_BYTES,
          summary="Dry run: every problem by line and column, or the plan")
    async def plan(self, request: Request[Any, Any, Any],
                   data: Annotated[UploadForm, Body(media_type=RequestEncodingType.MULTI_PART)]) -> Template:
        if data.file is None:
            raise InvalidError("choose a CSV file to upload", field="file")
        raw = await data.file.read(MAX_UPLOAD_BYTES + 1)
        if len(raw) > MAX_UPLOAD_BYTES:
            raise InvalidError(f"the file is larger than {MAX_UPLOAD_BYTES:,} bytes", field="file")
        async with Runtime.of(request).sessions() as session:
            plan = await plan_file(session, raw)
        return _page(request, "onboarding.html", "onboarding", plan=plan, filename=data.file.filename)

    @post("/onboarding/run", status_code=303, request_max_body_size=UPLOAD_BODY_BYTES,
          summary="Onboard the customers of a planned file")
    async def run(self, request: Request[Any, Any, Any], data: Annotated[RunForm, Form]) -> Response[Any]:
        raw = data.csv.encode()
        async with Runtime.of(request).sessions() as session:
            plan: OnboardingPlan = await plan_file(session, raw)
        if plan.problems:
            return _page(request, "onboarding.html", "onboarding", plan=plan, filename="")
        outcome = await audited_action(request, "onboarding.run", f"file:{len(plan.customers)} customer(s)",
                                       lambda s, p: run_file(s, p, plan),
                                       detail=lambda o: f"{o.created} customer(s) onboarded")
        refs = [c.body.external_ref for c in plan.customers][:PROGRESS_SHOWN]
        progress = f"/console/onboarding/progress?{urlencode([('ref', ref) for ref in refs])}"
        if outcome.problems:
            # refused while running (a record taken since the dry run): name each by line and column
            return _page(request, "onboarding.html", "onboarding", plan=None, run=outcome, progress=progress)
        return _back(request, progress, f"{outcome.created} customer(s) onboarded")

    @get("/onboarding/progress", summary="How far the onboarded customers have synced")
    async def progress(self, request: Request[Any, Any, Any]) -> Template:
        refs = [ref[:200] for ref in request.query_params.getall("ref", [])][:PROGRESS_SHOWN]
        async with Runtime.of(request).sessions() as session:
            rows = await views.onboarding_progress(session, refs)
        finished = all(row.done or row.stuck for row in rows)
        return _page(request, "progress.html", "onboarding", rows=rows, finished=finished,
                     synced=sum(1 for row in rows if row.done))


CONTROLLERS: tuple[type[Controller], ...] = (
    *OPS_PAGES, SignInController, ConsoleController, RecordPages, EventPages, KeyPages)
"""Every controller of the console's pages and actions (the router and the fuzz document)."""


def _sign_in_required(request: Request[Any, Any, Any], exc: SignInRequired) -> Response[Any]:
    """Pages send the browser to the sign-in form; other requests get 401."""
    if request.method in ("GET", "HEAD"):
        target = f"{SIGN_IN_PATH}?{urlencode({'next': request.url.path})}"
        response: Response[Any] = Redirect(path=target, status_code=303)
    else:
        response = problem_response(401, "Console session required",
                                    "sign in to the console first; the session cookie is missing or "
                                    "has ended",
                                    slug="unauthorized", field=SESSION_COOKIE, instance=request.url.path)
    return response


def _csrf_refused(request: Request[Any, Any, Any], exc: PermissionDeniedException) -> Response[Any]:
    """The CSRF middleware's refusal as a problem naming the form field."""
    error = CsrfRefused("the form's CSRF token is missing or does not match its cookie; reload the page",
                        field=CSRF_FIELD)
    return problem_response(error.status, error.title, error.detail, slug=error.slug, field=error.field,
                            instance=request.url.path)


def _error_page(request: Request[Any, Any, Any], exc: GatewayError) -> Response[Any]:
    """A refused page request (unknown record, bad query) as a page; form posts answer problem+json."""
    if request.method == "GET" and "console" in request.scope:
        return Template(template_name="error.html", status_code=exc.status, context={
            "nav": NAV, "active": "", "session": session_of(request), "csrf": csrf_token(request),
            "error": exc, "notice": "", "now": utcnow()})
    headers = {"Retry-After": str(exc.retry_after_s)} if isinstance(exc, RateLimited) else None
    return problem_response(exc.status, exc.title, exc.detail, slug=exc.slug, field=exc.field,
                            instance=request.url.path, headers=headers)


def console_router(settings: Settings) -> Router:
    """Everything under ``/console``: sign-in, the pages, their actions and the static assets,
    behind the server-side session and the CSRF check (the app adds the security headers:
    :func:`gateway.console.headers.add_console_headers`)."""
    static = create_static_files_router(
        path=f"{COOKIE_PATH}/static", directories=[Path(__file__).parent / "static"],
        include_in_schema=False, name="console-static", send_as_attachment=False)
    sessions = ConsoleSessionConfig(key=SESSION_COOKIE, path=COOKIE_PATH, samesite="strict", httponly=True,
                                    secure=settings.console.cookie_secure,
                                    max_age=int(settings.console.session_ttl_s), store=SESSION_STORE)
    return Router(path="/", route_handlers=[*CONTROLLERS, static],
                  include_in_schema=False,
                  middleware=[sessions.middleware,
                              DefineMiddleware(ConsoleCSRFMiddleware, config=csrf_config(settings))],
                  exception_handlers={SignInRequired: _sign_in_required, GatewayError: _error_page,
                                      PermissionDeniedException: _csrf_refused})


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    """The console's Jinja templates (autoescaped), shipped in the package."""
    return TemplateConfig(directory=Path(__file__).parent / "templates", engine=JinjaTemplateEngine)
