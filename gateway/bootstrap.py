"""The composition root of the workers: the adapters and the task kinds of one process.

:func:`build_adapters` is the one place adapters are built (the API's embedded
worker, ``gateway worker`` and the CLI commands all use it). Each task kind is a
:class:`gateway.outbox.engine.TaskKind` (entity sync, running customers, sites and
devices together, a ``TaskFamily``); adding one here is all it takes for both the
arq workers and the embedded loop to run its tasks.
"""

from __future__ import annotations

from typing import Any

from gateway.core.domain import Provider
from gateway.core.settings import Settings
from gateway.customers.sync.kind import EntitySync
from gateway.events.forwarding import ForwardingKind
from gateway.invites.delivery import InviteDelivery
from gateway.outbox.engine import Kind
from gateway.outbox.pacing import pacer_for
from gateway.programmes.delivery import EnrollmentKind
from gateway.readings.delivery import ReadingsDelivery
from gateway.reports.delivery import ReportKind
from providers.factory import VolueConfig, ZaehlerfreundeConfig, build_volue, build_zaehlerfreunde
from providers.registry import Adapters


def build_kinds(settings: Settings) -> list[Kind]:
    """The task kinds of one worker process, built once at start-up (in the order they record
    a round's writes: entity sync's provider links first)."""
    return [
        EntitySync(),
        ReadingsDelivery(settings=settings),
        InviteDelivery(),
        ReportKind(),
        ForwardingKind(settings=settings),
        EnrollmentKind(),
    ]


def build_adapters(settings: Settings, *, redis: Any = None) -> Adapters:
    """One adapter (one pooled HTTP client, one token) per provider for this process.

    A provider with a request rate ceiling (``GATEWAY_VOLUE_MAX_RPS``, ``GATEWAY_ZF_MAX_RPS``)
    gets a pacer, shared with every other process through ``redis`` when one is given.
    """
    return Adapters({
        Provider.VOLUE: build_volue(VolueConfig(
            base_url=settings.volue.resolved_base_url(),
            token_url=settings.volue.resolved_token_url(),
            client_id=settings.volue.client_id,
            client_secret=settings.volue.client_secret.value,
            timeout_s=settings.upstream.timeout_s,
            max_connections=settings.upstream.max_connections,
        ), pacer=pacer_for(Provider.VOLUE.value, settings.volue.max_rps, redis=redis)),
        Provider.ZAEHLERFREUNDE: build_zaehlerfreunde(ZaehlerfreundeConfig(
            base_url=settings.zf.resolved_base_url(),
            client_id=settings.zf.client_id,
            client_secret=settings.zf.client_secret.value,
            timeout_s=settings.upstream.timeout_s,
            max_connections=settings.upstream.max_connections,
            token_refresh_age_s=settings.zf.token_refresh_age_s,
        ), pacer=pacer_for(Provider.ZAEHLERFREUNDE.value, settings.zf.max_rps, redis=redis)),
    })
