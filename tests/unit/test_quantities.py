"""kWh leave the gateway with at most 3 decimals, whatever binary-float noise the arithmetic made."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from gateway.core.quantities import from_wh, kwh, wh
from gateway.core.reports import DeviceEnergyUsage, EnergyPoint, Report, SiteEnergyPlan
from gateway.reports.service import daily_site_usage
from providers.volue.reports import render

NUMBER = re.compile(rb'"kiloWattHours":(-?[0-9.eE+-]+)')
DAY0 = 1_700_006_400


def _decimals(body: bytes) -> list[int]:
    """Decimals of every kiloWattHours number in a JSON body."""
    found = []
    for raw in NUMBER.findall(body):
        text = raw.decode()
        assert "e" not in text.lower(), text
        found.append(len(text.split(".")[1]) if "." in text else 0)
    return found


@given(st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), min_size=2, max_size=30))
def test_register_differences_go_out_with_three_decimals(registers: list[float]) -> None:
    """Differences of register values (2.2999999999999545 and the like) are sent with at most 3 decimals."""
    diffs = [abs(b - a) for a, b in itertools.pairwise(registers)]
    body = msgspec.json.encode(render(daily_site_usage(
        site_id="s", meter_point_id="707057500012340001", interval_s=3600,
        points=[(DAY0 + 3600 * n, d) for n, d in enumerate(diffs)])))
    assert max(_decimals(body)) <= 3
    assert all(abs(kwh(d) - d) <= 0.0005 + 1e-9 for d in diffs)


def test_known_noise_and_exact_sums() -> None:
    """The figure from the field reads 2.3; whole-Wh sums have no noise."""
    assert kwh(1002.4 - 1000.1) == 2.3 and repr(1002.4 - 1000.1) != "2.3"
    assert from_wh(sum(wh(0.1) for _ in range(3))) == 0.3 != 0.1 + 0.1 + 0.1
    assert kwh(-0.0001) == 0.0 and repr(kwh(-0.0001)) == "0.0"


def test_every_report_curve_is_rounded() -> None:
    """Device usage and plan reports, as Volue's bodies, carry 3 decimals in every curve."""
    at = datetime(2026, 1, 1, tzinfo=UTC)
    noisy = [EnergyPoint(at, 0.1 + 0.2), EnergyPoint(at, 1.23456)]
    usage = Report(items=[DeviceEnergyUsage(device_id="r", site_id=None, interval_s=3600, points=noisy)])
    plan = Report(items=[SiteEnergyPlan(site_id="s", meter_point_id="m", interval_s=3600,
                                        baseline=noisy, flexibility=noisy)])
    for report in (usage, plan):
        body = msgspec.json.encode(render(report))
        assert _decimals(body) and max(_decimals(body)) <= 3
    assert b"\"kiloWattHours\":0.3}" in msgspec.json.encode(render(usage))
