"""An emulator's state kept in a file: loaded at start, written after changes and at the end.

:class:`StateFile` wraps an emulator app (ASGI): it loads what the file holds into the app's
state when made, marks the state changed after every request that may change it (any
method but GET, HEAD and OPTIONS, control routes included, so a reset is kept too), writes
the file once changes have settled for ``delay_s`` seconds, and once more by :meth:`save`
when the server stops. ``gateway serve`` keeps its built-in emulators' state beside its
SQLite database this way; ``gateway emulate --state FILE`` does it for a standalone one.

What is kept are the stored objects of each emulator (Volue's users, locations, resources,
events, reports and webhooks with their logs; Zählerfreunde's spaces, devices, invites and
readings, with the indexes over them), pickled as they are in memory: the file is local
and trusted like the database beside it. Fault plans, counters and issued tokens are not
kept (tokens are checked against this process's clock; clients fetch new ones). A file
that cannot be read (for example one written by another version) is moved aside to
``FILE.unreadable`` with a warning, and the emulator starts empty.
"""

from __future__ import annotations

import asyncio
import logging
import os
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

from litestar.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger("providers.emulation.persistence")

FORMAT = 1
UNCHANGING = frozenset({"GET", "HEAD", "OPTIONS"})

_KEPT: dict[tuple[str, ...], tuple[frozenset[str] | None, frozenset[str]]] = {
    # path under app.state: (only these attributes, or None for all) , (never these)
    ("volue", "store"): (None, frozenset({"stats", "on_event"})),
    ("volue", "hub"): (frozenset({"webhooks", "logs"}), frozenset()),
    ("zaehlerfreunde",): (None, frozenset({"_on_duplicate"})),
}
"""The objects of an emulator app's state that hold what it stores, and which of their
attributes are that (the others are wiring: counters, callbacks, HTTP clients)."""


def _kept_objects(app: Any) -> Iterator[tuple[str, Any, frozenset[str] | None, frozenset[str]]]:
    for path, (only, never) in _KEPT.items():
        target: Any = app.state
        for name in path:
            target = getattr(target, name, None)
            if target is None:
                break
        if target is not None:
            yield ".".join(path), target, only, never


def _attributes(target: Any) -> dict[str, Any]:
    if hasattr(target, "__dict__"):
        return dict(vars(target))
    return {name: getattr(target, name) for name in getattr(target, "__slots__", ())}


def snapshot(app: Any) -> dict[str, dict[str, Any]]:
    """What the app's emulator stores: per kept object, its kept attributes."""
    taken: dict[str, dict[str, Any]] = {}
    for key, target, only, never in _kept_objects(app):
        taken[key] = {name: value for name, value in _attributes(target).items()
                      if (only is None or name in only) and name not in never}
    return taken


def restore(app: Any, taken: dict[str, dict[str, Any]]) -> int:
    """Put a :func:`snapshot` back into the app's state; return how many objects it filled."""
    filled = 0
    for key, target, only, never in _kept_objects(app):
        for name, value in taken.get(key, {}).items():
            if (only is None or name in only) and name not in never:
                setattr(target, name, value)
        filled += key in taken
    return filled


class StateFile:
    """An emulator app whose state lives in ``path`` (an ASGI app itself: serve it instead)."""

    def __init__(self, app: ASGIApp, path: Path, *, name: str, delay_s: float = 1.0) -> None:
        self.app = app
        self.path = path
        self.name = name
        self.delay_s = delay_s
        self.loaded = self._load()
        self._timer: asyncio.TimerHandle | None = None
        self._dirty = False

    def _load(self) -> bool:
        """Fill the app's state from the file; whether there was a state to load."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return False
        try:
            kept = pickle.loads(data)  # the file is local, written by this module
            header = (kept.get("format"), kept.get("emulator")) if isinstance(kept, dict) else None
            if header != (FORMAT, self.name):
                raise ValueError(f"not a {self.name} emulator state of format {FORMAT}")
            restore(self.app, kept["objects"])
        except Exception as exc:
            aside = self.path.with_name(self.path.name + ".unreadable")
            os.replace(self.path, aside)
            log.warning("%s emulator: cannot read its state file %s (%s); moved it to %s and started empty",
                        self.name, self.path, exc, aside)
            return False
        return True

    def save(self) -> None:
        """Write the state now (atomically: a crash leaves the previous file)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._dirty = False
        data = pickle.dumps({"format": FORMAT, "emulator": self.name, "objects": snapshot(self.app)},
                            protocol=pickle.HIGHEST_PROTOCOL)
        partial = self.path.with_name(self.path.name + ".partial")
        partial.write_bytes(data)
        os.replace(partial, self.path)

    def _settled(self) -> None:
        self._timer = None
        if self._dirty:
            try:
                self.save()
            except Exception:
                log.exception("%s emulator: writing its state to %s failed", self.name, self.path)

    def changed(self) -> None:
        """Note a change; the file is written ``delay_s`` after the last one of a burst."""
        self._dirty = True
        if self._timer is not None:
            self._timer.cancel()
        self._timer = asyncio.get_running_loop().call_later(self.delay_s, self._settled)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        finally:
            raw = cast(dict[str, Any], scope)
            if raw["type"] == "http" and raw.get("method") not in UNCHANGING:
                self.changed()

    def __getattr__(self, name: str) -> Any:
        # The wrapped app's attributes (``state`` above all) stay reachable through the wrapper.
        return getattr(self.app, name)
