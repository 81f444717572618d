"""Volue's resolution format: a .NET ``TimeSpan`` such as ``01:00:00`` or ``1.00:00:00``."""

from __future__ import annotations

import re

_TIME_SPAN = re.compile(r"^(?:(?P<days>\d+)\.)?(?P<h>\d{1,2}):(?P<m>\d{2}):(?P<s>\d{2})$")
DAY_S = 86_400


def time_span_seconds(text: str) -> int:
    """Seconds of ``[d.]hh:mm:ss``; ``ValueError`` naming what is wrong."""
    match = _TIME_SPAN.match(text)
    if match is None:
        raise ValueError(f"expected a time span like 01:00:00, got {text!r}")
    hours, minutes, seconds = int(match["h"]), int(match["m"]), int(match["s"])
    if hours > 23 or minutes > 59 or seconds > 59:
        raise ValueError(f"{text!r} has hours above 23 or minutes or seconds above 59")
    return int(match["days"] or 0) * DAY_S + hours * 3600 + minutes * 60 + seconds


def time_span(seconds: int) -> str:
    """``seconds`` as ``[d.]hh:mm:ss``."""
    days, rest = divmod(seconds, DAY_S)
    text = f"{rest // 3600:02d}:{rest % 3600 // 60:02d}:{rest % 60:02d}"
    return f"{days}.{text}" if days else text


def interval_seconds(text: str) -> int:
    """A reporting interval: a time span of at least a minute that divides a day evenly."""
    seconds = time_span_seconds(text)
    if seconds < 60 or DAY_S % seconds:
        raise ValueError(f"{text!r} must be at least a minute and divide a day evenly (15 min, 1 h, ...)")
    return seconds
