"""Route handlers of the Volue emulator under ``/energy-coordination/v1``."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import msgspec
from litestar import Request, Response, Router, delete, get, patch, post, put
from litestar.types import BeforeRequestHookHandler

from providers.volue import schemas as s
from providers.volue.emulator.http import (
    PROBLEM_400,
    STRING_400,
    ErrorPolicy,
    bool_query,
    check_time_span,
    decode,
    int_query,
    json_response,
)
from providers.volue.emulator.state import Invalid, VolueState, paginate, utcnow
from providers.volue.emulator.webhooks import WebhookHub

API_PREFIX = "/energy-coordination/v1"
LPC_RESOLUTION = "01:00:00"
Req = Request[Any, Any, Any]
Resp = Response[bytes]


@dataclass(slots=True)
class VolueEmulator:
    """The emulator's state, reachable as ``app.state.volue``."""

    store: VolueState
    hub: WebhookHub


def _ctx(request: Req) -> VolueEmulator:
    emulator: VolueEmulator = request.app.state.volue
    return emulator


def _page(request: Req) -> tuple[int | None, int | None]:
    return int_query(request, "page"), int_query(request, "pageSize")


_NF_STRING = ErrorPolicy(not_found="string")
_NF_400 = ErrorPolicy(not_found="bad_request")
_NF_CONFLICT = ErrorPolicy(conflict="empty")
_VEHICLE = ErrorPolicy(problem=True, not_found="bad_request")
_PROBLEM_NF = ErrorPolicy(problem=True)
_PROBLEM_NF_STRING = ErrorPolicy(problem=True, not_found="string")
_PROBLEM_NF_400 = ErrorPolicy(problem=True, not_found="bad_request")

# ---------------------------------------------------------------- users


@get("/users", opt=STRING_400.opt(), sync_to_thread=False)
def list_users(request: Req) -> Resp:
    page, info = paginate(list(_ctx(request).store.users), *_page(request))
    users = [s.GetUserResponse(user_id=uid) for uid in page]
    return json_response(s.GetUsersResponse(pagination=info, users=users))


@post("/users", opt=STRING_400.opt())
async def create_user(request: Req) -> Resp:
    req = decode(await request.body(), s.PostUserRequest)
    new = _ctx(request).store.create_users([req.user_id])[1]
    return json_response(s.GetUserResponse(user_id=req.user_id), 201 if new else 200)


@post("/users/batch", opt=STRING_400.opt())
async def create_users(request: Req) -> Resp:
    req = decode(await request.body(), s.PostUsersBatchRequest)
    ids, new = _ctx(request).store.create_users(u.user_id for u in req.users)
    users = [s.GetUserResponse(user_id=uid) for uid in ids]
    return json_response(s.PostUsersBatchResponse(users=users), 201 if new else 200)


@get("/users/eligible", opt=PROBLEM_400.opt(), sync_to_thread=False)
def list_eligible_users(request: Req) -> Resp:
    ids, info = paginate(_ctx(request).store.eligible_user_ids(), *_page(request))
    users = [s.GetUserResponse(user_id=uid) for uid in ids]
    return json_response(s.GetEligibleUsersResponse(pagination=info, users=users))


@get("/users/{user_id:str}", opt=STRING_400.opt(), sync_to_thread=False)
def read_user(request: Req, user_id: str) -> Resp:
    return json_response(s.GetUserResponse(user_id=_ctx(request).store.user(user_id).user_id))


@delete("/users/{user_id:str}", opt=STRING_400.opt(), status_code=204, sync_to_thread=False)
def delete_user(request: Req, user_id: str) -> None:
    _ctx(request).store.delete_user(user_id)


@get("/users/{user_id:str}/eligibility", opt=STRING_400.opt(), sync_to_thread=False)
def read_user_eligibility(request: Req, user_id: str) -> Resp:
    store = _ctx(request).store
    store.user(user_id)
    eligible = store.is_user_eligible(user_id)
    return json_response(s.GetUserEligibilityResponse(user_id=user_id, is_eligible=eligible))


@get("/meters/{mpid:str}/eligible", sync_to_thread=False)
def read_meter_point_eligibility(request: Req, mpid: str) -> Resp:
    eligible = _ctx(request).store.is_meter_point_eligible(mpid)
    return json_response(s.GetMpidEligibilityResponse(meter_point_id=mpid, is_eligible=eligible))


