"""Lookups after a lost answer: upstream objects by match key, read incrementally.

A create that may have reached Zählerfreunde looks for its earlier result before
creating again. Zählerfreunde cannot be asked for one space by its content (``GET
/spaces`` takes only ``page`` and ``pageSize``), so the adapter keeps a :class:`ListingIndex`
of every space per process: ids by match key, read once in full and then kept fresh by
reading only what it has not seen yet, never the whole listing per lost answer.

**Incremental reads rest on the listing's order.** ``GET /spaces`` lists spaces in the order
they were created (the emulator lists its spaces in insertion order; an update does not move a
space, a delete closes the gap). A new space therefore always comes after every space that
existed when the index last read, so a refresh reads from the page that holds the last
position it knows (that page read again) to the end. Deletes move later spaces to earlier
positions, so the first page a refresh reads must begin with a space already seen (an
*anchor*): every position before a seen space holds a space older than it. When it does
not (the page is empty, or starts with an unseen space), the refresh steps back a page.
Our own deletes lower the known count, and one landing while a refresh reads makes it read
the previous page again. If a refresh meets a space it had seen after one it had not (the
listing is not in creation order after all, or a delete elsewhere moved a space past a page
boundary), it reads the whole listing again from page 0 rather than trust the tail.

**Stale entries.** Spaces deleted elsewhere can stay in the index; whoever adopts an entry
must check it still exists (the adapter sends the ``PUT`` that writes the site's content and
on 404 forgets the entry and looks again with ``fresh=True``). Spaces the adapter creates go
in directly (``add``), spaces it deletes leave (``forget``).

**When a look may answer "not there".** A match already in the index is answered at once. A
look that finds none waits for a refresh that started after the look's round was first seen
here (``Operation.round_id``: the round was claimed after every earlier try of its tasks had
ended, so such a refresh sees what they made); without a round, for a refresh started after
the look itself. All looks of a round therefore share one refresh, and looks arriving while
one runs wait for the next, which starts when it ends (one at a time per index).

**Failures.** Each page is tried again by the client (``ZaehlerfreundeClient.spaces_page``).
Waiting looks are matched after every page read, so one answered from an early page
succeeds even if a later page fails; a failed page fails only the looks still waiting, with a
``TransientError`` that says nothing was sent. What was read before the failure is kept, and
the next refresh resumes from there.

**Taken.** An id handed out is not handed out again for the same round (two tasks of a round
never adopt the same object); later rounds know it through ``Operation.taken_external_ids``.

:class:`RoundIndex` serves the devices of a space: a fresh ``ListingIndex`` per round and
space (a space's devices are few), so the tasks of a round share one listing of each space.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Generic, TypeVar

from providers.base import ProviderError, TransientError

Key = TypeVar("Key", bound=Hashable)

log = logging.getLogger(__name__)

Listed = list[tuple[str, Sequence[Key]]]
"""One listing page: each object's provider id with the match keys it carries."""

PageReader = Callable[[int], Awaitable[tuple[Listed[Key], int]]]
"""Reads one 0-based listing page: its objects and the number of pages."""

_ROUNDS_KEPT = 256
"""Rounds whose first refresh and handed-out ids are remembered (rounds run one after another)."""
_GONE_KEPT = 10_000
"""Ids of our recent deletes remembered, to ignore them in a listing read while they went out."""


class _Look(Generic[Key]):
    """A look waiting for a refresh: what it wants and the refresh that can say "not there"."""

    __slots__ = ("future", "key", "needs", "taken", "usable")

    def __init__(self, key: Key, usable: Callable[[str], bool], taken: set[str], needs: int) -> None:
        self.key = key
        self.usable = usable
        self.taken = taken
        self.needs = needs
        self.future: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()


def _failure(error: BaseException) -> BaseException:
    """The error a look gets when a page it still needed failed.

    A transient one is raised anew per look, saying that nothing of ours was sent (a
    failed GET made nothing, whatever its status says); any other is passed on as it is.
    """
    if not isinstance(error, TransientError):
        return error
    return TransientError(f"listing to look for an earlier create failed: {error.message}",
                          status=error.status, route=error.route, retry_after=error.retry_after)


