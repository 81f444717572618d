"""Wire structs shared by several resources: address, coordinates, sync status, pages.

Our API speaks camelCase JSON; every request struct forbids unknown fields.
"""

from __future__ import annotations

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
ExternalRef = Annotated[str, Meta(min_length=1, max_length=200,
                                  pattern=r"^[^\x00-\x20\x7f](?:[^\x00\n\r]*[^\x00-\x20\x7f])?$")]
Email = Annotated[str, Meta(max_length=320, pattern=(
    r"^[^@\x00-\x20\x7f]+@[^@\x00-\x20\x7f]+\.[^@\x00-\x20\x7f]+$"))]
Latitude = Annotated[float, Meta(ge=-90.0, le=90.0)]
Longitude = Annotated[float, Meta(ge=-180.0, le=180.0)]
MeterPointId = Annotated[str, Meta(pattern=METER_POINT_ID_PATTERN)]
CountryCode = Annotated[str, Meta(pattern=r"^[A-Z]{2}$")]
Postcode = Annotated[str, Meta(min_length=1, max_length=20)]


class Wire(msgspec.Struct, rename="camel", forbid_unknown_fields=True, kw_only=True):
    """Base of every request and response struct: camelCase, unknown fields refused."""


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


class Page(Wire, Generic[T]):
    items: list[T]
    next_cursor: str | None
