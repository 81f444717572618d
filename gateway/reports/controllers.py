"""Reports to Volue in the current ``PostReportRequest`` shapes; ``GET /v1/reports/{id}``.

* ``POST /v1/devices/{id}/energy-usage``: a device's hourly ``EnergyUsage``;
* ``POST /v1/sites/{id}/energy-usage``: a site's hourly ``LocationEnergyUsage``;
* ``POST /v1/sites/{id}/energy-usage-plan``: ``LocationEnergyUsagePlan`` (baseline and
  flexibility);
* ``POST /v1/events/{id}/lpc-acknowledgement``: accept or decline an LPC request per
  target (``LocationLPCAcknowledgement`` / ``ResourceLPCAcknowledgement``) before its
  deadline, the start of its limit.

Each becomes a canonical report (:mod:`gateway.reports.service`), stored as the exact
``POST /reports`` body Volue will receive (rendered by Volue's report format) and sent by
the workers through the outbox, after the upstream create of the device or location it
names. kWh travel with 3 decimals (whole Wh).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter, QueryParameter
from msgspec import Meta
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core import reports as canonical
from gateway.core.clock import as_utc
from gateway.core.errors import NotFoundError
from gateway.core.wire import MeterPointId, Wire
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
from gateway.reports import service
from gateway.reports.delivery import DEVICE_ENERGY_USAGE, ENERGY_USAGE, ENERGY_USAGE_PLAN, LPC_ACK
from gateway.store.event_tables import VolueReportRow

TargetId = Annotated[str, Meta(min_length=1, max_length=100)]
VolueEventId = Annotated[str, Meta(min_length=1, max_length=100)]


class EnergyPoint(Wire):
    timestamp: datetime
    """Start of the hour (UTC offset required), at most 5 years back and 2 days ahead."""
    kwh: Annotated[float, Meta(ge=0, le=10_000_000)]
    """Sent with 3 decimals (whole Wh)."""


def _checked(points: list[EnergyPoint], name: str = "points") -> list[canonical.EnergyPoint]:
    """The points, checked (:func:`gateway.reports.service.check_points`), as canonical points."""
    service.check_points([p.timestamp for p in points], name)
    return [canonical.EnergyPoint(p.timestamp, p.kwh) for p in points]


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


class DeviceEnergyUsageCreate(Wire):
    points: Annotated[list[EnergyPoint], Meta(min_length=1, max_length=744)]
    """Hourly energy the device used (a charger's, a vehicle's, a tank's ...)."""
    meter_point_id: MeterPointId | None = None
    """The meter point the device is behind, when the report should name one."""
    volue_event_id: VolueEventId | None = None


class EnergyUsagePlanCreate(Wire):
    baseline: Annotated[list[EnergyPoint], Meta(min_length=1, max_length=744)]
    """The hourly energy the site expects to use."""
    flexibility: Annotated[list[EnergyPoint], Meta(min_length=1, max_length=744)]
    """The hourly energy the site could shift."""
    meter_point_id: MeterPointId | None = None
    """Defaults to the site's main meter (or its only meter point id)."""
    volue_event_id: VolueEventId | None = None


class LpcAnswer(Wire):
    accept: Annotated[list[TargetId], Meta(max_length=1000)] = []
    """Targets (site ids of a location LPC, device ids of a resource LPC) that take the limit."""
    decline: Annotated[list[TargetId], Meta(max_length=1000)] = []
    """Targets that do not."""


REPORT_ACCEPTED = {202: ResponseSpec(data_container=ReportRead,
                                     description="stored; the outbox sends it (see GET /v1/reports/{id})")}


class DeviceReportsController(Controller):
    path = "/v1/devices/{device_id:str}/energy-usage"
    tags = ["reports"]

    @post("/", opt=WRITE, status_code=202, responses=REPORT_ACCEPTED,
          summary="Report a device's hourly energy usage to Volue (EnergyUsage)")
    async def energy_usage(self, request: Request[Any, Any, Any], device_id: str,
                           data: DeviceEnergyUsageCreate) -> Response[ReportRead]:
        body = await request.body()
        points = _checked(data.points)

        async def work(session: AsyncSession, planner: OutboxPlanner) -> tuple[int, Any]:
            report = await service.queue_device_usage(
                session, planner, device_id, points, meter_point_id=data.meter_point_id,
                event_id=data.volue_event_id)
            return 202, report_read(report)

        return await write(request, body, work)


class SiteReportsController(Controller):
    path = "/v1/sites/{site_id:str}/energy-usage"
    tags = ["reports"]

    @post("/", opt=WRITE, status_code=202, summary="Report a site's hourly energy usage to Volue")
    async def energy_usage(self, request: Request[Any, Any, Any], site_id: str,
                           data: EnergyUsageCreate) -> Response[ReportRead]:
        body = await request.body()
        points = _checked(data.points)

        async def work(session: AsyncSession, planner: OutboxPlanner) -> tuple[int, Any]:
            report = await service.queue_site_usage(
                session, planner, site_id, points, meter_point_id=data.meter_point_id,
                event_id=data.volue_event_id)
            return 202, report_read(report)

        return await write(request, body, work)


class SitePlanController(Controller):
    path = "/v1/sites/{site_id:str}/energy-usage-plan"
    tags = ["reports"]

    @post("/", opt=WRITE, status_code=202, responses=REPORT_ACCEPTED,
          summary="Report a site's hourly baseline and flexibility to Volue (LocationEnergyUsagePlan)")
    async def energy_usage_plan(self, request: Request[Any, Any, Any], site_id: str,
                                data: EnergyUsagePlanCreate) -> Response[ReportRead]:
        body = await request.body()
        baseline = _checked(data.baseline, "baseline")
        flexibility = _checked(data.flexibility, "flexibility")

        async def work(session: AsyncSession, planner: OutboxPlanner) -> tuple[int, Any]:
            report = await service.queue_site_plan(
                session, planner, site_id, baseline=baseline, flexibility=flexibility,
                meter_point_id=data.meter_point_id, event_id=data.volue_event_id)
            return 202, report_read(report)

        return await write(request, body, work)


class LpcAnswerController(Controller):
    path = "/v1/events/{event_id:str}/lpc-acknowledgement"
    tags = ["reports"]

    @post("/", opt=WRITE, status_code=202, responses=REPORT_ACCEPTED,
          summary="Accept or decline an LPC request per target, before its deadline")
    async def answer(self, request: Request[Any, Any, Any], event_id: str,
                     data: LpcAnswer) -> Response[ReportRead]:
        body = await request.body()

        async def work(session: AsyncSession, planner: OutboxPlanner) -> tuple[int, Any]:
            report = await service.queue_lpc_answer(session, planner, event_id,
                                                    accept=data.accept, decline=data.decline)
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
        kind: Annotated[str | None, Parameter(
            pattern=f"^({ENERGY_USAGE}|{DEVICE_ENERGY_USAGE}|{ENERGY_USAGE_PLAN}|{LPC_ACK})$")] = None,
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
