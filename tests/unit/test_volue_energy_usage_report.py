"""The LocationEnergyUsage report body: valid against Volue's document, refusing what it cannot read."""

from __future__ import annotations

import math

import msgspec
import pytest

from providers.volue.energy_usage import location_energy_usage_report
from tests.integration.test_reports import spec_check

DAY0 = 1_700_006_400


def test_points_of_two_days_become_two_payloads_valid_against_the_document() -> None:
    """Points are split per UTC day into LocationEnergyUsage payloads that the OpenAPI schema accepts."""
    points = [(DAY0 + 22 * 3600, 1.5), (DAY0 + 23 * 3600, 0.25), (DAY0 + 24 * 3600, 2.0)]
    report = location_energy_usage_report(location_id="loc-1", meter_point_id="707057500012345678",
                                          interval_s=3600, points=points)
    body = msgspec.to_builtins(report)
    spec_check(body)
    assert [len(p["points"]) for p in body["payloads"]] == [2, 1]
    first = body["payloads"][0]
    assert (first["payloadType"], first["resolution"], first["points"][0]) == (
        "LocationEnergyUsage", "01:00:00", {"timestamp": "2023-11-15T22:00:00Z", "kiloWattHours": 1.5})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"location_id": ""}, "locationId and meterPointId"),
        ({"points": []}, "at least one point"),
        ({"points": [(DAY0 + 60, 1.0)]}, "not on the 01:00:00 grid"),
        ({"points": [(DAY0 + 3600, 1.0), (DAY0, 1.0)]}, "not after the point before it"),
        ({"points": [(DAY0, math.nan)]}, "finite"),
        ({"interval_s": 7 * 3600}, "divide a day evenly"),
    ],
)
def test_what_volue_cannot_read_is_refused(kwargs: dict[str, object], message: str) -> None:
    """Missing ids, empty, off-grid, unordered or non-finite points and odd resolutions raise ValueError."""
    args: dict[str, object] = {"location_id": "loc-1", "meter_point_id": "707057500012345678",
                               "interval_s": 3600, "points": [(DAY0, 1.0)], **kwargs}
    with pytest.raises(ValueError, match=message):
        location_energy_usage_report(**args)  # type: ignore[arg-type]
