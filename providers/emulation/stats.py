"""The counters an emulator keeps: requests per route and status, drops, unanswered requests,
duplicates, tokens."""

from __future__ import annotations

from collections import defaultdict
from typing import Any


class EmulatorStats:
    """Plain counters, cheap to update from request handlers."""

    def __init__(self) -> None:
        self.requests: defaultdict[str, defaultdict[int, int]] = defaultdict(
            lambda: defaultdict(int)
        )
        self.dropped: defaultdict[str, int] = defaultdict(int)
        self.unanswered: defaultdict[str, int] = defaultdict(int)
        self.duplicates: defaultdict[str, int] = defaultdict(int)
        self.token_fetches = 0

    def count_request(self, route: str, status: int) -> None:
        """Count one answered request, ``route`` being e.g. ``"POST /users/batch"``."""
        self.requests[route][status] += 1

    def count_drop(self, route: str) -> None:
        """Count one request whose connection was dropped without an answer."""
        self.dropped[route] += 1

    def count_unanswered(self, route: str) -> None:
        """Count one request carried out whose answer the client did not get in time (lost or late)."""
        self.unanswered[route] += 1

    def count_duplicate(self, kind: str, n: int = 1) -> None:
        """Count ``n`` identical re-creates of an entity of ``kind`` (``"user"``, ``"reading"``,
        ``"invite"``, ``"report"`` ...)."""
        if n:
            self.duplicates[kind] += n

    def reset(self) -> None:
        """Zero every counter."""
        self.requests.clear()
        self.dropped.clear()
        self.unanswered.clear()
        self.duplicates.clear()
        self.token_fetches = 0

    def snapshot(self, entities: dict[str, int]) -> dict[str, Any]:
        """Return the counters as JSON-ready data, with the emulator's entity counts."""
        return {
            "requests": {
                route: {str(status): n for status, n in by_status.items()}
                for route, by_status in self.requests.items()
            },
            "dropped": dict(self.dropped),
            "unanswered": dict(self.unanswered),
            "tokenFetches": self.token_fetches,
            "duplicates": dict(self.duplicates),
            "entities": dict(entities),
        }
