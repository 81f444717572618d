"""OBIS identifiers (IEC 62056-61): parsing, the medium, and one normal form.

An OBIS code names a measured quantity: ``A-B:C.D.E*F`` where A is the medium,
B the channel, C the physical quantity, D the processing (8 = register reading,
9 = energy per period, 29 = load profile), E the tariff and F the billing
period. Meters and partner systems write shorter forms: ``1-1:1.8.0`` (no F),
``1.8.0`` (no A and B); many meters write channel 0 and F = 255 (``1-0:1.8.0*255``,
``1-0:1.8.0``, ``1.8.0*255``), which name the same quantity as ``1-1:1.8.0`` and are
normalised to it (:attr:`ObisCode.normal`). Codes may carry a suffix after a space,
such as ``2.9.0 G.03`` (self-consumption under the EEG) and ``1.9.0 P.01`` (residual
grid import).

C and D may be the letters IEC 62056-61 reserves for abstract quantities
(``C`` = 96, ``F`` = 97, ``L`` = 98, ``P`` = 99); they are kept as letters.

Which codes a provider takes is the provider's (``Capabilities.reading_codes``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gateway.core.domain import Medium

__all__ = ["Medium", "ObisCode", "ObisError", "parse"]


class ObisError(ValueError):
    """The text is not an OBIS identifier."""


# Value group A → medium. 8 is cold water and 9 hot water; both are water.
_MEDIUM_BY_A: dict[int, Medium] = {
    1: Medium.ELECTRICITY,
    6: Medium.HEAT,
    7: Medium.GAS,
    8: Medium.WATER,
    9: Medium.WATER,
}
# A code without A-B reads as electricity on channel 1 (as Zählerfreunde reads it too).
_DEFAULT_A = 1
_DEFAULT_B = 1
# Channel 0 means "no channel" and F = 255 "not used" (IEC 62056-61): meters write
# ``1-0:1.8.0*255`` for the quantity the normal form calls ``1-1:1.8.0``.
_NO_CHANNEL = 0
_F_NOT_USED = 255
_LETTERS = frozenset("CFLP")
_MAX_A = 15
_MAX_GROUP = 255

_PATTERN = re.compile(
    r"""
    ^(?:(?P<a>[0-9]+)-(?P<b>[0-9]+):)?
    (?P<c>[0-9]+|[A-Za-z])\.(?P<d>[0-9]+|[A-Za-z])\.(?P<e>[0-9]+)
    (?:\*(?P<f>[0-9]+))?
    (?:[ \t]+(?P<suffix>[A-Za-z]\.[0-9]{2}))?$
    """,
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class ObisCode:
    """A parsed OBIS identifier; ``None`` marks a value group the text left out."""

    a: int | None
    b: int | None
    c: int | str
    d: int | str
    e: int
    f: int | None = None
    suffix: str | None = None

    @property
    def _cde(self) -> str:
        return f"{self.c}.{self.d}.{self.e}"

    @property
    def _tail(self) -> str:
        return f" {self.suffix}" if self.suffix else ""

    @property
    def full(self) -> str:
        """``A-B:C.D.E*F`` with every group the code knows, then the suffix."""
        head = f"{self.a}-{self.b}:" if self.a is not None and self.b is not None else ""
        star = f"*{self.f}" if self.f is not None else ""
        return f"{head}{self._cde}{star}{self._tail}"

    @property
    def short(self) -> str:
        """``C.D.E`` plus the suffix, e.g. ``2.9.0 G.03``."""
        return f"{self._cde}{self._tail}"

    @property
    def normal(self) -> str:
        """The normal form the gateway stores and compares: ``1-1:1.8.0``; short forms read as
        electricity (the form Zählerfreunde documents, too).

        What meters write for the same quantity is normalised to it: channel 0 ("no
        channel", ``1-0:1.8.0``) reads as channel 1, and F = 255 ("not used",
        ``1-0:1.8.0*255``, ``1.8.0*255``) is dropped. Any other F is kept.
        """
        a = _DEFAULT_A if self.a is None else self.a
        b = _DEFAULT_B if self.b is None or self.b == _NO_CHANNEL else self.b
        star = f"*{self.f}" if self.f is not None and self.f != _F_NOT_USED else ""
        return f"{a}-{b}:{self._cde}{star}{self._tail}"

    @property
    def medium(self) -> Medium | None:
        """The medium value group A names; electricity when A is absent."""
        return _MEDIUM_BY_A.get(_DEFAULT_A if self.a is None else self.a)

    @property
    def register(self) -> bool:
        """Whether it names a register (a meter's count so far, its latest value counts) rather
        than a quantity per period: electricity's D = 8 (time integral 1); the codes of gas,
        water and heat meters are their registers."""
        return self.medium is not Medium.ELECTRICITY or self.d == 8

    @property
    def direction(self) -> str:
        """``out`` for electricity's export (C = 2, active energy delivered), ``in`` otherwise."""
        return "out" if self.medium is Medium.ELECTRICITY and self.c == 2 else "in"


def _group(text: str, name: str, upper: int) -> int:
    value = int(text)
    if value > upper:
        raise ObisError(f"OBIS value group {name} must be 0..{upper}, got {value}")
    return value


def _letter_or_number(text: str, name: str) -> int | str:
    if text.isdigit():
        return _group(text, name, _MAX_GROUP)
    letter = text.upper()
    if letter not in _LETTERS:
        raise ObisError(
            f"OBIS value group {name} may be a letter only among C, F, L, P, got {text!r}"
        )
    return letter


def parse(text: str) -> ObisCode:
    """Parse ``A-B:C.D.E*F``, ``C.D.E`` and suffixed forms such as ``2.9.0 G.03``.

    Surrounding whitespace is ignored; letters are upper-cased.
    """
    if not isinstance(text, str):
        raise ObisError(f"OBIS code must be a string, got {type(text).__name__}")
    stripped = text.strip()
    if not stripped:
        raise ObisError("OBIS code is empty")
    match = _PATTERN.match(stripped)
    if match is None:
        raise ObisError(
            f"{text!r} is not an OBIS code: expected A-B:C.D.E*F, C.D.E "
            "or C.D.E followed by a suffix such as 'G.03'"
        )
    groups = match.groupdict()
    a = _group(groups["a"], "A", _MAX_A) if groups["a"] is not None else None
    b = _group(groups["b"], "B", _MAX_GROUP) if groups["b"] is not None else None
    f = _group(groups["f"], "F", _MAX_GROUP) if groups["f"] is not None else None
    suffix = groups["suffix"].upper() if groups["suffix"] is not None else None
    return ObisCode(
        a=a,
        b=b,
        c=_letter_or_number(groups["c"], "C"),
        d=_letter_or_number(groups["d"], "D"),
        e=_group(groups["e"], "E", _MAX_GROUP),
        f=f,
        suffix=suffix,
    )
