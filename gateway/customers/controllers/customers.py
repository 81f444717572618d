"""``/v1/customers``: create (single, nested, batch), list, read, update, delete."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.datastructures import State
from litestar.params import Parameter, QueryParameter
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.domain import Provider
from gateway.core.errors import NotFoundError
from gateway.core.wire import nfc
from gateway.customers import locks, reads, service, writes
from gateway.customers import schemas as s
from gateway.customers.controllers.waiting import waiting_of
from gateway.customers.programme_views import programmes_of
from gateway.http.deps import decode, provide_session
from gateway.http.pages import DEFAULT_LIMIT, Cursor, Limit, Page, after, decode_cursor, page_of
from gateway.http.scopes import READ, WRITE
from gateway.http.unit_of_work import write
from gateway.outbox.plan import OutboxPlanner
from gateway.runtime.process import Runtime
from gateway.store.programme_tables import ProgrammeMembershipRow
from gateway.store.tables import CustomerRow


class CustomerController(Controller):
    path = "/v1/customers"
    tags = ["customers"]
    dependencies = {"session": provide_session}

    @post("/", opt=WRITE, status_code=201,
          summary="Create a customer, optionally with sites and devices",
          description="The answer names the ids of every site, device and vehicle created with it.")
    async def create(self, request: Request[Any, Any, Any], data: s.CustomerCreate
                     ) -> Response[s.CustomerCreated]:
        body = await request.body()

        async def work(session: AsyncSession, planner: OutboxPlanner) -> tuple[int, Any]:
            return 201, await service.create_customer(session, planner, data)

        return await write(request, body, work)

    @post("/batch", opt={**WRITE, "body": s.CustomerBatch}, status_code=200,
          summary="Create up to 1,000 customers, one result each",
          description="Each item is validated on its own (the body is read by the handler, so one "
                      "bad item does not refuse the others).")
    async def create_batch(self, request: Request[Any, Any, Any]) -> Response[s.CustomerBatchResult]:
        body = await request.body()
        envelope = decode(body, s.CustomerBatch, check_text=False)

        async def work(session: AsyncSession, planner: OutboxPlanner) -> tuple[int, Any]:
            return 200, await service.create_many(session, planner, envelope.customers)

        return await write(request, body, work)

    @get("/", opt=READ, summary="List customers in id order")
    async def list_customers(
        self,
        session: AsyncSession,
        state: State,
        external_ref: Annotated[str | None, QueryParameter(name="externalRef", max_length=200)] = None,
        eligible: Annotated[bool | None, Parameter(
            description="only customers Volue's programme holds (true) or does not hold (false) "
                        "eligible, as last learnt")] = None,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[s.CustomerRead]:
        query = select(CustomerRow).where(col(CustomerRow.deleted_at).is_(None))
        if external_ref is not None:
            query = query.where(CustomerRow.external_ref == nfc(external_ref))  # stored in NFC
        if eligible is not None:
            member = (select(col(ProgrammeMembershipRow.customer_id))
                      .where(ProgrammeMembershipRow.programme == Provider.VOLUE.value,
                             col(ProgrammeMembershipRow.eligible).is_(True)))
            query = query.where(col(CustomerRow.id).in_(member) if eligible
                                else col(CustomerRow.id).not_in(member))
        if cursor:
            query = query.where(after([col(CustomerRow.id)], decode_cursor(cursor, str)))
        rows = list(await session.exec(query.order_by(col(CustomerRow.id)).limit(limit + 1)))
        shown = rows[:limit]
        links = await reads.links_for(session, [row.id for row in shown])
        programmes = await programmes_of(session, [(row.id, row.providers) for row in shown])
        waiting = await waiting_of(session, state, links)
        return page_of(rows, limit, lambda row: (row.id,),
                       lambda row: reads.customer_read(row, links.get(row.id, []), programmes[row.id],
                                                       waiting=waiting))

    @get("/{customer_id:str}", opt=READ, summary="A customer and its sync status")
    async def read(self, request: Request[Any, Any, Any], customer_id: str) -> s.CustomerRead:
        async with Runtime.of(request).reader.connect() as conn:
            row, links = await reads.read_with_links(conn, CustomerRow, customer_id)
            if row is None:
                raise NotFoundError(f"customer {customer_id} not found")
            programmes = (await programmes_of(conn, [(row.id, row.providers)]))[row.id]
            waiting = await waiting_of(conn, request.app.state, {row.id: links})
        return reads.customer_read(row, links, programmes, waiting=waiting)

    @patch("/{customer_id:str}", opt=WRITE, summary="Change a customer; fields left out stay as they are")
    async def update(self, request: Request[Any, Any, Any], customer_id: str, data: s.CustomerUpdate
                     ) -> Response[s.CustomerRead]:
        body = await request.body()

        async def work(session: AsyncSession, planner: OutboxPlanner) -> tuple[int, Any]:
            row = await locks.lock_customer(session, customer_id)
            await writes.update_customer(session, planner, row, data, planner.now)
            programmes = (await programmes_of(session, [(row.id, row.providers)]))[row.id]
            return 200, reads.customer_read(row, await planner.links_of(row.id), programmes)

        return await write(request, body, work)

    @delete("/{customer_id:str}", opt=WRITE, status_code=200,
            summary="Delete a customer with its sites and devices, here and at the providers")
    async def remove(self, request: Request[Any, Any, Any], customer_id: str) -> Response[s.CustomerRead]:
        async def work(session: AsyncSession, planner: OutboxPlanner) -> tuple[int, Any]:
            row = await locks.lock_customer(session, customer_id)
            await writes.delete_customer(session, planner, row, planner.now)
            return 200, reads.customer_read(row, await planner.links_of(row.id))

        return await write(request, b"", work)
