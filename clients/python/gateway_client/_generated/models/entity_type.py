from enum import StrEnum

class EntityType(StrEnum):
    CUSTOMER = "customer"
    DEVICE = "device"
    SITE = "site"

    def __str__(self) -> str:
        return str(self.value)
