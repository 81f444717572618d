"""The console's Audit page: the trail of ops actions (``GET /v1/audit`` as a page)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Controller, Request, get
from litestar.params import Parameter
from litestar.response import Template

from gateway.console.auth import require_session
from gateway.console.render import page
from gateway.http.audit import ACTIONS, audit_page
from gateway.runtime.process import Runtime

PER_PAGE = 50
Filter = Annotated[str, Parameter(max_length=300)]


class AuditPages(Controller):
    path = "/console"
    include_in_schema = False
    guards = [require_session]

    @get("/audit", summary="Who retried, dismissed, repaired, enrolled or invited what, and how it ended")
    async def audit(self, request: Request[Any, Any, Any],
                    action: Annotated[str, Parameter(max_length=50)] = "", actor: Filter = "",
                    target: Filter = "",
                    before: Annotated[int | None, Parameter(ge=1, description="older entries")] = None
                    ) -> Template:
        async with Runtime.of(request).sessions() as session:
            rows = await audit_page(session, action=action.strip() or None, actor=actor.strip() or None,
                                    target=target.strip() or None, before_id=before, limit=PER_PAGE)
        older = None
        if len(rows) > PER_PAGE:
            rows = rows[:PER_PAGE]
            query = {"action": action, "actor": actor, "target": target, "before": rows[-1].id}
            older = "/console/audit?" + urlencode({k: v for k, v in query.items() if v})
        return page(request, "audit.html", "audit", entries=rows, action=action, actor=actor, target=target,
                    actions=ACTIONS, older=older, newest=before is not None)