# ---------------------------------------------------------------- locations


@get("/users/{user_id:str}/locations", opt=_NF_400.opt(), sync_to_thread=False)
def list_locations(request: Req, user_id: str) -> Resp:
    store = _ctx(request).store
    user = store.user(user_id)
    return json_response([store.locations[lid].to_wire() for lid in user.locations])


@post("/users/{user_id:str}/locations", opt=_NF_CONFLICT.opt())
async def create_location(request: Req, user_id: str) -> Resp:
    req = decode(await request.body(), s.PostLocationRequest)
    loc, new = _ctx(request).store.create_location(user_id, req)
    return json_response(loc.to_wire(), 201 if new else 200)


@post("/users/locations/batch", opt=_NF_400.opt())
async def create_locations(request: Req) -> Resp:
    req = decode(await request.body(), s.PostLocationsBatchRequest)
    locations, new = _ctx(request).store.create_locations(req.locations)
    body = s.PostLocationsBatchResponse(locations=[loc.to_wire() for loc in locations])
    return json_response(body, 201 if new else 200)


@get("/users/{user_id:str}/locations/{location_id:str}", opt=STRING_400.opt(), sync_to_thread=False)
def read_location(request: Req, user_id: str, location_id: str) -> Resp:
    return json_response(_ctx(request).store.location(user_id, location_id).to_wire())


@put("/users/{user_id:str}/locations/{location_id:str}", opt=STRING_400.opt())
async def replace_location(request: Req, user_id: str, location_id: str) -> Resp:
    req = decode(await request.body(), s.PutLocationRequest)
    return json_response(_ctx(request).store.replace_location(user_id, location_id, req).to_wire())


@patch("/users/{user_id:str}/locations/{location_id:str}", opt=_NF_CONFLICT.opt())
async def patch_location(request: Req, user_id: str, location_id: str) -> Resp:
    req = decode(await request.body(), s.PatchLocationRequest)
    return json_response(_ctx(request).store.patch_location(user_id, location_id, req).to_wire())


@delete(
    "/users/{user_id:str}/locations/{location_id:str}",
    opt=STRING_400.opt(),
    status_code=204,
    sync_to_thread=False,
)
def delete_location(request: Req, user_id: str, location_id: str) -> None:
    _ctx(request).store.delete_location(user_id, location_id)


# ---------------------------------------------------------------- resources


@get("/users/{user_id:str}/locations/{location_id:str}/resources", sync_to_thread=False)
def list_location_resources(request: Req, user_id: str, location_id: str) -> Resp:
    store = _ctx(request).store
    loc = store.location(user_id, location_id)
    return json_response([store.resources[rid].to_bound_wire() for rid in loc.resources])


@post("/users/{user_id:str}/locations/{location_id:str}/resources", opt=_NF_STRING.opt())
async def create_location_resource(request: Req, user_id: str, location_id: str) -> Resp:
    req = decode(await request.body(), s.PostLocationBoundResourceRequest)
    res, new = _ctx(request).store.create_resource(
        user_id, location_id, req.resource_id, req.resource_type, req.meter_point_id
    )
    return json_response(res.to_bound_wire(), 201 if new else 200)


@post("/users/{user_id:str}/vehicles", opt=_VEHICLE.opt())
async def create_vehicle(request: Req, user_id: str) -> Resp:
    req = decode(await request.body(), s.PostVehicleResourceRequest)
    if req.resource_type is not s.ResourceType.VEHICLE:
        raise Invalid("resourceType must be Vehicle on the vehicles endpoint")
    res, new = _ctx(request).store.create_resource(
        user_id, None, req.resource_id, req.resource_type
    )
    return json_response(res.to_wire(), 201 if new else 200)


@get("/users/{user_id:str}/resources", sync_to_thread=False)
def list_user_resources(request: Req, user_id: str) -> Resp:
    store = _ctx(request).store
    user = store.user(user_id)
    resources = [store.resources[rid].to_wire() for rid in user.resources]
    return json_response(s.GetUserResourcesResponse(resources=resources))


