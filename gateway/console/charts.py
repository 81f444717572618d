"""Charts drawn on the server as inline SVG: grouped bars with a value axis, no script.

Every number is written by this module and every label escaped, so the markup is safe to
place in a page as it is.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

WIDTH = 720
HEIGHT = 220
_LEFT, _RIGHT, _TOP, _BOTTOM = 56, 12, 26, 34
COLOURS = ("#2f6fb3", "#3a9a5b", "#c7772b", "#8a4fb3")


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    values: Sequence[float]


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5 or 5 times a power of ten at or above ``value`` (1 for 0)."""
    if value <= 0 or not math.isfinite(value):
        return 1.0
    power = float(10.0 ** math.floor(math.log10(value)))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        if value <= step * power * (1 + 1e-9):
            return step * power
    return 10 * power


def _number(value: float) -> str:
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:,.3g}" if abs(value) < 1 else f"{value:,.2f}"


def bar_chart(labels: Sequence[str], series: Sequence[Series], *, title: str, unit: str = "",
              label_every: int = 1) -> Markup:
    """Grouped bars, one group per label and one bar per series, with a legend and a value axis.

    Negative values are drawn as zero-height bars (the title of each bar gives the value).
    """
    count = len(labels)
    if any(len(s.values) != count for s in series):
        raise ValueError("every series needs one value per label")
    plot_w, plot_h = WIDTH - _LEFT - _RIGHT, HEIGHT - _TOP - _BOTTOM
    top = nice_ceiling(max((v for s in series for v in s.values), default=0.0))
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" '
             f'xmlns="http://www.w3.org/2000/svg" aria-label="{escape(title)}">',
             f"<title>{escape(title)}</title>"]
    for i in range(5):
        value = top * i / 4
        y = _TOP + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{_LEFT}" y1="{y:.1f}" x2="{WIDTH - _RIGHT}" y2="{y:.1f}" class="grid"/>')
        parts.append(f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" class="axis">'
                     f"{escape(_number(value))}</text>")
    if unit:
        parts.append(f'<text x="{_LEFT - 6}" y="{_TOP - 10}" text-anchor="end" class="axis">'
                     f"{escape(unit)}</text>")
    slot = plot_w / max(count, 1)
    bar_w = max(1.0, slot * 0.8 / max(len(series), 1))
    for index, label in enumerate(labels):
        x0 = _LEFT + index * slot + slot * 0.1
        for s_index, one in enumerate(series):
            value = one.values[index]
            height = max(0.0, plot_h * value / top)
            x = x0 + s_index * bar_w
            colour = COLOURS[s_index % len(COLOURS)]
            parts.append(
                f'<rect x="{x:.1f}" y="{_TOP + plot_h - height:.1f}" width="{bar_w:.1f}" '
                f'height="{height:.1f}" fill="{colour}"><title>{escape(one.name)} {escape(label)}: '
                f"{escape(_number(value))}{' ' + escape(unit) if unit else ''}</title></rect>")
        if index % max(label_every, 1) == 0:
            parts.append(f'<text x="{x0 + slot * 0.4:.1f}" y="{HEIGHT - _BOTTOM + 16}" text-anchor="middle" '
                         f'class="axis">{escape(label)}</text>')
    legend_x = _LEFT
    for s_index, one in enumerate(series):
        colour = COLOURS[s_index % len(COLOURS)]
        parts.append(f'<rect x="{legend_x}" y="6" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{legend_x + 14}" y="15" class="legend">{escape(one.name)}</text>')
        legend_x += 24 + 8 * len(one.name)
    parts.append("</svg>")
    return Markup("".join(parts))
