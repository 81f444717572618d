"""The ``LocationEnergyUsage`` report (``POST /reports``), checked against Volue's document.

One request carries one payload per UTC day (``payloads`` is an array), so a site's
changed points of several days travel together and each day stays its own curve.

``LocationEnergyUsageReportPayload`` (ec-sandbox-swagger.json) requires ``locationId``,
``meterPointId`` and ``resolution`` (a ``time-span`` such as ``01:00:00``); each
``EnergyCurvePoint`` requires ``timestamp`` (date-time) and ``kiloWattHours`` (double).
The document sets no bound on a point's value; this builder also refuses what Volue
could not read as a curve of that resolution: points off the resolution's grid, out of
order or repeated, and values that are not finite numbers.

Quantities travel with a fixed precision: kWh to ``KWH_DECIMALS`` decimals (whole Wh),
rounded to the nearest (:func:`gateway.core.quantities.kwh`), so a value such as ``2.2999999999999545`` (the
binary-float difference of two register readings) goes out as ``2.3``.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import math
import operator
from collections.abc import Sequence
from datetime import UTC, datetime

from gateway.core.quantities import KWH_DECIMALS, from_wh, kwh, wh
from gateway.core.timespan import DAY_S, interval_seconds, time_span
from providers.volue import schemas as vs

__all__ = ["KWH_DECIMALS", "from_wh", "kwh", "location_energy_usage_report", "wh"]


def location_energy_usage_report(*, location_id: str, meter_point_id: str, interval_s: int,
                                 points: Sequence[tuple[int, float]],
                                 event_id: str | None = None) -> vs.PostReportRequest:
    """A ``PostReportRequest`` with one ``LocationEnergyUsage`` payload per UTC day of ``points``
    ((interval start in epoch seconds, kWh), increasing). ``ValueError`` says what is wrong."""
    if not location_id or not meter_point_id:
        raise ValueError("a LocationEnergyUsage report needs locationId and meterPointId")
    resolution = time_span(interval_s)
    interval_seconds(resolution)  # a minute or more, dividing a day evenly
    if not points:
        raise ValueError("a LocationEnergyUsage report needs at least one point")
    starts = [start for start, _ in points]
    kwhs = [value for _, value in points]
    if (any(map(operator.mod, starts, itertools.repeat(interval_s)))
            or any(map(operator.ge, starts[:-1], starts[1:])) or not all(map(math.isfinite, kwhs))):
        _refuse(points, interval_s, resolution)
    curve = list(map(vs.EnergyCurvePoint, map(_instant, starts), map(kwh, kwhs)))
    days: list[list[vs.EnergyCurvePoint]] = []
    first = 0
    while first < len(starts):  # the points of one UTC day after another
        end = bisect.bisect_left(starts, (starts[first] // DAY_S + 1) * DAY_S, first)
        days.append(curve[first:end])
        first = end
    payloads: list[vs.SparkReportPayload] = [
        vs.LocationEnergyUsageReportPayload(location_id=location_id, meter_point_id=meter_point_id,
                                            resolution=resolution, points=day)
        for day in days]
    return vs.PostReportRequest(event_id=event_id, payloads=payloads)


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
            raise ValueError(f"points[{index}].kiloWattHours must be a finite number")
        previous = start


@functools.lru_cache(maxsize=16_384)
def _instant(epoch_s: int) -> datetime:
    """An interval start as a UTC datetime (the sites of one run share their recent starts)."""
    return datetime.fromtimestamp(epoch_s, UTC)
