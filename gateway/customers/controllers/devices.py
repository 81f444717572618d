"""Devices: ``/v1/sites/{id}/devices``, ``/v1/customers/{id}/vehicles`` and ``/v1/devices/{id}``."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.datastructures import State
from sqlalchemy import ColumnElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.domain import DeviceKind
from gateway.core.errors import NotFoundError
from gateway.customers import locks, reads, writes
from gateway.customers import schemas as s
from gateway.customers.controllers.waiting import waiting_of
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
from gateway.http.scopes import READ, WRITE
from gateway.http.unit_of_work import write
from gateway.outbox.plan import OutboxPlanner
from gateway.runtime.process import Runtime
from gateway.store.tables import DeviceRow


async def _page(session: AsyncSession, state: State, where: list[ColumnElement[bool]], cursor: str | None,
                limit: int) -> Page[s.DeviceRead]:
    """Live devices matching ``where``, oldest first."""
    order = [col(DeviceRow.created_at), col(DeviceRow.id)]
    query = select(DeviceRow).where(*where, col(DeviceRow.deleted_at).is_(None))
    if cursor:
        query = query.where(after(order, decode_cursor(cursor, *TIME_AND_ID)))
    rows = list(await session.exec(query.order_by(*order).limit(limit + 1)))
    links = await reads.links_for(session, [row.id for row in rows[:limit]])
    waiting = await waiting_of(session, state, links)
    return page_of(rows, limit, lambda row: (row.created_at, row.id),
                   lambda row: reads.device_read(row, links.get(row.id, []), waiting=waiting))


class SiteDevicesController(Controller):
    path = "/v1/sites/{site_id:str}/devices"
    tags = ["devices"]
    dependencies = {"session": provide_session}

    @post("/", opt=WRITE, status_code=201, summary="Add a device to a site")
    async def create(self, request: Request[Any, Any, Any], site_id: str, data: s.DeviceCreate
                     ) -> Response[s.DeviceRead]:
        body = await request.body()

        async def work(session: AsyncSession, planner: OutboxPlanner) -> tuple[int, Any]:
            customer, site = await locks.lock_site(session, site_id)
            await writes.check_refs_free(session, devices=[(data.external_ref, "externalRef")])
            device = await writes.add_device(session, planner, customer, site, data, planner.now)
            return 201, reads.device_read(device, await planner.links_of(device.id))

        return await write(request, body, work)

    @get("/", opt=READ, summary="The site's devices, oldest first")
    async def list_devices(self, session: AsyncSession, state: State, site_id: str, cursor: Cursor = None,
                           limit: Limit = DEFAULT_LIMIT) -> Page[s.DeviceRead]:
        await reads.get_site(session, site_id)
        return await _page(session, state, [col(DeviceRow.site_id) == site_id], cursor, limit)


class CustomerVehiclesController(Controller):
    path = "/v1/customers/{customer_id:str}/vehicles"
    tags = ["devices"]
    dependencies = {"session": provide_session}

    @post("/", opt=WRITE, status_code=201, summary="Add a vehicle to a customer")
    async def create(self, request: Request[Any, Any, Any], customer_id: str, data: s.VehicleCreate
                     ) -> Response[s.DeviceRead]:
        body = await request.body()

        async def work(session: AsyncSession, planner: OutboxPlanner) -> tuple[int, Any]:
            customer = await locks.lock_customer(session, customer_id)
            await writes.check_refs_free(session, devices=[(data.external_ref, "externalRef")])
            device = await writes.add_device(session, planner, customer, None, data, planner.now)
            return 201, reads.device_read(device, await planner.links_of(device.id))

        return await write(request, body, work)

    @get("/", opt=READ, summary="The customer's vehicles, oldest first")
    async def list_vehicles(self, session: AsyncSession, state: State, customer_id: str,
                            cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT) -> Page[s.DeviceRead]:
        await reads.get_customer(session, customer_id)
        return await _page(session, state, [col(DeviceRow.customer_id) == customer_id,
                                     col(DeviceRow.kind) == DeviceKind.VEHICLE.value], cursor, limit)


class DeviceController(Controller):
    path = "/v1/devices"
    tags = ["devices"]
    dependencies = {"session": provide_session}

    @get("/{device_id:str}", opt=READ, summary="A device and its sync status")
    async def read(self, request: Request[Any, Any, Any], device_id: str) -> s.DeviceRead:
        async with Runtime.of(request).reader.connect() as conn:
            row, links = await reads.read_with_links(conn, DeviceRow, device_id)
            if row is None:
                raise NotFoundError(f"device {device_id} not found")
            waiting = await waiting_of(conn, request.app.state, {row.id: links})
        return reads.device_read(row, links, waiting=waiting)

    @patch("/{device_id:str}", opt=WRITE, summary="Change a device; fields left out stay as they are")
    async def update(self, request: Request[Any, Any, Any], device_id: str, data: s.DeviceUpdate
                     ) -> Response[s.DeviceRead]:
        body = await request.body()

        async def work(session: AsyncSession, planner: OutboxPlanner) -> tuple[int, Any]:
            customer, row = await locks.lock_device(session, device_id)
            await writes.update_device(session, planner, customer, row, data, planner.now)
            return 200, reads.device_read(row, await planner.links_of(row.id))

        return await write(request, body, work)

    @delete("/{device_id:str}", opt=WRITE, status_code=200,
            summary="Delete a device, here and at the providers")
    async def remove(self, request: Request[Any, Any, Any], device_id: str) -> Response[s.DeviceRead]:
        async def work(session: AsyncSession, planner: OutboxPlanner) -> tuple[int, Any]:
            customer, row = await locks.lock_device(session, device_id)
            await writes.delete_device(session, planner, customer, row, planner.now)
            return 200, reads.device_read(row, await planner.links_of(row.id))

        return await write(request, b"", work)
