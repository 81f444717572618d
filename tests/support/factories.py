"""Request bodies for the customer tree (``POST /v1/customers`` and below), fresh on every call.

Each builder gives a valid body with ordinary values; keyword arguments add fields or replace
the defaults (``customer_body("c-1", name="Grace Hopper")``). Every call returns new dicts, so
a test may change a body in place without touching another test's.
"""

from __future__ import annotations

from typing import Any

ADDRESS: dict[str, str] = {"line1": "Storgata 1", "postcode": "0155", "city": "Oslo", "country": "NO"}
COORDINATES: dict[str, float] = {"latitude": 59.91, "longitude": 10.75}
METER_POINT = "707057500012345678"


def meter_body(ref: str, point: str = METER_POINT, **fields: Any) -> dict[str, Any]:
    """A site's main electricity meter with meter point ``point``."""
    return {"externalRef": ref, "kind": "meter", "name": "Main meter", "medium": "electricity",
            "isMain": True, "meterPointId": point, **fields}


def site_body(ref: str, *devices: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A residential site in Oslo with these devices."""
    return {"externalRef": ref, "name": "Home", "kind": "residential", "address": dict(ADDRESS),
            "coordinates": dict(COORDINATES), "devices": list(devices), **fields}


def customer_body(ref: str, *sites: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A customer with these sites."""
    return {"externalRef": ref, "name": "Ada Lovelace", "email": "ada@example.com", "sites": list(sites),
            **fields}
