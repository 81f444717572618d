"""Derivation of interval consumption from register readings and interval quantities."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.energy.derive import _register_rising, _register_walk, derive_register, sum_intervals

HOUR = 3600


def _value_at(ts: list[int], values: list[float], t: int) -> float:
    for i in range(len(ts) - 1):
        if ts[i] <= t <= ts[i + 1]:
            if ts[i] == t:
                return values[i]
            return values[i] + (values[i + 1] - values[i]) * (t - ts[i]) / (ts[i + 1] - ts[i])
    assert ts[-1] == t
    return values[-1]


@st.composite
def register_streams(draw: st.DrawFn, *, monotone: bool) -> tuple[list[int], list[float]]:
    start = draw(st.integers(min_value=0, max_value=10 * HOUR))
    gaps = draw(st.lists(st.integers(min_value=1, max_value=3 * HOUR), min_size=0, max_size=60))
    ts = [start]
    for gap in gaps:
        ts.append(ts[-1] + gap)
    value = draw(st.floats(min_value=0, max_value=1e6))
    values = [value]
    for _ in gaps:
        if monotone:
            value += draw(st.floats(min_value=0, max_value=50))
        else:
            value += draw(st.floats(min_value=-100, max_value=50))
        values.append(value)
    return ts, values


@settings(max_examples=300)
@given(register_streams(monotone=True))
def test_sum_equals_register_increase_between_first_and_last_bracketed_boundaries(
        stream: tuple[list[int], list[float]]) -> None:
    """The derived intervals add up to the register's increase between the outer bracketed boundaries."""
    ts, values = stream
    derived = derive_register(ts, values, HOUR)
    assert not derived.flagged
    if not derived.values:
        return
    first, last = min(derived.values), max(derived.values) + HOUR
    assert sorted(derived.values) == list(range(first, last, HOUR))
    increase = _value_at(ts, values, last) - _value_at(ts, values, first)
    assert math.isclose(sum(derived.values.values()), increase, rel_tol=1e-9, abs_tol=1e-6)


@settings(max_examples=300)
@given(register_streams(monotone=False))
def test_no_unbracketed_interval_and_never_negative(stream: tuple[list[int], list[float]]) -> None:
    """Every derived or flagged interval lies between the first and last reading, and no point is negative."""
    ts, values = stream
    derived = derive_register(ts, values, HOUR)
    for start in [*derived.values, *derived.flagged]:
        assert ts[0] <= start and start + HOUR <= ts[-1]
        assert start % HOUR == 0
    assert all(v >= 0 for v in derived.values.values())
    assert not set(derived.values) & derived.flagged


def test_decreasing_register_flags_the_intervals_it_touches() -> None:
    """A meter exchange (register drops) flags the interval holding the drop and keeps the others."""
    ts = [0, 900, 1800, 2700, 3600, 4500, 5400, 6300, 7200, 8100, 9000, 9900, 10800]
    values = [100, 101, 102, 103, 104, 105, 1, 2, 3, 4, 5, 6, 7]
    derived = derive_register(ts, [float(v) for v in values], HOUR)
    assert derived.values == {0: 4.0, 2 * HOUR: 4.0}
    assert derived.flagged == {HOUR}


def test_register_interpolates_between_bracketing_readings() -> None:
    """Boundaries between readings take the linear value; intervals not closed by readings are left out."""
    derived = derive_register([1800, 5400, 9000], [10.0, 12.0, 20.0], HOUR)
    # value at 3600 = 11, at 7200 = 16; only [3600, 7200) is bracketed on both sides.
    assert derived.values == {HOUR: 5.0}
    assert derive_register([1800], [10.0], HOUR).values == {}


def test_interval_quantities_sum_per_interval_when_bracketed() -> None:
    """Quarter-hour quantities stamped at their period's end add up to hours; open hours are left out."""
    ts = list(range(900, 3 * HOUR + 1, 900))
    # Readings of a window (not the series' first): the first hour is not bracketed.
    assert sum_intervals(ts, [0.25] * len(ts), HOUR).values == {HOUR: 1.0, 2 * HOUR: 1.0}
    derived = sum_intervals(ts, [0.25] * len(ts), HOUR, opens=True)
    # The series' first reading (900) ends the quarter hour from 0 (its resolution): the first hour counts.
    assert derived.values == {0: 1.0, HOUR: 1.0, 2 * HOUR: 1.0}
    derived = sum_intervals([0, *ts], [0.25] * (len(ts) + 1), HOUR)
    assert derived.values == {0: 1.0, HOUR: 1.0, 2 * HOUR: 1.0}
    # A series starting mid-hour (its first period from 1800) leaves that hour out; the last open hour too.
    late = list(range(2700, 3 * HOUR + 1800, 900))
    assert sum_intervals(late, [0.25] * len(late), HOUR, opens=True).values == {HOUR: 1.0, 2 * HOUR: 1.0}
    hourly = list(range(HOUR, 4 * HOUR + 1, HOUR))
    assert sum_intervals(hourly, [1.5] * len(hourly), HOUR, opens=True).values == {
        0: 1.5, HOUR: 1.5, 2 * HOUR: 1.5, 3 * HOUR: 1.5}


@settings(max_examples=300)
@given(register_streams(monotone=True), st.sampled_from([900, HOUR, 86_400]))
def test_rising_register_shortcut_equals_the_boundary_walk(stream: tuple[list[int], list[float]],
                                                            interval_s: int) -> None:
    """A register that never goes down gets exactly the points and flags of the general walk."""
    ts, values = stream
    lo = -(-ts[0] // interval_s) * interval_s
    hi = ts[-1] - ts[-1] % interval_s
    if hi - lo < interval_s:
        return
    fast = _register_rising(ts, values, interval_s, lo, hi)
    walk = _register_walk(ts, values, interval_s, lo, hi)
    assert (fast.values, fast.flagged) == (walk.values, walk.flagged)

