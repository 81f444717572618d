"""The adapter contract suite's one table: what the suite needs to know of each provider.

``tests/contract/test_adapters.py`` (entity lifecycles, idempotency, batches, error
classification, tokens, the call log), ``test_capabilities.py`` (every declared capability
against the emulator) and ``test_answer_shapes.py`` (every documented answer decodes) run
once per entry of :data:`PROVIDERS`. A third provider joins the whole suite by adding one
:class:`ProviderEntry`: its adapter class and factory, its emulator, its official document
and how to read it, the answers its adapter decodes, and the few provider-shaped facts the
checks compare against (how the emulator counts objects, how it shows a site, which payload
it refuses and with what words). What it can do comes from the adapter itself
(``offers``) and ``providers.registry.CAPABILITIES``, not from here.
"""

from __future__ import annotations

import copy
import json
import os
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import msgspec
import yaml
from openapi_core import Config, OpenAPI

from gateway.core.domain import Coordinates, EntityType, Provider, Site, TaskAction
from providers.base import Operation, ProviderAdapter
from providers.factory import VolueConfig, ZaehlerfreundeConfig, build_volue, build_zaehlerfreunde
from providers.volue import schemas as vs
from providers.volue.adapter import VolueAdapter
from providers.volue.emulator import app as volue_emulator
from providers.volue.emulator.sandbox_areas import TEST_AREAS
from providers.zaehlerfreunde import schemas as zs
from providers.zaehlerfreunde.adapter import ZaehlerfreundeAdapter
from providers.zaehlerfreunde.emulator import app as zf_emulator
from tests.contract.volue.conftest import load_spec

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("GATEWAY_SHARED_DIR", REPO_ROOT / ".." / "shared"))

Answer = tuple[str, str, str, Any]
"""(method, path, status, the type the adapter decodes that answer as)."""


@dataclass(frozen=True)
class ProviderEntry:
    """One provider as the contract suite drives it."""

    provider: Provider
    adapter: type[ProviderAdapter]
    """The adapter class; its ``offers`` say which capability exercises run."""
    emulator: Callable[[], Any]
    """A fresh emulator app (ASGI) with empty state."""
    prefix: str
    """Where the provider's API lives on the emulator (what the document's paths follow)."""
    build: Callable[[str, str], ProviderAdapter]
    """The adapter from the emulator's base URL and a client secret, as the factory builds it."""
    client_id: str
    client_secret: str
    token_path: str
    """The emulator's token route (for exercises that ask the emulator directly)."""
    document: Path
    """The provider's official OpenAPI document (JSON or YAML), as published."""
    spec_validation: bool
    """Whether openapi-core validates the document itself before using it."""
    answers: tuple[Answer, ...]
    """Every answer the adapter decodes, to generate from the document."""
    state: Callable[[Any], Any]
    """The emulator's store (``entity_counts()`` and what ``site_view`` reads) from its app."""
    count_keys: Mapping[EntityType, str]
    """The name ``entity_counts`` gives each entity type the provider holds."""
    site_view: Callable[[Any, str], tuple[Any, ...]]
    """What the provider holds for a site (its store and external id), in the terms it keeps."""
    expected_view: Callable[[Site], tuple[Any, ...]]
    """What ``site_view`` should show for a site sent to it."""
    refused_change: Callable[[Site, str], tuple[Operation, str]]
    """An upsert of an existing site (its external id) the provider refuses with 400, and words
    its refusal says."""
    batch_routes: Mapping[EntityType, str] = field(default_factory=dict)
    """The batch route (``METHOD path``) of each entity type sent in batches."""
    notifications: tuple[str, Any] | None = None
    """(component, type): what the provider posts to our webhook, when it does."""
    simulate_event: tuple[str, str, str] | None = None
    """(method, path, event type): an emulator route that makes the provider emit an event of
    that type, for an event source's exercise."""
    eligible_place: Coordinates | None = None
    """Where a site makes its customer eligible for the provider's programme, if it has one."""
    request_document: Callable[[], dict[str, Any]] | None = None
    """The document the sent requests are checked against, where it must differ from the
    published one (documented ambiguities resolved, nothing else); None: the published one."""
    http_client: Callable[[Any], httpx.AsyncClient] = lambda adapter: adapter.client.http.client
    """The adapter's HTTP client, whose requests the suite watches and checks."""

    @property
    def offers(self) -> frozenset[Any]:
        return frozenset(self.adapter.offers)


