"""Sites: ``/v1/customers/{id}/sites`` and ``/v1/sites/{id}``."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.datastructures import State
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.errors import NotFoundError
from gateway.customers import locks, reads, writes
from gateway.customers import schemas as s
from gateway.customers.controllers.waiting import waiting_of
from gateway.customers.programme_views import compensation_of
from gateway.http.deps import provide_session
from gateway.http.pages import DEFAULT_LIMIT, TIME_AND_ID, Cursor, Limit, Page, after, decode_cursor, page_of
from gateway.http.scopes import READ, WRITE
from gateway.http.unit_of_work import write
from gateway.outbox.plan import OutboxPlanner
from gateway.runtime.process import Runtime
from gateway.store.tables import SiteRow


class CustomerSitesController(Controller):
    path = "/v1/customers/{customer_id:str}/sites"
    tags = ["sites"]
    dependencies = {"session": provide_session}

    @post("/", opt=WRITE, status_code=201,
          summary="Add a site (optionally with devices) to a customer",
          description="The answer names the ids of the devices created with the site.")
    async def create(self, request: Request[Any, Any, Any], customer_id: str, data: s.SiteCreate
                     ) -> Response[s.SiteCreated]:
        body = await request.body()

        async def work(session: AsyncSession, planner: OutboxPlanner) -> tuple[int, Any]:
            customer = await locks.lock_customer(session, customer_id)
            refs = [(data.external_ref, "externalRef")]
            devices = [(d.external_ref, f"devices[{i}].externalRef") for i, d in enumerate(data.devices)]
            await writes.check_refs_free(session, sites=refs, devices=devices)
            site, created = await writes.add_site(session, planner, customer, data, planner.now)
            read = reads.site_read(site, await planner.links_of(site.id))
            return 201, s.SiteCreated(
                **msgspec.structs.asdict(read),
                devices=[s.CreatedRef(id=d.id, external_ref=d.external_ref) for d in created])

        return await write(request, body, work)

    @get("/", opt=READ, summary="The customer's sites, oldest first")
    async def list_sites(self, session: AsyncSession, state: State, customer_id: str, cursor: Cursor = None,
                         limit: Limit = DEFAULT_LIMIT) -> Page[s.SiteRead]:
        await reads.get_customer(session, customer_id)
        order = [col(SiteRow.created_at), col(SiteRow.id)]
        query = select(SiteRow).where(SiteRow.customer_id == customer_id, col(SiteRow.deleted_at).is_(None))
        if cursor:
            query = query.where(after(order, decode_cursor(cursor, *TIME_AND_ID)))
        rows = list(await session.exec(query.order_by(*order).limit(limit + 1)))
        shown = [row.id for row in rows[:limit]]
        links = await reads.links_for(session, shown)
        paid = await compensation_of(session, shown)
        waiting = await waiting_of(session, state, links)
        return page_of(rows, limit, lambda row: (row.created_at, row.id),
                       lambda row: reads.site_read(row, links.get(row.id, []), paid.get(row.id),
                                                   waiting=waiting))


class SiteController(Controller):
    path = "/v1/sites"
    tags = ["sites"]
    dependencies = {"session": provide_session}

    @get("/{site_id:str}", opt=READ, summary="A site and its sync status")
    async def read(self, request: Request[Any, Any, Any], site_id: str) -> s.SiteRead:
        async with Runtime.of(request).reader.connect() as conn:
            row, links = await reads.read_with_links(conn, SiteRow, site_id)
            if row is None:
                raise NotFoundError(f"site {site_id} not found")
            paid = (await compensation_of(conn, [row.id])).get(row.id)
            waiting = await waiting_of(conn, request.app.state, {row.id: links})
        return reads.site_read(row, links, paid, waiting=waiting)

    @patch("/{site_id:str}", opt=WRITE, summary="Change a site; fields left out stay as they are")
    async def update(self, request: Request[Any, Any, Any], site_id: str, data: s.SiteUpdate
                     ) -> Response[s.SiteRead]:
        body = await request.body()

        async def work(session: AsyncSession, planner: OutboxPlanner) -> tuple[int, Any]:
            customer, row = await locks.lock_site(session, site_id)
            await writes.update_site(session, planner, customer, row, data, planner.now)
            return 200, reads.site_read(row, await planner.links_of(row.id))

        return await write(request, body, work)

    @delete("/{site_id:str}", opt=WRITE, status_code=200,
            summary="Delete a site with its devices, here and at the providers")
    async def remove(self, request: Request[Any, Any, Any], site_id: str) -> Response[s.SiteRead]:
        async def work(session: AsyncSession, planner: OutboxPlanner) -> tuple[int, Any]:
            customer, row = await locks.lock_site(session, site_id)
            await writes.delete_site(session, planner, customer, row, planner.now)
            return 200, reads.site_read(row, await planner.links_of(row.id))

        return await write(request, b"", work)
