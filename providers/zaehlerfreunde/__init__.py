"""Zählerfreunde partner API: spaces, devices, OBIS meter readings and invites."""

from gateway.core.domain import DeviceKind
from providers.base import Capabilities
from providers.zaehlerfreunde.obis import ZAEHLERFREUNDE_ACCEPTED

CAPABILITIES = Capabilities(
    name="Zählerfreunde",
    sites=True,
    device_kinds=frozenset(
        {DeviceKind.METER, DeviceKind.CHARGER, DeviceKind.HVAC, DeviceKind.SOLAR_INVERTER,
         DeviceKind.BATTERY}
    ),
    readings=True,
    reading_codes=ZAEHLERFREUNDE_ACCEPTED,
    invites=True,
)
"""Customers have no object here (their email receives invites); devices need a site's space;
readings only of the OBIS codes the partner API documents."""
