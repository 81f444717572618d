"""The OBIS codes Zählerfreunde accepts (parsing itself is :mod:`gateway.core.obis`).

Zählerfreunde documents its codes in the ``1-1:1.8.0`` form, which is the gateway's
normal form (:attr:`gateway.core.obis.ObisCode.normal`), plus suffixed ones such as
``2.9.0 G.03`` (self-consumption under the EEG) and ``1.9.0 P.01`` (residual grid import).
"""

from __future__ import annotations

from gateway.core.obis import Medium, ObisCode, ObisError, parse

__all__ = [
    "ZAEHLERFREUNDE_ACCEPTED",
    "Medium",
    "ObisCode",
    "ObisError",
    "is_accepted_by_zaehlerfreunde",
    "parse",
]

# The list in the partner API's NewReading.obisCode description.
_DOCUMENTED = (
    "1-1:1.8.0",
    "1-1:1.9.0",
    "1-1:1.29.0",
    "1-1:2.8.0",
    "1-1:2.9.0",
    "1-1:2.29.0",
    "1-1:2.9.0 G.03",
    "1-1:1.9.0 P.01",
    "1-1:2.9.0 P.01",
    "6-1:1.0.0",
    "7-1:3.1.0",
    "8-1:1.0.0",
)

ZAEHLERFREUNDE_ACCEPTED: frozenset[str] = frozenset(parse(c).normal for c in _DOCUMENTED)
"""The documented codes in the normal form."""


def is_accepted_by_zaehlerfreunde(code: str | ObisCode) -> bool:
    """Whether Zählerfreunde documents ``code`` (in any of its written forms)."""
    if isinstance(code, str):
        try:
            code = parse(code)
        except ObisError:
            return False
    return code.normal in ZAEHLERFREUNDE_ACCEPTED
