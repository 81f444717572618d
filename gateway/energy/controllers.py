"""Energy usage API: a site's derived points and their reporting, the enrollment flag, and a
device's consumption read back from its stored readings."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, put
from litestar.params import Parameter, QueryParameter
from sqlalchemy import and_, or_, select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.domain import DeviceKind, ReportStatus
from gateway.core.errors import ConflictError, InvalidError
from gateway.core.quantities import from_wh, kwh, wh
from gateway.core.wire import Page, Wire
from gateway.customers import locks, reads
from gateway.energy.bulk import load_series
from gateway.energy.derive import Derived, derive_intervals
from gateway.energy.enrollment import reporting_sites
from gateway.http.deps import provide_session
from gateway.http.pages import decode_cursor, encode_cursor
from gateway.http.scopes import READ, WRITE
from gateway.http.unit_of_work import write
from gateway.outbox.plan import OutboxPlanner
from gateway.readings.ingest import epoch_seconds
from gateway.store.energy_tables import EnergyEnrollmentRow, EnergyPointRow
from gateway.store.event_tables import VolueReportRow

EPOCH_RANGE = range(0, 253_402_300_800)
HOUR_S = 3600
MAX_SPAN_S = 366 * 86_400
"""The longest ``to - from`` of a consumption read-back."""


def _bound(value: str | None, name: str) -> int:
    if value is None:
        raise InvalidError(f"{name} is required (ISO 8601 with a UTC offset, or epoch seconds)", field=name)
    try:
        seconds = int(value) if value.lstrip("-").isdigit() else epoch_seconds(value)
    except (ValueError, OverflowError) as exc:
        raise InvalidError(str(exc), field=name) from None
    if seconds not in EPOCH_RANGE:
        raise InvalidError(f"{name} must lie between 1970 and the end of year 9999", field=name)
    return seconds


def _range(from_: str | None, to: str | None) -> tuple[int, int]:
    start, end = _bound(from_, "from"), _bound(to, "to")
    if end <= start:
        raise InvalidError("to must be after from", field="to")
    if end - start > MAX_SPAN_S:
        raise InvalidError("from and to may be at most 366 days apart", field="to")
    return start, end


def _cursor(cursor: str | None) -> tuple[int, str] | None:
    """A cursor is the opaque form of the last item's (start, direction) of the page before
    (:mod:`gateway.http.pages`: one the API did not hand out is a 400)."""
    if not cursor:
        return None
    value, direction = decode_cursor(cursor, int, str)
    if value not in EPOCH_RANGE:
        raise InvalidError("cursor is not one this API returned", field="cursor")
    return value, direction


def _encode(value: int, direction: str = "") -> str:
    return encode_cursor(value, direction)


# --- a site's derived points -----------------------------------------------------------------


class EnergyPointRead(Wire):
    timestamp: datetime
    """Start of the interval."""
    resolution_s: int
    direction: str
    """``import`` (consumption, reported to Volue) or ``export``."""
    kwh: float | None
    """With 3 decimals (whole Wh); None when the interval is flagged."""
    flagged: bool
    """The register went down in this interval (meter exchange, rollover): not reported."""
    meter_point_id: str | None
    reported: bool
    """Volue holds this value: the report carrying it was sent."""
    report_id: str | None
    report_status: ReportStatus | None
    """Of the report carrying the latest value queued for Volue."""


class EnrollmentUpdate(Wire):
    enabled: bool


class EnrollmentRead(Wire):
    site_id: str
    enabled: bool
    reporting: bool
    """Whether the site's energy usage is reported now: enrolled, its Volue location synced and
    its main electricity meter has a meter point id."""


class SiteEnergyUsageController(Controller):
    path = "/v1/sites/{site_id:str}/energy-usage"
    tags = ["energy usage"]
    dependencies = {"session": provide_session}

    @get("/", opt=READ, summary="A site's energy usage derived from its main meter's readings",
         description="Points of the configured resolution, oldest first, each with whether Volue "
                     "holds its value. 400 names a bad parameter; 404 an unknown site.")
    async def list_points(
        self,
        session: AsyncSession,
        site_id: str,
        from_: Annotated[str | None, QueryParameter(name="from",
                                                    description="ISO 8601 or epoch s, inclusive")] = None,
        to: Annotated[str | None, Parameter(description="ISO 8601 or epoch s, exclusive")] = None,
        cursor: str | None = None,
        limit: Annotated[int, Parameter(ge=1, le=1000)] = 100,
    ) -> Page[EnergyPointRead]:
        start, end = _range(from_, to)
        after = _cursor(cursor)
        await reads.get_site(session, site_id)
        p, r = EnergyPointRow, VolueReportRow
        query = (select(p, col(r.status)).outerjoin(r, col(r.id) == col(p.report_id))
                 .where(col(p.site_id) == site_id, col(p.ts) >= start, col(p.ts) < end)
                 .order_by(col(p.ts), col(p.direction)).limit(limit + 1))
        if after is not None:
            query = query.where(or_(col(p.ts) > after[0],
                                    and_(col(p.ts) == after[0], col(p.direction) > after[1])))
        rows = (await session.execute(query)).all()
        more = len(rows) > limit
        rows = rows[:limit]
        items = []
        for point, status in rows:
            reported = (status == ReportStatus.SENT.value and point.kwh is not None
                        and point.reported_kwh == point.kwh)
            items.append(EnergyPointRead(
                timestamp=datetime.fromtimestamp(point.ts, UTC), resolution_s=point.interval_s,
                direction=point.direction, kwh=None if point.kwh is None else kwh(point.kwh),
                flagged=point.flagged,
                meter_point_id=point.meter_point_id, reported=reported, report_id=point.report_id,
                report_status=ReportStatus(status) if status else None))
        next_cursor = _encode(rows[-1][0].ts, rows[-1][0].direction) if more else None
        return Page[EnergyPointRead](items=items, next_cursor=next_cursor)

    @put("/enrollment", opt=WRITE, summary="Turn the reporting of a site's energy usage to Volue on or off",
         description="200 with the flag and whether the site reports now. 400 names a bad field; "
                     "404 an unknown site. Honours Idempotency-Key like every write.")
    async def enroll(self, request: Request[Any, Any, Any], site_id: str, data: EnrollmentUpdate
                     ) -> Response[EnrollmentRead]:
        body = await request.body()

        async def work(session: AsyncSession, planner: OutboxPlanner) -> tuple[int, Any]:
            # the site locked like every write under it, so a concurrent delete is seen (404)
            _, site = await locks.lock_site(session, site_id)
            row = await session.get(EnergyEnrollmentRow, site.id)
            if row is None:
                session.add(EnergyEnrollmentRow(site_id=site.id, enabled=data.enabled,
                                                updated_at=planner.now))
            else:
                row.enabled, row.updated_at = data.enabled, planner.now
            reporting = bool(await reporting_sites(session, [site.id]))
            return 200, EnrollmentRead(site_id=site.id, enabled=data.enabled, reporting=reporting)

        return await write(request, body, work)


# --- a device's consumption ------------------------------------------------------------------


class Resolution(StrEnum):
    HOUR = "hour"
    DAY = "day"
    MONTH = "month"


class ConsumptionRead(Wire):
    start: datetime
    end: datetime
    quantity: float
    """The sum of the derived hours in the period, with 3 decimals (whole Wh, or litres): each hour
    rounded to that, then summed exactly."""
    unit: str
    """kWh, or m³ for gas and water."""
    complete: bool
    """Every hour of the period (within ``from``/``to``) was derived."""


# Per medium: (unit, sources in order of preference). Electricity: the import register,
# then the import interval quantities; the others are registers.
_CONSUMPTION: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "electricity": ("kWh", (("register", "1-1:1.8.0"), ("interval", "1-1:1.29.0"),
                            ("interval", "1-1:1.9.0"))),
    "heat": ("kWh", (("register", "6-1:1.0.0"),)),
    "gas": ("m³", (("register", "7-1:3.1.0"),)),
    "water": ("m³", (("register", "8-1:1.0.0"),)),
}


def _period(ts: int, resolution: Resolution) -> tuple[int, int]:
    if resolution is Resolution.HOUR:
        return ts, ts + HOUR_S
    moment = datetime.fromtimestamp(ts, UTC)
    if resolution is Resolution.DAY:
        first = moment.replace(hour=0, minute=0, second=0)
        return int(first.timestamp()), int(first.timestamp()) + 86_400
    first = moment.replace(day=1, hour=0, minute=0, second=0)
    following = first.replace(year=first.year + 1, month=1) if first.month == 12 else \
        first.replace(month=first.month + 1)
    return int(first.timestamp()), int(following.timestamp())


class DeviceConsumptionController(Controller):
    path = "/v1/devices/{device_id:str}/consumption"
    tags = ["energy usage"]
    dependencies = {"session": provide_session}

    @get("/", opt=READ, summary="A meter's consumption derived from its stored readings",
         description="Hours, days or months (UTC) between from and to, at most 366 days apart. "
                     "400 names a bad parameter; 404 an unknown device; 409 a device that is not a "
                     "meter.")
    async def consumption(
        self,
        session: AsyncSession,
        device_id: str,
        from_: Annotated[str | None, QueryParameter(name="from",
                                                    description="ISO 8601 or epoch s, inclusive")] = None,
        to: Annotated[str | None, Parameter(description="ISO 8601 or epoch s, exclusive")] = None,
        resolution: Resolution = Resolution.HOUR,
        cursor: str | None = None,
        limit: Annotated[int, Parameter(ge=1, le=1000)] = 100,
    ) -> Page[ConsumptionRead]:
        start, end = _range(from_, to)
        after = _cursor(cursor)
        device = await reads.get_device(session, device_id)
        if device.kind != DeviceKind.METER.value or device.medium not in _CONSUMPTION:
            raise ConflictError(f"device {device_id} is not a meter; only meters have consumption")
        unit, sources = _CONSUMPTION[device.medium]
        first_hour = start - start % HOUR_S
        derived = Derived()
        for kind, code in sources:
            ts, values = await load_series(session, device.id, code, first_hour, end, HOUR_S)
            # Nothing loaded before the first hour: the meter has no earlier reading of the code.
            opens = bool(ts) and ts[0] >= first_hour
            derived.merge_missing(derive_intervals(kind, ts, values, HOUR_S, opens=opens))
        periods: dict[int, tuple[int, int, int]] = {}  # start: (end, whole Wh, hours)
        for hour, quantity in derived.values.items():
            if not start - HOUR_S < hour < end or hour < first_hour:
                continue
            begin, finish = _period(hour, resolution)
            _, total, count = periods.get(begin, (finish, 0, 0))
            periods[begin] = (finish, total + wh(quantity), count + 1)
        items = []
        for begin in sorted(periods):
            if after is not None and begin <= after[0]:
                continue
            finish, total, count = periods[begin]
            hours = (min(finish, end) - max(begin, first_hour) + HOUR_S - 1) // HOUR_S
            items.append(ConsumptionRead(start=datetime.fromtimestamp(begin, UTC),
                                         end=datetime.fromtimestamp(finish, UTC),
                                         quantity=from_wh(total), unit=unit, complete=count >= hours))
        more = len(items) > limit
        items = items[:limit]
        next_cursor = _encode(int(items[-1].start.timestamp())) if more else None
        return Page[ConsumptionRead](items=items, next_cursor=next_cursor)
