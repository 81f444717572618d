"""The task kinds this gateway's workers run besides entity upserts and deletes.

Each kind is a :class:`gateway.outbox.engine.TaskKind`; adding one here is all
it takes for both the arq workers and the embedded loop to run its tasks.
"""

from __future__ import annotations

from gateway.core.domain import Provider
from gateway.core.settings import Settings
from gateway.events.forwarding import ForwardingKind
from gateway.events.report_delivery import ReportKind
from gateway.events.service import FORWARD_QUEUE
from gateway.invites.delivery import InviteDelivery
from gateway.outbox.engine import TaskKind
from gateway.readings.batches import READINGS_QUEUE
from gateway.readings.delivery import ReadingsDelivery

QUEUES: tuple[str, ...] = (
    *(provider.value for provider in Provider), READINGS_QUEUE, FORWARD_QUEUE,
)
"""Every work queue: one per provider, plus those of kinds with a queue of their own."""


def build_kinds(settings: Settings) -> list[TaskKind]:
    """The task kinds of one worker process, built once at start-up."""
    return [
        ReadingsDelivery(settings=settings),
        InviteDelivery(),
        ReportKind(max_attempts=settings.sync.max_attempts),
        ForwardingKind(settings=settings),
    ]
