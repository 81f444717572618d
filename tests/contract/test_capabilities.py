"""Every capability every adapter declares, run against its provider's emulator.

The cases are discovered from the suite's table (``tests/contract/table.py``: each
provider's adapter class and the ``offers`` it declares) and ``EXERCISES`` (one exercise
per capability): a new adapter or a new capability is covered by adding one row. Each exercise obtains
the capability the way gateway code does, through ``providers.registry.Adapters``,
and the harness checks every request it sent against the provider's OpenAPI file.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import httpx
import msgspec
import pytest

from gateway.core.domain import Coordinates, Device, DeviceKind, EntityType, Medium, Provider, SiteKind
from gateway.core.reports import DeviceEnergyUsage, EnergyPoint, Report
from providers.base import (
    PROTOCOLS,
    AuthError,
    Capability,
    DeviceReadings,
    Enrollment,
    ProviderAdapter,
    RejectedError,
)
from providers.registry import Adapters, MissingCapability
from tests.contract.table import PROVIDERS
from tests.contract.test_adapters import (
    Harness,
    build_adapter,
    delete,
    make_customer,
    make_site,
    new_id,
    running,
    upsert,
)

ADAPTERS: dict[Provider, type[ProviderAdapter]] = {p: entry.adapter for p, entry in PROVIDERS.items()}
"""Every adapter, by the provider it speaks to."""


def _adapters(h: Harness) -> Adapters:
    """The harness's adapter as the gateway holds it."""
    return Adapters({h.provider: h.adapter})


def _counts(h: Harness) -> dict[str, int]:
    """What the emulator holds, by its names for them."""
    counts: dict[str, int] = h.entry.state(h.app).entity_counts()
    return counts


async def exercise_entity_sink(h: Harness) -> None:
    """A site is created, repeated by batch to the same id, and deleted."""
    sink = _adapters(h).entity_sink(h.provider)
    customer = make_customer()
    if h.caps.customers:
        await sink.apply(upsert(customer))
    site = make_site(customer)
    created = await sink.apply(upsert(site))
    assert h.count(EntityType.SITE) == 1
    [again] = await sink.apply_batch([upsert(site, external_id=created.external_id)])
    assert again == created
    await sink.apply(delete(site, external_id=created.external_id))
    assert h.count(EntityType.SITE) == 0


async def exercise_readings_sink(h: Harness) -> None:
    """Readings of a meter are stored upstream; the sink names the codes it takes; a bad code is refused."""
    sink = _adapters(h).readings_sink(h.provider)
    site, space_id = await h.site()
    meter = Device(id=new_id(), customer_id=site.customer_id, external_ref="meter-1",
                   kind=DeviceKind.METER, medium=Medium.ELECTRICITY, name="Meter", site_id=site.id,
                   is_main=True)
    await h.adapter.apply(upsert(meter, parent_external_id=space_id))
    await sink.push_readings([DeviceReadings(
        external_device_id=meter.id,
        readings=[("1-1:1.8.0", 1714635000, 100.0), ("1-1:1.8.0", 1714635900, 100.5)])])
    assert _counts(h)["readings"] == 2
    assert sink.accepts_code("1-1:1.8.0") and not sink.accepts_code("1-1:9.9.9")
    with pytest.raises(RejectedError):
        await sink.push_readings([DeviceReadings(external_device_id=meter.id,
                                                 readings=[("9.9.9", 1, 1.0)])])


async def exercise_readings_source(h: Harness) -> None:
    """Stored readings read back per 15-minute period: a register's latest value, in the provider's form."""
    source = _adapters(h).readings_source(h.provider)
    site, space_id = await h.site()
    meter = Device(id=new_id(), customer_id=site.customer_id, external_ref="meter-1",
                   kind=DeviceKind.METER, medium=Medium.ELECTRICITY, name="Meter", site_id=site.id,
                   is_main=True)
    created = await h.adapter.apply(upsert(meter, parent_external_id=space_id))
    assert created.external_id is not None
    await _adapters(h).readings_sink(h.provider).push_readings([DeviceReadings(
        external_device_id=meter.id,
        readings=[("1-1:1.8.0", 1714635000, 100.0), ("1-1:1.8.0", 1714635300, 100.2),
                  ("1-1:1.8.0", 1714635900, 100.5)])])
    stored = await source.stored_readings(created.external_id, 1714635000, 1714636800)
    assert sorted((r.cumulative, r.direction, r.timestamp, r.value) for r in stored) == [
        (True, "in", 1714635000, 100.2), (True, "in", 1714635900, 100.5)]
    assert await source.stored_readings(created.external_id, 1714640000, 1714650000) == []


