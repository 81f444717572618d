"""The task kinds this gateway's workers run besides entity upserts and deletes.

Each kind is a :class:`gateway.sync.engine.TaskKind`; adding one here is all
it takes for both the arq workers and the embedded loop to run its tasks.
"""

from __future__ import annotations

from gateway.settings import Settings
from gateway.sync.engine import TaskKind


def build_kinds(settings: Settings) -> list[TaskKind]:
    """The task kinds of one worker process, built once at start-up."""
    kinds: list[TaskKind] = []
    return kinds
