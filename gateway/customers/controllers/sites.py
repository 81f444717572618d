"""Sites: ``/v1/customers/{id}/sites`` and ``/v1/sites/{id}``."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.openapi.datastructures import ResponseSpec
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.errors import NotFoundError
from gateway.customers import records
from gateway.customers import schemas as s
from gateway.customers.controllers.customers import READ, WRITE
from gateway.customers.programme_views import compensation_of
from gateway.http.deps import decode, provide_session
from gateway.http.unit_of_work import write
from gateway.outbox.plan import OutboxPlanner
from gateway.store.tables import SiteRow

SITE_OK = {200: ResponseSpec(data_container=s.SiteRead, description="the site")}
SITE_CREATED = {201: ResponseSpec(data_container=s.SiteRead, description="the new site")}

class CustomerSitesController(Controller):
    path = "/v1/customers/{customer_id:str}/sites"
    tags = ["sites"]
    dependencies = {"session": provide_session}

    @post("/", opt=WRITE, status_code=201, responses=SITE_CREATED,
          summary="Add a site (optionally with devices) to a customer")
    async def create(self, request: Request[Any, Any, Any], customer_id: str) -> Response[bytes]:
        body = await request.body()
        data = decode(body, s.SiteCreate)

        async def work(session: AsyncSession, planner: OutboxPlanner) -> tuple[int, Any]:
            customer = await records.get_customer(session, customer_id)
            refs = [(data.external_ref, "externalRef")]
            devices = [(d.external_ref, f"devices[{i}].externalRef") for i, d in enumerate(data.devices)]
            await records.check_refs_free(session, sites=refs, devices=devices)
            site, _ = await records.add_site(session, planner, customer, data, planner.now)
            return 201, records.site_read(site, await planner.links_of(site.id))

        return await write(request, body, work)

    @get("/", opt=READ, summary="The customer's sites")
    async def list_sites(self, session: AsyncSession, customer_id: str) -> list[s.SiteRead]:
        await records.get_customer(session, customer_id)
        rows = [
            row for row in await session.exec(
                select(SiteRow)
                .where(SiteRow.customer_id == customer_id, col(SiteRow.deleted_at).is_(None))
                .order_by(col(SiteRow.created_at), col(SiteRow.id))
            )
        ]
        links = await records.links_for(session, [row.id for row in rows])
        paid = await compensation_of(session, [row.id for row in rows])
        return [records.site_read(row, links.get(row.id, []), paid.get(row.id)) for row in rows]


class SiteController(Controller):
    path = "/v1/sites"
    tags = ["sites"]
    dependencies = {"session": provide_session}

    @get("/{site_id:str}", opt=READ, responses=SITE_OK)
    async def read(self, request: Request[Any, Any, Any], site_id: str) -> Response[bytes]:
        async with request.app.state.reader.connect() as conn:
            row, links = await records.read_with_links(conn, SiteRow, site_id)
            if row is None:
                raise NotFoundError(f"site {site_id} not found")
            paid = (await compensation_of(conn, [row.id])).get(row.id)
        return Response(msgspec.json.encode(records.site_read(row, links, paid)),
                        media_type="application/json")

    @patch("/{site_id:str}", opt=WRITE, responses=SITE_OK)
    async def update(self, request: Request[Any, Any, Any], site_id: str) -> Response[bytes]:
        body = await request.body()
        data = decode(body, s.SiteUpdate)

        async def work(session: AsyncSession, planner: OutboxPlanner) -> tuple[int, Any]:
            row = await records.get_site(session, site_id)
            customer = await records.get_customer(session, row.customer_id)
            await records.update_site(session, planner, customer, row, data, planner.now)
            return 200, records.site_read(row, await planner.links_of(row.id))

        return await write(request, body, work)

    @delete("/{site_id:str}", opt=WRITE, status_code=200, responses=SITE_OK)
    async def remove(self, request: Request[Any, Any, Any], site_id: str) -> Response[bytes]:
        async def work(session: AsyncSession, planner: OutboxPlanner) -> tuple[int, Any]:
            row = await records.get_site(session, site_id)
            customer = await records.get_customer(session, row.customer_id)
            await records.delete_site(session, planner, customer, row, planner.now)
            return 200, records.site_read(row, await planner.links_of(row.id))

        return await write(request, b"", work)
