"""Where the commands print their tables: ids are never cut.

Rich fits a table to the terminal's width (80 columns when the output is not a terminal)
by wrapping and cutting cells. Ids must stay whole to be copied: id columns do not wrap
and keep at least an id's width (the other columns give way), and with ``--wide`` or when
the output goes to a file or a pipe, tables take the width they need.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Column

WIDE = 10_000
"""The width of a ``--wide`` console: as wide as any table needs (nothing is padded to it)."""
ID_WIDTH = 36
"""A UUID's length."""


def results_console(*, wide: bool = False) -> Console:
    """A console for results on stdout: the terminal's width, or unbounded with ``wide`` or
    when stdout is not a terminal."""
    if wide or not Console().is_terminal:
        return Console(width=WIDE, soft_wrap=False)
    return Console(soft_wrap=False)


def id_column(header: str) -> Column:
    """A table column of ids: never wrapped or cut, at least a UUID wide."""
    return Column(header, no_wrap=True, overflow="fold", min_width=ID_WIDTH)


STATUS_STYLES = {"synced": "green", "sent": "green", "failed": "red", "blocked": "red",
                 "pending": "yellow", "deleting": "yellow", "deleted": "dim", "drifted": "magenta"}
"""The colour of each sync or invite status in a table."""


def styled(status: str) -> str:
    """A status in its colour (rich markup); an unknown one as it is."""
    style = STATUS_STYLES.get(status)
    return f"[{style}]{status}[/{style}]" if style else status
