"""Zählerfreunde partner API: spaces, devices, OBIS meter readings and invites."""

from gateway.core.domain import DeviceKind
from providers.base import Capabilities

CAPABILITIES = Capabilities(
    sites=True,
    device_kinds=frozenset(
        {DeviceKind.METER, DeviceKind.CHARGER, DeviceKind.HVAC, DeviceKind.SOLAR_INVERTER,
         DeviceKind.BATTERY}
    ),
    readings=True,
    invites=True,
)
"""Customers have no object here (their email receives invites); devices need a site's space."""
