"""The retry policy of a task that did not succeed in its round (pure: no I/O).

A refusal or a local failure that cannot heal dead-letters a task at once; a transient upstream
failure (timeout, dropped connection, 5xx, 429) is retried with capped exponential backoff and
full jitter until the task's first failure is older than ``sync.retry_budget_s``; a 429 spends
no attempt. ``sync.max_attempts`` bounds only transient failures that never reached the
provider (a crash in this worker, a parent not there yet).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from gateway.core.settings import Settings
from gateway.outbox.circuit import upstream_transient
from gateway.store.tables import OutboxTaskRow
from providers.base import RETRIABLE, ProviderError, TransientError

RETRY_AFTER_JITTER = 0.1
"""A provider's ``Retry-After`` is the delay, stretched by at most this share (and at most 1 s),
so the tasks it put back do not all return in the same instant."""


def backoff_s(attempt: int, *, base_s: float, max_s: float, retry_after: float | None = None,
              rng: random.Random | None = None) -> float:
    """How long a task waits before its next attempt.

    With the provider's ``Retry-After`` that is the delay, plus a jitter of at most a tenth
    of it (1 s at most): never sooner, never much later. Without one, exponential backoff with
    full jitter, capped at ``max_s``.
    """
    draw = (rng or random).uniform
    if retry_after is not None:
        return retry_after + draw(0, min(1.0, RETRY_AFTER_JITTER * retry_after))
    ceiling = min(max_s, base_s * (2 ** max(0, attempt - 1)))
    return draw(0, ceiling)


@dataclass(frozen=True)
class Decision:
    """What becomes of a task that did not succeed in its round."""

    dead: bool
    run_after: datetime
    attempts: int
    """The task's attempts after the round (a 429 gives its attempt back)."""
    first_failed_at: datetime | None
    maybe_sent: bool
    sent_keys: str | None = None
    """The task's ``sent_keys`` after the round (what its attempts may have created)."""


def decide(task: OutboxTaskRow, error: ProviderError | None, fatal_reason: str | None, *,
           now: datetime, settings: Settings, rng: random.Random | None = None,
           probe: bool = False) -> Decision:
    """The retry policy, in one place: dead-letter now, or when to try again.

    A 429 spends no attempt, and neither does a transient upstream failure of a ``probe``
    (the single task a half-open circuit lets through carries the provider's outage, not
    its own trouble)."""
    s = settings.sync
    transient = isinstance(error, TransientError) and fatal_reason is None
    maybe_sent = task.maybe_sent or (isinstance(error, TransientError) and error.maybe_sent)
    first_failed_at = task.first_failed_at or now
    if not transient or not isinstance(error, RETRIABLE):
        return Decision(dead=True, run_after=now, attempts=task.attempts,
                        first_failed_at=first_failed_at, maybe_sent=maybe_sent,
                        sent_keys=task.sent_keys)
    free = error.status == 429 or (probe and upstream_transient(error))
    attempts = task.attempts - 1 if free else task.attempts
    if upstream_transient(error):
        dead = (now - first_failed_at).total_seconds() >= s.retry_budget_s
    else:
        dead = task.attempts >= s.max_attempts
    retry_after = error.retry_after if isinstance(error, TransientError) else None
    delay = backoff_s(max(1, attempts), base_s=s.backoff_base_s, max_s=s.backoff_max_s,
                      retry_after=retry_after, rng=rng)
    return Decision(dead=dead, run_after=now if dead else now + timedelta(seconds=delay),
                    attempts=attempts, first_failed_at=first_failed_at, maybe_sent=maybe_sent,
                    sent_keys=task.sent_keys)
