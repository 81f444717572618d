"""The task kinds this gateway's workers run besides entity upserts and deletes.

Each kind is a :class:`gateway.outbox.engine.TaskKind`; adding one here is all
it takes for both the arq workers and the embedded loop to run its tasks.
"""

from __future__ import annotations

from gateway.core.settings import Settings
from gateway.events.forwarding import ForwardingKind
from gateway.events.report_delivery import ReportKind
from gateway.invites.delivery import InviteDelivery
from gateway.outbox.engine import TaskKind
from gateway.readings.delivery import ReadingsDelivery


def build_kinds(settings: Settings) -> list[TaskKind]:
    """The task kinds of one worker process, built once at start-up."""
    return [
        ReadingsDelivery(settings=settings),
        InviteDelivery(),
        ReportKind(max_attempts=settings.sync.max_attempts),
        ForwardingKind(settings=settings),
    ]
