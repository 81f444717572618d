"""Reports in the gateway's terms: checked, built as canonical reports and queued.

The API's report routes (:mod:`gateway.reports.controllers`), the energy derivation
(``gateway.energy``) and the automatic LPC acknowledgement (``gateway.events``) build a
canonical :class:`gateway.core.reports.Report` here and queue it with
:func:`gateway.reports.delivery.queue_report`, which stores the provider's body. Nothing here
knows the provider's wire format: an LPC request is read from a stored event, and the targets
an earlier answer named from its stored body, through the provider's report format.

Every point's start lies in the report window: at most :data:`REPORT_PAST` (5 years) before
now and :data:`REPORT_FUTURE` (2 days) after it (and so always within 1970-9999); outside it
the report is refused with 400 naming the point.

A site's derived energy usage wins over a manual one: a manual report for hours the site's
meter already gave derived usage for (a stored ``import`` point of ``gateway.energy``) is
refused with 409 naming those hours, so the provider never receives two curves for one hour
from the gateway.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import math
import operator
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.clock import as_utc, utcnow
from gateway.core.domain import DeviceKind, SyncStatus
from gateway.core.errors import ConflictError, InvalidError, NotFoundError
from gateway.core.reports import (
    DeviceEnergyUsage,
    EnergyPoint,
    LpcAnswer,
    LpcRequest,
    LpcTarget,
    Report,
    SiteEnergyPlan,
    SiteEnergyUsage,
)
from gateway.core.timespan import DAY_S, interval_seconds, time_span
from gateway.customers import reads
from gateway.outbox.plan import OutboxPlanner
from gateway.reports.delivery import (
    DEVICE_ENERGY_USAGE,
    ENERGY_USAGE,
    ENERGY_USAGE_PLAN,
    LPC_ACK,
    REPORTS_TO,
    queue_report,
)
from gateway.store.energy_tables import EnergyPointRow
from gateway.store.event_tables import VolueEventRow, VolueEventTargetRow, VolueReportRow
from gateway.store.tables import CustomerRow, DeviceRow, SiteRow
from providers.registry import report_format

HOUR_S = 3600
"""The interval of the reports callers send: hourly."""
REPORT_PAST = timedelta(days=5 * 365 + 1)
"""How far back a report's points may lie (5 years)."""
REPORT_FUTURE = timedelta(days=2)
"""How far ahead a report's points (a plan's, say) may lie."""
LPC_ANSWER_WITHOUT_POINTS = timedelta(hours=1)
IMPORT = "import"
"""The direction of derived points that the provider receives (``gateway.energy``)."""


def check_points(starts: Sequence[datetime], name: str = "points", *, now: datetime | None = None) -> None:
    """Whole hours with a UTC offset, strictly increasing, within the report window around ``now``
    (:data:`REPORT_PAST` back, :data:`REPORT_FUTURE` ahead)."""
    moment = now or utcnow()
    earliest, latest = moment - REPORT_PAST, moment + REPORT_FUTURE
    previous: datetime | None = None
    for index, start in enumerate(starts):
        field = f"{name}[{index}].timestamp"
        if start.tzinfo is None:
            raise InvalidError("timestamp needs a UTC offset", field=field)
        if not earliest <= start <= latest:
            raise InvalidError(f"timestamp must lie between {earliest:%Y-%m-%dT%H:%MZ} (5 years back) and "
                               f"{latest:%Y-%m-%dT%H:%MZ} (2 days ahead)", field=field)
        if (start.minute, start.second, start.microsecond) != (0, 0, 0):
            raise InvalidError("hourly points start on the full hour", field=field)
        if previous is not None and start <= previous:
            raise InvalidError("points must be in increasing time order, one per hour", field=field)
        previous = start


async def _at_provider(planner: OutboxPlanner, customer: CustomerRow, entity_id: str, what: str) -> None:
    """Refuse a report about something the provider does not (or no longer) hold."""
    if REPORTS_TO.value not in customer.providers:
        raise ConflictError(f"customer {customer.id} is not enrolled at Volue")
    link = await planner.link(entity_id, REPORTS_TO)
    if link is None or link.status in (SyncStatus.DELETING.value, SyncStatus.DELETED.value):
        raise ConflictError(f"{what} {entity_id} is not registered at Volue")


async def _reporting_site(session: AsyncSession, planner: OutboxPlanner, site_id: str,
                          wanted: str | None) -> tuple[SiteRow, CustomerRow, str]:
    """The site a report is about, its customer and the meter point it names, each checked."""
    site = await reads.get_site(session, site_id)
    customer = await reads.get_customer(session, site.customer_id)
    await _at_provider(planner, customer, site.id, "site")
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


async def _not_derived(session: AsyncSession, site_id: str, points: Sequence[EnergyPoint]) -> None:
    """409 naming the hours of ``points`` that the site's derived usage already covers (an
    ``import`` point whose interval overlaps the hour): derived usage wins."""
    hours = sorted({int(p.start.timestamp()) for p in points})
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


