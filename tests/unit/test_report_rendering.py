"""Canonical reports and Volue's rendering of them: the exact ``POST /reports`` bytes, valid
against the document; the derived usage split per UTC day; LPC requests and answers read back."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta, timezone

import msgspec
import pytest

from gateway.core.domain import Provider
from gateway.core.reports import (
    DeviceEnergyUsage,
    EnergyPoint,
    LpcRequest,
    LpcTarget,
    Report,
    SiteEnergyPlan,
    SiteEnergyUsage,
)
from gateway.reports.service import automatic_answer, daily_site_usage, lpc_answer
from gateway.store.event_tables import VolueEventTargetRow
from providers.registry import report_format
from providers.volue.reports import FORMAT, answered_targets, lpc_request, render
from tests.integration.test_reports import spec_check

DAY0 = 1_700_006_400
HOUR = datetime(2026, 3, 3, 12, tzinfo=UTC)
MP = "707057500012345678"
SITE_A = LpcTarget(site_id="s-a", meter_point_id=MP)
SITE_B = LpcTarget(site_id="s-b", meter_point_id=MP)


def _encode(report: Report) -> bytes:
    return msgspec.json.encode(render(report))


def test_a_device_usage_renders_as_energy_usage_bytes() -> None:
    """A device's usage is an EnergyUsage payload; kWh rounded to 3 decimals, absent members left out."""
    points = [EnergyPoint(HOUR, 0.1 + 0.2), EnergyPoint(HOUR + timedelta(hours=1), 2)]
    usage = DeviceEnergyUsage(device_id="d-1", site_id="s-1", interval_s=3600, points=points)
    assert _encode(Report(items=[usage])) == (
        b'{"payloads":[{"payloadType":"EnergyUsage","resourceId":"d-1","resolution":"01:00:00",'
        b'"locationId":"s-1","points":[{"timestamp":"2026-03-03T12:00:00Z","kiloWattHours":0.3},'
        b'{"timestamp":"2026-03-03T13:00:00Z","kiloWattHours":2.0}]}]}')


def test_site_usage_and_plan_keep_the_callers_offset_and_name_the_event() -> None:
    """Site usage and plans render as LocationEnergyUsage(Plan), naming the event, points in their offset."""
    at = datetime(2026, 3, 3, 14, tzinfo=timezone(timedelta(hours=2)))
    usage = SiteEnergyUsage(site_id="s-1", meter_point_id=MP, interval_s=3600,
                            points=[EnergyPoint(at, 1.23456)])
    plan = SiteEnergyPlan(site_id="s-1", meter_point_id=MP, interval_s=3600,
                          baseline=[EnergyPoint(at, 1.0)], flexibility=[EnergyPoint(at, 0.5)])
    body = msgspec.to_builtins(render(Report(items=[usage, plan], event_id="e-1")))
    spec_check(body)
    assert body["eventId"] == "e-1"
    assert body["payloads"][0] == {
        "payloadType": "LocationEnergyUsage", "locationId": "s-1", "meterPointId": MP,
        "resolution": "01:00:00",
        "points": [{"timestamp": "2026-03-03T14:00:00+02:00", "kiloWattHours": 1.235}]}
    assert [body["payloads"][1][k] for k in ("payloadType", "baseline", "flexibility")] == [
        "LocationEnergyUsagePlan", [{"timestamp": "2026-03-03T14:00:00+02:00", "kiloWattHours": 1.0}],
        [{"timestamp": "2026-03-03T14:00:00+02:00", "kiloWattHours": 0.5}]]


