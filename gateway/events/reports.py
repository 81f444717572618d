"""Reports to Volue: vehicle charge actions and hourly site energy usage; ``GET /v1/reports/{id}``.

Each is stored as the exact ``POST /reports`` body Volue will receive and sent
by the workers through the outbox, after the upstream create of the vehicle or
location it names. Charge actions use the quickstart's ``VehicleChargeAction``
shape; energy usage the current spec's ``LocationEnergyUsage`` payload.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.params import Parameter, QueryParameter
from msgspec import Meta
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.clock import as_utc
from gateway.core.domain import DeviceKind, Provider, SyncStatus
from gateway.core.errors import ConflictError, InvalidError, NotFoundError
from gateway.core.wire import CoordinatesIn, MeterPointId, Wire
from gateway.customers import records
from gateway.customers.controllers.customers import READ, WRITE
from gateway.events.report_delivery import CHARGE_ACTION, ENERGY_USAGE, LPC_ACK, queue_report
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
from gateway.http.unit_of_work import write
from gateway.outbox.plan import OutboxPlanner
from gateway.store.event_tables import VolueReportRow
from gateway.store.tables import CustomerRow, DeviceRow
from providers.volue import schemas as vs

HOURLY = "01:00:00"
Watts = Annotated[float, Meta(ge=0, le=10_000_000)]
WattHours = Annotated[float, Meta(ge=0, le=10_000_000)]
VolueEventId = Annotated[str, Meta(min_length=1, max_length=100)]


class ActionType(StrEnum):
    START = "start"
    STOP = "stop"


class ChargeActionCreate(Wire):
    action_type: ActionType
    power: Watts | None = None
    """Charging power in W."""
    state_of_charge: Annotated[float, Meta(ge=0, le=1)] | None = None
    battery_capacity: WattHours | None = None
    """Battery capacity in Wh."""
    location: CoordinatesIn | None = None
    volue_event_id: VolueEventId | None = None
    """The Volue event this action answers, if any."""


class EnergyPoint(Wire):
    timestamp: datetime
    """Start of the hour (UTC offset required)."""
    kwh: Annotated[float, Meta(ge=0, le=10_000_000)]


class EnergyUsageCreate(Wire):
    points: Annotated[list[EnergyPoint], Meta(min_length=1, max_length=744)]
    meter_point_id: MeterPointId | None = None
    """Defaults to the site's main meter (or its only meter point id)."""
    volue_event_id: VolueEventId | None = None


class ReportRead(Wire):
    id: str
    kind: str
    status: str
    customer_id: str
    site_id: str | None
    device_id: str | None
    volue_event_id: str | None
    volue_report_id: str | None
    last_error: str | None
    body: dict[str, Any]
    """The ``POST /reports`` body as sent to Volue."""
    created_at: datetime
    sent_at: datetime | None


def report_read(row: VolueReportRow) -> ReportRead:
    return ReportRead(
        id=row.id, kind=row.kind, status=row.status, customer_id=row.customer_id,
        site_id=row.site_id, device_id=row.device_id, volue_event_id=row.volue_event_id,
        volue_report_id=row.volue_report_id, last_error=row.last_error, body=row.body,
        created_at=as_utc(row.created_at),
        sent_at=as_utc(row.sent_at),
    )


async def _at_volue(planner: OutboxPlanner, customer: CustomerRow, entity_id: str, what: str) -> None:
    """Refuse a report about something Volue does not (or no longer) hold."""
    if Provider.VOLUE.value not in customer.providers:
        raise ConflictError(f"customer {customer.id} is not enrolled at Volue")
    link = await planner.link(entity_id, Provider.VOLUE)
    if link is None or link.status in (SyncStatus.DELETING.value, SyncStatus.DELETED.value):
        raise ConflictError(f"{what} {entity_id} is not registered at Volue")


def check_points(points: list[EnergyPoint]) -> None:
    """Whole hours with a UTC offset, strictly increasing."""
    previous: datetime | None = None
    for index, point in enumerate(points):
        field = f"points[{index}].timestamp"
        if point.timestamp.tzinfo is None:
            raise InvalidError("timestamp needs a UTC offset", field=field)
        if (point.timestamp.minute, point.timestamp.second, point.timestamp.microsecond) != (0, 0, 0):
            raise InvalidError("hourly points start on the full hour", field=field)
        if previous is not None and point.timestamp <= previous:
            raise InvalidError("points must be in increasing time order, one per hour", field=field)
        previous = point.timestamp


async def _meter_point(session: AsyncSession, site_id: str, site_points: list[str],
                       wanted: str | None) -> str:
    meters = list(await session.exec(
        select(DeviceRow).where(
            DeviceRow.site_id == site_id, DeviceRow.kind == DeviceKind.METER.value,
            col(DeviceRow.deleted_at).is_(None))))
    known = list(dict.fromkeys([*site_points, *(m.meter_point_id for m in meters if m.meter_point_id)]))
    if wanted is not None:
        if wanted not in known:
            raise InvalidError(f"meter point {wanted} is not at site {site_id}", field="meterPointId")
        return wanted
    main = [m.meter_point_id for m in meters if m.is_main and m.meter_point_id]
    if main:
        return main[0]
    if len(known) == 1:
        return known[0]
    raise InvalidError("the site has no single main meter point id: name one", field="meterPointId")


