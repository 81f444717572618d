from enum import StrEnum

class SiteKind(StrEnum):
    COMMERCIAL = "commercial"
    OTHER = "other"
    RESIDENTIAL = "residential"

    def __str__(self) -> str:
        return str(self.value)
