"""The Volue adapter: customers as users, sites as locations, devices as resources.

Besides the entity sink it offers reports, the event listing, the webhook
registry and a credentials probe (``offers``). Our ids are Volue's ids, so every
create is idempotent by nature. Writes that may
repeat an earlier one (the provider id is known, or ``op.attempt > 0``) look first
(``GET``/``PUT``) instead of creating again, which keeps re-sends cheap and
visible nowhere upstream.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec

from gateway.core.domain import Customer, Device, DeviceKind, EntityType, Provider, Site, TaskAction
from gateway.core.events import EventPage
from gateway.core.reports import LpcRequest, Report
from providers.base import (
    Capabilities,
    Capability,
    Compensation,
    ConflictError,
    Enrollment,
    Held,
    Operation,
    Outcome,
    ProviderError,
    RejectedError,
    TransientError,
    Webhook,
    WebhookLog,
)
from providers.http import apply_each
from providers.volue import CAPABILITIES, reports
from providers.volue import mapping as m
from providers.volue.client import VolueClient
from providers.volue.events import page as event_page
from providers.volue.events_client import VolueEventsClient
from providers.volue.programme import VolueProgrammeClient
from providers.volue.schemas import (
    GetLocationResponse,
    GetResourceResponse,
    GetWebhookResponse,
    NotificationType,
    PatchWebhookRequest,
    PostLocationsBatchRequest,
    PostLocationWithUserRequest,
    PostUsersBatchRequest,
    PostWebhookRequest,
    WebhookNotificationLog,
)

Result = Outcome | ProviderError
ALL_NOTIFICATION_TYPES = tuple(t for t in NotificationType if t is not NotificationType.UNKNOWN)
"""What registering a webhook "for all types" asks for."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _repeats(op: Operation) -> bool:
    """Whether an earlier call may already have created what ``op`` creates."""
    return op.external_id is not None or op.attempt > 0