async def queue_device_usage(session: AsyncSession, planner: OutboxPlanner, device_id: str,
                             points: list[EnergyPoint], *, meter_point_id: str | None,
                             event_id: str | None) -> VolueReportRow:
    """A device's hourly usage, queued after the device's open upstream task."""
    device = await reads.get_device(session, device_id)
    if device.kind == DeviceKind.METER.value:
        raise ConflictError(f"device {device_id} is a meter; report its site's energy usage "
                            "(POST /v1/sites/{id}/energy-usage)")
    customer = await reads.get_customer(session, device.customer_id)
    await _at_provider(planner, customer, device.id, "device")
    usage = DeviceEnergyUsage(device_id=device.id, site_id=device.site_id, meter_point_id=meter_point_id,
                              interval_s=HOUR_S, points=points)
    return queue_report(session, planner, kind=DEVICE_ENERGY_USAGE, customer_id=customer.id,
                        site_id=device.site_id, device_id=device.id,
                        report=Report(items=[usage], event_id=event_id),
                        after=[await planner.open_task(device.id, REPORTS_TO)])


async def queue_site_usage(session: AsyncSession, planner: OutboxPlanner, site_id: str,
                           points: list[EnergyPoint], *, meter_point_id: str | None,
                           event_id: str | None) -> VolueReportRow:
    """A site's hourly usage (refused for hours its meter's derived usage covers)."""
    site, customer, meter_point = await _reporting_site(session, planner, site_id, meter_point_id)
    await _not_derived(session, site.id, points)
    usage = SiteEnergyUsage(site_id=site.id, meter_point_id=meter_point, interval_s=HOUR_S, points=points)
    return queue_report(session, planner, kind=ENERGY_USAGE, customer_id=customer.id, site_id=site.id,
                        report=Report(items=[usage], event_id=event_id),
                        after=[await planner.open_task(site.id, REPORTS_TO)])


async def queue_site_plan(session: AsyncSession, planner: OutboxPlanner, site_id: str, *,
                          baseline: list[EnergyPoint], flexibility: list[EnergyPoint],
                          meter_point_id: str | None, event_id: str | None) -> VolueReportRow:
    """A site's hourly baseline and flexibility."""
    site, customer, meter_point = await _reporting_site(session, planner, site_id, meter_point_id)
    plan = SiteEnergyPlan(site_id=site.id, meter_point_id=meter_point, interval_s=HOUR_S,
                          baseline=baseline, flexibility=flexibility)
    return queue_report(session, planner, kind=ENERGY_USAGE_PLAN, customer_id=customer.id, site_id=site.id,
                        report=Report(items=[plan], event_id=event_id),
                        after=[await planner.open_task(site.id, REPORTS_TO)])


