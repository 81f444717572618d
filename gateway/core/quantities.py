"""Energy quantities at the precision they are stored, compared, shown and sent.

kWh (and m³) carry :data:`KWH_DECIMALS` decimals: whole Wh (litres). :func:`kwh` rounds to
the nearest, so a value such as ``2.2999999999999545`` (the binary-float difference of two
register readings) becomes ``2.3``; sums go through whole Wh (:func:`wh`, :func:`from_wh`),
which are exact.
"""

from __future__ import annotations

import math

__all__ = ["KWH_DECIMALS", "from_wh", "kwh", "wh"]

KWH_DECIMALS = 3
"""kWh (and m³) travel and are shown with this many decimals: whole Wh (litres)."""
_SCALE: int = 10**KWH_DECIMALS


def kwh(value: float) -> float:
    """``value`` (kWh) rounded to :data:`KWH_DECIMALS` decimals: the float nearest that decimal
    number, which encodes (shortest round-trip form) with at most that many decimals. Python's
    ``round`` rounds the exact binary value, correctly. Not finite: returned unchanged (refused
    where it matters); never ``-0.0``."""
    if not math.isfinite(value):
        return value
    return round(value, KWH_DECIMALS) + 0.0


def wh(value: float) -> int:
    """``value`` (kWh) as whole Wh (thousandths): sums of these are exact."""
    return round(value * _SCALE)


def from_wh(value: int) -> float:
    """Whole Wh back to kWh with :data:`KWH_DECIMALS` decimals."""
    return kwh(value / _SCALE)
