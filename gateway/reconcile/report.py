"""What a drift reconciliation found, as typed structs (camelCase on the wire)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from gateway.core.wire import Wire


class Drift(StrEnum):
    """How an upstream object differs from what the gateway believes."""

    MISSING = "missing"
    """A record synced to the provider whose object the provider no longer holds."""
    UNEXPECTED = "unexpected"
    """An object the provider holds that no record of the gateway accounts for."""
    DIFFERING = "differing"
    """The object is there, but some of its fields are not what the gateway sent."""


class DriftItem(Wire):
    """One object that drifted."""

    drift: Drift
    entity_type: str
    external_id: str
    """The provider's id of the object (for Volue our own id)."""
    entity_id: str | None = None
    """Our record (None for an unexpected object no record accounts for)."""
    customer_id: str | None = None
    parent_external_id: str | None = None
    fields: list[str] = []
    """For ``differing``: the provider's field names whose values differ."""
    expected: dict[str, Any] | None = None
    actual: dict[str, Any] | None = None
    note: str | None = None


class DriftReport(Wire):
    """One provider compared with the gateway's records."""

    provider: str
    checked_at: datetime
    checked: int
    """How many records the comparison covered (synced or drifted at the provider)."""
    held: int
    """How many objects the provider listed."""
    skipped: int
    """Records left out because work on them is under way (pending, running, failed, blocked)."""
    items: list[DriftItem]

    def of(self, drift: Drift) -> list[DriftItem]:
        return [item for item in self.items if item.drift is drift]

    def counts(self) -> dict[str, int]:
        """Objects per kind of drift, every kind named."""
        return {d.value: len(self.of(d)) for d in Drift}


class RepairResult(Wire):
    """What a repair queued: one upsert task per record (its children included)."""

    provider: str
    queued: int
    """Outbox tasks written."""
    records: list[str]
    """The records sent again, parents first."""
    left: list[DriftItem] = []
    """Drift a repair does not touch (unexpected objects no record accounts for)."""