class DeviceReportsController(Controller):
    path = "/v1/devices/{device_id:str}/charge-actions"
    tags = ["reports"]

    @post("/", opt=WRITE, status_code=202, summary="Report a vehicle's charge action to Volue")
    async def charge_action(self, request: Request[Any, Any, Any], device_id: str,
                            data: ChargeActionCreate) -> Response[ReportRead]:
        body = await request.body()

        async def work(session: AsyncSession, planner: OutboxPlanner) -> tuple[int, Any]:
            device = await records.get_device(session, device_id)
            if device.kind != DeviceKind.VEHICLE.value:
                raise ConflictError(f"device {device_id} is a {device.kind}; charge actions are for vehicles")
            customer = await records.get_customer(session, device.customer_id)
            await _at_volue(planner, customer, device.id, "vehicle")
            action = vs.VehicleChargeActionPayload(
                resource_id=device.id, action_type=data.action_type.value.capitalize(),
                location=vs.Coordinate(latitude=data.location.latitude,
                                       longitude=data.location.longitude) if data.location else None,
                power=data.power, state_of_charge=data.state_of_charge,
                battery_capacity=data.battery_capacity,
            )
            name = "Vehicle Started Charging" if data.action_type is ActionType.START else \
                "Vehicle Stopped Charging"
            report = queue_report(
                session, planner, kind=CHARGE_ACTION, customer_id=customer.id, device_id=device.id,
                volue_event_id=data.volue_event_id,
                body=vs.LegacyPostReportRequest(event_id=data.volue_event_id, name=name, payloads=[action]),
                after=[await planner.open_task(device.id, Provider.VOLUE)],
            )
            return 202, report_read(report)

        return await write(request, body, work)


class SiteReportsController(Controller):
    path = "/v1/sites/{site_id:str}/energy-usage"
    tags = ["reports"]

    @post("/", opt=WRITE, status_code=202, summary="Report a site's hourly energy usage to Volue")
    async def energy_usage(self, request: Request[Any, Any, Any], site_id: str,
                           data: EnergyUsageCreate) -> Response[ReportRead]:
        body = await request.body()
        check_points(data.points)

        async def work(session: AsyncSession, planner: OutboxPlanner) -> tuple[int, Any]:
            site = await records.get_site(session, site_id)
            customer = await records.get_customer(session, site.customer_id)
            await _at_volue(planner, customer, site.id, "site")
            meter_point = await _meter_point(session, site.id, site.meter_point_ids, data.meter_point_id)
            usage = vs.LocationEnergyUsageReportPayload(
                location_id=site.id, meter_point_id=meter_point, resolution=HOURLY,
                points=[vs.EnergyCurvePoint(timestamp=p.timestamp, kilo_watt_hours=p.kwh)
                        for p in data.points],
            )
            report = queue_report(
                session, planner, kind=ENERGY_USAGE, customer_id=customer.id, site_id=site.id,
                volue_event_id=data.volue_event_id,
                body=vs.PostReportRequest(event_id=data.volue_event_id, payloads=[usage]),
                after=[await planner.open_task(site.id, Provider.VOLUE)],
            )
            return 202, report_read(report)

        return await write(request, body, work)


class ReportController(Controller):
    path = "/v1/reports"
    tags = ["reports"]
    dependencies = {"session": provide_session}

    @get("/", opt=READ, summary="Reports, newest first; every filter given must match")
    async def list_reports(
        self,
        session: AsyncSession,
        customer_id: Annotated[str | None, QueryParameter(name="customerId", max_length=36)] = None,
        site_id: Annotated[str | None, QueryParameter(name="siteId", max_length=36)] = None,
        device_id: Annotated[str | None, QueryParameter(name="deviceId", max_length=36)] = None,
        kind: Annotated[str | None,
                        Parameter(pattern=f"^({CHARGE_ACTION}|{ENERGY_USAGE}|{LPC_ACK})$")] = None,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[ReportRead]:
        r = VolueReportRow
        order = [col(r.created_at), col(r.id)]
        query = select(r)
        for column, value in ((r.customer_id, customer_id), (r.site_id, site_id),
                              (r.device_id, device_id), (r.kind, kind)):
            if value is not None:
                query = query.where(col(column) == value)
        if cursor:
            query = query.where(after(order, decode_cursor(cursor, *TIME_AND_ID), descending=True))
        rows = list(await session.exec(query.order_by(*(c.desc() for c in order)).limit(limit + 1)))
        return page_of(rows, limit, lambda row: (row.created_at, row.id), report_read)

    @get("/{report_id:str}", opt=READ, summary="A report and whether Volue has it")
    async def read(self, session: AsyncSession, report_id: str) -> ReportRead:
        row = await session.get(VolueReportRow, report_id)
        if row is None:
            raise NotFoundError(f"report {report_id} not found")
        return report_read(row)
