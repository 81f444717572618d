"""``/v1/customers``: create (single, nested, batch), list, read, update, delete."""

from __future__ import annotations

from typing import Annotated, Any, cast

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.params import Parameter, QueryParameter
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.domain import Provider
from gateway.core.errors import ConflictError, GatewayError, InvalidError, NotFoundError
from gateway.core.wire import nfc
from gateway.customers import locks, reads, writes
from gateway.customers import schemas as s
from gateway.customers.programme_views import programmes_of
from gateway.http.deps import decode, provide_session
from gateway.http.pages import DEFAULT_LIMIT, Cursor, Limit, Page, after, decode_cursor, page_of
from gateway.http.scopes import READ, WRITE
from gateway.http.unit_of_work import write
from gateway.outbox.fresh import FreshTrees
from gateway.outbox.plan import OutboxPlanner
from gateway.store.programme_tables import ProgrammeMembershipRow
from gateway.store.tables import CustomerRow, DeviceRow, SiteRow


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
            fresh = FreshTrees(planner.now)
            customer = writes.add_customer(fresh, data, planner.now)
            try:
                await fresh.insert(session)
            except IntegrityError:
                # A unique externalRef index refused the tree (the rare case, so it is not
                # looked up first): name the externalRef at fault with a 409.
                await session.rollback()
                sites, devices = writes.tree_refs(data)
                await writes.check_refs_free(session, customers=[data.external_ref], sites=sites,
                                              devices=devices)
                raise
            planner.wake(fresh.queued)
            return 201, _created(fresh, customer)

        return await write(request, body, work)

    @post("/batch", opt={**WRITE, "body": s.CustomerBatch}, status_code=200,
          summary="Create up to 1,000 customers, one result each",
          description="Each item is validated on its own (the body is read by the handler, so one "
                      "bad item does not refuse the others).")
    async def create_batch(self, request: Request[Any, Any, Any]) -> Response[s.CustomerBatchResult]:
        body = await request.body()
        envelope = decode(body, s.CustomerBatch, check_text=False)

        async def work(session: AsyncSession, planner: OutboxPlanner) -> tuple[int, Any]:
            return 200, await create_many(session, planner, envelope.customers)

        return await write(request, body, work)

    @get("/", opt=READ, summary="List customers in id order")
    async def list_customers(
        self,
        session: AsyncSession,
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
        return page_of(rows, limit, lambda row: (row.id,),
                       lambda row: reads.customer_read(row, links.get(row.id, []), programmes[row.id]))

    @get("/{customer_id:str}", opt=READ, summary="A customer and its sync status")
    async def read(self, request: Request[Any, Any, Any], customer_id: str) -> s.CustomerRead:
        async with request.app.state.reader.connect() as conn:
            row, links = await reads.read_with_links(conn, CustomerRow, customer_id)
            if row is None:
                raise NotFoundError(f"customer {customer_id} not found")
            programmes = (await programmes_of(conn, [(row.id, row.providers)]))[row.id]
        return reads.customer_read(row, links, programmes)

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
    taken_customers = await writes.refs_in_use(session, CustomerRow, [d.external_ref for _, d in valid])
    seen: set[str] = set()
    good: list[tuple[int, s.CustomerCreate]] = []
    for index, data in valid:
        if data.external_ref in taken_customers or data.external_ref in seen:
            results[index] = _failed(index, ConflictError(
                f"a customer with externalRef {data.external_ref!r} exists", field="externalRef"))
            continue
        seen.add(data.external_ref)
        good.append((index, data))
    site_refs = {ref for _, d in good for ref, _ in writes.tree_refs(d)[0]}
    device_refs = {ref for _, d in good for ref, _ in writes.tree_refs(d)[1]}
    taken_sites = await writes.refs_in_use(session, SiteRow, sorted(site_refs))
    taken_devices = await writes.refs_in_use(session, DeviceRow, sorted(device_refs))
    seen_sites: set[str] = set()
    seen_devices: set[str] = set()
    fresh = FreshTrees(planner.now)
    rows: list[tuple[int, dict[str, Any]]] = []
    for index, data in good:
        sites, devices = writes.tree_refs(data)
        clash = next(((ref, path) for ref, path in sites if ref in taken_sites or ref in seen_sites), None)
        clash = clash or next(
            ((ref, path) for ref, path in devices if ref in taken_devices or ref in seen_devices), None
        )
        if clash is not None:
            results[index] = _failed(index, ConflictError(
                f"externalRef {clash[0]!r} is already in use", field=clash[1]))
            continue
        try:
            row = writes.add_customer(fresh, data, planner.now)
        except GatewayError as exc:
            results[index] = _failed(index, exc)
            continue
        seen_sites.update(ref for ref, _ in sites)
        seen_devices.update(ref for ref, _ in devices)
        rows.append((index, row))
    await fresh.insert(session)
    planner.wake(fresh.queued)
    children = _children(fresh)
    for index, row in rows:
        results[index] = s.BatchItemResult(index=index, status=201, customer=_created(fresh, row, children))
    done = [r for r in results if r is not None]
    created = sum(1 for r in done if r.status == 201)
    return s.CustomerBatchResult(created=created, failed=len(done) - created, results=done)


_Children = dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]]


def _children(fresh: FreshTrees) -> _Children:
    """The sites and devices planned in ``fresh``, by customer id."""
    found: _Children = {}
    for site in fresh.sites:
        found.setdefault(site["customer_id"], ([], []))[0].append(site)
    for device in fresh.devices:
        found.setdefault(device["customer_id"], ([], []))[1].append(device)
    return found


def _created(fresh: FreshTrees, customer: dict[str, Any], children: _Children | None = None
             ) -> s.CustomerCreated:
    """The new customer with the ids of the sites, devices and vehicles planned with it."""
    links = reads.link_views(fresh.links_by_entity[customer["id"]])
    # the namespace holds every CustomerRow column customer_read reads, without an ORM instance
    read = reads.customer_read(cast(CustomerRow, reads.as_record(customer)), links)
    sites, devices = (children if children is not None else _children(fresh)).get(customer["id"], ([], []))
    by_site: dict[str | None, list[s.CreatedRef]] = {}
    for device in devices:
        by_site.setdefault(device["site_id"], []).append(
            s.CreatedRef(id=device["id"], external_ref=device["external_ref"]))
    return s.CustomerCreated(
        **msgspec.structs.asdict(read),
        sites=[s.CreatedSite(id=site["id"], external_ref=site["external_ref"],
                             devices=by_site.get(site["id"], [])) for site in sites],
        vehicles=by_site.get(None, []),
    )


def _failed(index: int, exc: GatewayError) -> s.BatchItemResult:
    return s.BatchItemResult(
        index=index, status=exc.status,
        error=s.BatchItemError(status=exc.status, title=exc.title, detail=exc.detail, field=exc.field),
    )
