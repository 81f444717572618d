"""Wire structs shared by several resources: address, coordinates, sync status, pages; and
the field a msgspec validation message names.

Our API speaks camelCase JSON; every request struct forbids unknown fields.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Annotated, Generic, TypeVar

import msgspec
from msgspec import Meta

from gateway.core.domain import SyncStatus

T = TypeVar("T")

METER_POINT_ID_PATTERN = r"^(?:[0-9]{18}|[0-9]{11}|DE[0-9A-Z]{31})$"
"""An 18-digit GSRN/EAN (e.g. ``707057500012345678``), an 11-digit MaLo or a 33-character MeLo."""

NonEmpty = Annotated[str, Meta(min_length=1, max_length=200)]
# Patterns use explicit character classes only: they are checked here with Python's re and
# by clients with ECMA-262 regular expressions (the OpenAPI document), which disagree on
# what \d, \s and . match outside ASCII.
_FORMAT_BMP = ("\\u00ad\\u0600-\\u0605\\u061c\\u06dd\\u070f\\u0890-\\u0891\\u08e2\\u180e\\u200b-\\u200f"
               "\\u202a-\\u202e\\u2060-\\u2064\\u2066-\\u206f\\ufeff\\ufff9-\\ufffb")
_FORMAT_ASTRAL = "".join(f"{chr(first)}-{chr(last)}" for first, last in (
    (0x110BD, 0x110BD), (0x110CD, 0x110CD), (0x13430, 0x1343F), (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A), (0xE0001, 0xE0001), (0xE0020, 0xE007F)))
# (written as the characters themselves: ECMA-262 and Python spell escapes beyond U+FFFF apart)
CALLER_ID_REFUSED = "\\x00-\\x1f\\x7f-\\x9f" + _FORMAT_BMP + _FORMAT_ASTRAL
"""A regular-expression class body of the characters no caller id may hold: Unicode's control
(Cc, C0 and C1) and format (Cf: soft hyphen, zero-width space and joiners, bidirectional
overrides and isolates, tag characters ...) characters, as of Unicode 15."""
CALLER_ID_MAX = 200
ExternalRef = Annotated[str, Meta(
    min_length=1, max_length=CALLER_ID_MAX,
    pattern=f"^[^{CALLER_ID_REFUSED} ](?:[^{CALLER_ID_REFUSED}]*[^{CALLER_ID_REFUSED} ])?$",
    description=("The caller's own id: no control or format characters, no space at either end; "
                 "stored and compared in Unicode NFC, so composed and decomposed spellings are one id."))]
"""A caller's id for a record (``externalRef``): refused with the field named when it holds a
control or format character, NFC-normalised once decoded (:class:`Identified`)."""

Email = Annotated[str, Meta(max_length=320, pattern=(
    r"^[^@\x00-\x20\x7f]+@[^@\x00-\x20\x7f]+\.[^@\x00-\x20\x7f]+$"))]
Latitude = Annotated[float, Meta(ge=-90.0, le=90.0)]
Longitude = Annotated[float, Meta(ge=-180.0, le=180.0)]
MeterPointId = Annotated[str, Meta(pattern=METER_POINT_ID_PATTERN)]
CountryCode = Annotated[str, Meta(pattern=r"^[A-Z]{2}$")]
Postcode = Annotated[str, Meta(min_length=1, max_length=20)]


def nfc(text: str) -> str:
    """``text`` in Unicode normalization form C (ASCII, the common case, as it is)."""
    return text if text.isascii() else unicodedata.normalize("NFC", text)


class Wire(msgspec.Struct, rename="camel", forbid_unknown_fields=True, kw_only=True):
    """Base of every request and response struct: camelCase, unknown fields refused."""


_REF = "external_ref"


class Identified(Wire):
    """A request struct with an ``external_ref`` (:data:`ExternalRef`, or UNSET in an update):
    the value is NFC-normalised as the struct is decoded, so ``cafe\u0301`` is stored, looked
    up and compared as ``café``."""

    def __post_init__(self) -> None:
        ref = getattr(self, _REF, None)
        if type(ref) is str and not ref.isascii():
            ref = unicodedata.normalize("NFC", ref)
            if len(ref) > CALLER_ID_MAX:  # a few characters decompose under NFC
                raise msgspec.ValidationError(
                    f"Expected `str` of length <= {CALLER_ID_MAX} once in Unicode NFC - at `$.externalRef`")
            setattr(self, _REF, ref)  # declared by each subclass, as str or str | UNSET


class AddressIn(Wire):
    line1: NonEmpty
    postcode: Postcode
    city: Annotated[str, Meta(min_length=1, max_length=100)]
    country: CountryCode
    line2: Annotated[str, Meta(max_length=200)] | None = None


class CoordinatesIn(Wire):
    latitude: Latitude
    longitude: Longitude


class ProviderSync(Wire):
    status: SyncStatus
    external_id: str | None
    attempts: int
    last_error: str | None
    synced_at: datetime | None
    blocked_by: str | None = None
    """While ``status`` is ``blocked``: the dead task it waits on."""
    blocked_reason: str | None = None
    next_attempt_at: datetime | None = None
    """While ``status`` is ``retrying``: when the change is sent again (later if the provider's
    circuit is still open then)."""
    circuit: str | None = None
    """While a change waits at this provider (``pending`` or ``retrying``) and the provider's
    circuit is not closed: ``open`` (found down; nothing is sent until the next probe) or
    ``half-open`` (a probe goes out next)."""


class Page(Wire, Generic[T]):
    items: list[T]
    next_cursor: str | None


_PATH = re.compile(r" - at `\$(?P<path>[^`]*)`$")
_UNKNOWN = re.compile(r"(?:unknown|missing required) field `(?P<name>[^`]+)`")


def field_of(error: msgspec.ValidationError | str) -> tuple[str, str | None]:
    """Turn msgspec's ``... - at `$.a[0].b``` into a message and a field path ``a[0].b``."""
    message = str(error)
    match = _PATH.search(message)
    path = match.group("path").lstrip(".") if match else ""
    if match:
        message = message[: match.start()]
    unknown = _UNKNOWN.search(message)
    if unknown:
        path = f"{path}.{unknown.group('name')}" if path else unknown.group("name")
    return message, path or None