class ListingIndex(Generic[Key]):
    """Provider ids by match key, from a paged listing in creation order (see the module)."""

    def __init__(self, read_page: PageReader[Key], *, page_size: int, name: str = "listing") -> None:
        self._read_page = read_page
        self._page_size = max(page_size, 1)
        self._name = name
        self._by_key: dict[Key, dict[str, None]] = {}
        self._keys: dict[str, tuple[Key, ...]] = {}
        self._seen: set[str] = set()
        """Ids read from the listing at a known position (not the ones only ``add``-ed)."""
        self._gone: OrderedDict[str, None] = OrderedDict()
        """Ids we deleted: a listing read while the delete went out may still show them."""
        self._count = 0
        """Positions of the listing known (read, less what we deleted since)."""
        self._forgotten = 0
        self._started = 0
        """Refreshes started; the number of the latest."""
        self._completed = 0
        """The latest refresh that read to the end."""
        self._round_needs: OrderedDict[str, int] = OrderedDict()
        self._taken: OrderedDict[str, set[str]] = OrderedDict()
        self._looks: list[_Look[Key]] = []
        self._runner: asyncio.Task[None] | None = None
        self.pages_read = 0
        """Listing pages read so far (for tests and diagnostics)."""

    # --- what the adapter tells it ---------------------------------------------------------

    def add(self, object_id: str, keys: Sequence[Key], *, round_id: str = "") -> None:
        """Index an object the adapter made or changed (its keys now), handed out in ``round_id``.

        An object made for one task of a round is not linked to it until the round records
        it, so no other look of that round may adopt it.
        """
        self._gone.pop(object_id, None)
        self._put(object_id, tuple(keys))
        self._taken_in(round_id).add(object_id)

    def forget(self, object_id: str) -> None:
        """Drop an object that is gone upstream (deleted by us, or answered 404)."""
        self._drop_keys(object_id)
        self._gone[object_id] = None
        while len(self._gone) > _GONE_KEPT:
            self._gone.popitem(last=False)
        if object_id in self._seen:
            self._seen.discard(object_id)
            self._count = max(self._count - 1, 0)
        self._forgotten += 1

    def __contains__(self, object_id: object) -> bool:
        return object_id in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    # --- looks ---------------------------------------------------------------------------

    async def take(self, round_id: str, *, key: Key, usable: Callable[[str], bool],
                   fresh: bool = False) -> str | None:
        """The id of an object under ``key`` that is ``usable``, not handed out in this round; or None.

        None only after a refresh that started after the round was first seen here (``fresh``:
        after this call) read the listing to its end. Raises ``TransientError`` when a page
        it still needed failed.
        """
        taken = self._taken_in(round_id)
        found = self._match(key, usable, taken)
        if found is not None:
            taken.add(found)
            return found
        needs = self._started + 1 if fresh or not round_id else self._round_start(round_id)
        if self._completed >= needs:
            return None
        look = _Look(key, usable, taken, needs)
        self._looks.append(look)
        if self._runner is None or self._runner.done():
            self._runner = asyncio.get_running_loop().create_task(self._run())
        try:
            return await look.future
        finally:
            if not look.future.done():
                look.future.cancel()

    def _round_start(self, round_id: str) -> int:
        needs = self._round_needs.get(round_id)
        if needs is None:
            needs = self._round_needs[round_id] = self._started + 1
            while len(self._round_needs) > _ROUNDS_KEPT:
                self._round_needs.popitem(last=False)
        return needs

    def _taken_in(self, round_id: str) -> set[str]:
        if not round_id:
            return set()
        taken = self._taken.get(round_id)
        if taken is None:
            taken = self._taken[round_id] = set()
            while len(self._taken) > _ROUNDS_KEPT:
                self._taken.popitem(last=False)
        return taken

    def _match(self, key: Key, usable: Callable[[str], bool], taken: set[str]) -> str | None:
        for object_id in self._by_key.get(key, ()):
            if object_id not in taken and usable(object_id):
                return object_id
        return None

    def _offer(self) -> None:
        """Answer every waiting look that the index can now answer with an object."""
        for look in self._looks:
            if look.future.done():
                continue
            found = self._match(look.key, look.usable, look.taken)
            if found is not None:
                look.taken.add(found)
                look.future.set_result(found)
        self._looks = [look for look in self._looks if not look.future.done()]

    def _settle(self, generation: int, error: BaseException | None) -> None:
        """End the looks that refresh ``generation`` was for: "not there", or its failure."""
        waiting: list[_Look[Key]] = []
        for look in self._looks:
            if look.future.done():
                continue
            if look.needs > generation:
                waiting.append(look)
            elif error is None:
                look.future.set_result(None)
            elif isinstance(error, asyncio.CancelledError):
                look.future.cancel()
            else:
                look.future.set_exception(_failure(error))
        self._looks = waiting

    async def _run(self) -> None:
        """Refresh, one at a time, while looks wait for a refresh."""
        while any(not look.future.done() for look in self._looks):
            self._started += 1
            generation = self._started
            try:
                await self._refresh()
            except ProviderError as error:
                self._settle(generation, error)
            except BaseException as error:
                self._settle(self._started, error)
                raise
            else:
                self._completed = generation
                self._settle(generation, None)

    # --- reading -------------------------------------------------------------------------

    async def _refresh(self) -> None:
        """Read the listing from the last known position to its end (see the module)."""
        size = self._page_size
        page = (self._count - 1) // size if self._count else 0
        anchored = page == 0
        restarted = False
        first_new: int | None = None  # where this refresh first met an object it had not seen
        new: set[str] = set()
        forgotten = self._forgotten
        while True:
            listed, pages = await self._read_page(page)
            self.pages_read += 1
            if self._forgotten != forgotten and page > 0 and anchored:
                # A delete of ours landed while we read: a space may have moved onto the page before.
                forgotten = self._forgotten
                page -= 1
                continue
            if not anchored:
                first = next((object_id for object_id, _ in listed if object_id not in self._gone), None)
                if first is None or first not in self._seen:
                    page -= 1
                    anchored = page == 0
                    continue
                anchored = True
            broken = False
            for offset, (object_id, keys) in enumerate(listed):
                if object_id in self._gone:
                    continue
                position = page * size + offset
                if object_id not in self._seen:
                    self._seen.add(object_id)
                    new.add(object_id)
                    first_new = position if first_new is None else min(first_new, position)
                elif object_id not in new and first_new is not None and position > first_new:
                    broken = True
                self._put(object_id, tuple(keys))
            self._count = page * size + len(listed)
            self._offer()
            if broken and not restarted:
                log.warning("%s: an object seen before came after a new one; reading the whole listing again",
                            self._name)
                restarted, first_new, page = True, None, 0
                new.clear()
                continue
            page += 1
            if page >= pages or not listed:
                return

    def _put(self, object_id: str, keys: tuple[Key, ...]) -> None:
        if self._keys.get(object_id) == keys:
            return
        self._drop_keys(object_id)
        self._keys[object_id] = keys
        for key in keys:
            self._by_key.setdefault(key, {})[object_id] = None

    def _drop_keys(self, object_id: str) -> None:
        for key in self._keys.pop(object_id, ()):
            ids = self._by_key.get(key)
            if ids is not None:
                ids.pop(object_id, None)
                if not ids:
                    del self._by_key[key]


