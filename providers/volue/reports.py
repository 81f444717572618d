"""Canonical reports → Volue's ``POST /reports`` body (``PostReportRequest``), and back.

One canonical item is one payload: a device's usage an ``EnergyUsage``, a site's usage a
``LocationEnergyUsage``, a site's plan a ``LocationEnergyUsagePlan``, an LPC answer a
``LocationLPCAcknowledgement`` or ``ResourceLPCAcknowledgement``. Our ids are Volue's ids
(``locationId`` = site id, ``resourceId`` = device id); a curve's resolution is its interval
as a time span (``01:00:00``) and its kWh travel with 3 decimals (whole Wh).

:data:`FORMAT` needs no connection: the gateway renders a report when it stores it, so the
stored body is the request exactly as the adapter later sends it. It also reads what
answering an LPC request needs from a stored ``LocationLPC``/``ResourceLPC`` event payload,
and which targets a stored acknowledgement named.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import msgspec

from gateway.core.clock import as_utc
from gateway.core.quantities import kwh
from gateway.core.reports import (
    DeviceEnergyUsage,
    EnergyPoint,
    LpcAnswer,
    LpcRequest,
    LpcTarget,
    Report,
    ReportItem,
    SiteEnergyPlan,
    SiteEnergyUsage,
)
from gateway.core.timespan import time_span
from providers.volue import schemas as vs


def curve(points: Iterable[EnergyPoint]) -> list[vs.EnergyCurvePoint]:
    """The points as Volue's curve, kWh rounded to 3 decimals."""
    return [vs.EnergyCurvePoint(timestamp=p.start, kilo_watt_hours=kwh(p.kwh)) for p in points]


def payload(item: ReportItem) -> vs.SparkReportPayload:
    """The ``PostReportRequest`` payload of one canonical item."""
    if isinstance(item, SiteEnergyUsage):
        return vs.LocationEnergyUsageReportPayload(
            location_id=item.site_id, meter_point_id=item.meter_point_id,
            resolution=time_span(item.interval_s), points=curve(item.points))
    if isinstance(item, DeviceEnergyUsage):
        return vs.EnergyUsageReportPayload(
            resource_id=item.device_id, location_id=item.site_id, meter_point_id=item.meter_point_id,
            resolution=time_span(item.interval_s), points=curve(item.points))
    if isinstance(item, SiteEnergyPlan):
        return vs.LocationEnergyUsagePlanReportPayload(
            location_id=item.site_id, meter_point_id=item.meter_point_id,
            resolution=time_span(item.interval_s), baseline=curve(item.baseline),
            flexibility=curve(item.flexibility))
    return _acknowledgement(item)


def _acknowledgement(answer: LpcAnswer) -> vs.SparkReportPayload:
    def listed(targets: list[LpcTarget] | None, kind: Any) -> Any:
        return None if targets is None else [kind(t) for t in targets]

    if answer.devices:
        return vs.ResourceLPCAcknowledgmentReportPayload(
            acknowledged_targets=listed(answer.accepted, _resource),
            declined_targets=listed(answer.declined, _resource))
    return vs.LocationLPCAcknowledgmentReportPayload(
        acknowledged_targets=listed(answer.accepted, _location),
        declined_targets=listed(answer.declined, _location))


def _resource(target: LpcTarget) -> vs.LPCResource:
    return vs.LPCResource(meter_point_id=target.meter_point_id, location_id=target.site_id,
                          resource_id=target.device_id or "")


def _location(target: LpcTarget) -> vs.LPCLocation:
    return vs.LPCLocation(location_id=target.site_id, meter_point_id=target.meter_point_id)


def render(report: Report) -> vs.PostReportRequest:
    """The ``POST /reports`` body of ``report``."""
    return vs.PostReportRequest(event_id=report.event_id, payloads=[payload(i) for i in report.items])


def lpc_request(event_payload: Mapping[str, Any]) -> LpcRequest | None:
    """The LPC request a stored event payload holds; None for an event of another type."""
    found = msgspec.convert(event_payload, vs.SparkEventPayload)
    if isinstance(found, vs.LocationLPCPayload):
        targets = [LpcTarget(site_id=t.location_id, meter_point_id=t.meter_point_id)
                   for t in found.targets]
        return LpcRequest(devices=False, targets=targets, starts=_starts(found.targets))
    if isinstance(found, vs.ResourceLPCPayload):
        targets = [LpcTarget(site_id=t.location_id, meter_point_id=t.meter_point_id,
                             device_id=t.resource_id) for t in found.targets]
        return LpcRequest(devices=True, targets=targets, starts=_starts(found.targets))
    return None


def _starts(targets: Iterable[vs.LocationLPCTarget | vs.ResourceLPCTarget]) -> list[datetime]:
    return [as_utc(p.timestamp) for t in targets for p in t.points if p.timestamp is not None]


def answered_targets(body: Mapping[str, Any]) -> list[str]:
    """The ids of the targets (``resourceId``, else ``locationId``) a stored acknowledgement
    body accepted or declined, in its order."""
    found: list[str] = []
    payloads = body.get("payloads")
    for item in payloads if isinstance(payloads, list) else []:
        if not isinstance(item, dict):
            continue
        for key in ("acknowledgedTargets", "declinedTargets"):
            for target in item.get(key) or []:
                target_id = target.get("resourceId") or target.get("locationId")
                if target_id:
                    found.append(target_id)
    return found


class VolueReportFormat:
    """``ReportFormat`` of Volue: the functions above, as one object."""

    def render_report(self, report: Report) -> msgspec.Struct:
        """The ``POST /reports`` body of ``report``."""
        return render(report)

    def lpc_request(self, event_payload: Mapping[str, Any]) -> LpcRequest | None:
        """The LPC request a stored event payload holds; None for another event type."""
        return lpc_request(event_payload)

    def answered_targets(self, body: Mapping[str, Any]) -> list[str]:
        """The target ids a stored acknowledgement body accepted or declined."""
        return answered_targets(body)


FORMAT = VolueReportFormat()
"""Volue's report format (no connection needed)."""
