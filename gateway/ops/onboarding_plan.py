"""What an onboarding file becomes upstream, and how it is sent: the upstream calls
its records are planned as at each provider, and the ``POST /v1/customers/batch``
bodies it is cut into. Nothing here talks to the network.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import msgspec

from gateway.core.domain import DeviceKind, EntityType, Provider
from gateway.customers.sync.targets import targets
from gateway.ops.onboarding import OnboardingCustomer, PlannedCall
from providers.registry import CAPABILITIES

UPSTREAM_CALLS: dict[tuple[Provider, EntityType, bool], str] = {
    (Provider.VOLUE, EntityType.CUSTOMER, False): "user: POST /users",
    (Provider.VOLUE, EntityType.SITE, False): "location: POST /users/{u}/locations",
    (Provider.VOLUE, EntityType.DEVICE, False): "resource: POST /users/{u}/locations/{l}/resources",
    (Provider.VOLUE, EntityType.DEVICE, True): "vehicle: POST /users/{u}/vehicles",
    (Provider.ZAEHLERFREUNDE, EntityType.SITE, False): "space: POST /spaces",
    (Provider.ZAEHLERFREUNDE, EntityType.DEVICE, False): "device: POST /spaces/{s}/devices",
}
"""How each provider is called for an object it takes; which provider takes what is
``providers.registry.CAPABILITIES``, as for the API's own outbox planning."""


def planned_calls(customers: Sequence[OnboardingCustomer], *,
                  missing: Mapping[str, set[str] | None] | None = None) -> list[PlannedCall]:
    """The upstream objects the file's records become at each provider.

    ``missing`` narrows the plan to the records the gateway lacks: per customer
    externalRef, the record paths (as in ``OnboardingCustomer.records``) to
    plan, or ``None`` for all of them. Without it every record is planned, as
    if all were new.
    """
    calls: list[PlannedCall] = []

    def add(line: int, providers: list[Provider], entity: EntityType, kind: DeviceKind | None,
            record: str) -> None:
        for provider in targets(providers, entity, kind):
            vehicle = kind is DeviceKind.VEHICLE
            call = UPSTREAM_CALLS.get((provider, entity, vehicle), f"create the {entity.value}")
            calls.append(PlannedCall(line=line, provider=provider, call=call, record=record))

    for customer in customers:
        body = customer.body
        wanted = missing.get(body.external_ref) if missing is not None else None

        def planned(path: str, wanted: set[str] | None = wanted) -> bool:
            return wanted is None or path in wanted

        providers = list(dict.fromkeys(body.providers))
        if planned(""):
            add(customer.line, providers, EntityType.CUSTOMER, None, f"customer {body.external_ref}")
        for i, site in enumerate(body.sites):
            if planned(f"sites[{i}]"):
                add(customer.line_of(f"sites[{i}]"), providers, EntityType.SITE, None,
                    f"site {site.external_ref}")
            for j, device in enumerate(site.devices):
                path = f"sites[{i}].devices[{j}]"
                if not planned(path):
                    continue
                line = customer.line_of(path)
                record = f"{device.kind.value} {device.external_ref}"
                add(line, providers, EntityType.DEVICE, device.kind, record)
                if device.kind is DeviceKind.METER and device.meter_point_id:
                    for provider in providers:
                        if CAPABILITIES[provider].meters_on_site:
                            site_call = UPSTREAM_CALLS.get((provider, EntityType.SITE, False), "site")
                            calls.append(PlannedCall(
                                line=line, provider=provider, record=f"{record} ({device.meter_point_id})",
                                call=f"meterPointIds on the {site_call.split(':')[0]}"))
        for k, vehicle in enumerate(body.vehicles):
            if planned(f"vehicles[{k}]"):
                add(customer.line_of(f"vehicles[{k}]"), providers, EntityType.DEVICE, DeviceKind.VEHICLE,
                    f"vehicle {vehicle.external_ref}")
    return calls


def batches(customers: Sequence[OnboardingCustomer], *, size: int = 1000,
            max_bytes: int = 1_000_000) -> list[list[OnboardingCustomer]]:
    """Split into ``POST /v1/customers/batch`` bodies of at most ``size`` customers and about
    ``max_bytes`` of JSON (under the API's body limit), in file order."""
    out: list[list[OnboardingCustomer]] = []
    current: list[OnboardingCustomer] = []
    current_bytes = 0
    for customer in customers:
        encoded = len(msgspec.json.encode(customer.body))
        if current and (len(current) >= size or current_bytes + encoded > max_bytes):
            out.append(current)
            current, current_bytes = [], 0
        current.append(customer)
        current_bytes += encoded + 1
    if current:
        out.append(current)
    return out


def batch_key(digest: str, size: int, number: int) -> str:
    """The Idempotency-Key of batch ``number`` of a file: the same file re-sent replays, not repeats."""
    return f"onboard-{digest[:40]}-{size}-{number}"
