"""The callers of a chaos run: writes through the API, retried with the same Idempotency-Key.

:class:`Ledger` records what the gateway accepted and what the records look like last,
which is what the emulators must hold afterwards.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.perf._stack import KEY

OBIS = "1.8.0"
KINDS = {"meter": "meters", "charger": "chargers", "hot_water_tank": "tanks"}
"""Device kinds of the workload as :attr:`Ledger.created` counts them."""
READINGS_PER_REQUEST = 1000
RETRY_FOR_S = 120.0
"""How long one call is retried (errors, 429, 409 in progress, the API down) before giving up."""


@dataclass
class Ledger:
    """What the gateway accepted, as its callers saw it."""

    customers: dict[str, str] = field(default_factory=dict)
    """customer id -> its externalRef, live ones only."""
    deleted_customers: set[str] = field(default_factory=set)
    sites: dict[str, str] = field(default_factory=dict)
    """site id -> its latest name (the Zählerfreunde space name)."""
    site_customer: dict[str, str] = field(default_factory=dict)
    meters: dict[str, str] = field(default_factory=dict)
    """meter device id -> its site id."""
    resources: dict[str, str] = field(default_factory=dict)
    """Live non-meter devices and vehicles (Volue resources) -> their customer id."""
    deleted_resources: set[str] = field(default_factory=set)
    vehicles: list[str] = field(default_factory=list)
    resource_kind: dict[str, str] = field(default_factory=dict)
    """Non-meter device or vehicle id -> its kind as counted in :attr:`created`."""
    created: Counter[str] = field(default_factory=Counter)
    """Records ever accepted per kind (customers, sites, meters, chargers, tanks, vehicles)."""
    renamed_sites: int = 0
    deleted_sites: int = 0
    """Sites gone with their deleted customers."""
    deleted_devices: Counter[str] = field(default_factory=Counter)
    """Devices DELETEd one by one, per kind."""
    readings: dict[str, dict[int, float]] = field(default_factory=dict)
    """meter device id -> timestamp -> value of every reading the gateway accepted."""
    readings_accepted: int = 0
    readings_refused: int = 0
    refusals: list[str] = field(default_factory=list)
    """Examples of writes the gateway refused (the workload means to send only valid ones)."""
    invites: set[str] = field(default_factory=set)
    reports: set[str] = field(default_factory=set)
    gave_up: list[str] = field(default_factory=list)
    """Calls that never got a definite answer within :data:`RETRY_FOR_S`."""
    in_flight: asyncio.Event = field(default_factory=asyncio.Event)
    """Set while a batch create is on its way: the moment to kill the API."""


class Caller:
    """An API client that retries a write with the same Idempotency-Key until it is answered."""

    def __init__(self, base_url: str, ledger: Ledger, *, seed: int) -> None:
        self.client = httpx.AsyncClient(
            base_url=base_url, timeout=60, headers={"Authorization": f"Bearer {KEY}"},
            limits=httpx.Limits(max_connections=20))
        self.ledger = ledger
        self.rng = random.Random(seed)

    async def close(self) -> None:
        await self.client.aclose()

    async def write(self, method: str, path: str, body: Any = None) -> httpx.Response | None:
        """Send one write until it gets an answer other than 5xx/429/409-in-progress."""
        key = str(uuid.uuid4())
        loop = asyncio.get_running_loop()
        deadline = loop.time() + RETRY_FOR_S
        while loop.time() < deadline:
            try:
                response = await self.client.request(
                    method, path, json=body, headers={"Idempotency-Key": key})
            except httpx.TransportError:
                await asyncio.sleep(0.2 + self.rng.random() * 0.5)
                continue
            retry = response.status_code >= 500 or response.status_code == 429 or (
                response.status_code == 409 and "in-progress" in response.text)
            if not retry:
                return response
            await asyncio.sleep(float(response.headers.get("retry-after", 0)) or 0.3)
        self.ledger.gave_up.append(f"{method} {path}")
        return None

    async def read(self, path: str) -> Any:
        """GET with retries while the API is down."""
        for _ in range(600):
            try:
                response = await self.client.get(path)
            except httpx.TransportError:
                await asyncio.sleep(0.2)
                continue
            if response.status_code < 500:
                response.raise_for_status()
                return response.json()
            await asyncio.sleep(0.2)
        raise RuntimeError(f"GET {path} never answered")

    async def read_all(self, path: str) -> list[Any]:
        """Every item of a listing (``{items, nextCursor}``), following its cursors."""
        items: list[Any] = []
        cursor = ""
        while True:
            page = await self.read(f"{path}?limit=1000" + (f"&cursor={cursor}" if cursor else ""))
            items.extend(page["items"])
            if not page["nextCursor"]:
                return items
            cursor = page["nextCursor"]


def customer_body(n: int, run: str) -> dict[str, Any]:
    """One customer: a site with a meter and a tank or charger, and a vehicle."""
    other = "hot_water_tank" if n % 2 else "charger"
    return {
        "externalRef": f"{run}-c{n}", "name": f"Customer {n}", "email": f"c{n}@example.com",
        "sites": [{
            "externalRef": f"{run}-s{n}", "name": f"{run} home {n}", "kind": "residential",
            "address": {"line1": f"Street {n}", "postcode": "0155", "city": "Oslo", "country": "NO"},
            "coordinates": {"latitude": 59.9, "longitude": 10.7},
            "devices": [
                {"externalRef": f"{run}-m{n}", "kind": "meter", "name": "Meter",
                 "medium": "electricity", "isMain": True, "meterPointId": f"7070575{n:011d}"},
                {"externalRef": f"{run}-d{n}", "kind": other, "name": other},
            ],
        }],
        "vehicles": [{"externalRef": f"{run}-v{n}", "name": "Car", "brand": "Polestar",
                      "model": "2", "year": 2023, "vin": f"YSMED{n:012d}"}],
    }


async def _remember(caller: Caller, customer: dict[str, Any]) -> None:
    ledger = caller.ledger
    cid = customer["id"]
    ledger.customers[cid] = customer["externalRef"]
    ledger.created["customers"] += 1
    for site in (await caller.read_all(f"/v1/customers/{cid}/sites")):
        ledger.sites[site["id"]] = site["name"]
        ledger.site_customer[site["id"]] = cid
        ledger.created["sites"] += 1
        for device in (await caller.read_all(f"/v1/sites/{site['id']}/devices")):
            ledger.created[KINDS.get(device["kind"], device["kind"])] += 1
            if device["kind"] == "meter":
                ledger.meters[device["id"]] = site["id"]
            else:
                ledger.resources[device["id"]] = cid
                ledger.resource_kind[device["id"]] = KINDS.get(device["kind"], device["kind"])
    for vehicle in (await caller.read_all(f"/v1/customers/{cid}/vehicles")):
        ledger.resources[vehicle["id"]] = cid
        ledger.resource_kind[vehicle["id"]] = "vehicles"
        ledger.created["vehicles"] += 1
        ledger.vehicles.append(vehicle["id"])


async def create_customers(caller: Caller, numbers: range, *, run: str, batch: int) -> None:
    """Half the customers one by one, the rest through ``/v1/customers/batch``."""
    half = numbers.start + len(numbers) // 2
    for n in range(numbers.start, half):
        response = await caller.write("POST", "/v1/customers", customer_body(n, run))
        if response is not None and response.status_code == 201:
            await _remember(caller, response.json())
        elif response is not None:
            caller.ledger.gave_up.append(f"POST /v1/customers {response.status_code}")
    for start in range(half, numbers.stop, batch):
        body = {"customers": [customer_body(n, run) for n in range(start, min(numbers.stop, start + batch))]}
        caller.ledger.in_flight.set()
        response = await caller.write("POST", "/v1/customers/batch", body)
        caller.ledger.in_flight.clear()
        if response is None:
            continue
        for result in response.json()["results"]:
            if result.get("customer"):
                await _remember(caller, result["customer"])


async def change_records(caller: Caller, *, share: float) -> None:
    """PATCH a share of the sites (name, coordinates); DELETE a share of the other devices and customers."""
    ledger = caller.ledger
    rng = caller.rng
    for site_id in sorted(ledger.sites):
        if rng.random() < share:
            name = f"{ledger.sites[site_id]} renamed"
            response = await caller.write("PATCH", f"/v1/sites/{site_id}", {
                "name": name, "coordinates": {"latitude": 60.1, "longitude": 11.2}})
            if response is not None and response.status_code == 200:
                ledger.sites[site_id] = name
                ledger.renamed_sites += 1
    deletable = sorted(set(ledger.resources) - set(ledger.vehicles))
    for device_id in rng.sample(deletable, int(len(deletable) * share)):
        response = await caller.write("DELETE", f"/v1/devices/{device_id}")
        if response is not None and response.status_code in (200, 202, 204, 404):
            del ledger.resources[device_id]
            ledger.deleted_resources.add(device_id)
            ledger.deleted_devices[ledger.resource_kind[device_id]] += 1
    for customer_id in rng.sample(sorted(ledger.customers), max(1, int(len(ledger.customers) * share / 3))):
        response = await caller.write("DELETE", f"/v1/customers/{customer_id}")
        if response is not None and response.status_code in (200, 202, 204, 404):
            _forget_customer(ledger, customer_id)


def _forget_customer(ledger: Ledger, customer_id: str) -> None:
    del ledger.customers[customer_id]
    ledger.deleted_customers.add(customer_id)
    for site_id in [s for s, c in ledger.site_customer.items() if c == customer_id]:
        if ledger.sites.pop(site_id, None) is not None:
            ledger.deleted_sites += 1
        for meter in [m for m, s in ledger.meters.items() if s == site_id]:
            del ledger.meters[meter]
            ledger.readings.pop(meter, None)
    for resource in [r for r, c in ledger.resources.items() if c == customer_id]:
        del ledger.resources[resource]


async def send_readings(caller: Caller, meters: list[str], *, per_meter: int, start_epoch: int) -> None:
    """``per_meter`` hourly readings for each of ``meters``, in requests of 1,000; each value
    is unique to its meter and hour, so a reading stored under the wrong key shows."""
    ledger = caller.ledger
    index = {meter: n for n, meter in enumerate(sorted(ledger.meters))}
    items = [{"deviceId": meter, "obisCode": OBIS, "timestamp": start_epoch + 3600 * k,
              "value": index[meter] * 10_000 + k * 0.5}
             for k in range(per_meter) for meter in meters]
    for i in range(0, len(items), READINGS_PER_REQUEST):
        part = items[i:i + READINGS_PER_REQUEST]
        response = await caller.write("POST", "/v1/readings", {"readings": part})
        if response is not None and response.status_code in (200, 201, 202):
            result = response.json()
            refused = {int(error["index"]) for error in result["errors"]}
            for n, item in enumerate(part):
                if n not in refused:
                    ledger.readings.setdefault(str(item["deviceId"]), {})[int(item["timestamp"])] = \
                        float(item["value"])
            ledger.readings_accepted += int(result["accepted"])
            ledger.readings_refused += int(result["rejected"])
            ledger.refusals.extend(str(e) for e in result["errors"][:1])
        elif response is not None:
            ledger.refusals.append(f"POST /v1/readings {response.status_code} {response.text[:200]}")


async def send_invites_and_reports(caller: Caller, sites: list[str], *, invites: int, reports: int) -> None:
    """Invites to ``sites`` (live ones); energy usage of their vehicles and of them, alternating."""
    ledger = caller.ledger
    sites = sorted(set(sites) & ledger.sites.keys())
    if not sites:
        return
    for k in range(min(invites, len(sites))):
        response = await caller.write("POST", f"/v1/sites/{sites[k]}/invites",
                                      {"email": f"guest{k}@example.com", "sendEmail": False})
        if response is not None and response.status_code == 202:
            ledger.invites.add(response.json()["id"])
    customers = {ledger.site_customer[site] for site in sites}
    live_vehicles = [v for v in ledger.vehicles if ledger.resources.get(v) in customers]
    for k in range(reports):
        if k % 2 and live_vehicles:
            path = f"/v1/devices/{live_vehicles[k % len(live_vehicles)]}/energy-usage"
            body: dict[str, Any] = {"points": [{"timestamp": f"2025-03-01T{k % 24:02d}:00:00Z",
                                                "kwh": 7.5}]}
        else:
            path = f"/v1/sites/{sites[k % len(sites)]}/energy-usage"
            body = {"points": [{"timestamp": f"2025-03-01T{k % 24:02d}:00:00Z", "kwh": 1.25}]}
        response = await caller.write("POST", path, body)
        if response is not None and response.status_code == 202:
            ledger.reports.add(response.json()["id"])


NEIGHBOUR_ROUTES = ("/meters/", "/eligibility", "/readings?")
"""What the busy neighbour calls (the gateway calls none of it while it syncs): Volue's meter and
user eligibility, Zählerfreunde's stored readings of a device."""


