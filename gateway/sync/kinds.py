"""The task kinds this gateway's workers run besides entity upserts and deletes.

Each kind is a :class:`gateway.sync.engine.TaskKind`; adding one here is all
it takes for both the arq workers and the embedded loop to run its tasks.
"""

from __future__ import annotations

from gateway.settings import Settings
from gateway.sync.engine import TaskKind
from gateway.sync.forwarding import ForwardingKind
from gateway.sync.invites import InviteDelivery
from gateway.sync.readings import ReadingsDelivery
from gateway.sync.reports import ReportKind


def build_kinds(settings: Settings) -> list[TaskKind]:
    """The task kinds of one worker process, built once at start-up."""
    kinds: list[TaskKind] = []
    kinds.append(ReadingsDelivery(settings=settings))
    kinds.append(InviteDelivery())
    kinds.append(ReportKind(max_attempts=settings.sync_max_attempts))
    kinds.append(ForwardingKind(settings=settings))
    return kinds