def test_lpc_answers_keep_an_empty_list_apart_from_an_unstated_one() -> None:
    """An empty accepted list is sent as []; a list left None is left out; a device names its resource."""
    request = LpcRequest(devices=False, targets=[SITE_A, SITE_B], starts=[])
    ours = [VolueEventTargetRow(event_id="x", customer_id="c", site_id="s-b", device_id=None)]
    body = msgspec.to_builtins(render(Report(items=[automatic_answer(request, [])], event_id="e")))
    assert body["payloads"] == [{"payloadType": "LocationLPCAcknowledgement", "acknowledgedTargets": [],
                                 "declinedTargets": [{"locationId": "s-a", "meterPointId": MP},
                                                     {"locationId": "s-b", "meterPointId": MP}]}]
    mine = msgspec.to_builtins(render(Report(items=[automatic_answer(request, ours)])))["payloads"][0]
    assert [t["locationId"] for t in mine["acknowledgedTargets"]] == ["s-b"]
    device = LpcTarget(site_id="s-a", meter_point_id=MP, device_id="d-1")
    answer = lpc_answer(LpcRequest(devices=True, targets=[device], starts=[]), accept=["d-1"], decline=[])
    body = msgspec.to_builtins(render(Report(items=[answer], event_id="e")))
    spec_check(body)
    assert body["payloads"] == [{"payloadType": "ResourceLPCAcknowledgement", "acknowledgedTargets": [
        {"meterPointId": MP, "locationId": "s-a", "resourceId": "d-1"}]}]
    assert answered_targets(body) == ["d-1"]


def test_a_stored_lpc_event_reads_as_its_request() -> None:
    """A stored LocationLPC payload gives its targets and limit starts; a price curve is no LPC request."""
    payload = {"payloadType": "LocationLPC", "targets": [
        {"locationId": "s-a", "meterPointId": MP, "resolution": "01:00:00",
         "points": [{"maxPowerInKiloWatts": 3.0, "timestamp": "2026-03-03T13:00:00Z"},
                    {"maxPowerInKiloWatts": 2.0}]}]}
    assert lpc_request(payload) == LpcRequest(devices=False, targets=[SITE_A],
                                              starts=[HOUR + timedelta(hours=1)])
    assert lpc_request({"payloadType": "UserEligibility", "lastUpdated": "2026-03-03T12:00:00Z",
                        "addedUsers": [], "removedUsers": []}) is None
    assert report_format(Provider.VOLUE) is FORMAT


def test_derived_points_of_two_days_become_two_items_valid_against_the_document() -> None:
    """Derived points are split per UTC day, each day its own LocationEnergyUsage payload."""
    points = [(DAY0 + 22 * 3600, 1.5), (DAY0 + 23 * 3600, 0.25), (DAY0 + 24 * 3600, 2.0)]
    report = daily_site_usage(site_id="loc-1", meter_point_id=MP, interval_s=3600, points=points)
    body = msgspec.to_builtins(render(report))
    spec_check(body)
    assert [len(p["points"]) for p in body["payloads"]] == [2, 1]
    first = body["payloads"][0]
    assert (first["payloadType"], first["resolution"], first["points"][0]) == (
        "LocationEnergyUsage", "01:00:00", {"timestamp": "2023-11-15T22:00:00Z", "kiloWattHours": 1.5})


def test_derived_register_noise_goes_out_with_three_decimals() -> None:
    """A register difference such as 1002.4 - 1000.1 is sent as 2.3."""
    report = daily_site_usage(site_id="s", meter_point_id=MP, interval_s=900,
                              points=[(DAY0, 1002.4 - 1000.1)])
    body = _encode(report)
    assert re.findall(rb'"kiloWattHours":([0-9.]+)', body) == [b"2.3"]
    assert b'"resolution":"00:15:00"' in body


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"site_id": ""}, "site and meter point id"),
        ({"points": []}, "at least one point"),
        ({"points": [(DAY0 + 60, 1.0)]}, "not on the 01:00:00 grid"),
        ({"points": [(DAY0 + 3600, 1.0), (DAY0, 1.0)]}, "not after the point before it"),
        ({"points": [(DAY0, math.nan)]}, "finite"),
        ({"interval_s": 7 * 3600}, "divide a day evenly"),
    ],
)
def test_what_cannot_be_read_as_a_curve_is_refused(kwargs: dict[str, object], message: str) -> None:
    """Missing ids, empty, off-grid, unordered or non-finite points and odd intervals raise ValueError."""
    args: dict[str, object] = {"site_id": "loc-1", "meter_point_id": MP, "interval_s": 3600,
                               "points": [(DAY0, 1.0)], **kwargs}
    with pytest.raises(ValueError, match=message):
        daily_site_usage(**args)  # type: ignore[arg-type]
