"""What a task kind fills in for each task of a round (see ``TaskKind`` in the engine)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gateway.outbox.outcomes import OwnEvent
from gateway.store.tables import OutboxTaskRow
from providers.base import CallRecord, Outcome, ProviderError


@dataclass
class RoundResult:
    """What became of one task in a round: an outcome, a provider error, or a fatal reason."""

    task: OutboxTaskRow
    outcome: Outcome | None = None
    error: ProviderError | None = None
    fatal_reason: str | None = None
    calls: list[CallRecord] = field(default_factory=list)
    detail: Any = None
    """Whatever a task kind wants to carry from ``run`` to ``record`` (an invite link, say)."""
    dead: bool = False
    """Set before the kinds record the round: the task failed for good (dead-lettered)."""
    failure: str | None = None
    """Set before the kinds record the round, for a task that failed: the error kept on it."""
    attempts: int | None = None
    """Set before the kinds record the round, for a task that failed: its attempts after the
    round (a 429 gives its attempt back)."""
    held_back_s: float | None = None
    """Not sent: the provider's circuit opened (or a 429 paused it) before the task's turn came.
    It goes back to pending for this long and spends no attempt."""
    told: bool = False
    """Its request went through ``SyncEngine.send``, which fed the answer to the provider's
    guard as it came (the engine tells the guard about the other results after the round)."""
    events: list[OwnEvent] = field(default_factory=list)
    """The gateway's own events a kind's ``record`` wants emitted about this task, in the
    round's transaction (before the engine's ``task.dead_lettered``)."""
