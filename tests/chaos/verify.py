"""The verdict of a chaos run: the emulators' own state against the callers' ledger.

Upstream state is read over the emulators' HTTP APIs and ``/_emulator/stats``: every accepted
record must exist upstream (lost), once (Zählerfreunde spaces and devices counted per record),
every accepted reading must be stored at Zählerfreunde under its (device, code, timestamp) with
its value, and invites and reports may be sent twice only where an answer was lost or late or a
worker died between the send and its record. The gateway is asked only what it still has open
(outbox tasks not done, links not settled), never whether it thinks a record is synced.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import text

from gateway.core.settings import ReadingsSettings
from gateway.store.db import create_engine
from tests.chaos.workload import Ledger

VOLUE = "/energy-coordination/v1"
ZF = "/partner"
EXAMPLES = 5


@dataclass
class Verdict:
    """What was lost, duplicated or stuck, per kind, with a few examples each."""

    counts: dict[str, int] = field(default_factory=dict)
    """What the ledger holds per kind (records, readings, invites, reports)."""
    lost: Counter[str] = field(default_factory=Counter)
    duplicated: Counter[str] = field(default_factory=Counter)
    resent_readings: int = 0
    resent_unconfirmed: Counter[str] = field(default_factory=Counter)
    """Invites and reports sent again after a send the client never heard back from."""
    resent_after_kill: Counter[str] = field(default_factory=Counter)
    """Invites and reports sent again beyond those, within what killed workers had in flight."""
    stuck: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def note(self, what: str, example: str) -> None:
        found = self.examples.setdefault(what, [])
        if len(found) < EXAMPLES:
            found.append(example)

    @property
    def clean(self) -> bool:
        """Nothing lost, duplicated or stuck, and every call answered."""
        return not (self.lost or self.duplicated or self.stuck or self.counts.get("calls given up"))

    def line(self) -> str:
        """``lost=N duplicated=N stuck=N``, re-sent readings counted apart from ``duplicated``."""
        return (f"lost={sum(self.lost.values())} duplicated={sum(self.duplicated.values())} "
                f"stuck={sum(self.stuck.values())}")

    def report(self) -> str:
        """The line, the counts behind it and examples."""
        lines = [self.line(),
                 "counts: " + ", ".join(f"{k} {v}" for k, v in self.counts.items()),
                 f"re-sent readings: {self.resent_readings} (bound "
                 f"{self.counts.get('readings in-flight bound', 0)}: "
                 f"{self.counts.get('readings in flight at kills', 0)} in flight at kills + "
                 f"{self.counts.get('readings in unanswered sends', 0)} in sends answered late or lost)",
                 "re-sent after an unanswered send: "
                 + ", ".join(f"{k}s {self.resent_unconfirmed[k]} (bound "
                             f"{self.counts.get(f'unanswered {k} sends', 0)})" for k in ("invite", "report")),
                 "re-sent after a worker died between send and record: "
                 + ", ".join(f"{k}s {self.resent_after_kill[k]} (bound "
                             f"{self.counts.get(f'{k} sends in flight at kills', 0)})"
                             for k in ("invite", "report"))]
        for name, counter in (("lost", self.lost), ("duplicated", self.duplicated),
                              ("stuck", self.stuck)):
            if counter:
                lines.append(f"{name}: " + ", ".join(f"{k} {v}" for k, v in sorted(counter.items())))
        lines.extend(f"  e.g. {what}: {', '.join(found)}" for what, found in sorted(self.examples.items()))
        return "\n".join(lines)


class Upstream:
    """Reads the emulators' state with their own tokens."""

    def __init__(self, volue_url: str, zf_url: str) -> None:
        self.v = httpx.Client(base_url=volue_url + VOLUE, timeout=30)
        self.z = httpx.Client(base_url=zf_url + ZF, timeout=30)
        self.volue_url, self.zf_url = volue_url, zf_url
        token = httpx.post(f"{volue_url}/connect/token", data={
            "grant_type": "client_credentials", "client_id": "volue-emulator",
            "client_secret": "volue-emulator-secret"}).json()["access_token"]
        self.v.headers["Authorization"] = f"Bearer {token}"
        zf_token = httpx.post(f"{zf_url}{ZF}/auth/token", json={
            "clientId": "zf-emulator", "clientSecret": "zf-emulator-secret"}).json()["accessToken"]
        self.z.headers["Authorization"] = f"Bearer {zf_token}"

    def close(self) -> None:
        self.v.close()
        self.z.close()

    def stats(self) -> tuple[dict[str, Any], dict[str, Any]]:
        return (httpx.get(f"{self.volue_url}/_emulator/stats").json(),
                httpx.get(f"{self.zf_url}/_emulator/stats").json())

    def users(self) -> set[str]:
        found: set[str] = set()
        page = 1
        while True:
            body = self.v.get("/users", params={"page": page, "pageSize": 100}).json()
            found.update(u["userId"] for u in body["users"])
            if not body["users"] or page >= int(body["pagination"].get("totalPages", page)):
                return found
            page += 1

    def locations(self, user_id: str) -> list[dict[str, Any]]:
        response = self.v.get(f"/users/{user_id}/locations")
        return list(response.json()) if response.status_code == 200 else []

    def resources(self, user_id: str) -> list[dict[str, Any]]:
        response = self.v.get(f"/users/{user_id}/resources")
        return list(response.json()["resources"]) if response.status_code == 200 else []

    def spaces(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        page = 0
        while True:
            body = self.z.get("/spaces", params={"page": page, "pageSize": 500}).json()
            found.extend(body["spaces"])
            page += 1
            if page >= body["totalNumPages"]:
                return found

    def readings(self, device_id: str, start: int, end: int) -> dict[int, float]:
        """Hourly meter readings of a Zählerfreunde device in ``[start, end)``: hour -> value."""
        response = self.z.get(f"/devices/{device_id}/readings", params={
            "startTime": datetime.fromtimestamp(start, UTC).isoformat(),
            "endTime": datetime.fromtimestamp(end, UTC).isoformat(),
            "resolution": "1_HOUR", "measurement": "METER_READING"})
        response.raise_for_status()
        return {int(datetime.fromisoformat(item["timeStamp"]).timestamp()): float(item["value"])
                for item in response.json()}

    def devices(self, space_id: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        page = 0
        while True:
            body = self.z.get(f"/spaces/{space_id}/devices", params={"page": page, "pageSize": 500}).json()
            found.extend(body["devices"])
            page += 1
            if page >= body["totalNumPages"]:
                return found


def _check_volue(verdict: Verdict, ledger: Ledger, up: Upstream) -> None:
    users = up.users()
    for cid in ledger.customers.keys() - users:
        verdict.lost["volue users"] += 1
        verdict.note("lost volue user", cid)
    for cid in ledger.deleted_customers & users:
        verdict.lost["volue user deletes"] += 1
        verdict.note("volue user not deleted", cid)
    locations: Counter[str] = Counter()
    resources: Counter[str] = Counter()
    for cid in ledger.customers.keys() & users:
        for location in up.locations(cid):
            locations[location["locationId"]] += 1
            site = location["locationId"]
            latitude = (location.get("coordinates") or {}).get("latitude")
            if ledger.sites.get(site, "").endswith(" renamed") and latitude != 60.1:
                verdict.lost["volue location updates"] += 1
                verdict.note("volue location without its latest coordinates", site)
        for resource in up.resources(cid):
            resources[resource["resourceId"]] += 1
    for site in ledger.sites.keys() - locations.keys():
        verdict.lost["volue locations"] += 1
        verdict.note("lost volue location", site)
    for device in ledger.resources.keys() - resources.keys():
        verdict.lost["volue resources"] += 1
        verdict.note("lost volue resource", device)
    for device in ledger.deleted_resources & resources.keys():
        verdict.lost["volue resource deletes"] += 1
        verdict.note("volue resource not deleted", device)


def _check_zaehlerfreunde(verdict: Verdict, ledger: Ledger, up: Upstream) -> dict[str, list[str]]:
    """Spaces per site (by its latest name) and devices per device; the Zählerfreunde device
    ids of each of our devices."""
    spaces = up.spaces()
    by_name = Counter(space["name"] for space in spaces)
    verdict.counts["zf spaces upstream"] = len(spaces)
    names = set(ledger.sites.values())
    for site, name in ledger.sites.items():
        if by_name[name] == 0:
            verdict.lost["zf spaces (latest name)"] += 1
            verdict.note("zf space missing or not renamed", site)
        elif by_name[name] > 1:
            verdict.duplicated["zf spaces"] += by_name[name] - 1
            verdict.note("duplicated zf space", name)
    for name in by_name.keys() - names:
        if not name.endswith(" renamed") and f"{name} renamed" in names:
            continue
        verdict.lost["zf space deletes"] += by_name[name]
        verdict.note("zf space left behind", name)
    devices: dict[str, list[str]] = {}
    for space in spaces:
        if space["name"] in names:
            for device in up.devices(space["id"]):
                devices.setdefault(str(device.get("externalDeviceId") or device["id"]), []).append(
                    str(device["id"]))
    verdict.counts["zf devices upstream"] = sum(len(found) for found in devices.values())
    chargers = {d for d, kind in ledger.resource_kind.items() if kind == "chargers"} & ledger.resources.keys()
    for meter in ledger.meters.keys() - devices.keys():
        verdict.lost["zf meter devices"] += 1
        verdict.note("lost zf meter device", meter)
    for charger in chargers - devices.keys():
        verdict.lost["zf charger devices"] += 1
        verdict.note("lost zf charger device", charger)
    for device in ledger.deleted_resources & devices.keys():
        verdict.lost["zf device deletes"] += 1
        verdict.note("zf device not deleted", device)
    for device, found in devices.items():
        if len(found) > 1:
            verdict.duplicated["zf devices"] += len(found) - 1
            verdict.note("duplicated zf device", device)
    verdict.counts["zf spaces duplicated"] = verdict.duplicated["zf spaces"]
    verdict.counts["zf devices duplicated"] = verdict.duplicated["zf devices"]
    return devices


def _check_readings(verdict: Verdict, ledger: Ledger, up: Upstream, devices: dict[str, list[str]]) -> None:
    """Every accepted reading stored once at Zählerfreunde under its meter's device, hour and code,
    with its value; nothing stored there that was not sent."""
    checked = 0
    for meter, expected in sorted(ledger.readings.items()):
        if not expected or meter not in ledger.meters:
            continue
        wanted = {ts - ts % 3600: value for ts, value in expected.items()}
        start, end = min(wanted), max(wanted) + 3600
        stored: Counter[int] = Counter()
        values: dict[int, float] = {}
        for device_id in devices.get(meter, []):
            for hour, value in up.readings(device_id, start, end).items():
                stored[hour] += 1
                values[hour] = value
        for hour, value in wanted.items():
            checked += 1
            if not stored[hour]:
                verdict.lost["readings (per key)"] += 1
                verdict.note("reading missing", f"{meter} @{hour}")
            elif stored[hour] > 1:
                verdict.duplicated["readings stored twice (per key)"] += stored[hour] - 1
                verdict.note("reading stored under two devices", f"{meter} @{hour}")
            elif values[hour] != value:
                verdict.lost["readings with a wrong value"] += 1
                verdict.note("reading with a wrong value", f"{meter} @{hour}: {values[hour]} != {value}")
        for hour in stored.keys() - wanted.keys():
            verdict.duplicated["readings never sent (per key)"] += 1
            verdict.note("reading stored that was not sent", f"{meter} @{hour}")
    verdict.counts["readings checked per key"] = checked


def _check_counts(verdict: Verdict, ledger: Ledger, up: Upstream, in_flight_at_kills: int) -> None:
    volue, zf = up.stats()
    # Neither provider lets a caller make an invite or a report idempotent (no client-chosen
    # id, no way to list them), so a send whose answer was lost or late is sent again: such
    # re-sends are bounded by the sends the emulator carried out without the client hearing.
    unanswered = {"invite": _unanswered(zf, "POST", "/invites"),
                  "report": _unanswered(volue, "POST", "/reports")}
    for kind, n in {**volue["duplicates"], **zf["duplicates"]}.items():
        if kind in ("reading", "readings"):
            verdict.resent_readings += int(n)
        elif kind in unanswered:
            # A worker killed between a send the provider answered and its record leaves the
            # task to be sent again as well: at most what the killed workers had in flight.
            within = min(int(n), unanswered[kind])
            after_kill = min(int(n) - within, in_flight_at_kills)
            verdict.resent_unconfirmed[kind] += within
            verdict.resent_after_kill[kind] += after_kill
            if int(n) > within + after_kill:
                verdict.duplicated[f"{kind} (emulator counter)"] += int(n) - within - after_kill
        elif kind not in ("space", "device"):
            verdict.duplicated[f"{kind} (emulator counter)"] += int(n)
    # A reading request whose answer was lost or late is sent again, whole: its readings count
    # as re-sent (stored once all the same, which the per-key check proves).
    verdict.counts["readings in unanswered sends"] = \
        _unanswered(zf, "POST", "/devices/readings") * ReadingsSettings().batch_size
    verdict.counts["unanswered invite sends"] = unanswered["invite"]
    verdict.counts["unanswered report sends"] = unanswered["report"]
    verdict.counts["invite sends in flight at kills"] = in_flight_at_kills
    verdict.counts["report sends in flight at kills"] = in_flight_at_kills
    stored = int(zf["entities"]["readings"])
    verdict.counts["readings stored at zf"] = stored
    if stored < ledger.readings_accepted:
        verdict.lost["readings (total)"] += ledger.readings_accepted - stored
    for kind, expected, upstream in (("invites", len(ledger.invites), int(zf["entities"]["invites"])),
                                     ("reports", len(ledger.reports), int(volue["entities"]["reports"]))):
        if upstream < expected:
            verdict.lost[kind] += expected - upstream
        else:
            justified = verdict.resent_unconfirmed[kind[:-1]] + verdict.resent_after_kill[kind[:-1]]
            counted = f"{kind[:-1]} (emulator counter)" in verdict.duplicated
            if upstream > expected + justified and not counted:
                verdict.duplicated[kind] += upstream - expected - justified


def _unanswered(stats: dict[str, Any], method: str, path_part: str) -> int:
    """Requests to routes like ``method ...path_part`` carried out without an answer in time."""
    return sum(int(n) for route, n in stats.get("unanswered", {}).items()
               if route.startswith(method + " ") and path_part in route)


async def _check_gateway(verdict: Verdict, database_url: str) -> None:
    """Tasks not settled (settled: done, cancelled, or superseded by a later task of the same
    record) and links not synced or deleted are stuck."""
    engine = create_engine(database_url)
    async with engine.connect() as conn:
        tasks = (await conn.execute(text(
            "SELECT status, provider, entity_type, entity_id, COALESCE(last_error, '') FROM outbox_tasks "
            "WHERE status NOT IN ('done', 'cancelled', 'superseded')"))).all()
        links = (await conn.execute(text(
            "SELECT status, provider, entity_type, entity_id FROM provider_links "
            "WHERE status NOT IN ('synced', 'deleted')"))).all()
    await engine.dispose()
    for status, provider, entity_type, entity_id, error in tasks:
        verdict.stuck[f"tasks {status}"] += 1
        verdict.note(f"{status} task", f"{provider} {entity_type} {entity_id} {error[:60]!r}")
    for status, provider, entity_type, entity_id in links:
        verdict.stuck[f"links {status}"] += 1
        verdict.note(f"{status} link", f"{provider} {entity_type} {entity_id}")


async def verify(ledger: Ledger, *, volue_url: str, zf_url: str, database_url: str,
                 in_flight_at_kills: int = 0) -> Verdict:
    """Compare the emulators' state with ``ledger`` and list what the gateway still has open;
    ``in_flight_at_kills`` bounds the invites (and the reports) killed workers may have sent
    without recording them."""
    verdict = Verdict(counts={
        "customers": len(ledger.customers), "deleted customers": len(ledger.deleted_customers),
        "sites": len(ledger.sites), "meters": len(ledger.meters), "resources": len(ledger.resources),
        "deleted devices": len(ledger.deleted_resources), "readings": ledger.readings_accepted,
        "readings refused": ledger.readings_refused,
        "invites": len(ledger.invites), "reports": len(ledger.reports),
        "calls given up": len(ledger.gave_up)})
    up = Upstream(volue_url, zf_url)
    try:
        _check_volue(verdict, ledger, up)
        devices = _check_zaehlerfreunde(verdict, ledger, up)
        _check_readings(verdict, ledger, up, devices)
        _check_counts(verdict, ledger, up, in_flight_at_kills)
    finally:
        up.close()
    await _check_gateway(verdict, database_url)
    for call in ledger.gave_up:
        verdict.note("call given up", call)
    for refusal in ledger.refusals:
        verdict.note("write refused", refusal)
    return verdict
