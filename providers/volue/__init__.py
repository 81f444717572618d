"""Volue Energy Coordination API ("Spark"): users, locations, resources, vehicles, reports."""

from gateway.core.domain import DeviceKind, EntityType
from providers.base import Capabilities

CAPABILITIES = Capabilities(
    name="Volue",
    customers=True,
    sites=True,
    device_kinds=frozenset(
        {
            DeviceKind.VEHICLE,
            DeviceKind.CHARGER,
            DeviceKind.HOT_WATER_TANK,
            DeviceKind.HVAC,
            DeviceKind.SOLAR_INVERTER,
            DeviceKind.BATTERY,
            DeviceKind.GENERIC,
        }
    ),
    meters_on_site=True,
    reports=True,
    batch_limits={EntityType.CUSTOMER: 500, EntityType.SITE: 500},
)
"""Meters have no Volue object of their own: their point ids go on the site's location."""