class RoundIndex(Generic[Key]):
    """A :class:`ListingIndex` per round and scope (a space's devices), read once per round."""

    def __init__(self, read_page: Callable[[str, int], Awaitable[tuple[Listed[Key], int]]], *,
                 page_size: int) -> None:
        self._read_page = read_page
        self._page_size = page_size
        self._indexes: OrderedDict[tuple[str, str], ListingIndex[Key]] = OrderedDict()

    def index(self, round_id: str, scope: str) -> ListingIndex[Key]:
        """The index of ``scope`` for ``round_id`` (a new one each call without a round)."""
        found = self._indexes.get((round_id, scope)) if round_id else None
        if found is None:
            async def read(page: int) -> tuple[Listed[Key], int]:
                return await self._read_page(scope, page)

            found = ListingIndex(read, page_size=self._page_size, name=f"devices of {scope}")
            if round_id:
                self._indexes[(round_id, scope)] = found
                while len(self._indexes) > _ROUNDS_KEPT:
                    self._indexes.popitem(last=False)
        return found

    async def take(self, round_id: str, *, scope: str, key: Key, usable: Callable[[str], bool]) -> str | None:
        """An object of ``scope`` under ``key`` that is ``usable``, not handed out in this round; or None."""
        return await self.index(round_id, scope).take(round_id, key=key, usable=usable)

    def forget(self, scope: str, object_id: str) -> None:
        """Drop an object we deleted from every kept index of ``scope``."""
        for (_, kept_scope), index in self._indexes.items():
            if kept_scope == scope and object_id in index:
                index.forget(object_id)
