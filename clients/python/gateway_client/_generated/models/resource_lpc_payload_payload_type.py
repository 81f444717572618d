from enum import StrEnum

class ResourceLPCPayloadPayloadType(StrEnum):
    RESOURCELPC = "ResourceLPC"

    def __str__(self) -> str:
        return str(self.value)
