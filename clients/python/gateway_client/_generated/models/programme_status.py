from enum import StrEnum

class ProgrammeStatus(StrEnum):
    ENROLLED = "enrolled"
    FAILED = "failed"
    NOT_ENROLLED = "not_enrolled"
    PENDING = "pending"

    def __str__(self) -> str:
        return str(self.value)
