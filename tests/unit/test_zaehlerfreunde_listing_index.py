"""The incremental listing index behind Zählerfreunde's lookups, against a listing in memory."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from providers.zaehlerfreunde.lookups import Listed, ListingIndex


class Listing:
    """A paged listing of ids, each its own key; ``after_read`` runs after each page is served."""

    def __init__(self, ids: list[str], *, page_size: int = 2) -> None:
        self.ids = list(ids)
        self.page_size = page_size
        self.reads: list[int] = []
        self.after_read: Callable[[int], None] = lambda _page: None
        self.gate: asyncio.Event | None = None

    async def read(self, page: int) -> tuple[Listed[str], int]:
        start = page * self.page_size
        served = [(object_id, [object_id]) for object_id in self.ids[start:start + self.page_size]]
        pages = -(-len(self.ids) // self.page_size)
        self.reads.append(page)
        self.after_read(page)
        if self.gate is not None:
            await self.gate.wait()
        return served, pages


def _index(listing: Listing) -> ListingIndex[str]:
    return ListingIndex(listing.read, page_size=listing.page_size)


def _any(_: str) -> bool:
    return True


async def test_a_refresh_reads_from_the_last_known_page_only() -> None:
    """After the first full read, a look for a new object reads the last known page and what follows."""
    listing = Listing(["a", "b", "c", "d", "e"])
    index = _index(listing)
    assert await index.take("r1", key="zz", usable=_any) is None
    assert listing.reads == [0, 1, 2]
    listing.ids += ["f", "g"]
    assert await index.take("r2", key="g", usable=_any) == "g"
    assert listing.reads[3:] == [2, 3]


async def test_a_listing_out_of_creation_order_is_read_again_in_full() -> None:
    """When a seen object follows a new one, the refresh reads the whole listing and finds what was hidden."""
    listing = Listing(["a", "c", "e", "g"])  # sorted by name, not by creation
    index = _index(listing)
    assert await index.take("r1", key="zz", usable=_any) is None
    listing.ids = ["a", "b", "c", "e", "f", "g"]
    assert await index.take("r2", key="b", usable=_any) == "b"
    assert listing.reads[2:] == [1, 2, 0, 1, 2]


async def test_our_delete_during_a_refresh_makes_it_read_the_previous_page_again() -> None:
    """A delete of ours between two page reads moves an object back a page; the refresh reads it again."""
    listing = Listing(["a", "b", "c", "d", "e"])
    index = _index(listing)
    assert await index.take("r1", key="zz", usable=_any) is None
    listing.ids += ["f", "g"]

    def delete_once(page: int) -> None:
        if page == 2 and "a" in listing.ids:
            listing.ids.remove("a")
            index.forget("a")

    listing.after_read = delete_once
    assert await index.take("r2", key="g", usable=_any) == "g"
    assert "a" not in index


async def test_a_look_that_arrives_while_a_refresh_runs_waits_for_the_next_one() -> None:
    """A refresh that started before a look cannot tell it "not there": the look waits for a later refresh."""
    listing = Listing(["a", "b", "c"])
    index = _index(listing)
    assert await index.take("", key="zz", usable=_any) is None
    listing.gate = asyncio.Event()
    first = asyncio.create_task(index.take("", key="zz", usable=_any))
    while len(listing.reads) < 3:  # the refresh has read its page and waits at the gate
        await asyncio.sleep(0)
    listing.ids.append("d")
    second = asyncio.create_task(index.take("", key="d", usable=_any))
    await asyncio.sleep(0)
    listing.gate.set()
    assert await first is None
    assert await second == "d"


async def test_one_round_shares_one_refresh_and_never_hands_out_an_object_twice() -> None:
    """Looks of one round share a refresh; two looks for the same key in a round get different objects."""
    listing = Listing(["a", "b"])
    index = _index(listing)
    assert await index.take("r1", key="zz", usable=_any) is None
    reads = len(listing.reads)
    index.add("x1", ["twin"])
    index.add("x2", ["twin"])
    found = await asyncio.gather(*(index.take("r2", key=key, usable=_any)
                                   for key in ("twin", "twin", "twin", "nope", "none")))
    assert sorted(found[:2]) == ["x1", "x2"] and found[2:] == [None, None, None]
    assert len(listing.reads) == reads + 1
