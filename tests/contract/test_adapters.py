"""One contract suite for every provider adapter, each against its emulator over real HTTP.

Every test runs once per provider of the suite's table (``tests/contract/table.py``: a new
provider joins by adding one entry there), or once per provider whose capabilities the test
is about (customers, batched sites). It drives the adapter exactly as the sync engine does,
through ``apply`` and ``apply_batch``. After each test, every request the adapter sent to the
provider's API is checked against the provider's OpenAPI document with openapi-core.

Volue's document is read as ``tests/contract/volue/conftest.load_spec`` reads it (the
documented ambiguities named there: the Bearer scheme's case, and the polymorphic
payloads that cannot validate as written), so ``POST /reports`` is checked too. A
request the emulator refused with 400 is one a test sent wrong on purpose and is not
checked. The tests at the end are one provider's own extras.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import msgspec
import pytest
from openapi_core import OpenAPI
from openapi_core.exceptions import OpenAPIError
from openapi_core.testing import MockRequest

from gateway.core.domain import (
    Address,
    Coordinates,
    Customer,
    Device,
    DeviceKind,
    EntityType,
    Medium,
    Provider,
    Site,
    SiteKind,
    SpaceCategory,
    TaskAction,
)
from providers.base import (
    AuthError,
    CallRecord,
    ConflictError,
    DeviceReadings,
    Operation,
    Outcome,
    RejectedError,
    TransientError,
)
from providers.emulation import Emulation, FaultPlan, serve_in_thread
from providers.http import call_log
from providers.registry import CAPABILITIES
from providers.volue.adapter import VolueAdapter
from providers.volue.schemas import EnergyCurvePoint, EnergyUsageReportPayload, PostReportRequest
from providers.zaehlerfreunde.adapter import ZaehlerfreundeAdapter
from tests.contract.table import PROVIDERS, VOLUE, ZAEHLERFREUNDE, ProviderEntry, openapi

VOLUE_PREFIX = VOLUE.prefix
ZF_PREFIX = ZAEHLERFREUNDE.prefix
VOLUE_ID, VOLUE_SECRET = VOLUE.client_id, VOLUE.client_secret
ZF_ID, ZF_SECRET = ZAEHLERFREUNDE.client_id, ZAEHLERFREUNDE.client_secret


# --- canonical entities ------------------------------------------------------------------


def new_id() -> str:
    return str(uuid.uuid4())


def make_customer() -> Customer:
    cid = new_id()
    return Customer(
        id=cid,
        external_ref=f"crm-{cid[:8]}",
        name="Kari Nordmann",
        email=f"{cid[:8]}@example.com",
        providers=tuple(PROVIDERS),
    )


def make_site(customer: Customer, **changes: Any) -> Site:
    sid = new_id()
    site = Site(
        id=sid,
        customer_id=customer.id,
        external_ref=f"site-{sid[:8]}",
        name=f"Home {sid[:8]}",
        kind=SiteKind.RESIDENTIAL,
        category=SpaceCategory.SINGLE_FAMILY_HOME,
        address=Address(line1="Hauptstraße 1", postcode="10115", city="Berlin", country="DE"),
        coordinates=Coordinates(latitude=52.52, longitude=13.405),
        meter_point_ids=(f"7070575000{sid[:8]}",),
    )
    return msgspec.structs.replace(site, **changes)


def make_charger(site: Site, **changes: Any) -> Device:
    did = new_id()
    device = Device(
        id=did,
        customer_id=site.customer_id,
        external_ref=f"dev-{did[:8]}",
        kind=DeviceKind.CHARGER,
        name="Wallbox",
        site_id=site.id,
    )
    return msgspec.structs.replace(device, **changes)


def upsert(entity: Customer | Site | Device, **options: Any) -> Operation:
    if isinstance(entity, Site):
        options.setdefault("meter_point_ids", entity.meter_point_ids)
    return Operation(task_id=new_id(), action=TaskAction.UPSERT, entity=entity, **options)


def delete(entity: Customer | Site | Device, **options: Any) -> Operation:
    return Operation(task_id=new_id(), action=TaskAction.DELETE, entity=entity, **options)


# --- the harness -------------------------------------------------------------------------


@dataclass
class Harness:
    """A running emulator, an adapter built by the factory, and what it sent."""

    entry: ProviderEntry
    url: str
    app: Any
    adapter: Any
    """The provider's adapter (a ``ProviderAdapter`` offering what its class declares)."""
    openapi: OpenAPI
    sent: list[httpx.Request] = field(default_factory=list)
    refused: set[int] = field(default_factory=set)
    """``id()`` of the sent requests the emulator answered 400."""

    @property
    def provider(self) -> Provider:
        return self.entry.provider

    @property
    def emulation(self) -> Emulation:
        emulation: Emulation = self.app.state.emulation
        return emulation

    @property
    def caps(self) -> Any:
        return CAPABILITIES[self.provider]

    def count(self, entity_type: EntityType) -> int:
        """How many objects of this type the emulator holds."""
        return int(self.entry.state(self.app).entity_counts()[self.entry.count_keys[entity_type]])

    def requests_with_status(self, status: int) -> int:
        return sum(by.get(status, 0) for by in self.emulation.stats.requests.values())

    def spec_problems(self) -> list[str]:
        """Every sent API request the provider's OpenAPI file does not allow."""
        problems = []
        for request in self.sent:
            if id(request) in self.refused:
                continue
            checked = MockRequest(
                f"{request.url.scheme}://{request.url.netloc.decode()}",
                request.method.lower(),
                request.url.path,
                args=dict(request.url.params),
                headers={"Authorization": request.headers.get("authorization", "")},
                data=request.content or None,
                content_type=request.headers.get("content-type", "application/json"),
            )
            try:
                self.openapi.validate_request(checked)
            except OpenAPIError as exc:
                problems.append(f"{request.method} {request.url.path}: {exc}")
        return problems

    async def site(self, **changes: Any) -> tuple[Site, str]:
        """A site that exists upstream (its customer first where the provider has users)."""
        customer = make_customer()
        if self.caps.customers:
            await self.adapter.apply(upsert(customer))
        site = make_site(customer, **changes)
        outcome = await self.adapter.apply(upsert(site))
        assert outcome.external_id is not None
        return site, outcome.external_id

    def site_view(self, external_id: str) -> tuple[Any, ...]:
        """What the provider holds for a site, in the terms it keeps."""
        return self.entry.site_view(self.entry.state(self.app), external_id)

    def expected_view(self, site: Site) -> tuple[Any, ...]:
        """What ``site_view`` should show for ``site``."""
        return self.entry.expected_view(site)


