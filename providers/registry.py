"""Which providers exist and what each takes, and the adapter set a process runs with.

``CAPABILITIES`` and ``REPORT_FORMATS`` need no HTTP code. :class:`Adapters` holds one built adapter
per configured provider and hands out capabilities by provider, typed, so that
gateway code never needs to know an adapter's class.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import TracebackType
from typing import Any, cast

from gateway.core.domain import Provider
from providers import volue, zaehlerfreunde
from providers.base import (
    Capabilities,
    Capability,
    CredentialsProbe,
    EntitySink,
    EventFormat,
    EventSource,
    Inventory,
    InviteSender,
    Programme,
    ProviderAdapter,
    ReadingsSink,
    ReadingsSource,
    ReportFormat,
    ReportSink,
    WebhookRegistry,
)
from providers.volue.events import FORMAT as VOLUE_EVENTS
from providers.volue.reports import FORMAT as VOLUE_REPORTS

CAPABILITIES: dict[Provider, Capabilities] = {
    Provider.VOLUE: volue.CAPABILITIES,
    Provider.ZAEHLERFREUNDE: zaehlerfreunde.CAPABILITIES,
}

REPORT_FORMATS: dict[Provider, ReportFormat] = {Provider.VOLUE: VOLUE_REPORTS}
"""How each provider that takes reports renders them (and reads LPC requests), without an
adapter: a report is rendered when it is stored, and its stored body is what the sink sends."""


class MissingCapability(LookupError):
    """The provider is not configured here, or its adapter does not offer what was asked."""

    def __init__(self, provider: Provider, capability: Capability, *, configured: bool) -> None:
        self.provider = provider
        self.capability = capability
        self.message = (
            f"the {provider.value} adapter offers no {capability.value}"
            if configured
            else f"this process has no {provider.value} adapter"
        )
        super().__init__(self.message)


def report_format(provider: Provider) -> ReportFormat:
    """``provider``'s report format; ``MissingCapability`` when it takes no reports."""
    found = REPORT_FORMATS.get(provider)
    if found is None:
        raise MissingCapability(provider, Capability.REPORT_SINK, configured=True)
    return found


EVENT_FORMATS: dict[Provider, EventFormat] = {Provider.VOLUE: VOLUE_EVENTS}
"""How each provider that sends events by webhook writes and signs its notifications (no
adapter needed: the API's receiver decodes them)."""


def event_format(provider: Provider) -> EventFormat:
    """``provider``'s webhook notifications; ``MissingCapability`` when it sends none."""
    found = EVENT_FORMATS.get(provider)
    if found is None:
        raise MissingCapability(provider, Capability.EVENT_SOURCE, configured=True)
    return found


class Adapters(Mapping[Provider, ProviderAdapter]):
    """The adapters of one process, by provider; ``aclose()`` (or ``async with``) closes them."""

    def __init__(self, adapters: Mapping[Provider, ProviderAdapter]) -> None:
        self._adapters = dict(adapters)

    def __getitem__(self, provider: Provider) -> ProviderAdapter:
        return self._adapters[provider]

    def __iter__(self) -> Iterator[Provider]:
        return iter(self._adapters)

    def __len__(self) -> int:
        return len(self._adapters)

    def __repr__(self) -> str:
        return f"Adapters({sorted(provider.value for provider in self._adapters)})"

    def offering(self, capability: Capability) -> list[Provider]:
        """The providers whose adapters offer ``capability``."""
        return [p for p, adapter in self._adapters.items() if capability in adapter.offers]

    def _lookup(self, provider: Provider, capability: Capability) -> Any:
        adapter = self._adapters.get(provider)
        if adapter is None or capability not in adapter.offers:
            raise MissingCapability(provider, capability, configured=adapter is not None)
        return adapter

    def entity_sink(self, provider: Provider) -> EntitySink:
        """Upserts and deletes of customers, sites and devices at ``provider``."""
        return cast(EntitySink, self._lookup(provider, Capability.ENTITY_SINK))

    def readings_sink(self, provider: Provider) -> ReadingsSink:
        """Meter readings to ``provider``."""
        return cast(ReadingsSink, self._lookup(provider, Capability.READINGS_SINK))

    def readings_source(self, provider: Provider) -> ReadingsSource:
        """Read-back of the readings ``provider`` stored."""
        return cast(ReadingsSource, self._lookup(provider, Capability.READINGS_SOURCE))

    def invite_sender(self, provider: Provider) -> InviteSender:
        """Invites to sites at ``provider``."""
        return cast(InviteSender, self._lookup(provider, Capability.INVITE_SENDER))

    def report_sink(self, provider: Provider) -> ReportSink:
        """Reports to ``provider``."""
        return cast(ReportSink, self._lookup(provider, Capability.REPORT_SINK))

    def event_source(self, provider: Provider) -> EventSource:
        """``provider``'s event listing, as canonical events."""
        return cast(EventSource, self._lookup(provider, Capability.EVENT_SOURCE))

    def webhook_registry(self, provider: Provider) -> WebhookRegistry:
        """The webhooks ``provider`` sends events to."""
        return cast(WebhookRegistry, self._lookup(provider, Capability.WEBHOOK_REGISTRY))

    def programme(self, provider: Provider) -> Programme:
        """The provider's programme calls (enrollment, eligibility, compensation)."""
        return cast(Programme, self._lookup(provider, Capability.PROGRAMME))

    def credentials_probe(self, provider: Provider) -> CredentialsProbe:
        """A token fetch at ``provider`` with the configured credentials."""
        return cast(CredentialsProbe, self._lookup(provider, Capability.CREDENTIALS_PROBE))

    def inventory(self, provider: Provider) -> Inventory:
        """What ``provider`` holds for us, for drift reconciliation."""
        return cast(Inventory, self._lookup(provider, Capability.INVENTORY))

    async def aclose(self) -> None:
        """Close every adapter's HTTP client."""
        for adapter in self._adapters.values():
            await adapter.aclose()

    async def __aenter__(self) -> Adapters:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
