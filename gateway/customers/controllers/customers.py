"""``/v1/customers``: create (single, nested, batch), list, read, update, delete."""

from __future__ import annotations

import base64
import uuid
from typing import Annotated, Any, cast

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter, QueryParameter
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.domain import Provider
from gateway.core.errors import ConflictError, GatewayError, InvalidError, NotFoundError
from gateway.core.wire import Page
from gateway.customers import records
from gateway.customers import schemas as s
from gateway.customers.programme_views import programmes_of
from gateway.http.apikeys import Scope
from gateway.http.deps import decode, provide_session
from gateway.http.unit_of_work import write
from gateway.outbox.fresh import FreshTrees
from gateway.outbox.plan import OutboxPlanner
from gateway.store.programme_tables import ProgrammeMembershipRow
from gateway.store.tables import CustomerRow, DeviceRow, SiteRow

READ = {"scope": Scope.CUSTOMERS_READ.value}
WRITE = {"scope": Scope.CUSTOMERS_WRITE.value}


def encode_cursor(last_id: str) -> str:
    return base64.urlsafe_b64encode(last_id.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The id a cursor from :func:`encode_cursor` carries; 400 for anything else."""
    try:
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
        last_id = raw.decode()
        if str(uuid.UUID(last_id)) != last_id:
            raise ValueError(last_id)
    except (ValueError, UnicodeDecodeError):
        raise InvalidError("cursor is not one this API handed out", field="cursor") from None
    return last_id


CUSTOMER_OK = {200: ResponseSpec(data_container=s.CustomerRead, description="the customer")}
CUSTOMER_CREATED = {201: ResponseSpec(data_container=s.CustomerRead, description="the new customer")}

class CustomerController(Controller):
    path = "/v1/customers"
    tags = ["customers"]
    dependencies = {"session": provide_session}

    @post("/", opt=WRITE, status_code=201, responses=CUSTOMER_CREATED,
          summary="Create a customer, optionally with sites and devices")
    async def create(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        body = await request.body()
        data = decode(body, s.CustomerCreate)

        async def work(session: AsyncSession, planner: OutboxPlanner) -> tuple[int, Any]:
            fresh = FreshTrees(planner.now)
            customer = records.add_customer(fresh, data, planner.now)
            try:
                await fresh.insert(session)
            except IntegrityError:
                # A unique externalRef index refused the tree (the rare case, so it is not
                # looked up first): name the externalRef at fault with a 409.
                await session.rollback()
                sites, devices = records.tree_refs(data)
                await records.check_refs_free(session, customers=[data.external_ref], sites=sites,
                                              devices=devices)
                raise
            planner.wake(fresh.queued)
            return 201, _created(fresh, customer)

        return await write(request, body, work)

    @post("/batch", opt=WRITE, status_code=200, summary="Create up to 1,000 customers, one result each")
    async def create_batch(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        body = await request.body()
        envelope = decode(body, _BatchEnvelope, check_text=False)
        if not 1 <= len(envelope.customers) <= 1000:
            raise InvalidError("customers must hold 1 to 1,000 items", field="customers")

        async def work(session: AsyncSession, planner: OutboxPlanner) -> tuple[int, Any]:
            return 200, await create_many(session, planner, envelope.customers)

        return await write(request, body, work)

    @get("/", opt=READ, summary="List customers, newest id order, cursor-paginated")
    async def list_customers(
        self,
        session: AsyncSession,
        external_ref: Annotated[str | None, QueryParameter(name="externalRef")] = None,
        eligible: Annotated[bool | None, Parameter(
            description="only customers Volue's programme holds (true) or does not hold (false) "
                        "eligible, as last learnt")] = None,
        cursor: str | None = None,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 50,
    ) -> Page[s.CustomerRead]:
        query = select(CustomerRow).where(col(CustomerRow.deleted_at).is_(None))
        if external_ref is not None:
            query = query.where(CustomerRow.external_ref == external_ref)
        if eligible is not None:
            member = (select(col(ProgrammeMembershipRow.customer_id))
                      .where(ProgrammeMembershipRow.programme == Provider.VOLUE.value,
                             col(ProgrammeMembershipRow.eligible).is_(True)))
            query = query.where(col(CustomerRow.id).in_(member) if eligible
                                else col(CustomerRow.id).not_in(member))
        if cursor:
            query = query.where(col(CustomerRow.id) > decode_cursor(cursor))
        rows = list(await session.exec(query.order_by(col(CustomerRow.id)).limit(limit + 1)))
        more = len(rows) > limit
        rows = rows[:limit]
        links = await records.links_for(session, [row.id for row in rows])
        programmes = await programmes_of(session, [(row.id, row.providers) for row in rows])
        return Page(
            items=[records.customer_read(row, links.get(row.id, []), programmes[row.id]) for row in rows],
            next_cursor=encode_cursor(rows[-1].id) if more and rows else None,
        )

    @get("/{customer_id:str}", opt=READ, responses=CUSTOMER_OK)
    async def read(self, request: Request[Any, Any, Any], customer_id: str) -> Response[bytes]:
        async with request.app.state.reader.connect() as conn:
            row, links = await records.read_with_links(conn, CustomerRow, customer_id)
            if row is None:
                raise NotFoundError(f"customer {customer_id} not found")
            programmes = (await programmes_of(conn, [(row.id, row.providers)]))[row.id]
        return Response(msgspec.json.encode(records.customer_read(row, links, programmes)),
                        media_type="application/json")

    @patch("/{customer_id:str}", opt=WRITE, responses=CUSTOMER_OK)
    async def update(self, request: Request[Any, Any, Any], customer_id: str) -> Response[bytes]:
        body = await request.body()
        data = decode(body, s.CustomerUpdate)

        async def work(session: AsyncSession, planner: OutboxPlanner) -> tuple[int, Any]:
            row = await records.get_customer(session, customer_id)
            await records.update_customer(session, planner, row, data, planner.now)
            programmes = (await programmes_of(session, [(row.id, row.providers)]))[row.id]
            return 200, records.customer_read(row, await planner.links_of(row.id), programmes)

        return await write(request, body, work)

    @delete("/{customer_id:str}", opt=WRITE, status_code=200, responses=CUSTOMER_OK)
    async def remove(self, request: Request[Any, Any, Any], customer_id: str) -> Response[bytes]:
        async def work(session: AsyncSession, planner: OutboxPlanner) -> tuple[int, Any]:
            row = await records.get_customer(session, customer_id)
            await records.delete_customer(session, planner, row, planner.now)
            return 200, records.customer_read(row, await planner.links_of(row.id))

        return await write(request, b"", work)


class _BatchEnvelope(msgspec.Struct, forbid_unknown_fields=True):
    customers: list[msgspec.Raw]


async def create_many(
    session: AsyncSession, planner: OutboxPlanner, raws: list[msgspec.Raw]
) -> s.CustomerBatchResult:
    """Validate every item on its own, check externalRefs in bulk, insert the good ones."""
    results: list[s.BatchItemResult | None] = [None] * len(raws)
    valid: list[tuple[int, s.CustomerCreate]] = []
    for index, raw in enumerate(raws):
        try:
            valid.append((index, decode(bytes(raw), s.CustomerCreate)))
        except InvalidError as exc:
            results[index] = _failed(index, exc)
    taken_customers = await records.refs_in_use(session, CustomerRow, [d.external_ref for _, d in valid])
    seen: set[str] = set()
    good: list[tuple[int, s.CustomerCreate]] = []
    for index, data in valid:
        if data.external_ref in taken_customers or data.external_ref in seen:
            results[index] = _failed(index, ConflictError(
                f"a customer with externalRef {data.external_ref!r} exists", field="externalRef"))
            continue
        seen.add(data.external_ref)
        good.append((index, data))
    site_refs = {ref for _, d in good for ref, _ in records.tree_refs(d)[0]}
    device_refs = {ref for _, d in good for ref, _ in records.tree_refs(d)[1]}
    taken_sites = await records.refs_in_use(session, SiteRow, sorted(site_refs))
    taken_devices = await records.refs_in_use(session, DeviceRow, sorted(device_refs))
    seen_sites: set[str] = set()
    seen_devices: set[str] = set()
    fresh = FreshTrees(planner.now)
    rows: list[tuple[int, dict[str, Any]]] = []
    for index, data in good:
        sites, devices = records.tree_refs(data)
        clash = next(((ref, path) for ref, path in sites if ref in taken_sites or ref in seen_sites), None)
        clash = clash or next(
            ((ref, path) for ref, path in devices if ref in taken_devices or ref in seen_devices), None
        )
        if clash is not None:
            results[index] = _failed(index, ConflictError(
                f"externalRef {clash[0]!r} is already in use", field=clash[1]))
            continue
        try:
            row = records.add_customer(fresh, data, planner.now)
        except GatewayError as exc:
            results[index] = _failed(index, exc)
            continue
        seen_sites.update(ref for ref, _ in sites)
        seen_devices.update(ref for ref, _ in devices)
        rows.append((index, row))
    await fresh.insert(session)
    planner.wake(fresh.queued)
    for index, row in rows:
        results[index] = s.BatchItemResult(index=index, status=201, customer=_created(fresh, row))
    done = [r for r in results if r is not None]
    created = sum(1 for r in done if r.status == 201)
    return s.CustomerBatchResult(created=created, failed=len(done) - created, results=done)


def _created(fresh: FreshTrees, customer: dict[str, Any]) -> s.CustomerRead:
    links = records.link_views(fresh.links_by_entity[customer["id"]])
    # the namespace holds every CustomerRow column customer_read reads, without an ORM instance
    return records.customer_read(cast(CustomerRow, records.as_record(customer)), links)


def _failed(index: int, exc: GatewayError) -> s.BatchItemResult:
    return s.BatchItemResult(
        index=index, status=exc.status,
        error=s.BatchItemError(status=exc.status, title=exc.title, detail=exc.detail, field=exc.field),
    )
