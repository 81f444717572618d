from enum import StrEnum

class LocationLPCPayloadPayloadType(StrEnum):
    LOCATIONLPC = "LocationLPC"

    def __str__(self) -> str:
        return str(self.value)
