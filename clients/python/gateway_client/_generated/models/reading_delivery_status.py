from enum import StrEnum

class ReadingDeliveryStatus(StrEnum):
    DELIVERED = "delivered"
    FAILED = "failed"
    NOT_SENT = "not_sent"
    PENDING = "pending"

    def __str__(self) -> str:
        return str(self.value)
