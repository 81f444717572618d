from enum import StrEnum

class EnergyUnit(StrEnum):
    KWH = "kWh"
    MWH = "MWh"

    def __str__(self) -> str:
        return str(self.value)
