"""Rules a record's fields must keep together, beyond what each field's own type checks.

Nothing here reads the database, so the onboarding file checks apply them as the API does
without loading the database layer.
"""

from __future__ import annotations

from typing import Any

from gateway.core.domain import DeviceKind
from gateway.core.errors import InvalidError


def check_device_fields(kind: DeviceKind, values: dict[str, Any], field_prefix: str = "") -> None:
    """Rules that depend on more than one field of a device."""
    if kind is DeviceKind.METER:
        if values.get("medium") is None:
            raise InvalidError("a meter needs a medium", field=f"{field_prefix}medium")
    elif values.get("medium") is not None:
        raise InvalidError("only meters have a medium", field=f"{field_prefix}medium")
    if kind is not DeviceKind.METER:
        for name, wire in (("meter_point_id", "meterPointId"), ("meter_number", "meterNumber")):
            if values.get(name) is not None:
                raise InvalidError(f"only meters have a {wire}", field=f"{field_prefix}{wire}")
    if kind is DeviceKind.VEHICLE:
        raise InvalidError(
            "vehicles belong to a customer: POST /v1/customers/{id}/vehicles",
            field=f"{field_prefix}kind",
        )
