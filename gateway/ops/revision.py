"""``gateway db revision``: a new migration from the difference between the models and the
database, numbered after the newest one (``0018_<message>.py``), and none when nothing differs."""

from __future__ import annotations

import re
from typing import Any

from alembic import command
from alembic.script import ScriptDirectory

from gateway.store.migrate import alembic_config


def next_revision_id(head: str | None) -> str | None:
    """The id after ``head`` when the chain is numbered (``0017`` → ``0018``); None otherwise
    (Alembic then makes one up)."""
    if head is None:
        return "0001"
    return f"{int(head) + 1:0{len(head)}d}" if re.fullmatch(r"\d+", head) else None


def write_revision(database_url: str, message: str, *, version_path: str | None = None) -> str | None:
    """Write the migration; return its path, or None when the models match the database."""
    config = alembic_config(database_url)
    head = ScriptDirectory.from_config(config).get_current_head()
    empty = False

    def skip_empty(_context: Any, _revision: Any, directives: list[Any]) -> None:
        nonlocal empty
        if directives and directives[0].upgrade_ops.is_empty():
            directives[:] = []
            empty = True

    written = command.revision(config, message=message, autogenerate=True, rev_id=next_revision_id(head),
                               version_path=version_path, process_revision_directives=skip_empty)
    if empty or written is None:
        return None
    script = written[0] if isinstance(written, list) else written
    return None if script is None else str(script.path)