@get("/resources/{resource_id:str}", opt=_NF_STRING.opt(), sync_to_thread=False)
def read_resource(request: Req, resource_id: str) -> Resp:
    return json_response(_ctx(request).store.resource(resource_id).to_wire())


@delete("/resources/{resource_id:str}", opt=STRING_400.opt(), status_code=204, sync_to_thread=False)
def delete_resource(request: Req, resource_id: str) -> None:
    _ctx(request).store.delete_resource(resource_id)


# ---------------------------------------------------------------- events and reports


@get("/events", opt=PROBLEM_400.opt(), sync_to_thread=False)
def list_events(request: Req) -> Resp:
    events, info = paginate(_ctx(request).store.event_list, *_page(request))
    body = s.GetEventsResponse(pagination=info, events=[e.to_wire() for e in events])
    return json_response(body)


@get("/events/{event_id:str}", opt=_PROBLEM_NF.opt(), sync_to_thread=False)
def read_event(request: Req, event_id: str) -> Resp:
    return json_response(_ctx(request).store.event(event_id).to_wire())


def _check_report(req: s.PostReportRequest) -> None:
    for payload in req.payloads or ():
        if isinstance(
            payload,
            s.EnergyUsageReportPayload
            | s.LocationEnergyUsageReportPayload
            | s.LocationEnergyUsagePlanReportPayload,
        ):
            check_time_span(payload.resolution, "resolution")


@post("/reports", opt=STRING_400.opt(), status_code=200)
async def create_report(request: Req) -> Resp:
    # Only the current ``PostReportRequest``: the quickstart's charge-action report (a
    # top-level ``name``, ``VehicleChargeAction`` payloads) is refused as the document
    # forbids both (``additionalProperties: false``, no such payload type).
    req = decode(await request.body(), s.PostReportRequest)
    _check_report(req)
    store = _ctx(request).store
    now = utcnow()
    report = s.GetReportResponse(id=str(uuid.uuid4()), event_id=req.event_id, created_at=now)
    # Fields in a fixed order, so the same report sent again is recognised as a duplicate.
    store.store_report(report, msgspec.json.encode(req, order="sorted"))
    store.record_usage(req, now)
    store.record_location_energy_usage(req)
    return json_response(report)


# ---------------------------------------------------------------- the SPARK programme


@get("/users/{user_id:str}/enrollment", opt=STRING_400.opt(), sync_to_thread=False)
def read_enrollment(request: Req, user_id: str) -> Resp:
    return json_response(_ctx(request).store.enrollment(user_id))


@post("/users/{user_id:str}/enrollment", opt=STRING_400.opt(), status_code=200)
async def enroll_user(request: Req, user_id: str) -> Resp:
    store = _ctx(request).store
    store.enroll(user_id)
    return json_response(store.enrollment(user_id))


@delete(
    "/users/{user_id:str}/enrollment", opt=STRING_400.opt(), status_code=204, sync_to_thread=False
)
def leave_programme(request: Req, user_id: str) -> None:
    _ctx(request).store.leave(user_id)


@get("/users/{user_id:str}/compensation", opt=STRING_400.opt(), sync_to_thread=False)
def read_compensation(request: Req, user_id: str) -> Resp:
    return json_response(_ctx(request).store.compensation(user_id))


# ---------------------------------------------------------------- simulation


def _simulated(request: Req, payload: s.SparkEventPayload) -> Resp:
    event = _ctx(request).store.emit(payload)
    return json_response(s.SimulateEventResponse(simulated_event=event.to_wire()))


@post("/simulation/events/pricecurve", opt=STRING_400.opt(), status_code=200)
async def simulate_price_curve(request: Req) -> Resp:
    req = decode(await request.body(), s.SimulatePriceCurveEventRequest)
    store = _ctx(request).store
    if req.targets is None:
        targets = store.price_curve_targets()
    else:
        store.check_price_curve_targets(req.targets)
        targets = req.targets
    curve = req.price_curve_delta or store.generated_price_curve()
    if curve.resolution is not None:
        check_time_span(curve.resolution, "priceCurveDelta.resolution")
    payload = s.PriceCurvePayload(
        targets=targets,
        price_curve_delta=curve,
        price_area=req.price_area or s.PriceArea.UNKNOWN,
    )
    return _simulated(request, payload)


