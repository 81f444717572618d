"""Lookups after a lost answer, shared by the tasks of one engine round.

A create that may have reached Zählerfreunde looks for its earlier result before
creating again. Listing every space per task would multiply the load exactly when the
provider struggles, so one listing per round (``Operation.round_id``) and scope is made,
indexed by its match key, and every task of the round that needs it awaits the same one
(a failed listing fails them all; the next round lists again). An object adopted from the
index leaves it, so two tasks of a round never adopt the same one.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

Key = TypeVar("Key", bound=Hashable)
Item = TypeVar("Item")


class RoundIndex(Generic[Key, Item]):
    """Upstream objects by match key, listed at most once per round and scope."""

    def __init__(self, list_all: Callable[[str], Awaitable[list[tuple[Key, Item]]]]) -> None:
        self._list_all = list_all
        self._round = ""
        self._listings: dict[str, asyncio.Future[dict[Key, list[Item]]]] = {}

    async def take(self, round_id: str, *, scope: str, key: Key,
                   usable: Callable[[Item], bool]) -> Item | None:
        """An object listed under ``key`` that is ``usable``, removed from the index; or None.

        ``scope`` names what is listed (``""`` for all spaces, a space id for its devices).
        Without a ``round_id`` (a call outside the engine) the listing is not kept.
        """
        index = await self._index(round_id, scope)
        candidates = index.get(key, [])
        for position, item in enumerate(candidates):
            if usable(item):
                del candidates[position]
                return item
        return None

    async def _index(self, round_id: str, scope: str) -> dict[Key, list[Item]]:
        if not round_id:
            return await self._build(scope)
        if round_id != self._round:
            self._round = round_id
            self._listings = {}
        listing = self._listings.get(scope)
        if listing is None:
            listing = asyncio.ensure_future(self._build(scope))
            self._listings[scope] = listing
        return await asyncio.shield(listing)

    async def _build(self, scope: str) -> dict[Key, list[Item]]:
        index: dict[Key, list[Item]] = defaultdict(list)
        for key, item in await self._list_all(scope):
            index[key].append(item)
        return dict(index)
