"""Tables of the commands never cut ids: id columns keep their width, piped output is unbounded."""

from __future__ import annotations

import uuid

from rich.console import Console
from rich.table import Table

from gateway.ops.tables import WIDE, id_column, results_console

ID = str(uuid.UUID(int=0x1234567890ABCDEF1234567890ABCDEF))
LONG = "a detail long enough to need several lines of an 80-column terminal " * 3


def test_an_id_column_stays_whole_on_an_80_column_terminal() -> None:
    """The id keeps its 36 characters on one line; the other columns wrap instead."""
    console = Console(width=80, force_terminal=True, record=True)
    table = Table(id_column("id"), "name", "detail")
    table.add_row(ID, "Kari Nordmann of Longyearbyen", LONG)
    console.print(table)
    assert ID in console.export_text()


def test_a_plain_column_would_cut_it() -> None:
    """Without id_column the same table at 80 columns splits the id (what the column prevents)."""
    console = Console(width=80, force_terminal=True, record=True)
    table = Table("id", "name", "detail")
    table.add_row(ID, "Kari Nordmann of Longyearbyen", LONG)
    console.print(table)
    assert ID not in console.export_text()


def test_results_are_unbounded_when_piped_or_wide() -> None:
    """Output that is not a terminal (as under pytest) and --wide get a console as wide as any table."""
    assert results_console().width == WIDE
    assert results_console(wide=True).width == WIDE