class VolueAdapter:
    """``ProviderAdapter`` for the Volue Energy Coordination API."""

    provider: Provider = Provider.VOLUE
    capabilities: Capabilities = CAPABILITIES
    offers: frozenset[Capability] = frozenset({
        Capability.ENTITY_SINK,
        Capability.REPORT_SINK,
        Capability.EVENT_SOURCE,
        Capability.WEBHOOK_REGISTRY,
        Capability.CREDENTIALS_PROBE,
        Capability.PROGRAMME,
        Capability.INVENTORY,
    })

    def __init__(self, *, client: VolueClient, concurrency: int = 8) -> None:
        self.client = client
        self.events = VolueEventsClient(http=client.http)
        self.programme = VolueProgrammeClient(http=client.http)
        self.concurrency = concurrency

    async def apply(self, op: Operation) -> Outcome:
        """Create, update or delete the user, location or resource behind ``op``."""
        entity = op.entity
        if op.action is TaskAction.DELETE:
            return await self._delete(entity)
        if isinstance(entity, Customer):
            return await self._upsert_customer(op, entity)
        if isinstance(entity, Site):
            return await self._upsert_site(op, entity)
        return await self._upsert_device(op, entity)

    # --- customers ------------------------------------------------------------------------

    async def _upsert_customer(self, op: Operation, customer: Customer) -> Outcome:
        """Register the user; a user carries nothing but its id, so existing means done."""
        if _repeats(op) and await self.client.user_exists(customer.id):
            return Outcome(external_id=customer.id)
        await self.client.create_user(m.post_user(customer))
        return Outcome(external_id=customer.id)

    # --- sites ----------------------------------------------------------------------------

    async def _upsert_site(self, op: Operation, site: Site) -> Outcome:
        """``POST`` a new location (409 → ``PUT``); ``PUT`` a known one (404 → ``POST``)."""
        body = m.put_location(site, op.meter_point_ids)
        user_id, location_id = site.customer_id, site.id
        done = Outcome(external_id=location_id)
        if _repeats(op):
            if await self.client.replace_location(user_id, location_id, body):
                return done
            if await self.client.create_location(user_id, body):
                return done
        else:
            if await self.client.create_location(user_id, body):
                return done
            if await self.client.replace_location(user_id, location_id, body):
                return Outcome(external_id=location_id, note="location existed; replaced")
        raise ConflictError(
            f"location {location_id} exists at Volue under another user than {user_id}",
            status=409,
            route="/users/{userId}/locations",
        )

    # --- devices --------------------------------------------------------------------------

    async def _upsert_device(self, op: Operation, device: Device) -> Outcome:
        """Register the resource (vehicles under the user, the rest under the site).

        Volue has no resource update: a resource read back with another type or
        place is a ``ConflictError``. Volue answers a taken id with 400 (it declares
        no 409 for resources), so a refused create is read back before it counts as
        rejected.
        """
        m.resource_type(device)
        vehicle = device.kind is DeviceKind.VEHICLE
        site_id = device.site_id
        if not vehicle and site_id is None:
            raise RejectedError(f"device {device.id} has no site; Volue needs its location")
        if _repeats(op):
            found = await self.client.get_resource(device.id)
            if found is not None:
                return self._reconciled(found, device)
        try:
            if vehicle or site_id is None:
                created = await self.client.create_vehicle(device.customer_id, m.vehicle(device))
            else:
                created = await self.client.create_location_resource(
                    device.customer_id, site_id, m.location_resource(device)
                )
        except RejectedError:
            # Volue declares no 409 here: a taken id comes back as a 400.
            found = await self.client.get_resource(device.id)
            if found is None:
                raise
            return self._reconciled(found, device)
        if created:
            return Outcome(external_id=device.id)
        found = await self.client.get_resource(device.id)
        if found is None:
            raise ConflictError(
                f"resource {device.id} was refused as existing but cannot be read back",
                status=409,
                route="/resources/{resourceId}",
            )
        return self._reconciled(found, device)

    @staticmethod
    def _reconciled(found: GetResourceResponse, device: Device) -> Outcome:
        if m.resource_matches(found, device):
            return Outcome(external_id=device.id)
        raise ConflictError(
            f"resource {device.id} exists at Volue as a {found.resource_type.value} of user "
            f"{found.user_id} at location {found.location_id}; Volue cannot change that",
            status=409,
            route="/resources/{resourceId}",
        )

    # --- deletes --------------------------------------------------------------------------

    async def _delete(self, entity: Customer | Site | Device) -> Outcome:
        """Delete upstream; already gone counts as done."""
        if isinstance(entity, Customer):
            await self.client.delete_user(entity.id)
        elif isinstance(entity, Site):
            await self.client.delete_location(entity.customer_id, entity.id)
        elif entity.kind is not DeviceKind.METER:
            await self.client.delete_resource(entity.id)
        return Outcome(external_id=None)

    # --- batches --------------------------------------------------------------------------

    def create_key(self, op: Operation) -> str | None:
        """None: every Volue object carries our own id, so a lost create is found by it."""
        return None

    async def apply_batch(self, ops: Sequence[Operation]) -> list[Result]:
        """Customers and sites not yet known at Volue through ``POST /users/batch`` and
        ``POST /users/locations/batch`` (chunks of at most the batch limit), retries included
        unless an earlier attempt may have been carried out; every other operation on its own.
        A chunk the provider refuses as a whole (4xx) is
        retried item by item, so one bad item does not sink the others.
        """
        results: list[Result | None] = [None] * len(ops)
        users: list[tuple[int, Customer]] = []
        locations: list[tuple[int, PostLocationWithUserRequest]] = []
        singles: list[int] = []
        for index, op in enumerate(ops):
            entity = op.entity
            # A create tried before goes in a batch again when no earlier attempt can have
            # reached Volue (a 429, a refused connection, a circuit that held it back): the
            # recovery from an outage costs batches, not a request per entity. One that may
            # have been carried out (a 5xx, a lost answer) is read first, alone, so it is not
            # created a second time; objects known upstream go alone too.
            fresh = op.action is TaskAction.UPSERT and op.external_id is None and not op.maybe_sent
            if fresh and isinstance(entity, Customer):
                users.append((index, entity))
            elif fresh and isinstance(entity, Site):
                try:
                    body = m.post_location_with_user(entity, op.meter_point_ids)
                except RejectedError as error:
                    results[index] = error
                else:
                    locations.append((index, body))
            else:
                singles.append(index)
        user_limit = self.capabilities.batch_limits.get(EntityType.CUSTOMER, 1)
        for start in range(0, len(users), user_limit):
            some = users[start : start + user_limit]
            request = PostUsersBatchRequest(users=[m.post_user(c) for _, c in some])
            chunk = [i for i, _ in some]
            await self._run_chunk(ops, chunk, self.client.create_users(request), results)
        site_limit = self.capabilities.batch_limits.get(EntityType.SITE, 1)
        for start in range(0, len(locations), site_limit):
            part = locations[start : start + site_limit]
            chunk = [i for i, _ in part]
            batch = PostLocationsBatchRequest(locations=[body for _, body in part])
            await self._run_chunk(ops, chunk, self.client.create_locations(batch), results)
        if singles:
            done = await apply_each(self.apply, [ops[i] for i in singles], concurrency=self.concurrency)
            for index, result in zip(singles, done, strict=True):
                results[index] = result
        return [r if r is not None else ProviderError("operation not run") for r in results]

    async def _run_chunk(
        self,
        ops: Sequence[Operation],
        chunk: list[int],
        call: Awaitable[None],
        results: list[Result | None],
    ) -> None:
        try:
            await call
        except (RejectedError, ConflictError):
            done = await apply_each(self.apply, [ops[i] for i in chunk], concurrency=self.concurrency)
            for index, result in zip(chunk, done, strict=True):
                results[index] = result
            return
        except ProviderError as error:
            for index in chunk:
                results[index] = error
            return
        for index in chunk:
            results[index] = Outcome(external_id=ops[index].entity.id)

    # --- inventory ----------------------------------------------------------------------

    async def holdings(self) -> list[Held]:
        """Users (``GET /users``, page by page), and each user's locations
        (``GET /users/{u}/locations``) and resources (``GET /users/{u}/resources``)."""
        user_ids: list[str] = []
        page = 1
        while True:
            found = await self.client.users_page(page)
            user_ids.extend(user.user_id for user in found.users)
            following = found.pagination.following_page
            if following is None or not found.users:
                break
            page = following
        limit = asyncio.Semaphore(self.concurrency)

        async def of_user(user_id: str) -> list[Held]:
            async with limit:
                locations = await self.client.list_locations(user_id)
                resources = await self.client.list_user_resources(user_id) or []
            held = [Held(entity_type=EntityType.SITE, external_id=loc.location_id,
                         parent_external_id=user_id, fields=_location_fields(loc)) for loc in locations]
            held += [Held(entity_type=EntityType.DEVICE, external_id=res.resource_id,
                          parent_external_id=res.location_id or user_id, fields=_resource_fields(res))
                     for res in resources]
            return held

        held = [Held(entity_type=EntityType.CUSTOMER, external_id=user_id) for user_id in user_ids]
        for part in await asyncio.gather(*(of_user(user_id) for user_id in user_ids)):
            held.extend(part)
        return held

    def expected_fields(self, op: Operation) -> dict[str, Any]:
        """A user carries nothing but its id; a location its type, coordinates and meter point
        ids; a resource its type, user and location."""
        entity = op.entity
        if isinstance(entity, Customer):
            return {}
        if isinstance(entity, Site):
            body = m.put_location(entity, op.meter_point_ids)
            return _location_fields(GetLocationResponse(
                location_id=entity.id, location_type=body.location_type, coordinates=body.coordinates,
                meter_point_ids=list(body.meter_point_ids or []), user_id=entity.customer_id))
        location = None if entity.kind is DeviceKind.VEHICLE else entity.site_id
        return _resource_fields(GetResourceResponse(
            resource_id=entity.id, resource_type=m.resource_type(entity), user_id=entity.customer_id,
            location_id=location))

    # --- reports, events, webhooks -------------------------------------------------------

    def render_report(self, report: Report) -> msgspec.Struct:
        """The ``PostReportRequest`` of a canonical report (:mod:`providers.volue.reports`)."""
        return reports.render(report)

    def lpc_request(self, event_payload: Mapping[str, Any]) -> LpcRequest | None:
        """The LPC request in a stored ``LocationLPC``/``ResourceLPC`` event payload."""
        return reports.lpc_request(event_payload)

    def answered_targets(self, body: Mapping[str, Any]) -> list[str]:
        """The target ids a stored LPC acknowledgement accepted or declined."""
        return reports.answered_targets(body)

    async def send_report(self, body: dict[str, Any] | msgspec.Struct) -> str | None:
        """``POST /reports`` with one ``PostReportRequest`` as rendered by
        :meth:`render_report` (or any body of that shape); the report's id when Volue describes
        the created report."""
        created = await self.events.send_report(body)
        return created.id if created is not None else None

    async def events_page(self, page: int) -> EventPage:
        """One page (1-based) of ``GET /events``, of the largest size Volue allows, as canonical
        events (:mod:`providers.volue.events`)."""
        return event_page(await self.events.events_page(page))

    async def register_webhook(
        self, *, url: str, name: str, secret: str, types: Sequence[str] = ()
    ) -> Webhook:
        """``POST /webhooks``; unknown ``types`` raise ``ValueError`` before any request.

        No ``types`` means every notification type, and they are named in the request (the
        document does not say what an absent list means). A bodiless answer (200, which the
        document allows) leaves the new webhook's id unknown: it raises a ``TransientError``
        with ``maybe_sent``, like a lost answer, for the caller to find the webhook by listing.
        """
        kinds = [NotificationType(t) for t in types] or list(ALL_NOTIFICATION_TYPES)
        created = await self.events.create_webhook(PostWebhookRequest(
            webhook_url=url, name=name, webhook_secret=secret, notification_types=kinds))
        if created is None:
            raise TransientError("POST /webhooks answered without the webhook it created",
                                 status=200, route="/webhooks", maybe_sent=True)
        return _webhook(created)

    async def list_webhooks(self) -> list[Webhook]:
        """``GET /webhooks``."""
        return [_webhook(hook) for hook in await self.events.list_webhooks()]

    async def delete_webhook(self, webhook_id: str) -> bool:
        """``DELETE /webhooks/{webhookId}``; False when Volue has no such webhook."""
        return await self.events.delete_webhook(webhook_id)

    async def update_webhook(
        self, webhook_id: str, *, url: str | None = None, types: Sequence[str] | None = None,
        secret: str | None = None,
    ) -> Webhook | None:
        """``PATCH /webhooks/{webhookId}``; unknown ``types`` raise ``ValueError`` first."""
        kinds = [NotificationType(t) for t in types] if types is not None else None
        changed = await self.events.patch_webhook(webhook_id, PatchWebhookRequest(
            webhook_url=url, notification_types=kinds, webhook_secret=secret))
        return _webhook(changed) if changed is not None else None

    async def set_webhook_enabled(self, webhook_id: str, enabled: bool) -> bool:
        """``PUT /webhooks/{webhookId}/enabled``."""
        return await self.events.set_webhook_enabled(webhook_id, enabled)

    async def webhook_logs(self, webhook_id: str | None = None, limit: int = 50) -> list[WebhookLog]:
        """The last ``limit`` entries of ``GET /webhooks/logs``, newest first."""
        first = await self.events.webhook_logs(webhook_id, page=1, page_size=limit)
        pages = first.pagination.last_page if first.pagination is not None else 1
        found = list(first.webhook_notification_logs or ())
        if pages > 1:
            last = await self.events.webhook_logs(webhook_id, page=pages, page_size=limit)
            found = list(last.webhook_notification_logs or ())
            if len(found) < limit:
                earlier = await self.events.webhook_logs(webhook_id, page=pages - 1, page_size=limit)
                found = [*(earlier.webhook_notification_logs or ()), *found]
        entries = sorted(found, key=_sent_key, reverse=True)[:limit]
        return [WebhookLog(notification_id=e.notification_id or "", webhook_id=e.webhook_id,
                           url=e.webhook_url,
                           event_type=e.notification_type.value if e.notification_type else "",
                           sent_at=e.notification_sent, status_code=e.response_status_code,
                           timed_out=bool(e.request_timeout), duration_ms=e.request_duration_ms)
                for e in entries]

    # --- the SPARK programme --------------------------------------------------------------

    async def enroll(self, customer_id: str) -> Enrollment:
        """``POST /users/{userId}/enrollment``."""
        return await self.programme.enroll(customer_id)

    async def leave(self, customer_id: str) -> bool:
        """``DELETE /users/{userId}/enrollment``; False when not enrolled."""
        return await self.programme.leave(customer_id)

    async def enrollment(self, customer_id: str) -> Enrollment | None:
        """``GET /users/{userId}/enrollment``."""
        return await self.programme.enrollment(customer_id)

    async def customer_eligible(self, customer_id: str) -> bool | None:
        """``GET /users/{userId}/eligibility``."""
        return await self.programme.user_eligible(customer_id)

    async def meter_point_eligible(self, meter_point_id: str) -> bool:
        """``GET /meters/{mpid}/eligible``."""
        return await self.programme.meter_point_eligible(meter_point_id)

    async def compensation(self, customer_id: str) -> Compensation | None:
        """``GET /users/{userId}/compensation``."""
        return await self.programme.compensation(customer_id)

    async def check_credentials(self) -> None:
        """Fetch a client-credentials token (or find the current one still valid)."""
        await self.client.http.tokens.bearer()

    async def aclose(self) -> None:
        await self.client.aclose()


