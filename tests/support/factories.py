"""Request bodies for the customer tree (``POST /v1/customers`` and below), fresh on every call.

Each builder gives a valid body with ordinary values; keyword arguments add fields or replace
the defaults (``customer_body("c-1", name="Grace Hopper")``). Every call returns new dicts, so
a test may change a body in place without touching another test's.
"""

from __future__ import annotations

import copy
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


def numbered_tree(tree: dict[str, Any], tag: str, n: int) -> dict[str, Any]:
    """A deep copy of the customer tree body ``tree`` as the ``n``th of a run tagged ``tag``.

    Every ``externalRef`` ``x-1`` becomes ``{tag}-x-{n}`` (customer, sites, devices, vehicles),
    and each site's name and first address line end in `` {tag}-{n}``, so that the trees of one
    run, and of runs with different tags, are different records everywhere.
    """
    body = copy.deepcopy(tree)

    def renamed(ref: str) -> str:
        return f"{tag}-{ref.split('-', 1)[0]}-{n}"

    body["externalRef"] = renamed(body["externalRef"])
    for site in body.get("sites", []):
        site["externalRef"] = renamed(site["externalRef"])
        site["name"] = f"{site['name']} {tag}-{n}"
        site["address"]["line1"] = f"{site['address']['line1']} {tag}-{n}"
        for device in site.get("devices", []):
            device["externalRef"] = renamed(device["externalRef"])
    for vehicle in body.get("vehicles", []):
        vehicle["externalRef"] = renamed(vehicle["externalRef"])
    return body
