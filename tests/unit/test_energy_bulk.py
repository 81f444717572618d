"""Helpers of the set-based energy derivation that need no database."""

from __future__ import annotations

from datetime import UTC, datetime

from gateway.energy.bulk import FreshPoints, _in_order


def test_aggregated_readings_out_of_order_are_sorted_by_time_with_their_values() -> None:
    """A series whose timestamps come back unordered is sorted, each value staying with its time."""
    assert _in_order([30, 10, 20], [3.0, 1.0, 2.0]) == ([10, 20, 30], [1.0, 2.0, 3.0])
    ordered = ([10, 20, 30], [1.0, 2.0, 3.0])
    assert _in_order(*ordered) == ordered


def test_new_points_carry_their_groups_report_only_where_they_have_a_value() -> None:
    """A new point is reported with its group's report when it has a value, never when flagged."""
    fresh = FreshPoints()
    fresh.add("s1", "import", "d1", "mp1", "r1", [0, 3600], [1.5, None])
    fresh.add("s1", "export", "d1", "mp1", None, [0], [0.5])
    now = datetime(2024, 1, 1, tzinfo=UTC)
    assert fresh.rows(3600, now) == [
        ("s1", "import", 0, 3600, "d1", "mp1", 1.5, False, 1.5, "r1", now),
        ("s1", "import", 3600, 3600, "d1", "mp1", None, True, None, None, now),
        ("s1", "export", 0, 3600, "d1", "mp1", 0.5, False, None, None, now),
    ]