async def exercise_invite_sender(h: Harness) -> None:
    """An invite to a site answers with its link."""
    sender = _adapters(h).invite_sender(h.provider)
    _, space_id = await h.site()
    link = await sender.create_invite(space_id=space_id, email="kari@example.com", send_email=False)
    assert link.startswith("https://")


async def exercise_report_sink(h: Harness) -> None:
    """A canonical report, rendered by the sink, is stored upstream; a malformed body is refused."""
    sink = _adapters(h).report_sink(h.provider)
    usage = DeviceEnergyUsage(device_id=new_id(), site_id=None, interval_s=3600,
                              points=[EnergyPoint(datetime(2026, 3, 3, 12, tzinfo=UTC), 3.14)])
    await sink.send_report(sink.render_report(Report(items=[usage])))
    assert _counts(h)["reports"] == 1
    with pytest.raises(RejectedError):
        await sink.send_report({"payloads": [{"payloadType": "Nonsense"}]})


async def exercise_event_source(h: Harness) -> None:
    """A simulated event shows on the first page of the listing, as a canonical event."""
    source = _adapters(h).event_source(h.provider)
    entry = h.entry
    assert entry.simulate_event is not None, "an event source needs a way to make an event"
    async with httpx.AsyncClient(base_url=h.url) as emulator:
        token = (await emulator.post(entry.token_path, data={
            "grant_type": "client_credentials", "client_id": entry.client_id,
            "client_secret": entry.client_secret})).json()["access_token"]
        method, path, event_type = entry.simulate_event
        simulated = await emulator.request(method, entry.prefix + path, json={},
                                           headers={"Authorization": f"Bearer {token}"})
        assert simulated.status_code == 200, simulated.text
    page = await source.events_page(1)
    assert page.last_page == 1
    [event] = page.events
    assert (event.type, event.eligibility is not None) == (event_type, True)


async def exercise_webhook_registry(h: Harness) -> None:
    """A webhook is registered, listed and deleted (a second delete finds nothing)."""
    registry = _adapters(h).webhook_registry(h.provider)
    created = await registry.register_webhook(url="https://gateway.example/hook", name="contract",
                                              secret="s3cret-value", types=["UserEligibilityUpdated"])
    assert (created.url, created.types) == ("https://gateway.example/hook", ("UserEligibilityUpdated",))
    assert [hook.webhook_id for hook in await registry.list_webhooks()] == [created.webhook_id]
    assert await registry.delete_webhook(created.webhook_id)
    assert not await registry.delete_webhook(created.webhook_id)
    assert await registry.list_webhooks() == []


async def exercise_credentials_probe(h: Harness) -> None:
    """The configured credentials fetch a token; wrong ones are an AuthError."""
    await _adapters(h).credentials_probe(h.provider).check_credentials()
    refused = build_adapter(h.provider, h.url, secret="wrong-secret")
    try:
        with pytest.raises(AuthError):
            await Adapters({h.provider: refused}).credentials_probe(h.provider).check_credentials()
    finally:
        await refused.aclose()


async def exercise_programme(h: Harness) -> None:
    """A customer with a site in a sandbox test area is eligible, enrolls, shows compensation, leaves."""
    programme = _adapters(h).programme(h.provider)
    assert h.entry.eligible_place is not None, "a programme needs a place where sites are eligible"
    site, _ = await h.site(coordinates=h.entry.eligible_place)
    customer_id = site.customer_id
    assert await programme.customer_eligible(customer_id) is True
    assert await programme.meter_point_eligible(site.meter_point_ids[0]) is True
    assert await programme.meter_point_eligible("707057500000000000") is False
    assert await programme.enrollment(customer_id) == Enrollment(enrolled=False)
    enrolled = await programme.enroll(customer_id)
    assert enrolled.enrolled and enrolled.enrollment_id and enrolled.enrolled_at
    assert await programme.enroll(customer_id) == enrolled
    compensation = await programme.compensation(customer_id)
    assert compensation is not None
    assert [s.site_id for s in compensation.sites] == [site.id]
    assert await programme.leave(customer_id)
    assert not await programme.leave(customer_id)
    assert await programme.compensation(new_id()) is None
    assert await programme.customer_eligible(new_id()) is None


