"""What capabilities take and give back, as data (re-exported by :mod:`providers.base`):
webhooks and their delivery logs, a customer's enrollment in a provider's programme and its
compensation."""

from __future__ import annotations

from datetime import date, datetime

import msgspec


class Webhook(msgspec.Struct, frozen=True, kw_only=True):
    """A webhook the provider holds: where it posts, which event types, in what state."""

    webhook_id: str
    url: str
    types: tuple[str, ...] = ()
    """Event types it is sent; empty means all of them."""
    enabled: bool = True
    status: str = ""
    name: str | None = None


class WebhookLog(msgspec.Struct, frozen=True, kw_only=True):
    """One attempt of the provider to deliver a notification to a webhook."""

    notification_id: str
    webhook_id: str
    url: str
    event_type: str
    sent_at: datetime | None
    status_code: int | None
    timed_out: bool
    duration_ms: int | None


class Enrollment(msgspec.Struct, frozen=True, kw_only=True):
    """Whether a customer is enrolled in the provider's programme, and since when."""

    enrolled: bool
    enrollment_id: str | None = None
    enrolled_at: datetime | None = None
    stated: bool = True
    """False when the answer did not say (its optional members left out): ``enrolled`` is then
    only what the request implies (an enroll answered 200: enrolled), never evidence of drift."""


class CompensationProblem(msgspec.Struct, frozen=True, kw_only=True):
    """Why (part of) a site's compensation cannot be paid, in the provider's words."""

    kind: str | None
    message: str


class SiteCompensation(msgspec.Struct, frozen=True, kw_only=True):
    """The compensation of one site (``site_id`` is the provider's location id, ours)."""

    site_id: str | None
    meter_point_ids: tuple[str, ...] = ()
    active_amount: float = 0.0
    blocked_amount: float = 0.0
    currency: str | None = None
    problems: tuple[CompensationProblem, ...] = ()


class Compensation(msgspec.Struct, frozen=True, kw_only=True):
    """A customer's compensation for a period (the current month), per site."""

    period_from: date | None
    period_to: date | None
    sites: tuple[SiteCompensation, ...] = ()
