"""The console's Drift page: compare a provider with the records, keep and list the results,
and repair, after asking (a confirmation step on the server, not a script's ``confirm``).

Compare and repair run what ``gateway reconcile [--repair]`` runs
(``reconcile.service.check``); every comparison is kept with its time and source
(``console``, ``cli`` or the ``daily`` run) and both actions go into the audit trail.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.params import Parameter
from litestar.response import Template
from msgspec import Meta
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.console.audited import console_actor
from gateway.console.auth import require_session
from gateway.console.render import CsrfForm, Form, page
from gateway.core.domain import Provider
from gateway.core.errors import NotFoundError
from gateway.http.audit import failures_noted, note
from gateway.reconcile.report import DriftReport, RepairResult
from gateway.reconcile.runs import recent_runs, report_of
from gateway.reconcile.service import check, reconcilable
from gateway.runtime.process import Runtime
from gateway.store.ops_tables import DriftRunRow
from providers.base import ProviderError
from providers.registry import MissingCapability

CONFIRM = "repair"
"""What the confirmation field of the repair form must say."""
RUNS_SHOWN = 20


class DriftForm(CsrfForm, kw_only=True, forbid_unknown_fields=True):
    provider: Provider


class RepairForm(DriftForm, kw_only=True, forbid_unknown_fields=True):
    confirm: Annotated[str, Meta(max_length=20)] = ""
    """:data:`CONFIRM` once the operator confirmed; anything else asks first."""


class DriftPages(Controller):
    path = "/console"
    include_in_schema = False
    guards = [require_session]

    @get("/drift", summary="Drift: compare what each provider holds with the records; the kept results")
    async def drift(self, request: Request[Any, Any, Any],
                    run: Annotated[int | None, Parameter(ge=1, description="a kept result to show")] = None
                    ) -> Template:
        report = None
        if run is not None:
            async with Runtime.of(request).sessions() as session:
                row = await session.get(DriftRunRow, run)
            if row is None:
                raise NotFoundError(f"drift result {run} not found")
            report = report_of(row)
        return await self._page(request, report=report, shown_run=run)

    @post("/drift/compare", status_code=200, summary="Compare one provider (and mark what drifted)")
    async def compare(self, request: Request[Any, Any, Any], data: Annotated[DriftForm, Form]) -> Template:
        return await self._reconcile(request, data.provider, repair_drift=False)

    @get("/drift/repair", summary="Ask before a repair: what it does, and the provider's last result")
    async def ask(self, request: Request[Any, Any, Any], provider: Provider) -> Template:
        return await self._page(request, confirm=provider.value)

    @post("/drift/repair", status_code=200,
          summary="Compare one provider again and queue the repair, once confirmed")
    async def repair(self, request: Request[Any, Any, Any], data: Annotated[RepairForm, Form]) -> Template:
        if data.confirm != CONFIRM:
            return await self._page(request, confirm=data.provider.value)
        return await self._reconcile(request, data.provider, repair_drift=True)

    async def _reconcile(self, request: Request[Any, Any, Any], provider: Provider, *,
                         repair_drift: bool) -> Template:
        runtime = Runtime.of(request)
        actor = console_actor(request)
        action = "drift.repair" if repair_drift else "drift.compare"
        report: DriftReport | None = None
        repaired: RepairResult | None = None
        error = ""
        try:
            async with failures_noted(runtime.sessions, actor, action, f"provider:{provider.value}"):
                report, repaired = await check(runtime.sessions, runtime.adapters, provider,
                                               repair_drift=repair_drift, dispatcher=runtime.dispatcher,
                                               source="console")
        except MissingCapability as exc:
            error = exc.message
        except ProviderError as exc:
            error = f"{provider.value} could not be listed: {exc.message}"
        if report is not None:
            counts = ", ".join(f"{n} {kind}" for kind, n in report.counts().items())
            said = f"{report.checked} compared: {counts}"
            if repaired is not None:
                said += f"; {repaired.queued} task(s) queued for {len(repaired.records)} record(s)"
            async with runtime.sessions() as session:
                note(session, actor, action, f"provider:{provider.value}", detail=said)
                await session.commit()
        answer = await self._page(request, report=report, repaired=repaired, repair_asked=repair_drift,
                                  error=error, provider=provider.value)
        if error:
            answer.status_code = 502
        return answer

    @staticmethod
    async def _page(request: Request[Any, Any, Any], **context: Any) -> Template:
        async with Runtime.of(request).sessions() as session:
            runs = await recent_runs(session, limit=RUNS_SHOWN)
            latest: dict[str, DriftRunRow] = {}
            for provider in reconcilable(Runtime.of(request).adapters):
                found = await _latest(session, provider.value)
                if found is not None:
                    latest[provider.value] = found
        context.setdefault("report", None)
        return page(request, "drift.html", "drift", providers=reconcilable(Runtime.of(request).adapters),
                    runs=runs, latest=latest, confirm_word=CONFIRM, **context)


async def _latest(session: AsyncSession, provider: str) -> DriftRunRow | None:
    runs = await recent_runs(session, provider=provider, limit=1)
    return runs[0] if runs else None
