"""The console's pieces that need no server: signed sessions, SVG charts, consumption, search patterns."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from gateway.console.auth import ConsoleSession, SessionSigner
from gateway.console.charts import Series, bar_chart, nice_ceiling
from gateway.console.views import ReadingView, consumption, like_pattern


def session(expires: float = 2_000_000_000.0) -> ConsoleSession:
    return ConsoleSession(key_id="k1", name="ops", fingerprint="f" * 32, csrf="t" * 43, expires=expires)


def test_a_signed_session_reads_back_only_with_the_same_secret() -> None:
    """A cookie reads back under its own secret; another secret, a changed byte or garbage give None."""
    signer = SessionSigner("secret-1")
    cookie = signer.sign(session())
    assert signer.read(cookie, now=1_000_000_000.0) == session()
    assert SessionSigner("secret-2").read(cookie, now=1_000_000_000.0) is None
    payload, mac = cookie.split(".")
    assert signer.read(payload + "." + mac[:-1] + ("A" if mac[-1] != "A" else "B"), now=0) is None
    for junk in ("", "no-dot", "a.b.c", "!!.??", None):
        assert signer.read(junk) is None


def test_an_ended_session_is_refused() -> None:
    """A session past its expiry reads as None."""
    signer = SessionSigner("secret")
    cookie = signer.sign(session(expires=100.0))
    assert signer.read(cookie, now=99.0) is not None
    assert signer.read(cookie, now=100.0) is None


def test_without_a_secret_each_process_signs_with_its_own() -> None:
    """No configured secret: two signers (two processes) do not accept each other's cookies."""
    cookie = SessionSigner("").sign(session())
    assert SessionSigner("").read(cookie, now=0) is None


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
