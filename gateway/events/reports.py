"""Reports to Volue in the current ``PostReportRequest`` shapes; ``GET /v1/reports/{id}``.

* ``POST /v1/devices/{id}/energy-usage``: a device's hourly ``EnergyUsage``;
* ``POST /v1/sites/{id}/energy-usage``: a site's hourly ``LocationEnergyUsage``;
* ``POST /v1/sites/{id}/energy-usage-plan``: ``LocationEnergyUsagePlan`` (baseline and
  flexibility);
* ``POST /v1/events/{id}/lpc-acknowledgement``: accept or decline an LPC request per
  target (``LocationLPCAcknowledgement`` / ``ResourceLPCAcknowledgement``) before its
  deadline, the start of its limit.

Each is stored as the exact ``POST /reports`` body Volue will receive (built by
``providers.volue.mapping.report``) and sent by the workers through the outbox, after
the upstream create of the device or location it names. The quickstart's
``VehicleChargeAction`` report (a top-level ``name``) is gone: the current document
refuses it.

Every point's ``timestamp`` lies in the report window: at most :data:`REPORT_PAST`
(5 years) before now and :data:`REPORT_FUTURE` (2 days) after it (and so always within
1970-9999); outside it the report is refused with 400 naming the point. kWh travel with 3
decimals (whole Wh).

A site's derived energy usage wins over a manual one: ``POST /v1/sites/{id}/energy-usage``
for hours the site's meter already gave derived usage for (a stored ``import`` point of
``gateway.energy``) is refused with 409 naming those hours, so Volue never receives two
curves for one hour from the gateway. Hours derived only later are reported from the meter
and replace a manual value at Volue.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter, QueryParameter
from msgspec import Meta
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.clock import as_utc, utcnow
from gateway.core.domain import DeviceKind, Provider, SyncStatus
from gateway.core.errors import ConflictError, InvalidError, NotFoundError
from gateway.core.wire import MeterPointId, Wire
from gateway.customers import reads
from gateway.events.report_delivery import (
    DEVICE_ENERGY_USAGE,
    ENERGY_USAGE,
    ENERGY_USAGE_PLAN,
    LPC_ACK,
    queue_report,
)
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
from gateway.store.energy_tables import EnergyPointRow
from gateway.store.event_tables import VolueEventRow, VolueEventTargetRow, VolueReportRow
from gateway.store.tables import CustomerRow, DeviceRow, SiteRow
from providers.volue import mapping as vm
from providers.volue import schemas as vs
from providers.volue.energy_usage import kwh

HOURLY = "01:00:00"
TargetId = Annotated[str, Meta(min_length=1, max_length=100)]
LPC_ANSWER_WITHOUT_POINTS = timedelta(hours=1)
VolueEventId = Annotated[str, Meta(min_length=1, max_length=100)]
REPORT_PAST = timedelta(days=5 * 365 + 1)
"""How far back a report's points may lie (5 years)."""
REPORT_FUTURE = timedelta(days=2)
"""How far ahead a report's points (a plan's, say) may lie."""
IMPORT = "import"
"""The direction of derived points that Volue receives (``gateway.energy``)."""


class EnergyPoint(Wire):
    timestamp: datetime
    """Start of the hour (UTC offset required), at most 5 years back and 2 days ahead."""
    kwh: Annotated[float, Meta(ge=0, le=10_000_000)]
    """Sent with 3 decimals (whole Wh)."""


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


def check_points(points: list[EnergyPoint], name: str = "points", *, now: datetime | None = None) -> None:
    """Whole hours with a UTC offset, strictly increasing, within the report window around ``now``
    (:data:`REPORT_PAST` back, :data:`REPORT_FUTURE` ahead)."""
    moment = now or utcnow()
    earliest, latest = moment - REPORT_PAST, moment + REPORT_FUTURE
    previous: datetime | None = None
    for index, point in enumerate(points):
        field = f"{name}[{index}].timestamp"
        if point.timestamp.tzinfo is None:
            raise InvalidError("timestamp needs a UTC offset", field=field)
        if not earliest <= point.timestamp <= latest:
            raise InvalidError(f"timestamp must lie between {earliest:%Y-%m-%dT%H:%MZ} (5 years back) and "
                               f"{latest:%Y-%m-%dT%H:%MZ} (2 days ahead)", field=field)
        if (point.timestamp.minute, point.timestamp.second, point.timestamp.microsecond) != (0, 0, 0):
            raise InvalidError("hourly points start on the full hour", field=field)
        if previous is not None and point.timestamp <= previous:
            raise InvalidError("points must be in increasing time order, one per hour", field=field)
        previous = point.timestamp