def _upsert(entity: Site, **options: Any) -> Operation:
    options.setdefault("meter_point_ids", entity.meter_point_ids)
    return Operation(task_id=str(uuid.uuid4()), action=TaskAction.UPSERT, entity=entity, **options)


# --- Volue ---------------------------------------------------------------------------------


VOLUE_PREFIX = volue_emulator.API_PREFIX


def _build_volue(url: str, secret: str) -> ProviderAdapter:
    return build_volue(VolueConfig(base_url=url + VOLUE_PREFIX, token_url=url + volue_emulator.TOKEN_PATH,
                                   client_id="volue-emulator", client_secret=secret, timeout_s=5.0))


def _volue_site_view(store: Any, external_id: str) -> tuple[Any, ...]:
    location = store.locations[external_id]
    return (str(location.location_type), location.coordinates, location.meter_point_ids)


def _volue_expected(site: Site) -> tuple[Any, ...]:
    coords = site.coordinates
    position = (coords.latitude, coords.longitude) if coords is not None else None
    return (site.kind.value.capitalize(), position, site.meter_point_ids)


def _volue_refused(site: Site, external_id: str) -> tuple[Operation, str]:
    bad = msgspec.structs.replace(site, coordinates=Coordinates(latitude=100.0, longitude=0.0))
    return _upsert(bad, external_id=external_id), "latitude in [-90, 90]"


VOLUE = ProviderEntry(
    provider=Provider.VOLUE,
    adapter=VolueAdapter,
    emulator=volue_emulator.create_app,
    prefix=VOLUE_PREFIX,
    build=_build_volue,
    client_id="volue-emulator",
    client_secret="volue-emulator-secret",
    token_path=volue_emulator.TOKEN_PATH,
    document=SHARED / "providers" / "volue" / "ec-sandbox-swagger.json",
    spec_validation=True,
    # the Bearer scheme's case and the polymorphic payloads (tests/contract/volue/conftest.py)
    request_document=load_spec,
    answers=(
        ("get", "/users", "200", vs.GetUsersResponse),
        ("get", "/users/{userId}/locations", "200", list[vs.GetLocationResponse]),
        ("get", "/users/{userId}/locations/{locationId}", "200", vs.GetLocationResponse),
        ("get", "/resources/{resourceId}", "200", vs.GetResourceResponse),
        ("get", "/users/{userId}/resources", "200", vs.GetUserResourcesResponse),
        ("get", "/events", "200", vs.GetEventsResponse),
        ("get", "/events/{eventId}", "200", vs.GetEventResponse),
        ("post", "/reports", "200", vs.GetReportResponse),
        ("post", "/webhooks", "201", vs.GetWebhookResponse),
        ("get", "/webhooks", "200", vs.GetWebhooksResponse),
        ("patch", "/webhooks/{webhookId}", "200", vs.GetWebhookResponse),
        ("get", "/webhooks/logs", "200", vs.GetWebhookNotificationLogsResponse),
        ("get", "/webhooks/logs/{notificationId}", "200", vs.GetWebhookNotificationLogByIdResponse),
        ("get", "/users/{userId}/enrollment", "200", vs.GetUserEnrollmentResponse),
        ("post", "/users/{userId}/enrollment", "200", vs.GetUserEnrollmentResponse),
        ("get", "/users/{userId}/eligibility", "200", vs.GetUserEligibilityResponse),
        ("get", "/users/eligible", "200", vs.GetEligibleUsersResponse),
        ("get", "/meters/{mpid}/eligible", "200", vs.GetMpidEligibilityResponse),
        ("get", "/users/{userId}/compensation", "200", vs.GetUserCompensationForCurrentMonthResponse),
        ("post", "/simulation/events/pricecurve", "200", vs.SimulateEventResponse),
    ),
    state=lambda app: app.state.volue.store,
    count_keys={EntityType.CUSTOMER: "users", EntityType.SITE: "locations", EntityType.DEVICE: "resources"},
    site_view=_volue_site_view,
    expected_view=_volue_expected,
    refused_change=_volue_refused,
    batch_routes={EntityType.CUSTOMER: f"POST {VOLUE_PREFIX}/users/batch",
                  EntityType.SITE: f"POST {VOLUE_PREFIX}/users/locations/batch"},
    notifications=("EventNotification", vs.EventNotification),
    simulate_event=("POST", "/simulation/events/usereligibility", "UserEligibilityUpdated"),
    eligible_place=Coordinates(latitude=TEST_AREAS[0].center_latitude,
                               longitude=TEST_AREAS[0].center_longitude),
)


