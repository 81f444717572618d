"""Which providers take a record, and which record's upstream object must exist before its own."""

from __future__ import annotations

from collections.abc import Iterable

from gateway.core.domain import DeviceKind, EntityType, Provider
from providers.registry import CAPABILITIES

ENTITY_TYPES = frozenset(e.value for e in EntityType)
"""The ``entity_type`` of the tasks entity sync runs."""


def targets(
    providers: Iterable[str], entity_type: EntityType, kind: DeviceKind | None = None
) -> list[Provider]:
    """The providers (of those the customer is enrolled at) that hold this entity."""
    return [
        Provider(p) for p in providers if CAPABILITIES[Provider(p)].takes(entity_type, kind)
    ]


def upstream_parent(
    provider: Provider,
    entity_type: EntityType,
    *,
    customer_id: str,
    site_id: str | None = None,
    parent_site_id: str | None = None,
    kind: DeviceKind | None = None,
) -> str | None:
    """The entity whose upstream object must exist before this one's can be created (user
    before location before resource; space before device)."""
    if entity_type is EntityType.CUSTOMER:
        return None
    if entity_type is EntityType.SITE:
        if CAPABILITIES[provider].customers:
            return customer_id
        return parent_site_id
    if kind is DeviceKind.VEHICLE:
        return customer_id if CAPABILITIES[provider].customers else None
    return site_id
