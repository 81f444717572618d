from enum import StrEnum

class DeviceKind(StrEnum):
    BATTERY = "battery"
    CHARGER = "charger"
    GENERIC = "generic"
    HOT_WATER_TANK = "hot_water_tank"
    HVAC = "hvac"
    METER = "meter"
    SOLAR_INVERTER = "solar_inverter"
    VEHICLE = "vehicle"

    def __str__(self) -> str:
        return str(self.value)
