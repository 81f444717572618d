from enum import StrEnum

class LPCReservationPayloadPayloadType(StrEnum):
    LPCRESERVATION = "LPCReservation"

    def __str__(self) -> str:
        return str(self.value)
