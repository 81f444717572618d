"""Consumption per interval, derived from meter readings (pure: no I/O, no clock).

Rules (each tested in ``tests/unit/test_energy_derive.py``):

* **Registers** (cumulative, ``x.8.0``): an interval ``[start, end)`` is worth the
  register's value at ``end`` minus its value at ``start``; the value at a boundary is
  the reading taken exactly then, or else linear between the readings either side of
  it. An interval is derived only when readings **bracket both its boundaries** (one
  at or before ``start``, one at or after ``end``), so the first and last intervals
  of a stream are left out until later readings close them.
* **A register that goes down** (meter exchange, rollover) never yields a negative
  point: every interval whose boundary interpolation spans a decreasing pair of
  readings is **flagged** and left out of the derived values.
* **Interval quantities** (``x.9.0``, ``x.29.0``): a value stamped at ``t`` is the
  quantity of the metering period that *ends* at ``t`` and belongs to the interval
  holding ``t - 1``; an interval is the sum of its values and is derived only when
  its start and end are known: a reading stamped at or after ``end``, and either one
  stamped at or before ``start`` or, when the readings given are the series' very first
  (``opens``), a first reading whose period starts at or before ``start``. A series'
  metering period is its resolution, the smallest step between its stamps, so a load
  profile stamped at period end (``00:15``, ``00:30`` ...) has its first hour (from
  ``00:00``) derived too. (Readings that are a window of a longer series begin with the
  reading before the window, which brackets as before; earlier readings of its interval
  are not loaded, so no start is inferred there.)

Timestamps are epoch seconds (int); intervals are aligned to the epoch (for one
hour or one day: UTC hours and days).
"""

from __future__ import annotations

import operator
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["Derived", "derive_intervals", "derive_register", "sum_intervals"]

_ROUNDING = 1e-9


@dataclass(slots=True)
class Derived:
    """Interval starts mapped to their quantity, and the starts of flagged intervals."""

    values: dict[int, float] = field(default_factory=dict)
    flagged: set[int] = field(default_factory=set)

    def merge_missing(self, other: Derived) -> None:
        """Take ``other``'s intervals where this one has none (neither value nor flag)."""
        if not self.values and not self.flagged:
            self.values.update(other.values)
            self.flagged.update(other.flagged)
            return
        for start, value in other.values.items():
            if start not in self.values and start not in self.flagged:
                self.values[start] = value
        for start in other.flagged:
            if start not in self.values:
                self.flagged.add(start)


