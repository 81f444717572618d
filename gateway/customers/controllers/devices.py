"""Devices: ``/v1/sites/{id}/devices``, ``/v1/customers/{id}/vehicles`` and ``/v1/devices/{id}``."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.openapi.datastructures import ResponseSpec
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.domain import DeviceKind
from gateway.core.errors import NotFoundError
from gateway.customers import records
from gateway.customers import schemas as s
from gateway.customers.controllers.customers import READ, WRITE
from gateway.http.deps import decode, provide_session
from gateway.http.unit_of_work import write
from gateway.outbox.plan import OutboxPlanner
from gateway.store.tables import DeviceRow

DEVICE_OK = {200: ResponseSpec(data_container=s.DeviceRead, description="the device")}
DEVICE_CREATED = {201: ResponseSpec(data_container=s.DeviceRead, description="the new device")}

class SiteDevicesController(Controller):
    path = "/v1/sites/{site_id:str}/devices"
    tags = ["devices"]
    dependencies = {"session": provide_session}

    @post("/", opt=WRITE, status_code=201, summary="Add a device to a site", responses=DEVICE_CREATED)
    async def create(self, request: Request[Any, Any, Any], site_id: str) -> Response[bytes]:
        body = await request.body()
        data = decode(body, s.DeviceCreate)

        async def work(session: AsyncSession, planner: OutboxPlanner) -> tuple[int, Any]:
            site = await records.get_site(session, site_id)
            customer = await records.get_customer(session, site.customer_id)
            await records.check_refs_free(session, devices=[(data.external_ref, "externalRef")])
            device = await records.add_device(session, planner, customer, site, data, planner.now)
            return 201, records.device_read(device, await planner.links_of(device.id))

        return await write(request, body, work)

    @get("/", opt=READ, summary="The site's devices")
    async def list_devices(self, session: AsyncSession, site_id: str) -> list[s.DeviceRead]:
        await records.get_site(session, site_id)
        rows = [
            row for row in await session.exec(
                select(DeviceRow)
                .where(DeviceRow.site_id == site_id, col(DeviceRow.deleted_at).is_(None))
                .order_by(col(DeviceRow.created_at), col(DeviceRow.id))
            )
        ]
        links = await records.links_for(session, [row.id for row in rows])
        return [records.device_read(row, links.get(row.id, [])) for row in rows]


class CustomerVehiclesController(Controller):
    path = "/v1/customers/{customer_id:str}/vehicles"
    tags = ["devices"]
    dependencies = {"session": provide_session}

    @post("/", opt=WRITE, status_code=201, summary="Add a vehicle to a customer", responses=DEVICE_CREATED)
    async def create(self, request: Request[Any, Any, Any], customer_id: str) -> Response[bytes]:
        body = await request.body()
        data = decode(body, s.VehicleCreate)

        async def work(session: AsyncSession, planner: OutboxPlanner) -> tuple[int, Any]:
            customer = await records.get_customer(session, customer_id)
            await records.check_refs_free(session, devices=[(data.external_ref, "externalRef")])
            device = await records.add_device(session, planner, customer, None, data, planner.now)
            return 201, records.device_read(device, await planner.links_of(device.id))

        return await write(request, body, work)

    @get("/", opt=READ, summary="The customer's vehicles")
    async def list_vehicles(self, session: AsyncSession, customer_id: str) -> list[s.DeviceRead]:
        await records.get_customer(session, customer_id)
        rows = [
            row for row in await session.exec(
                select(DeviceRow)
                .where(DeviceRow.customer_id == customer_id, DeviceRow.kind == DeviceKind.VEHICLE.value,
                       col(DeviceRow.deleted_at).is_(None))
                .order_by(col(DeviceRow.created_at), col(DeviceRow.id))
            )
        ]
        links = await records.links_for(session, [row.id for row in rows])
        return [records.device_read(row, links.get(row.id, [])) for row in rows]


class DeviceController(Controller):
    path = "/v1/devices"
    tags = ["devices"]
    dependencies = {"session": provide_session}

    @get("/{device_id:str}", opt=READ, responses=DEVICE_OK)
    async def read(self, request: Request[Any, Any, Any], device_id: str) -> Response[bytes]:
        async with request.app.state.reader.connect() as conn:
            row, links = await records.read_with_links(conn, DeviceRow, device_id)
        if row is None:
            raise NotFoundError(f"device {device_id} not found")
        return Response(msgspec.json.encode(records.device_read(row, links)), media_type="application/json")

    @patch("/{device_id:str}", opt=WRITE, responses=DEVICE_OK)
    async def update(self, request: Request[Any, Any, Any], device_id: str) -> Response[bytes]:
        body = await request.body()
        data = decode(body, s.DeviceUpdate)

        async def work(session: AsyncSession, planner: OutboxPlanner) -> tuple[int, Any]:
            row = await records.get_device(session, device_id)
            customer = await records.get_customer(session, row.customer_id)
            await records.update_device(session, planner, customer, row, data, planner.now)
            return 200, records.device_read(row, await planner.links_of(row.id))

        return await write(request, body, work)

    @delete("/{device_id:str}", opt=WRITE, status_code=200, responses=DEVICE_OK)
    async def remove(self, request: Request[Any, Any, Any], device_id: str) -> Response[bytes]:
        async def work(session: AsyncSession, planner: OutboxPlanner) -> tuple[int, Any]:
            row = await records.get_device(session, device_id)
            customer = await records.get_customer(session, row.customer_id)
            await records.delete_device(session, planner, customer, row, planner.now)
            return 200, records.device_read(row, await planner.links_of(row.id))

        return await write(request, b"", work)