async def exercise_inventory(h: Harness) -> None:
    """A site (and its user, where there are users) is listed with the fields it was sent with;
    after a change upstream the fields differ, and after a delete it is listed no more."""
    inventory = _adapters(h).inventory(h.provider)
    site, external_id = await h.site()
    held = {(x.entity_type, x.external_id): x for x in await inventory.holdings()}
    assert held[(EntityType.SITE, external_id)].fields == inventory.expected_fields(
        upsert(site, external_id=external_id))
    assert ((EntityType.CUSTOMER, site.customer_id) in held) is h.caps.customers
    moved = msgspec.structs.replace(site, name="Moved", kind=SiteKind.COMMERCIAL,
                                    coordinates=Coordinates(latitude=59.0, longitude=10.0))
    await h.adapter.apply(upsert(moved, external_id=external_id))
    [after] = [x for x in await inventory.holdings() if x.external_id == external_id]
    assert after.fields != inventory.expected_fields(upsert(site, external_id=external_id))
    assert after.fields == inventory.expected_fields(upsert(moved, external_id=external_id))
    await h.adapter.apply(delete(site, external_id=external_id))
    assert external_id not in {x.external_id for x in await inventory.holdings()}


EXERCISES: dict[Capability, Callable[[Harness], Awaitable[None]]] = {
    Capability.ENTITY_SINK: exercise_entity_sink,
    Capability.READINGS_SINK: exercise_readings_sink,
    Capability.READINGS_SOURCE: exercise_readings_source,
    Capability.INVITE_SENDER: exercise_invite_sender,
    Capability.REPORT_SINK: exercise_report_sink,
    Capability.EVENT_SOURCE: exercise_event_source,
    Capability.WEBHOOK_REGISTRY: exercise_webhook_registry,
    Capability.CREDENTIALS_PROBE: exercise_credentials_probe,
    Capability.PROGRAMME: exercise_programme,
    Capability.INVENTORY: exercise_inventory,
}
"""One exercise per capability, run against every adapter that offers it."""

OFFERED = [
    pytest.param(provider, capability, id=f"{provider}-{capability.name.lower()}")
    for provider, adapter in ADAPTERS.items()
    for capability in sorted(adapter.offers)
]


def test_every_capability_has_an_exercise() -> None:
    """No capability can be declared without the contract suite running it."""
    assert set(EXERCISES) == set(Capability) == set(PROTOCOLS)


@pytest.mark.parametrize(("provider", "capability"), OFFERED)
async def test_declared_capability_works(provider: Provider, capability: Capability) -> None:
    """Each declared capability satisfies its protocol and works against the emulator."""
    async with running(provider) as h:
        assert type(h.adapter) is ADAPTERS[provider]
        assert isinstance(h.adapter, PROTOCOLS[capability])
        await EXERCISES[capability](h)


@pytest.mark.parametrize("provider", list(ADAPTERS), ids=str)
async def test_undeclared_capability_is_refused(provider: Provider) -> None:
    """Asking an adapter for a capability it does not declare raises MissingCapability, naming it."""
    async with running(provider) as h:
        adapters = _adapters(h)
        for capability in set(Capability) - ADAPTERS[provider].offers:
            lookup = getattr(adapters, capability.name.lower())
            with pytest.raises(MissingCapability, match=capability.value):
                lookup(provider)


def test_unconfigured_provider_is_refused() -> None:
    """A provider without an adapter in this process yields a clear MissingCapability."""
    with pytest.raises(MissingCapability, match="no volue adapter"):
        Adapters({}).report_sink(Provider.VOLUE)