def derive_register(ts: Sequence[int], values: Sequence[float], interval_s: int) -> Derived:
    """Interval consumption from register readings sorted by strictly increasing ``ts``."""
    n = len(ts)
    if n < 2:
        return Derived()
    first, last = ts[0], ts[-1]
    # The first boundary at or after the first reading, the last at or before the last one.
    lo = -(-first // interval_s) * interval_s
    hi = last - last % interval_s
    if hi - lo < interval_s:
        return Derived()
    if not any(map(operator.lt, values[1:], values[:-1])):
        return _register_rising(ts, values, interval_s, lo, hi)
    return _register_walk(ts, values, interval_s, lo, hi)


def _register_rising(ts: Sequence[int], values: Sequence[float], interval_s: int, lo: int,
                     hi: int) -> Derived:
    """:func:`derive_register` of a register that never goes down (the common case): no
    interval can be flagged but for a rounding step, so the boundaries are found by bisection
    and the differences taken in one pass."""
    at: list[float] = []
    j = 0
    for boundary in range(lo, hi + 1, interval_s):
        j = bisect_right(ts, boundary, j) - 1
        t0 = ts[j]
        if t0 == boundary:
            at.append(values[j])
        else:
            v0 = values[j]
            at.append(v0 + (values[j + 1] - v0) * (boundary - t0) / (ts[j + 1] - t0))
    diffs = list(map(operator.sub, at[1:], at[:-1]))
    starts = range(lo, hi, interval_s)
    out = Derived()
    if min(diffs) >= 0:
        out.values = dict(zip(starts, diffs, strict=True))
        return out
    for start, diff, value in zip(starts, diffs, at[1:], strict=True):
        if diff >= 0:
            out.values[start] = diff
        elif diff < -_ROUNDING * max(1.0, abs(value)):
            out.flagged.add(start)
        else:  # interpolation rounds: a last-place step down of a flat register is no decrease
            out.values[start] = 0.0
    return out


def _register_walk(ts: Sequence[int], values: Sequence[float], interval_s: int, lo: int,
                   hi: int) -> Derived:
    """:func:`derive_register` of any register, walking boundary by boundary."""
    out = Derived()
    n = len(ts)
    out_values = out.values
    flagged = out.flagged
    j = 0  # ts[j] <= boundary < ts[j + 1] while walking, or ts[j] == boundary
    prev_value = 0.0
    prev_bad = False
    boundary = lo
    have_prev = False
    while boundary <= hi:
        while j + 1 < n and ts[j + 1] <= boundary:
            j += 1
        t0 = ts[j]
        if t0 == boundary:
            value = values[j]
            bad = False
        else:
            t1 = ts[j + 1]
            v0 = values[j]
            v1 = values[j + 1]
            value = v0 + (v1 - v0) * (boundary - t0) / (t1 - t0)
            bad = v1 < v0
        if have_prev:
            start = boundary - interval_s
            # A decrease anywhere between the two boundaries (readings strictly inside
            # the interval) flags the interval too.
            down = bad or prev_bad or _decreases_between(ts, values, start, boundary, j)
            diff = value - prev_value
            if diff < 0 and not down:
                # Interpolation rounds: a last-place step down of a flat register is no decrease.
                down = diff < -_ROUNDING * max(1.0, abs(value))
                diff = 0.0
            if down:
                flagged.add(start)
            else:
                out_values[start] = diff
        prev_value = value
        prev_bad = bad
        have_prev = True
        boundary += interval_s
    return out


def _decreases_between(ts: Sequence[int], values: Sequence[float], start: int, end: int,
                       j: int) -> bool:
    """Whether readings from ``start`` to ``end`` (``ts[j]`` the last at or before ``end``) go down."""
    k = j
    while k > 0 and ts[k - 1] >= start:
        if values[k] < values[k - 1]:
            return True
        k -= 1
    return False


def sum_intervals(ts: Sequence[int], values: Sequence[float], interval_s: int, *,
                  opens: bool = False) -> Derived:
    """Interval sums of interval quantities (each stamped at the end of its period, ``ts``
    strictly increasing). With ``opens`` (``ts[0]`` is the series' first reading) the first
    reading's period starts one resolution (the smallest step between stamps) before it: an
    interval from there on is known from its start."""
    out = Derived()
    if len(ts) < 2:
        return out
    resolution = min(map(operator.sub, ts[1:], ts[:-1])) if opens else 0
    first, last = ts[0] - resolution, ts[-1]
    sums: dict[int, float] = {}
    for t, v in zip(ts, values, strict=True):
        start = (t - 1) - (t - 1) % interval_s
        sums[start] = sums.get(start, 0.0) + v
    for start, total in sums.items():
        if first <= start and start + interval_s <= last:
            if total < 0:
                out.flagged.add(start)
            else:
                out.values[start] = total
    return out


def derive_intervals(kind: str, ts: Sequence[int], values: Sequence[float], interval_s: int, *,
                     opens: bool = False) -> Derived:
    """``kind`` ``register`` (cumulative) or ``interval`` (quantities per period); ``opens``:
    ``ts[0]`` is the series' first reading (see :func:`sum_intervals`)."""
    if kind == "register":
        return derive_register(ts, values, interval_s)
    return sum_intervals(ts, values, interval_s, opens=opens)
