from enum import StrEnum

class UserEligibilityPayloadPayloadType(StrEnum):
    USERELIGIBILITY = "UserEligibility"

    def __str__(self) -> str:
        return str(self.value)
