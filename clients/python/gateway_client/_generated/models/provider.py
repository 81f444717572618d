from enum import StrEnum

class Provider(StrEnum):
    VOLUE = "volue"
    ZAEHLERFREUNDE = "zaehlerfreunde"

    def __str__(self) -> str:
        return str(self.value)