def _watch(client: httpx.AsyncClient, prefix: str, sent: list[httpx.Request],
           refused: set[int]) -> None:
    async def capture(request: httpx.Request) -> None:
        if request.url.path.startswith(prefix):
            sent.append(request)

    async def answered(response: httpx.Response) -> None:
        if response.status_code == 400:
            refused.add(id(response.request))

    client.event_hooks = {"request": [capture], "response": [answered]}


def build_adapter(provider: Provider, url: str, *, secret: str | None = None) -> Any:
    """The provider's adapter for the emulator at ``url``, as the factory builds it."""
    entry = PROVIDERS[provider]
    return entry.build(url, secret or entry.client_secret)


@contextlib.asynccontextmanager
async def running(provider: Provider) -> AsyncIterator[Harness]:
    """The provider's emulator served on 127.0.0.1 and an adapter from the factory.

    On exit, every request the adapter sent must be one the provider's OpenAPI allows.
    """
    entry = PROVIDERS[provider]
    app = entry.emulator()
    with serve_in_thread(app) as url:
        adapter = build_adapter(provider, url)
        h = Harness(entry=entry, url=url, app=app, adapter=adapter, openapi=openapi(provider))
        _watch(entry.http_client(adapter), entry.prefix, h.sent, h.refused)
        try:
            yield h
        finally:
            await adapter.aclose()
    assert h.spec_problems() == []