# --- Zählerfreunde -------------------------------------------------------------------------


ZF_PREFIX = "/partner"


def _build_zf(url: str, secret: str) -> ProviderAdapter:
    return build_zaehlerfreunde(ZaehlerfreundeConfig(base_url=url + ZF_PREFIX, client_id="zf-emulator",
                                                     client_secret=secret, timeout_s=5.0))


def _zf_site_view(state: Any, external_id: str) -> tuple[Any, ...]:
    space = state.spaces[external_id]
    return (space.name, space.address_line_one, space.city, space.category)


def _zf_expected(site: Site) -> tuple[Any, ...]:
    return (site.name, site.address.line1, site.address.city, site.category.value)


def _zf_refused(site: Site, external_id: str) -> tuple[Operation, str]:
    bad = msgspec.structs.replace(site, parent_site_id=site.id)
    return _upsert(bad, external_id=external_id, parent_external_id=external_id), "cannot be its own parent"


ZAEHLERFREUNDE = ProviderEntry(
    provider=Provider.ZAEHLERFREUNDE,
    adapter=ZaehlerfreundeAdapter,
    emulator=zf_emulator.create_app,
    prefix=ZF_PREFIX,
    build=_build_zf,
    client_id="zf-emulator",
    client_secret="zf-emulator-secret",
    token_path=f"{ZF_PREFIX}/auth/token",
    document=SHARED / "providers" / "zaehlerfreunde" / "openapi.yaml",
    spec_validation=False,
    answers=(
        ("post", "/auth/token", "200", zs.ApiToken),
        ("get", "/spaces", "200", zs.Spaces),
        ("post", "/spaces", "200", zs.SpaceId),
        ("put", "/spaces/{spaceId}", "200", zs.SpaceId),
        ("post", "/spaces/{spaceId}/invites", "200", zs.SpaceInviteLink),
        ("get", "/spaces/{spaceId}/devices", "200", zs.Devices),
        ("post", "/spaces/{spaceId}/devices", "200", zs.DeviceId),
        ("get", "/devices/{deviceId}/readings", "200", list[zs.DeviceReading]),
    ),
    state=lambda app: app.state.zaehlerfreunde,
    count_keys={EntityType.SITE: "spaces", EntityType.DEVICE: "devices"},
    site_view=_zf_site_view,
    expected_view=_zf_expected,
    refused_change=_zf_refused,
)


PROVIDERS: dict[Provider, ProviderEntry] = {entry.provider: entry for entry in (VOLUE, ZAEHLERFREUNDE)}
"""Every provider the contract suite runs against: add an entry to add a provider."""


@cache
def document(provider: Provider) -> dict[str, Any]:
    """The provider's published document (read once per process; callers do not change it)."""
    path = PROVIDERS[provider].document
    text = path.read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    return loaded


@cache
def openapi(provider: Provider) -> OpenAPI:
    """The document the provider's requests are checked against, for openapi-core."""
    entry = PROVIDERS[provider]
    spec = entry.request_document() if entry.request_document else copy.deepcopy(document(provider))
    if entry.spec_validation:
        return OpenAPI.from_dict(spec)
    return OpenAPI.from_dict(spec, config=Config(spec_validator_cls=None))