def _curve(points: list[EnergyPoint]) -> list[vs.EnergyCurvePoint]:
    """The points as Volue's curve, kWh rounded to 3 decimals (whole Wh)."""
    return [vs.EnergyCurvePoint(timestamp=p.timestamp, kilo_watt_hours=kwh(p.kwh)) for p in points]


async def _reporting_site(session: AsyncSession, planner: OutboxPlanner, site_id: str,
                          wanted: str | None) -> tuple[SiteRow, CustomerRow, str]:
    """The site a report is about, its customer and the meter point it names, each checked."""
    site = await reads.get_site(session, site_id)
    customer = await reads.get_customer(session, site.customer_id)
    await _at_volue(planner, customer, site.id, "site")
    return site, customer, await _meter_point(session, site.id, site.meter_point_ids, wanted)


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


async def _not_derived(session: AsyncSession, site_id: str, points: list[EnergyPoint]) -> None:
    """409 naming the hours of ``points`` that the site's derived usage already covers (an
    ``import`` point whose interval overlaps the hour): derived usage wins."""
    hours = sorted({int(p.timestamp.timestamp()) for p in points})
    p = EnergyPointRow
    rows = (await session.execute(
        select(col(p.ts), col(p.interval_s)).where(
            col(p.site_id) == site_id, col(p.direction) == IMPORT,
            col(p.ts) > hours[0] - 86_400, col(p.ts) < hours[-1] + 3600))).all()
    covered = [hour for hour in hours if any(ts < hour + 3600 and hour < ts + width for ts, width in rows)]
    if covered:
        named = ", ".join(datetime.fromtimestamp(h, UTC).strftime("%Y-%m-%dT%H:%MZ") for h in covered[:24])
        more = f" and {len(covered) - 24} more" if len(covered) > 24 else ""
        raise ConflictError(f"site {site_id} reports its energy usage from its meter, which already covers "
                            f"{len(covered)} of these hours ({named}{more}); derived usage wins",
                            field="points")


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
        check_points(data.points)

        async def work(session: AsyncSession, planner: OutboxPlanner) -> tuple[int, Any]:
            device = await reads.get_device(session, device_id)
            if device.kind == DeviceKind.METER.value:
                raise ConflictError(f"device {device_id} is a meter; report its site's energy usage "
                                    "(POST /v1/sites/{id}/energy-usage)")
            customer = await reads.get_customer(session, device.customer_id)
            await _at_volue(planner, customer, device.id, "device")
            usage = vs.EnergyUsageReportPayload(
                resource_id=device.id, location_id=device.site_id,
                meter_point_id=data.meter_point_id, resolution=HOURLY, points=_curve(data.points),
            )
            report = queue_report(
                session, planner, kind=DEVICE_ENERGY_USAGE, customer_id=customer.id,
                site_id=device.site_id, device_id=device.id, volue_event_id=data.volue_event_id,
                body=vm.report("EnergyUsage", usage, event_id=data.volue_event_id),
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
            site, customer, meter_point = await _reporting_site(
                session, planner, site_id, data.meter_point_id)
            await _not_derived(session, site.id, data.points)
            usage = vs.LocationEnergyUsageReportPayload(
                location_id=site.id, meter_point_id=meter_point, resolution=HOURLY,
                points=_curve(data.points),
            )
            report = queue_report(
                session, planner, kind=ENERGY_USAGE, customer_id=customer.id, site_id=site.id,
                volue_event_id=data.volue_event_id,
                body=vs.PostReportRequest(event_id=data.volue_event_id, payloads=[usage]),
                after=[await planner.open_task(site.id, Provider.VOLUE)],
            )
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
        check_points(data.baseline, "baseline")
        check_points(data.flexibility, "flexibility")

        async def work(session: AsyncSession, planner: OutboxPlanner) -> tuple[int, Any]:
            site, customer, meter_point = await _reporting_site(
                session, planner, site_id, data.meter_point_id)
            plan = vs.LocationEnergyUsagePlanReportPayload(
                location_id=site.id, meter_point_id=meter_point, resolution=HOURLY,
                baseline=_curve(data.baseline), flexibility=_curve(data.flexibility),
            )
            report = queue_report(
                session, planner, kind=ENERGY_USAGE_PLAN, customer_id=customer.id, site_id=site.id,
                volue_event_id=data.volue_event_id,
                body=vm.report("LocationEnergyUsagePlan", plan, event_id=data.volue_event_id),
                after=[await planner.open_task(site.id, Provider.VOLUE)],
            )
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
            event = await session.get(VolueEventRow, event_id)
            if event is None:
                raise NotFoundError(f"event {event_id} not found")
            payload = lpc_payload(event)
            deadline = lpc_deadline(payload, event)
            if planner.now >= deadline:
                raise ConflictError(f"the LPC request's deadline ({deadline.isoformat()}) has passed")
            report = lpc_answer(payload, data)
            named = {*data.accept, *data.decline}
            await _not_answered_yet(session, event.volue_event_id, named)
            targets = (await session.execute(
                select(VolueEventTargetRow).where(VolueEventTargetRow.event_id == event.id))).scalars()
            customer_id = next((t.customer_id for t in targets if t.customer_id and
                                (t.site_id in named or t.device_id in named)), None)
            row = queue_report(session, planner, kind=LPC_ACK, customer_id=customer_id or "",
                               body=vs.PostReportRequest(event_id=event.volue_event_id,
                                                         payloads=[report]),
                               volue_event_id=event.volue_event_id)
            return 202, report_read(row)

        return await write(request, body, work)


def lpc_payload(event: VolueEventRow) -> vs.LocationLPCPayload | vs.ResourceLPCPayload:
    """The stored event's LPC payload; 409 for an event of another type."""
    payload = msgspec.convert(event.payload, vs.SparkEventPayload)
    if not isinstance(payload, vs.LocationLPCPayload | vs.ResourceLPCPayload):
        raise ConflictError(f"event {event.id} is a {event.type}, not an LPC request")
    return payload


def lpc_deadline(payload: vs.LocationLPCPayload | vs.ResourceLPCPayload,
                 event: VolueEventRow) -> datetime:
    """An LPC request is answered before its limit starts (its first point); a request
    without points within ``LPC_ANSWER_WITHOUT_POINTS`` of its creation."""
    starts = [as_utc(p.timestamp) for t in payload.targets for p in t.points]
    known = [s for s in starts if s is not None]
    if known:
        return min(known)
    return (as_utc(event.created_at) or event.created_at) + LPC_ANSWER_WITHOUT_POINTS


def lpc_answer(payload: vs.LocationLPCPayload | vs.ResourceLPCPayload, data: LpcAnswer
               ) -> vs.LocationLPCAcknowledgmentReportPayload | vs.ResourceLPCAcknowledgmentReportPayload:
    """The acknowledgement report for the answered targets (in the order they were named)."""
    accepted, declined = set(data.accept), set(data.decline)
    both = accepted & declined
    if both:
        raise InvalidError(f"target {sorted(both)[0]} is both accepted and declined", field="decline")
    if not accepted and not declined:
        raise InvalidError("name at least one target to accept or decline", field="accept")
    if isinstance(payload, vs.LocationLPCPayload):
        locations = {t.location_id: vs.LPCLocation(location_id=t.location_id,
                                                   meter_point_id=t.meter_point_id)
                     for t in payload.targets}
        _known(locations, accepted, declined)
        return vs.LocationLPCAcknowledgmentReportPayload(
            acknowledged_targets=[locations[i] for i in data.accept] or None,
            declined_targets=[locations[i] for i in data.decline] or None,
        )
    resources = {t.resource_id: vs.LPCResource(meter_point_id=t.meter_point_id,
                                               location_id=t.location_id, resource_id=t.resource_id)
                 for t in payload.targets}
    _known(resources, accepted, declined)
    return vs.ResourceLPCAcknowledgmentReportPayload(
        acknowledged_targets=[resources[i] for i in data.accept] or None,
        declined_targets=[resources[i] for i in data.decline] or None,
    )


async def _not_answered_yet(session: AsyncSession, volue_event_id: str, named: set[str]) -> None:
    """409 when a named target was answered already (by a caller, or automatically)."""
    earlier = await session.exec(select(VolueReportRow).where(
        VolueReportRow.volue_event_id == volue_event_id, VolueReportRow.kind == LPC_ACK))
    for row in earlier:
        payloads = row.body.get("payloads")
        for payload in payloads if isinstance(payloads, list) else []:
            if not isinstance(payload, dict):
                continue
            for key in ("acknowledgedTargets", "declinedTargets"):
                for target in payload.get(key) or []:
                    target_id = target.get("resourceId") or target.get("locationId")
                    if target_id in named:
                        raise ConflictError(f"target {target_id} of this LPC request was answered "
                                            f"already (report {row.id})")


def _known(targets: dict[str, Any], accepted: set[str], declined: set[str]) -> None:
    for name, ids in (("accept", accepted), ("decline", declined)):
        for target in sorted(ids):
            if target not in targets:
                raise InvalidError(f"{target} is not a target of this LPC request", field=name)


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
