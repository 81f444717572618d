from enum import StrEnum

class PriceArea(StrEnum):
    DK1 = "DK1"
    DK2 = "DK2"
    FI = "FI"
    NO1 = "NO1"
    NO2 = "NO2"
    NO3 = "NO3"
    NO4 = "NO4"
    NO5 = "NO5"
    SE1 = "SE1"
    SE2 = "SE2"
    SE3 = "SE3"
    SE4 = "SE4"
    UNKNOWN = "Unknown"

    def __str__(self) -> str:
        return str(self.value)
