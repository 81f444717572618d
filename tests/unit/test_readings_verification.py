"""Delivered readings matched with a read-back by what identifies them, not by the free-text label."""

from __future__ import annotations

from gateway.readings.verification import CONVENTIONS, best_convention, compare, identity_of
from providers.base import StoredReading

START = "timeStamp starts the period [t, t + 15 min)"
END_CLOSED = "timeStamp ends the period (t - 15 min, t]"
T0 = 1_700_006_400  # a period boundary


def held(cumulative: bool, ts: int, value: float, direction: str = "in") -> StoredReading:
    return StoredReading(cumulative=cumulative, direction=direction, timestamp=ts, value=value,
                         label="Stromzähler")


def test_identity_of_codes() -> None:
    """Registers and quantities, import and export are told apart by the OBIS code."""
    assert identity_of("1-1:1.8.0") == (True, "in")
    assert identity_of("1-1:2.8.0") == (True, "out")
    assert identity_of("1-1:1.29.0") == (False, "in")
    assert identity_of("1-1:2.9.0") == (False, "out")
    assert identity_of("7-1:3.1.0") == (True, "in")


def test_text_labels_verify_everything_and_a_lost_period_is_missing() -> None:
    """With text labels each held period is verified by kind, direction, period and value; a lost one not."""
    readings = [("1-1:1.8.0", T0 + n * 300, 10.0 + n) for n in range(9)]  # three per period
    answer = [held(True, T0, 12.0), held(True, T0 + 900, 15.0), held(True, T0 + 1800, 18.0)]
    found = compare(readings, answer, CONVENTIONS[START])
    assert (len(found.verified), found.missing) == (9, [])
    found = compare(readings, answer[:1] + answer[2:], CONVENTIONS[START])
    assert found.missing == readings[3:6]
    wrong = compare(readings, [*answer[:2], held(True, T0 + 1800, 17.5)], CONVENTIONS[START])
    assert wrong.missing == readings[6:]
    other_direction = compare(readings, [held(True, T0, 12.0, "out")], CONVENTIONS[START])
    assert len(other_direction.missing) == 9


def test_period_end_stamps_are_measured_from_the_answer() -> None:
    """A provider stamping each period with its end is recognised: all verified, nothing missing."""
    readings = [("1-1:1.29.0", T0 + n * 300, 0.25) for n in range(1, 10)]  # (T0, T0 + 45 min]
    answer = [held(False, T0 + 900, 0.75), held(False, T0 + 1800, 0.75), held(False, T0 + 2700, 0.75)]
    assert best_convention([(readings, answer, None)]) == END_CLOSED
    found = compare(readings, answer, CONVENTIONS[END_CLOSED])
    assert (len(found.verified), found.missing) == (9, [])
    assert compare(readings, answer, CONVENTIONS[START]).missing  # the assumption the check used to make
    start_stamped = [held(False, T0, 0.5), held(False, T0 + 900, 0.75), held(False, T0 + 1800, 0.75),
                     held(False, T0 + 2700, 0.25)]
    assert best_convention([(readings, start_stamped, None)]) == START


def test_codes_of_one_kind_match_value_by_value_or_merged() -> None:
    """Two quantities of one period match each its own value, or together when the provider summed them."""
    readings = [("1-1:1.29.0", T0 + 900, 0.5), ("1-1:1.9.0", T0 + 900, 0.25)]
    stamp = CONVENTIONS[END_CLOSED]
    both = compare(readings, [held(False, T0 + 900, 0.25), held(False, T0 + 900, 0.5)], stamp)
    assert (len(both.verified), both.missing) == (2, [])
    merged = compare(readings, [held(False, T0 + 900, 0.75)], stamp)
    assert (len(merged.verified), merged.missing) == (2, [])
    one = compare(readings, [held(False, T0 + 900, 0.5)], stamp)
    assert one.missing == [readings[1]]


def test_periods_before_the_checked_day_are_left_out() -> None:
    """Readings loaded only to complete a period are not judged themselves."""
    readings = [("1-1:1.8.0", T0 - 300, 1.0), ("1-1:1.8.0", T0 + 300, 2.0)]
    found = compare(readings, [held(True, T0, 2.0)], CONVENTIONS[START], checked_after=T0)
    assert (found.verified, found.missing) == ([readings[1]], [])
