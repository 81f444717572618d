"""Invites to a site's Zählerfreunde space: ``POST /v1/sites/{id}/invites``, ``GET /v1/invites/{id}``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from sqlalchemy import select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.clock import as_utc
from gateway.core.domain import InviteStatus
from gateway.core.errors import NotFoundError
from gateway.core.wire import Wire
from gateway.customers import reads
from gateway.http.audit import audited_write
from gateway.http.deps import provide_session
from gateway.http.pages import (
    DEFAULT_LIMIT,
    TIME_AND_ID,
    Cursor,
    Limit,
    Page,
    after,
    decode_cursor,
    page_of,
)
from gateway.http.scopes import READ, WRITE_INVITES
from gateway.invites.service import InviteCreate, invite, invite_status, with_tasks
from gateway.outbox.plan import OutboxPlanner
from gateway.store.invite_tables import InviteRow
from gateway.store.tables import OutboxTaskRow


class InviteRead(Wire):
    id: str
    site_id: str
    customer_id: str
    email: str
    send_email: bool
    status: InviteStatus
    invite_link: str | None
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


def invite_read(row: InviteRow, task: OutboxTaskRow | None) -> InviteRead:
    """The invite as the API shows it."""
    status = invite_status(row, task)
    return InviteRead(
        id=row.id, site_id=row.site_id, customer_id=row.customer_id, email=row.email,
        send_email=row.send_email, status=status, invite_link=row.link,
        last_error=task.last_error if task is not None and row.link is None else None,
        created_at=as_utc(row.created_at), sent_at=as_utc(row.sent_at),
    )


class SiteInvitesController(Controller):
    path = "/v1/sites/{site_id:str}/invites"
    tags = ["invites"]
    dependencies = {"session": provide_session}

    @get("/", opt=READ, summary="The site's invites, newest first")
    async def list_invites(self, session: AsyncSession, site_id: str, cursor: Cursor = None,
                           limit: Limit = DEFAULT_LIMIT) -> Page[InviteRead]:
        await reads.get_site(session, site_id)
        order = [col(InviteRow.created_at), col(InviteRow.id)]
        query = select(InviteRow).where(col(InviteRow.site_id) == site_id)
        if cursor:
            query = query.where(after(order, decode_cursor(cursor, *TIME_AND_ID), descending=True))
        found = await with_tasks(session, query.order_by(*(c.desc() for c in order)).limit(limit + 1))
        return page_of(found, limit, lambda pair: (pair[0].created_at, pair[0].id),
                       lambda pair: invite_read(*pair))

    @post("/", opt=WRITE_INVITES, status_code=202,
          summary="Invite an email address to the site's Zählerfreunde space",
          responses={200: ResponseSpec(InviteRead, description="the earlier invite of this address")},
          description=(
              "202 with a new invite, sent by a worker; 200 with the earlier invite when this "
              "address was already invited to the site and that invite has not failed (unless "
              "`force` is true). The customer must be enrolled at Zählerfreunde."
          ))
    async def create(self, request: Request[Any, Any, Any], site_id: str,
                     data: InviteCreate | None = None) -> Response[InviteRead]:
        body = await request.body()
        data = data or InviteCreate()

        async def work(session: AsyncSession, planner: OutboxPlanner) -> tuple[int, Any]:
            code, found = await invite(session, planner, site_id, data)
            return code, invite_read(found.row, found.task)

        return await audited_write(request, body, work, action="invite.send", target=f"site:{site_id}",
                                   detail=lambda view: f"{view.email}: {view.status}")


class InviteController(Controller):
    path = "/v1/invites"
    tags = ["invites"]
    dependencies = {"session": provide_session}

    @get("/{invite_id:str}", opt=READ, summary="An invite: status and, once sent, its link")
    async def read(self, session: AsyncSession, invite_id: str) -> InviteRead:
        found = await with_tasks(session, select(InviteRow).where(col(InviteRow.id) == invite_id))
        if not found:
            raise NotFoundError(f"invite {invite_id} not found")
        return invite_read(*found[0])