def daily_site_usage(*, site_id: str, meter_point_id: str, interval_s: int,
                     points: Sequence[tuple[int, float]], event_id: str | None = None) -> Report:
    """A site's usage as one item per UTC day of ``points`` ((interval start in epoch seconds,
    kWh), increasing), so each day stays its own curve. ``ValueError`` says what is wrong."""
    if not site_id or not meter_point_id:
        raise ValueError("a site's energy usage report needs its site and meter point id")
    resolution = time_span(interval_s)
    interval_seconds(resolution)  # a minute or more, dividing a day evenly
    if not points:
        raise ValueError("a site's energy usage report needs at least one point")
    starts = [start for start, _ in points]
    kwhs = [value for _, value in points]
    if (any(map(operator.mod, starts, itertools.repeat(interval_s)))
            or any(map(operator.ge, starts[:-1], starts[1:])) or not all(map(math.isfinite, kwhs))):
        _refuse(points, interval_s, resolution)
    curve = list(map(EnergyPoint, map(_instant, starts), kwhs))
    items: list[SiteEnergyUsage] = []
    first = 0
    while first < len(starts):  # the points of one UTC day after another
        end = bisect.bisect_left(starts, (starts[first] // DAY_S + 1) * DAY_S, first)
        items.append(SiteEnergyUsage(site_id=site_id, meter_point_id=meter_point_id, interval_s=interval_s,
                                     points=curve[first:end]))
        first = end
    return Report(items=list(items), event_id=event_id)


def _refuse(points: Sequence[tuple[int, float]], interval_s: int, resolution: str) -> None:
    """Raise ``ValueError`` naming the first point that is off the grid, out of order or not a
    finite number."""
    previous: int | None = None
    for index, (start, value) in enumerate(points):
        if start % interval_s:
            raise ValueError(f"points[{index}].timestamp is not on the {resolution} grid")
        if previous is not None and start <= previous:
            raise ValueError(f"points[{index}].timestamp is not after the point before it")
        if not math.isfinite(value):
            raise ValueError(f"points[{index}].kwh must be a finite number")
        previous = start


@functools.lru_cache(maxsize=16_384)
def _instant(epoch_s: int) -> datetime:
    """An interval start as a UTC datetime (the sites of one run share their recent starts)."""
    return datetime.fromtimestamp(epoch_s, UTC)


# --- LPC requests ------------------------------------------------------------------------------


def lpc_request(event: VolueEventRow) -> LpcRequest:
    """The stored event's LPC request; 409 for an event of another type."""
    request = report_format(REPORTS_TO).lpc_request(event.payload)
    if request is None:
        raise ConflictError(f"event {event.id} is a {event.type}, not an LPC request")
    return request


def lpc_deadline(request: LpcRequest, event: VolueEventRow) -> datetime:
    """An LPC request is answered before its limit starts (its first point); a request
    without points within ``LPC_ANSWER_WITHOUT_POINTS`` of its creation."""
    if request.starts:
        return min(request.starts)
    return (as_utc(event.created_at) or event.created_at) + LPC_ANSWER_WITHOUT_POINTS


def lpc_answer(request: LpcRequest, accept: Sequence[str], decline: Sequence[str]) -> LpcAnswer:
    """The answer for the named targets (in the order they were named)."""
    accepted, declined = set(accept), set(decline)
    both = accepted & declined
    if both:
        raise InvalidError(f"target {sorted(both)[0]} is both accepted and declined", field="decline")
    if not accepted and not declined:
        raise InvalidError("name at least one target to accept or decline", field="accept")
    targets = {t.target_id: t for t in request.targets}
    for name, ids in (("accept", accepted), ("decline", declined)):
        for target in sorted(ids):
            if target not in targets:
                raise InvalidError(f"{target} is not a target of this LPC request", field=name)
    return LpcAnswer(devices=request.devices, accepted=[targets[i] for i in accept] or None,
                     declined=[targets[i] for i in decline] or None)


def automatic_answer(request: LpcRequest, targets: Sequence[VolueEventTargetRow]) -> LpcAnswer:
    """Accept the request's targets that are ours (its resolved ``targets``), decline the rest."""
    if request.devices:
        ours = {t.device_id for t in targets if t.device_id}
    else:
        ours = {t.site_id for t in targets if t.site_id}
    mine: list[LpcTarget] = [t for t in request.targets if t.target_id in ours]
    others = [t for t in request.targets if t.target_id not in ours]
    return LpcAnswer(devices=request.devices, accepted=mine, declined=others or None)


async def _not_answered_yet(session: AsyncSession, volue_event_id: str, named: set[str]) -> None:
    """409 when a named target was answered already (by a caller, or automatically)."""
    earlier = await session.exec(select(VolueReportRow).where(
        VolueReportRow.volue_event_id == volue_event_id, VolueReportRow.kind == LPC_ACK))
    answered = report_format(REPORTS_TO).answered_targets
    for row in earlier:
        for target_id in answered(row.body):
            if target_id in named:
                raise ConflictError(f"target {target_id} of this LPC request was answered "
                                    f"already (report {row.id})")


async def queue_lpc_answer(session: AsyncSession, planner: OutboxPlanner, event_id: str, *,
                           accept: Sequence[str], decline: Sequence[str]) -> VolueReportRow:
    """A caller's answer to a stored LPC request, before its deadline, once per target."""
    event = await session.get(VolueEventRow, event_id)
    if event is None:
        raise NotFoundError(f"event {event_id} not found")
    request = lpc_request(event)
    deadline = lpc_deadline(request, event)
    if planner.now >= deadline:
        raise ConflictError(f"the LPC request's deadline ({deadline.isoformat()}) has passed")
    answer = lpc_answer(request, accept, decline)
    named = {*accept, *decline}
    await _not_answered_yet(session, event.volue_event_id, named)
    targets = (await session.execute(
        select(VolueEventTargetRow).where(VolueEventTargetRow.event_id == event.id))).scalars()
    customer_id = next((t.customer_id for t in targets if t.customer_id and
                        (t.site_id in named or t.device_id in named)), None)
    return queue_report(session, planner, kind=LPC_ACK, customer_id=customer_id or "",
                        report=Report(items=[answer], event_id=event.volue_event_id))


def queue_automatic_answer(session: AsyncSession, planner: OutboxPlanner, event_payload: Mapping[str, Any],
                           *, event_id: str, targets: Sequence[VolueEventTargetRow],
                           customer_id: str) -> VolueReportRow | None:
    """Acknowledge the LPC request in an event's (stored) payload for the targets that are ours,
    decline the rest; None for an event of another type."""
    request = report_format(REPORTS_TO).lpc_request(event_payload)
    if request is None:
        return None
    return queue_report(session, planner, kind=LPC_ACK, customer_id=customer_id,
                        report=Report(items=[automatic_answer(request, targets)], event_id=event_id))
