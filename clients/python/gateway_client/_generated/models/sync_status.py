from enum import StrEnum

class SyncStatus(StrEnum):
    BLOCKED = "blocked"
    DELETED = "deleted"
    DELETING = "deleting"
    DRIFTED = "drifted"
    FAILED = "failed"
    PENDING = "pending"
    RETRYING = "retrying"
    SYNCED = "synced"

    def __str__(self) -> str:
        return str(self.value)
