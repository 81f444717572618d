"""What every provider adapter offers the sync engine, and how it fails.

Exceptions, drawn once::

    ProviderError                 anything an adapter raises about an upstream call
    ├── TransientError            timeouts, connection errors, 500/502/503/504, 429
    │                             (``retry_after`` seconds when the provider said so)
    ├── AuthError                 401 that survived one token refresh, 403, bad client credentials
    ├── ConflictError             409 on an id we own whose read-back differs from ours
    └── RejectedError             any other 4xx: the provider refused the payload (``status``,
                                  provider ``message`` kept); never retried

A 404 on delete is not an error: the thing is gone, which is what we wanted.
``RETRIABLE`` says which classes the engine retries; everything else is fatal
for the task (dead-lettered at once, retried only by an operator).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import msgspec

from gateway.core.domain import (
    Customer,
    Device,
    DeviceKind,
    EntityType,
    Provider,
    Site,
    TaskAction,
)


class ProviderError(Exception):
    """An upstream call did not do what we asked."""

    def __init__(
        self, message: str, *, status: int | None = None, route: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.route = route


class TransientError(ProviderError):
    """Worth trying again later; ``retry_after`` is the provider's own wish, in seconds."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        route: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=status, route=route)
        self.retry_after = retry_after


class AuthError(ProviderError):
    """Our credentials are not accepted, even after fetching a fresh token."""


class ConflictError(ProviderError):
    """The provider holds a different object under an id we own."""


class RejectedError(ProviderError):
    """The provider refused the request as invalid; sending it again will not help."""


RETRIABLE: tuple[type[ProviderError], ...] = (TransientError,)
"""Error classes the sync engine retries with backoff; all others fail the task."""


class Capabilities(msgspec.Struct, frozen=True, kw_only=True):
    """What a provider takes, as data, so the API can plan work without an adapter."""

    customers: bool = False
    sites: bool = False
    device_kinds: frozenset[DeviceKind] = frozenset()
    meters_on_site: bool = False
    """Meter point ids travel on the site's upstream object (Volue locations)."""
    readings: bool = False
    invites: bool = False
    reports: bool = False
    batch_limits: dict[EntityType, int] = {}
    """Upserts of these entity types can go in one batch request of at most N items."""

    def takes(self, entity_type: EntityType, kind: DeviceKind | None = None) -> bool:
        """Whether an entity of this type (and device kind) has an upstream object here."""
        if entity_type is EntityType.CUSTOMER:
            return self.customers
        if entity_type is EntityType.SITE:
            return self.sites
        return kind is not None and kind in self.device_kinds


class Operation(msgspec.Struct, frozen=True, kw_only=True):
    """One unit of work for an adapter: make ``entity`` exist upstream, or remove it.

    ``external_id`` is the provider's id for the entity once known (for Volue it
    is always our own id). ``parent_external_id`` is the provider id of the
    parent the upstream object hangs under (Zählerfreunde: the space of a device,
    the parent space of a site). ``site`` is the device's site. ``meter_point_ids``
    is every meter point id at a site (its own plus its meters'), for providers
    that carry them on the site. ``attempt`` counts earlier tries: above 0 the
    earlier call may have reached the provider, so creates look before they leap;
    ``taken_external_ids`` are provider ids already linked to other entities of the
    same type, which such a look must never adopt.
    """

    task_id: str
    action: TaskAction
    entity: Customer | Site | Device
    external_id: str | None = None
    parent_external_id: str | None = None
    site: Site | None = None
    meter_point_ids: tuple[str, ...] = ()
    attempt: int = 0
    taken_external_ids: frozenset[str] = frozenset()

    @property
    def entity_type(self) -> EntityType:
        if isinstance(self.entity, Customer):
            return EntityType.CUSTOMER
        if isinstance(self.entity, Site):
            return EntityType.SITE
        return EntityType.DEVICE


class Outcome(msgspec.Struct, frozen=True, kw_only=True):
    """A finished operation: the provider's id for the entity (None after a delete)."""

    external_id: str | None
    note: str | None = None


class CallRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One upstream HTTP exchange, kept for the per-entity sync history."""

    method: str
    route: str
    status: int | None
    latency_ms: float
    error: str | None = None


class ProviderAdapter(Protocol):
    """The sync engine's view of one upstream platform."""

    provider: Provider
    capabilities: Capabilities

    async def apply(self, op: Operation) -> Outcome:
        """Carry out one operation; raise a ``ProviderError`` subclass when it fails."""
        ...

    async def apply_batch(self, ops: Sequence[Operation]) -> list[Outcome | ProviderError]:
        """Carry out upserts of one entity type in as few requests as the provider allows.

        The result has one entry per operation, in order; one failed item does
        not fail the others.
        """
        ...

    async def aclose(self) -> None: ...
