"""What a chaos scenario cost upstream, from the emulators' own counters: requests per route, the
fewest requests the work needs, their ratio, lookups against writes."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from tests.chaos.workload import Ledger

PROVIDERS = ("volue", "zaehlerfreunde")
TOKEN_ROUTES = ("/connect/token", "/auth/token")
VOLUE_BATCH = 500
"""Users and locations per Volue batch request (the adapter's batch limit)."""
ZF_READINGS_BATCH = 1000
"""Readings per ``POST /devices/readings`` (the default ``GATEWAY_READINGS_BATCH_SIZE``)."""


def work_of(ledger: Ledger) -> Counter[str]:
    """What the callers had the gateway do so far, per kind (to subtract one moment from another)."""
    work = Counter({f"created {kind}": n for kind, n in ledger.created.items()})
    work.update({f"deleted {kind}": n for kind, n in ledger.deleted_devices.items()})
    work["renamed sites"] = ledger.renamed_sites
    work["deleted sites"] = ledger.deleted_sites
    work["deleted customers"] = len(ledger.deleted_customers)
    work["readings"] = ledger.readings_accepted
    work["invites"] = len(ledger.invites)
    work["reports"] = len(ledger.reports)
    return work


def minimum_requests(work: Counter[str]) -> dict[str, int]:
    """The fewest write requests each provider needs for ``work``: one per object written, users
    and locations in full Volue batches, readings in full batches."""
    sites, chargers = work["created sites"], work["created chargers"]
    return {
        "zaehlerfreunde": (sites + work["renamed sites"] + work["deleted sites"] + work["created meters"]
                           + chargers + work["deleted chargers"]
                           + math.ceil(work["readings"] / ZF_READINGS_BATCH) + work["invites"]),
        "volue": (math.ceil(work["created customers"] / VOLUE_BATCH) + math.ceil(sites / VOLUE_BATCH)
                  + chargers + work["created tanks"] + work["created vehicles"] + work["renamed sites"]
                  + work["deleted chargers"] + work["deleted tanks"] + work["deleted customers"]
                  + work["reports"]),
    }


def is_neighbour_route(route: str) -> bool:
    """Routes only the busy neighbour calls (see :class:`tests.chaos.workload.Neighbour`)."""
    method, _, path = route.partition(" ")
    return method == "GET" and ("/meters/" in path or path.endswith("/eligibility")
                                or (path.startswith("/partner/devices/") and path.endswith("/readings")))


def requests_between(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Counter[int]]:
    """Requests per route and status an emulator answered between two stats snapshots."""
    found: dict[str, Counter[int]] = {}
    for route, by_status in after["requests"].items():
        earlier = before["requests"].get(route, {})
        diff = Counter({int(status): n - int(earlier.get(status, 0)) for status, n in by_status.items()})
        diff = +diff
        if diff:
            found[route] = diff
    return found


def unanswered_between(before: dict[str, Any], after: dict[str, Any]) -> int:
    """Requests an emulator carried out whose answer was lost or late, between two snapshots."""
    return sum(int(n) - int(before.get("unanswered", {}).get(route, 0))
               for route, n in after.get("unanswered", {}).items())


class Figures:
    """The requests of one scenario (or phase) at both emulators and what they did."""

    def __init__(self, name: str, work: Counter[str], requests: dict[str, dict[str, Counter[int]]],
                 *, synced_s: float | None, ideal_s: float | None = None,
                 unanswered: dict[str, int] | None = None, providers: tuple[str, ...] = PROVIDERS,
                 accepted_s: float | None = None, neighbour_sent: dict[str, int] | None = None) -> None:
        self.name = name
        self.work = work
        self.requests = requests
        self.unanswered = unanswered or {}
        self.providers = providers
        self.neighbour_sent = neighbour_sent or {}
        """Requests the busy neighbour sent per provider; the rest on its routes are the gateway's."""
        """Providers whose writes the phase's ``work`` accounts for (the others: printed only)."""
        self.synced_s = synced_s
        self.accepted_s = accepted_s
        """When the callers had everything of the phase accepted (from its start)."""
        self.ideal_s = ideal_s
        self.minimum = {p: n for p, n in minimum_requests(work).items() if p in providers}

    def of(self, provider: str, *, kind: str) -> int:
        """Requests of one kind (``writes``, ``lookups``, ``neighbour``, ``tokens``) at a provider;
        the gateway's own GETs on the neighbour's routes (read-backs) count as lookups."""
        on_neighbour_routes = self._routed(provider, "neighbour")
        gateways = max(0, on_neighbour_routes - self.neighbour_sent.get(provider, 0))
        if kind == "neighbour":
            return on_neighbour_routes - gateways
        total = self._routed(provider, kind)
        return total + gateways if kind == "lookups" else total

    def _routed(self, provider: str, kind: str) -> int:
        """Requests at a provider on the routes of one kind."""
        return sum(sum(by_status.values()) for route, by_status in self.requests.get(provider, {}).items()
                   if _kind(route) == kind)

    def ratio(self, provider: str) -> float:
        """Write requests over the minimum (0 when there was nothing to write)."""
        minimum = self.minimum.get(provider, 0)
        return self.of(provider, kind="writes") / minimum if minimum else 0.0

    def lines(self) -> list[str]:
        synced = "not reached" if self.synced_s is None else f"{self.synced_s:.1f} s"
        ideal = "" if self.ideal_s is None else f" (ideal {self.ideal_s:.1f} s)"
        accepted = "" if self.accepted_s is None else f", all accepted after {self.accepted_s:.1f} s"
        out = [f"[{self.name}] time to all synced {synced}{ideal}{accepted}; work: "
               + ", ".join(f"{k} {v}" for k, v in sorted(self.work.items()) if v)]
        for provider in PROVIDERS:
            writes, lookups = self.of(provider, kind="writes"), self.of(provider, kind="lookups")
            share = f"{lookups / writes:.1%}" if writes else "-"
            minimum = (f"minimum {self.minimum[provider]}, ratio {self.ratio(provider):.2f}"
                       if provider in self.minimum else "minimum not counted here")
            out.append(f"  {provider}: writes {writes}, {minimum}; lookup GETs {lookups} "
                       f"({share} of writes); "
                       f"token fetches {self.of(provider, kind='tokens')}; answers lost or late "
                       f"{self.unanswered.get(provider, 0)}; "
                       f"neighbour's {self.of(provider, kind='neighbour')}")
            routes = sorted(self.requests.get(provider, {}).items(), key=lambda item: -sum(item[1].values()))
            for route, by_status in routes:
                statuses = " ".join(f"{status}x{n}" for status, n in sorted(by_status.items()))
                out.append(f"    {sum(by_status.values()):6d}  {route}  ({statuses})")
        return out


def _kind(route: str) -> str:
    if route.rstrip("/").endswith(TOKEN_ROUTES):
        return "tokens"
    if is_neighbour_route(route):
        return "neighbour"
    return "lookups" if route.startswith("GET ") else "writes"