@post("/simulation/events/usereligibility", opt=STRING_400.opt(), status_code=200)
async def simulate_user_eligibility(request: Req) -> Resp:
    added = _ctx(request).store.eligible_user_ids()
    payload = s.UserEligibilityPayload(last_updated=utcnow(), added_users=added, removed_users=[])
    return _simulated(request, payload)


def _lpc_points(points: list[s.SimulatedLPCPoint] | None) -> list[s.LPCDataPoint]:
    """The request's points, or four hours of 5 kW limits from the next full hour."""
    if not points:
        start = utcnow().replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        return [s.LPCDataPoint(max_power_in_kilo_watts=5.0, timestamp=start + timedelta(hours=h))
                for h in range(4)]
    out = []
    for index, point in enumerate(points):
        if point.max_power_in_kilo_watts is None or point.timestamp is None:
            raise Invalid(f"points[{index}] needs maxPowerInKiloWatts and timestamp")
        out.append(s.LPCDataPoint(max_power_in_kilo_watts=point.max_power_in_kilo_watts,
                                  timestamp=point.timestamp))
    return out


@post("/simulation/events/lpc/locations", opt=STRING_400.opt(), status_code=200)
async def simulate_location_lpc(request: Req) -> Resp:
    # The request's shape (``{location: {locationId, meterPointId}, points}``, no
    # resolution) differs from the event's ``LocationLPCTarget``: the emulator fills in an
    # hourly resolution and, where ``locations`` is absent, every eligible location with a
    # meter point id.
    req = decode(await request.body(), s.SimulateLocationLPCEventRequest)
    store = _ctx(request).store
    targets: list[s.LocationLPCTarget] = []
    if req.locations is None:
        for loc in store.locations.values():
            if loc.eligible and loc.meter_point_ids:
                targets.append(s.LocationLPCTarget(
                    location_id=loc.location_id, meter_point_id=loc.meter_point_ids[0],
                    resolution=LPC_RESOLUTION, points=_lpc_points(None)))
    for index, target in enumerate(req.locations or ()):
        where = target.location
        if where is None or not where.location_id or not where.meter_point_id:
            raise Invalid(f"locations[{index}].location needs locationId and meterPointId")
        targets.append(s.LocationLPCTarget(
            location_id=where.location_id, meter_point_id=where.meter_point_id,
            resolution=LPC_RESOLUTION, points=_lpc_points(target.points)))
    return _simulated(request, s.LocationLPCPayload(targets=targets))


@post("/simulation/events/lpc/resources", opt=STRING_400.opt(), status_code=200)
async def simulate_resource_lpc(request: Req) -> Resp:
    # As for locations: ``{resource: {locationId, resourceId, meterPointId}, points}``.
    req = decode(await request.body(), s.SimulateResourceLPCEventRequest)
    targets: list[s.ResourceLPCTarget] = []
    for index, target in enumerate(req.resources or ()):
        what = target.resource
        if what is None or not what.resource_id or not what.location_id or not what.meter_point_id:
            raise Invalid(
                f"resources[{index}].resource needs locationId, resourceId and meterPointId")
        targets.append(s.ResourceLPCTarget(
            meter_point_id=what.meter_point_id, location_id=what.location_id,
            resource_id=what.resource_id, resolution=LPC_RESOLUTION,
            points=_lpc_points(target.points)))
    return _simulated(request, s.ResourceLPCPayload(targets=targets))


@post("/simulation/partner", opt=STRING_400.opt(), status_code=201, sync_to_thread=False)
def simulate_partner(request: Req) -> None:
    _ctx(request).store.simulate_partner()


@delete("/simulation/partner", status_code=200, sync_to_thread=False)
def clear_simulated_partner(request: Req) -> None:
    _ctx(request).store.clear_simulated_partner()


# ---------------------------------------------------------------- webhooks


@get("/webhooks", sync_to_thread=False)
def list_webhooks(request: Req) -> Resp:
    hooks = [hook.to_wire() for hook in _ctx(request).hub.webhooks.values()]
    return json_response(s.GetWebhooksResponse(webhooks=hooks))


