from enum import StrEnum

class PriceCurvePayloadPayloadType(StrEnum):
    PRICECURVE = "PriceCurve"

    def __str__(self) -> str:
        return str(self.value)
