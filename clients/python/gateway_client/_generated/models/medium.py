from enum import StrEnum

class Medium(StrEnum):
    ELECTRICITY = "electricity"
    GAS = "gas"
    HEAT = "heat"
    WATER = "water"

    def __str__(self) -> str:
        return str(self.value)
