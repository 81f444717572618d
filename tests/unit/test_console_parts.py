"""The console's pieces that need no server: SVG charts, consumption, search patterns."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from gateway.console.charts import Series, bar_chart, nice_ceiling
from gateway.console.customer_views import like_pattern
from gateway.console.views import ReadingView, consumption


@pytest.mark.parametrize(("value", "ceiling"), [(0, 1), (0.7, 1), (3, 5), (7, 10), (11, 20), (24, 25),
                                                (250, 250), (251, 500)])
def test_axis_tops_are_round(value: float, ceiling: float) -> None:
    """The value axis ends at the next 1, 2, 2.5 or 5 times a power of ten."""
    assert nice_ceiling(value) == pytest.approx(ceiling)


def test_bars_are_drawn_to_scale_and_labels_escaped() -> None:
    """Bar heights follow the values against the axis top; text from data is escaped."""
    svg = str(bar_chart(["a<b", "c"], [Series("x&y", [5.0, 10.0])], title="t<script>"))
    bar = r'<rect x="[^"]+" y="[^"]+" width="[^"]+" height="([^"]+)" fill'
    heights = [float(h) for h in re.findall(bar, svg)]
    assert heights[1] == pytest.approx(2 * heights[0]) and heights[1] > 0
    assert "<script>" not in svg and "t&lt;script&gt;" in svg and "a&lt;b" in svg and "x&amp;y" in svg
    with pytest.raises(ValueError):
        bar_chart(["a"], [Series("x", [1.0, 2.0])], title="t")


def test_consumption_is_the_register_difference_between_readings() -> None:
    """Per OBIS code, each interval gets what the register advanced; one reading makes no chart."""
    def reading(code: str, hour: int, value: float) -> ReadingView:
        return ReadingView(obis_code=code, at=datetime(2026, 1, 1, hour, tzinfo=UTC), value=value,
                           received_at=datetime(2026, 1, 1, tzinfo=UTC), delivery="pending",
                           delivered_at=None, last_error=None)

    views = [reading("1-1:1.8.0", 2, 107.0), reading("1-1:1.8.0", 0, 100.0), reading("1-1:1.8.0", 1, 103.5),
             reading("1-1:2.8.0", 0, 5.0)]
    [(code, labels, deltas)] = consumption(views)
    assert code == "1-1:1.8.0" and labels == ["01-01 01:00", "01-01 02:00"] and deltas == [3.5, 3.5]


def test_search_text_is_matched_literally() -> None:
    """LIKE wildcards typed in a search are escaped."""
    assert like_pattern("50%_a\\b") == "%50\\%\\_a\\\\b%"