@pytest.fixture(params=list(PROVIDERS), ids=str)
async def harness(request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    """Each provider in turn."""
    async with running(request.param) as h:
        yield h


CUSTOMER_PROVIDERS = [p for p in PROVIDERS if CAPABILITIES[p].customers]
SITE_BATCH_PROVIDERS = [p for p in CUSTOMER_PROVIDERS if EntityType.SITE in CAPABILITIES[p].batch_limits]


@pytest.fixture(params=CUSTOMER_PROVIDERS, ids=str)
async def customer_harness(request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    """Each provider that has an object for customers."""
    async with running(request.param) as h:
        yield h


@pytest.fixture(params=SITE_BATCH_PROVIDERS, ids=str)
async def site_batch_harness(request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    """Each provider with customers that takes sites in batches."""
    async with running(request.param) as h:
        yield h


def test_every_provider_is_in_the_table() -> None:
    """Every provider the gateway knows has its entry, so the whole suite runs against it."""
    assert set(PROVIDERS) == set(CAPABILITIES) == set(Provider)
    for provider, entry in PROVIDERS.items():
        assert entry.provider is provider and entry.offers
        assert set(entry.count_keys) >= {t for t in EntityType if CAPABILITIES[provider].takes(t)}
        assert set(entry.batch_routes) == set(CAPABILITIES[provider].batch_limits)


# --- lifecycles --------------------------------------------------------------------------


async def test_customer_lifecycle(customer_harness: Harness) -> None:
    """A customer is created, re-applied without duplicates, deleted, and deleted again."""
    h = customer_harness
    customer = make_customer()
    created = await h.adapter.apply(upsert(customer))
    assert created.external_id == customer.id
    again = await h.adapter.apply(upsert(customer, external_id=customer.id))
    assert again.external_id == customer.id
    assert h.count(EntityType.CUSTOMER) == 1
    assert dict(h.emulation.stats.duplicates) == {}
    assert (await h.adapter.apply(delete(customer))).external_id is None
    assert h.count(EntityType.CUSTOMER) == 0
    assert (await h.adapter.apply(delete(customer))).external_id is None


async def test_site_lifecycle(harness: Harness) -> None:
    """A site is created as the provider's object, updated in place, and deleted."""
    site, external_id = await harness.site()
    assert harness.count(EntityType.SITE) == 1
    assert harness.site_view(external_id) == harness.expected_view(site)
    changed = msgspec.structs.replace(
        site,
        name="Renamed",
        kind=SiteKind.COMMERCIAL,
        category=SpaceCategory.OFFICE,
        coordinates=Coordinates(latitude=59.91, longitude=10.75),
        meter_point_ids=("707057500011111111", "707057500022222222"),
        address=Address(line1="Neue Straße 5", postcode="20095", city="Hamburg", country="DE"),
    )
    updated = await harness.adapter.apply(upsert(changed, external_id=external_id))
    assert updated.external_id == external_id
    assert harness.count(EntityType.SITE) == 1
    assert harness.site_view(external_id) == harness.expected_view(changed)
    gone = await harness.adapter.apply(delete(changed, external_id=external_id))
    assert gone.external_id is None
    assert harness.count(EntityType.SITE) == 0


async def test_device_lifecycle(harness: Harness) -> None:
    """A device is created under its site, re-applied as an update, and deleted."""
    site, site_external = await harness.site()
    charger = make_charger(site)
    created = await harness.adapter.apply(upsert(charger, parent_external_id=site_external))
    assert created.external_id is not None
    assert harness.count(EntityType.DEVICE) == 1
    renamed = msgspec.structs.replace(charger, name="Garage wallbox")
    updated = await harness.adapter.apply(
        upsert(renamed, external_id=created.external_id, parent_external_id=site_external)
    )
    assert updated.external_id == created.external_id
    assert harness.count(EntityType.DEVICE) == 1
    gone = await harness.adapter.apply(
        delete(renamed, external_id=created.external_id, parent_external_id=site_external)
    )
    assert gone.external_id is None
    assert harness.count(EntityType.DEVICE) == 0


async def test_vehicle_lifecycle(customer_harness: Harness) -> None:
    """A vehicle hangs under its user and is removed by its resource id."""
    h = customer_harness
    customer = make_customer()
    await h.adapter.apply(upsert(customer))
    car = Device(
        id=new_id(),
        customer_id=customer.id,
        external_ref="car-1",
        kind=DeviceKind.VEHICLE,
        name="Car",
        brand="Tesla",
        model="Model 3",
    )
    assert (await h.adapter.apply(upsert(car))).external_id == car.id
    assert (await h.adapter.apply(upsert(car, attempt=1))).external_id == car.id
    assert dict(h.emulation.stats.duplicates) == {}
    assert (await h.adapter.apply(delete(car))).external_id is None


# --- idempotency -------------------------------------------------------------------------


async def test_repeated_site_upserts_make_no_duplicate(harness: Harness) -> None:
    """A site applied again (lost answer, then known id) stays one object upstream."""
    customer = make_customer()
    if harness.caps.customers:
        await harness.adapter.apply(upsert(customer))
        await harness.adapter.apply(upsert(customer, attempt=1))
    site = make_site(customer)
    first = await harness.adapter.apply(upsert(site))
    retried = await harness.adapter.apply(upsert(site, attempt=1))
    known = await harness.adapter.apply(upsert(site, external_id=first.external_id, attempt=2))
    assert first.external_id == retried.external_id == known.external_id
    assert harness.count(EntityType.SITE) == 1
    assert dict(harness.emulation.stats.duplicates) == {}


async def test_repeated_device_upserts_make_no_duplicate(harness: Harness) -> None:
    """A device applied again after a lost answer is adopted, not created twice."""
    site, site_external = await harness.site()
    charger = make_charger(site)
    first = await harness.adapter.apply(upsert(charger, parent_external_id=site_external))
    retried = await harness.adapter.apply(upsert(charger, parent_external_id=site_external, attempt=1))
    assert retried.external_id == first.external_id
    assert harness.count(EntityType.DEVICE) == 1
    assert dict(harness.emulation.stats.duplicates) == {}


# --- batches -----------------------------------------------------------------------------


async def test_site_batch(harness: Harness) -> None:
    """New sites in one ``apply_batch`` all come back with ids, in order."""
    customer = make_customer()
    if harness.caps.customers:
        await harness.adapter.apply(upsert(customer))
    sites = [make_site(customer) for _ in range(5)]
    results = await harness.adapter.apply_batch([upsert(s) for s in sites])
    assert all(isinstance(r, Outcome) and r.external_id for r in results)
    assert harness.count(EntityType.SITE) == 5
    for site, result in zip(sites, results, strict=True):
        assert isinstance(result, Outcome) and result.external_id is not None
        assert harness.site_view(result.external_id) == harness.expected_view(site)
    if EntityType.SITE in harness.caps.batch_limits:
        batch_calls = harness.emulation.stats.requests[harness.entry.batch_routes[EntityType.SITE]]
        assert dict(batch_calls) == {201: 1}


async def test_batch_with_one_bad_item(harness: Harness) -> None:
    """One item the provider refuses fails alone; the others in the batch succeed."""
    customer = make_customer()
    if harness.caps.customers:
        await harness.adapter.apply(upsert(customer))
        stranger = make_customer()
        sites = [make_site(customer), make_site(stranger), make_site(customer)]
        ops = [upsert(s) for s in sites]
        entity_type = EntityType.SITE
    else:
        site, site_external = await harness.site()
        ops = [
            upsert(make_charger(site), parent_external_id=site_external),
            upsert(make_charger(site), parent_external_id=new_id()),
            upsert(make_charger(site), parent_external_id=site_external),
        ]
        entity_type = EntityType.DEVICE
    before = harness.count(entity_type)
    results = await harness.adapter.apply_batch(ops)
    assert isinstance(results[0], Outcome) and isinstance(results[2], Outcome)
    assert isinstance(results[1], RejectedError)
    assert results[1].status == 404
    assert harness.count(entity_type) == before + 2


async def test_customer_batch(customer_harness: Harness) -> None:
    """Customers go in one batch request and every one is registered."""
    h = customer_harness
    customers = [make_customer() for _ in range(7)]
    results = await h.adapter.apply_batch([upsert(c) for c in customers])
    assert [r.external_id for r in results if isinstance(r, Outcome)] == [c.id for c in customers]
    assert h.count(EntityType.CUSTOMER) == 7
    if EntityType.CUSTOMER in h.caps.batch_limits:
        assert dict(h.emulation.stats.requests[h.entry.batch_routes[EntityType.CUSTOMER]]) == {201: 1}


async def test_location_batch_falls_back_when_one_location_differs(
    site_batch_harness: Harness,
) -> None:
    """A batch refused because one location exists otherwise is retried item by item."""
    h = site_batch_harness
    site, _ = await h.site()
    customer_id = site.customer_id
    moved = msgspec.structs.replace(site, meter_point_ids=("707057500099999999",))
    fresh = [
        make_site(make_customer(), customer_id=customer_id),
        make_site(make_customer(), customer_id=customer_id),
    ]
    results = await h.adapter.apply_batch([upsert(fresh[0]), upsert(moved), upsert(fresh[1])])
    assert all(isinstance(r, Outcome) for r in results)
    assert h.count(EntityType.SITE) == 3
    assert h.site_view(site.id) == h.expected_view(moved)
    assert dict(h.emulation.stats.requests[h.entry.batch_routes[EntityType.SITE]]) == {400: 1}


# --- error classification ----------------------------------------------------------------


async def test_upstream_failure_is_transient(harness: Harness) -> None:
    """With every request failing 5xx, the adapter raises TransientError."""
    customer = make_customer()
    harness.emulation.set_faults(FaultPlan(error_rate=1.0))
    with pytest.raises(TransientError) as caught:
        await harness.adapter.apply(upsert(make_site(customer)))
    assert caught.value.status in {500, 502, 503}
    harness.emulation.set_faults(FaultPlan())


async def test_rate_limit_honours_retry_after(harness: Harness) -> None:
    """A 429 becomes TransientError with the provider's Retry-After in seconds."""
    harness.emulation.set_faults(FaultPlan(rate_limit_rate=1.0, retry_after_s=7))
    with pytest.raises(TransientError) as caught:
        await harness.adapter.apply(upsert(make_site(make_customer())))
    assert caught.value.status == 429
    assert caught.value.retry_after == 7.0
    harness.emulation.set_faults(FaultPlan())


async def test_dropped_connection_is_transient(harness: Harness) -> None:
    """A connection closed without an answer is TransientError."""
    harness.emulation.set_faults(FaultPlan(drop_rate=1.0))
    with pytest.raises(TransientError):
        await harness.adapter.apply(upsert(make_site(make_customer())))
    harness.emulation.set_faults(FaultPlan())


async def test_refused_payload_keeps_provider_message(harness: Harness) -> None:
    """A payload the provider refuses is RejectedError carrying the provider's own words."""
    site, external_id = await harness.site()
    op, said = harness.entry.refused_change(site, external_id)
    with pytest.raises(RejectedError) as caught:
        await harness.adapter.apply(op)
    assert caught.value.status == 400
    assert said in caught.value.message


async def test_revoked_token_is_refreshed_once(harness: Harness) -> None:
    """After the provider revokes every token, one new token is fetched and the call retried."""
    await harness.site()
    assert harness.emulation.stats.token_fetches == 1
    harness.emulation.tokens.revoke_all()
    await harness.site()
    assert harness.emulation.stats.token_fetches == 2
    assert harness.requests_with_status(401) == 1


async def test_wrong_credentials_are_auth_error(harness: Harness) -> None:
    """Refused client credentials raise AuthError that does not contain the secret."""
    secret = "wrong-secret-" + new_id()
    adapter = build_adapter(harness.provider, harness.url, secret=secret)
    log: list[CallRecord] = []
    token = call_log.set(log)
    try:
        with pytest.raises(AuthError) as caught:
            await adapter.apply(upsert(make_site(make_customer())))
    finally:
        call_log.reset(token)
        await adapter.aclose()
    assert secret not in str(caught.value)
    assert log and all(secret not in msgspec.json.encode(r).decode() for r in log)


async def test_delete_of_missing_is_success(harness: Harness) -> None:
    """Deleting what the provider does not hold counts as done."""
    customer = make_customer()
    site = make_site(customer)
    charger = make_charger(site)
    gone_site = await harness.adapter.apply(delete(site, external_id=new_id()))
    gone_device = await harness.adapter.apply(
        delete(charger, external_id=new_id(), parent_external_id=new_id())
    )
    assert gone_site.external_id is None and gone_device.external_id is None
    assert harness.requests_with_status(404) == 2


async def test_call_log_records_exchanges_without_secrets(harness: Harness) -> None:
    """With a call log set, every exchange is recorded with its latency, and no token or secret is in it."""
    harness.emulation.set_faults(FaultPlan(latency_ms_min=30, latency_ms_max=30))
    log: list[CallRecord] = []
    token = call_log.set(log)
    started = time.perf_counter()
    try:
        site, external_id = await harness.site()
    finally:
        took_ms = (time.perf_counter() - started) * 1000.0
        call_log.reset(token)
        harness.emulation.set_faults(FaultPlan())
    assert log[0].method == "POST" and log[0].route.endswith("token")
    assert all(r.status is not None and r.status < 300 for r in log)
    # Each API exchange waited 30 ms in the emulator (the token route is not delayed); one after
    # the other, the exchanges fit in the time the whole took.
    assert all(r.latency_ms >= 30.0 for r in log[1:]), [r.latency_ms for r in log]
    assert 0.0 < log[0].latency_ms and sum(r.latency_ms for r in log) <= took_ms
    dumped = msgspec.json.encode(log).decode()
    for secret in (entry.client_secret for entry in PROVIDERS.values()):
        assert secret not in dumped
    assert "Bearer" not in dumped
    recorded = len(log)
    await harness.adapter.apply(upsert(site, external_id=external_id))
    assert len(log) == recorded


# --- extras ------------------------------------------------------------------------------


async def test_zaehlerfreunde_readings_and_invite() -> None:
    """Readings of several devices go in one request; an invite returns its link."""
    async with running(Provider.ZAEHLERFREUNDE) as h:
        adapter = h.adapter
        assert isinstance(adapter, ZaehlerfreundeAdapter)
        customer = make_customer()
        site = make_site(customer)
        space = await adapter.apply(upsert(site))
        assert space.external_id is not None
        meters = [
            Device(
                id=new_id(),
                customer_id=customer.id,
                external_ref=f"meter-{n}",
                kind=DeviceKind.METER,
                medium=medium,
                name=f"Meter {n}",
                site_id=site.id,
                is_main=n == 0,
            )
            for n, medium in enumerate((Medium.ELECTRICITY, Medium.GAS))
        ]
        for meter in meters:
            await adapter.apply(upsert(meter, parent_external_id=space.external_id))
        await adapter.push_readings(
            [
                DeviceReadings(
                    external_device_id=meters[0].id,
                    readings=[("1-1:1.8.0", 1714635000, 100.0), ("1-1:1.8.0", 1714635900, 100.5)],
                ),
                DeviceReadings(external_device_id=meters[1].id, readings=[("7-1:3.1.0", 1714635000, 12.0)]),
            ]
        )
        assert h.app.state.zaehlerfreunde.reading_count == 3
        assert dict(h.emulation.stats.requests[f"POST {ZF_PREFIX}/devices/readings"]) == {200: 1}
        link = await adapter.create_invite(space_id=space.external_id, email=customer.email, send_email=False)
        assert link.startswith("https://")
        with pytest.raises(RejectedError) as caught:
            await adapter.push_readings(
                [DeviceReadings(external_device_id=meters[0].id, readings=[("9.9.9", 1, 1.0)])]
            )
        assert "obisCode" in caught.value.message


async def test_volue_report() -> None:
    """A report is posted to ``/reports`` and stored by the provider; a bad one is refused."""
    async with running(Provider.VOLUE) as h:
        adapter = h.adapter
        assert isinstance(adapter, VolueAdapter)
        report = PostReportRequest(
            payloads=[
                EnergyUsageReportPayload(
                    resource_id=new_id(),
                    resolution="01:00:00",
                    points=[
                        EnergyCurvePoint(timestamp=datetime(2026, 3, 3, 12, tzinfo=UTC), kilo_watt_hours=3.14)
                    ],
                )
            ]
        )
        await adapter.send_report(report)
        assert h.app.state.volue.store.entity_counts()["reports"] == 1
        with pytest.raises(RejectedError):
            await adapter.send_report({"payloads": [{"payloadType": "Nonsense"}]})


async def test_resource_conflict_is_conflict_error() -> None:
    """A resource id held by a different device type cannot be reconciled: ConflictError."""
    async with running(Provider.VOLUE) as h:
        site, _ = await h.site()
        charger = make_charger(site)
        await h.adapter.apply(upsert(charger))
        as_heat_pump = msgspec.structs.replace(charger, kind=DeviceKind.HVAC)
        with pytest.raises(ConflictError):
            await h.adapter.apply(upsert(as_heat_pump))
        with pytest.raises(ConflictError):
            await h.adapter.apply(upsert(as_heat_pump, external_id=charger.id))


async def test_location_without_place_is_rejected_before_any_request() -> None:
    """A site with neither meter points nor coordinates never reaches Volue."""
    async with running(Provider.VOLUE) as h:
        site = make_site(make_customer(), meter_point_ids=(), coordinates=None)
        with pytest.raises(RejectedError, match="neither meter point ids nor coordinates"):
            await h.adapter.apply(upsert(site))
        results = await h.adapter.apply_batch([upsert(site)])
        assert isinstance(results[0], RejectedError)
        assert h.emulation.stats.requests == {}
