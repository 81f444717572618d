"""What the API and the console share about stored readings: their delivery status."""

from __future__ import annotations

from datetime import datetime

from gateway.core.clock import as_utc
from gateway.core.domain import ReadingDeliveryStatus, TaskStatus
from gateway.core.wire import Wire


class ReadingDelivery(Wire):
    status: ReadingDeliveryStatus
    delivered_at: datetime | None
    last_error: str | None


def delivery_of(delivered_at: datetime | None, batch_id: str | None, task_status: str | None,
              last_error: str | None) -> ReadingDelivery:
    """A reading's delivery status from its own and its batch's delivery time and its batch's task."""
    if delivered_at is not None:
        return ReadingDelivery(status=ReadingDeliveryStatus.DELIVERED, delivered_at=as_utc(delivered_at),
                               last_error=None)
    if batch_id is None:
        return ReadingDelivery(status=ReadingDeliveryStatus.NOT_SENT, delivered_at=None, last_error=None)
    failed = task_status in (TaskStatus.DEAD, TaskStatus.DISMISSED)
    status = ReadingDeliveryStatus.FAILED if failed else ReadingDeliveryStatus.PENDING
    return ReadingDelivery(status=status, delivered_at=None,
                           last_error=last_error)