class Neighbour:
    """Another client of both emulators, hammering routes the gateway does not use, at a bounded
    rate: it takes a share of the providers' capacity and of their 429s."""

    def __init__(self, volue_url: str, zf_url: str, *, rate_per_s: float, concurrency: int = 4) -> None:
        self.volue_url, self.zf_url = volue_url, zf_url
        self.rate_per_s = rate_per_s
        self.concurrency = concurrency
        self.sent: Counter[str] = Counter()
        self.sent_to: Counter[str] = Counter()
        """Requests sent per provider (``volue``, ``zaehlerfreunde``)."""
        self.answers: Counter[int] = Counter()
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def _tokens(self, client: httpx.AsyncClient) -> tuple[str, str]:
        volue = await client.post(f"{self.volue_url}/connect/token", data={
            "grant_type": "client_credentials", "client_id": "volue-emulator",
            "client_secret": "volue-emulator-secret"})
        zf = await client.post(f"{self.zf_url}/partner/auth/token", json={
            "clientId": "zf-emulator", "clientSecret": "zf-emulator-secret"})
        return str(volue.json()["access_token"]), str(zf.json()["accessToken"])

    async def _hammer(self, n: int) -> None:
        rng = random.Random(n)
        pause = self.concurrency / self.rate_per_s
        async with httpx.AsyncClient(timeout=30) as client:
            volue_token, zf_token = await self._tokens(client)
            volue = {"Authorization": f"Bearer {volue_token}"}
            zf = {"Authorization": f"Bearer {zf_token}"}
            loop = asyncio.get_running_loop()
            while not self._stop.is_set():
                began = loop.time()
                pick = rng.randrange(3)
                if pick == 0:
                    what = "volue meter eligibility"
                    request = client.get(f"{self.volue_url}/energy-coordination/v1/meters/"
                                         f"7070575{rng.randrange(10**11):011d}/eligible", headers=volue)
                elif pick == 1:
                    what = "volue user eligibility"
                    request = client.get(f"{self.volue_url}/energy-coordination/v1/users/"
                                         f"{uuid.UUID(int=rng.getrandbits(128))}/eligibility", headers=volue)
                else:
                    what = "zf device readings"
                    request = client.get(
                        f"{self.zf_url}/partner/devices/{uuid.UUID(int=rng.getrandbits(128))}/readings",
                        params={"startTime": "2025-03-01T00:00:00Z", "endTime": "2025-03-02T00:00:00Z",
                                "resolution": "1_HOUR", "measurement": "METER_READING"}, headers=zf)
                try:
                    response = await request
                    self.answers[response.status_code] += 1
                except httpx.HTTPError:
                    self.answers[0] += 1
                self.sent[what] += 1
                self.sent_to["volue" if what.startswith("volue") else "zaehlerfreunde"] += 1
                await asyncio.sleep(max(0.0, pause - (loop.time() - began)))

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._hammer(n)) for n in range(self.concurrency)]

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def report(self) -> str:
        answers = ", ".join(f"{status or 'error'} x{n}" for status, n in sorted(self.answers.items()))
        return f"neighbour sent {sum(self.sent.values())} requests ({dict(self.sent)}; answers {answers})"