@post("/webhooks", opt=PROBLEM_400.opt())
async def create_webhook(request: Req) -> Resp:
    req = decode(await request.body(), s.PostWebhookRequest)
    _check_url(req.webhook_url)
    return json_response(_ctx(request).hub.create(req).to_wire(), 201)


@get("/webhooks/logs", opt=PROBLEM_400.opt(), sync_to_thread=False)
def list_webhook_logs(request: Req) -> Resp:
    webhook_id = request.query_params.get("webhookId")
    entries = [
        entry.log
        for entry in _ctx(request).hub.logs.values()
        if webhook_id is None or entry.log.webhook_id == webhook_id
    ]
    logs, info = paginate(entries, *_page(request))
    body = s.GetWebhookNotificationLogsResponse(
        webhook_notification_logs=list(logs), pagination=info
    )
    return json_response(body)


@get("/webhooks/logs/{notification_id:str}", opt=_PROBLEM_NF_400.opt(), sync_to_thread=False)
def read_webhook_log(request: Req, notification_id: str) -> Resp:
    entry = _ctx(request).hub.log(notification_id)
    body = s.GetWebhookNotificationLogByIdResponse(
        webhook_notification_log=entry.log, notification_content=entry.content
    )
    return json_response(body)


@get("/webhooks/{webhook_id:str}", opt=_PROBLEM_NF.opt(), sync_to_thread=False)
def read_webhook(request: Req, webhook_id: str) -> Resp:
    return json_response(_ctx(request).hub.webhook(webhook_id).to_wire())


@put("/webhooks/{webhook_id:str}", opt=_PROBLEM_NF.opt())
async def replace_webhook(request: Req, webhook_id: str) -> Resp:
    req = decode(await request.body(), s.PutWebhookRequest)
    _check_url(req.webhook_url)
    return json_response(_ctx(request).hub.replace(webhook_id, req).to_wire())


@patch("/webhooks/{webhook_id:str}", opt=_PROBLEM_NF.opt())
async def patch_webhook(request: Req, webhook_id: str) -> Resp:
    req = decode(await request.body(), s.PatchWebhookRequest)
    if req.webhook_url is not None:
        _check_url(req.webhook_url)
    return json_response(_ctx(request).hub.patch(webhook_id, req).to_wire())


@delete(
    "/webhooks/{webhook_id:str}",
    opt=_PROBLEM_NF_STRING.opt(),
    status_code=204,
    sync_to_thread=False,
)
def delete_webhook(request: Req, webhook_id: str) -> None:
    _ctx(request).hub.delete(webhook_id)


@put(
    "/webhooks/{webhook_id:str}/enabled",
    opt=_PROBLEM_NF.opt(),
    status_code=204,
    sync_to_thread=False,
)
def set_webhook_enabled(request: Req, webhook_id: str) -> None:
    _ctx(request).hub.set_enabled(webhook_id, bool_query(request, "enabled"))


def _check_url(url: str) -> None:
    if not url.startswith(("http://", "https://")) or len(url) < 10:
        raise Invalid("webhookUrl must be an absolute http(s) URL")


def api_router(*, before_request: BeforeRequestHookHandler | None = None) -> Router:
    """All Partner API routes, mounted at the spec's server URL."""
    return Router(
        path=API_PREFIX,
        before_request=before_request,
        route_handlers=[
            list_users,
            create_user,
            create_users,
            list_eligible_users,
            read_user,
            delete_user,
            read_user_eligibility,
            read_meter_point_eligibility,
            list_locations,
            create_location,
            create_locations,
            read_location,
            replace_location,
            patch_location,
            delete_location,
            list_location_resources,
            create_location_resource,
            create_vehicle,
            list_user_resources,
            read_resource,
            delete_resource,
            list_events,
            read_event,
            create_report,
            read_enrollment,
            enroll_user,
            leave_programme,
            read_compensation,
            simulate_price_curve,
            simulate_user_eligibility,
            simulate_location_lpc,
            simulate_resource_lpc,
            simulate_partner,
            clear_simulated_partner,
            list_webhooks,
            create_webhook,
            list_webhook_logs,
            read_webhook_log,
            read_webhook,
            replace_webhook,
            patch_webhook,
            delete_webhook,
            set_webhook_enabled,
        ],
    )
