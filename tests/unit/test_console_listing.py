"""The console's paging arithmetic and how stored bodies are shown."""

from __future__ import annotations

from gateway.console.listing import paging, pretty


def test_paging_counts_and_links_keep_the_filters() -> None:
    """A page knows its range of the total, and its links keep the list's filters (empty ones left out)."""
    middle = paging(2, 120, "/console/customers", ("q", "kari"), ("problems", ""))
    assert (middle.pages, middle.offset, middle.first, middle.last) == (3, 50, 51, 100)
    assert middle.previous == "/console/customers?q=kari&page=1"
    assert middle.next == "/console/customers?q=kari&page=3"
    last = paging(3, 120, "/console/customers")
    assert (last.first, last.last, last.next) == (101, 120, None)


def test_paging_past_the_end_or_of_nothing_shows_what_there_is() -> None:
    """A page number past the last shows the last page; an empty list is one page of nothing."""
    assert paging(99, 120, "/x").number == 3
    empty = paging(1, 0, "/x")
    assert (empty.pages, empty.first, empty.last, empty.previous, empty.next) == (1, 0, 0, None, None)


def test_bodies_are_indented_json_or_their_own_text() -> None:
    """JSON text is indented, other text is kept as it is, nothing stored shows nothing."""
    assert pretty('{"a": [1, 2]}') == '{\n  "a": [\n    1,\n    2\n  ]\n}'
    assert pretty({"b": "ø"}) == '{\n  "b": "ø"\n}'
    assert pretty("plain <text>") == "plain <text>"
    assert pretty(b'{"c": 1}') == '{\n  "c": 1\n}'
    assert pretty(None) is None and pretty("") is None