def _location_fields(location: GetLocationResponse) -> dict[str, Any]:
    """The compared fields Volue's answer carries (type and coordinates are optional there)."""
    point = location.coordinates
    fields: dict[str, Any] = {"meterPointIds": sorted(location.meter_point_ids)}
    if location.location_type is not None:
        fields["locationType"] = location.location_type.value
    if point is not None:
        fields["coordinates"] = [point.latitude, point.longitude]
    return fields


def _resource_fields(resource: GetResourceResponse) -> dict[str, Any]:
    """The compared fields; ``locationId`` only when Volue's answer names one (it is optional)."""
    fields: dict[str, Any] = {"resourceType": resource.resource_type.value, "userId": resource.user_id}
    if resource.location_id is not None:
        fields["locationId"] = resource.location_id
    return fields


def _sent_key(log: WebhookNotificationLog) -> datetime:
    """When a notification was sent, for ordering; one without ``notificationSent`` sorts last."""
    sent = log.notification_sent
    if sent is None:
        return _EPOCH
    return sent if sent.tzinfo is not None else sent.replace(tzinfo=UTC)


def _webhook(hook: GetWebhookResponse) -> Webhook:
    """The webhook as Volue describes it; members it leaves out read as Volue's defaults
    (all types, enabled, no status)."""
    return Webhook(webhook_id=hook.webhook_id, url=hook.webhook_url,
                   types=tuple(t.value for t in hook.notification_types or ()),
                   enabled=hook.enabled if hook.enabled is not None else True,
                   status=hook.status.value if hook.status is not None else "", name=hook.name)
