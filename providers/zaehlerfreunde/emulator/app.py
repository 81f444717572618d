"""An in-memory emulator of the Zählerfreunde partner API, served under ``/partner``.

It follows the partner API's OpenAPI file and guide: ``POST /auth/token`` (JSON
client credentials, a token valid one day), spaces, devices, OBIS meter readings
(epoch seconds, the documented codes only) and invites. Every other route needs a
valid bearer token. Faults, the answer mode and counters come from
:class:`providers.emulation.Emulation`, whose control surface is mounted at ``/_emulator``.
In minimal answer mode every answer carries only what the document requires, and a
reading's ``label`` is a text (``Zählerstand Bezug``), not its OBIS code: the document
types it as a plain string. The ids a create answers with (``spaceId``, ``deviceId``) and
an invite's ``inviteLink`` are optional in the document but kept (:data:`KEEP_WHEN_MINIMAL`):
they are the whole of those answers, and a create answered with ``{}`` is a lost answer.

Errors carry ``{"status", "error", "message", "path"}``; the message names the field.
"""

from __future__ import annotations

import hmac
import uuid
from typing import Any

import msgspec
from litestar import Litestar, Request, Response, Router, delete, get, post, put
from msgspec import UNSET

from providers.emulation import (
    Emulation,
    answer_middleware,
    control_router,
    fault_middleware,
    minimal_answers,
)
from providers.zaehlerfreunde import schemas as s
from providers.zaehlerfreunde.emulator.http import (
    EMPTY_OK,
    answer,
    bearer_guard,
    choice_query,
    datetime_query,
    decode_body,
    error_response,
    int_query,
    require_uuid,
)
from providers.zaehlerfreunde.emulator.readings import RESOLUTION_S, aggregate, directions, iso
from providers.zaehlerfreunde.emulator.state import (
    ApiError,
    DeviceRecord,
    SpaceRecord,
    ZaehlerfreundeState,
    page_of,
)

PREFIX = "/partner"
KEEP_WHEN_MINIMAL = ("spaceId", "deviceId", "inviteLink")
_MEASUREMENTS = ("POWER", "ENERGY", "METER_READING")
_DEFAULT_PAGE_SIZE = 100

_token_decoder = msgspec.json.Decoder(s.NewApiToken)
_space_decoder = msgspec.json.Decoder(s.NewSpace)
_update_decoder = msgspec.json.Decoder(s.UpdateSpace)
_device_decoder = msgspec.json.Decoder(s.NewExternalDevice)
_details_decoder = msgspec.json.Decoder(s.DeviceDetails)
_readings_decoder = msgspec.json.Decoder(list[s.NewDeviceReading])
_invite_decoder = msgspec.json.Decoder(s.NewSpaceInvite)

AnyRequest = Request[Any, Any, Any]


_TEXT_MEASUREMENT = {"METER_READING": "Zählerstand", "ENERGY": "Energie", "POWER": "Leistung"}
_TEXT_DIRECTION = {"IN": "Bezug", "OUT": "Einspeisung"}


def text_label(measurement: str, direction: str) -> str:
    """A reading's label as a person reads it (``Zählerstand Bezug``), as the minimal mode
    answers: the document types ``label`` as a plain string, not as the OBIS code."""
    return f"{_TEXT_MEASUREMENT.get(measurement, measurement)} {_TEXT_DIRECTION.get(direction, direction)}"


def _space_out(record: SpaceRecord, owner: str) -> s.Space:
    return s.Space(
        id=record.id,
        name=record.name,
        addressLineOne=record.address_line_one,
        addressLineTwo=UNSET if record.address_line_two is None else record.address_line_two,
        postcode=record.postcode,
        city=record.city,
        ownerUserId=owner,
        category=record.category,
        categoryIcon=record.category.lower().replace("_", "-"),
        associatedUsersId=[owner],
        country="DE",
        parentSpaceId=UNSET if record.parent_space_id is None else record.parent_space_id,
        isParticipatingInLttProject=record.ltt_project,
    )


def _device_out(record: DeviceRecord, owner: str) -> s.Device:
    body = record.body
    meta = [
        s.Metadata(label=label, value=value)
        for label, value in (
            ("meteringLocationId", body.meteringLocationId),
            ("serialNumber", body.serialNumber),
        )
        if isinstance(value, str)
    ]
    external = body.externalDeviceId
    return s.Device(
        id=record.id,
        name=body.deviceName,
        status="CONNECTED",
        latestReadingTime="" if record.last_ts is None else iso(record.last_ts),
        firstReadingTime="" if record.first_ts is None else iso(record.first_ts),
        directions=directions(record.readings),
        provider="EXTERNAL",
        providerName="External",
        providerDescription="Readings pushed through the partner API",
        providerLogoUrl="",
        deviceType=body.deviceType,
        deviceTypeDescription=body.deviceType.replace("_", " ").title(),
        deviceTypeImageUrl="",
        deviceTypeIcon=body.deviceType.lower().replace("_", "-"),
        isMainDeviceAllowed=True,
        isMainDevice=body.isMainDevice,
        metaData=meta,
        createdAt=record.created_at,
        medium=body.deviceMedium,
        imageUrl="",
        ownerUserId=owner,
        externalDeviceId=external,
        externalDeviceIds=UNSET if external is UNSET else [external],
    )


def _auth_router(emulation: Emulation, client_id: str, client_secret: str) -> Router:
    @post("/auth/token", status_code=200)
    async def create_api_token(request: AnyRequest) -> s.ApiToken:
        body = decode_body(await request.body(), _token_decoder)
        good_id = hmac.compare_digest(body.clientId.encode(), client_id.encode())
        good_secret = hmac.compare_digest(body.clientSecret.encode(), client_secret.encode())
        if not (good_id and good_secret):
            raise ApiError(401, "invalid client credentials")
        emulation.stats.token_fetches += 1
        return s.ApiToken(accessToken=emulation.tokens.issue())

    return Router(PREFIX, route_handlers=[create_api_token])


def _space_handlers(state: ZaehlerfreundeState, owner: str) -> list[Any]:
    @get("/spaces")
    async def get_spaces(request: AnyRequest) -> Response[bytes]:
        page = int_query(request, "page", 0, 0)
        size = int_query(request, "pageSize", _DEFAULT_PAGE_SIZE, 1)
        records, pages = page_of(list(state.spaces.values()), page, size)
        return answer(s.Spaces(spaces=[_space_out(r, owner) for r in records], totalNumPages=pages))

    @post("/spaces", status_code=200)
    async def create_space(request: AnyRequest) -> Response[bytes]:
        body = decode_body(await request.body(), _space_decoder)
        return answer(s.SpaceId(spaceId=state.create_space(body).id))

    @put("/spaces/{spaceId:str}", status_code=200)
    async def update_space(spaceId: str, request: AnyRequest) -> Response[bytes]:
        require_uuid(spaceId, "spaceId")
        body = decode_body(await request.body(), _update_decoder)
        return answer(s.SpaceId(spaceId=state.update_space(spaceId, body).id))

    @delete("/spaces/{spaceId:str}", status_code=200)
    async def delete_space(spaceId: str) -> Response[bytes]:
        state.delete_space(require_uuid(spaceId, "spaceId"))
        return EMPTY_OK

    @post("/spaces/{spaceId:str}/invites", status_code=200)
    async def invite_user_to_space(spaceId: str, request: AnyRequest) -> Response[bytes]:
        require_uuid(spaceId, "spaceId")
        body = decode_body(await request.body(), _invite_decoder)
        invite = state.create_invite(
            spaceId, user_email=body.userEmail, send_email=body.sendInviteEmail
        )
        return answer(s.SpaceInviteLink(inviteLink=invite.link))

    return [get_spaces, create_space, update_space, delete_space, invite_user_to_space]


def _device_handlers(state: ZaehlerfreundeState, owner: str) -> list[Any]:
    @get("/spaces/{spaceId:str}/devices")
    async def get_devices_in_space(spaceId: str, request: AnyRequest) -> Response[bytes]:
        page = int_query(request, "page", 0, 0)
        size = int_query(request, "pageSize", _DEFAULT_PAGE_SIZE, 1)
        ids, pages = page_of(state.space(spaceId).device_ids, page, size)
        devices = [_device_out(state.devices[i], owner) for i in ids]
        return answer(s.Devices(devices=devices, totalNumPages=pages))

    @post("/spaces/{spaceId:str}/devices", status_code=200)
    async def register_external_device(spaceId: str, request: AnyRequest) -> Response[bytes]:
        require_uuid(spaceId, "spaceId")
        device = decode_body(await request.body(), _device_decoder)
        return answer(s.DeviceId(deviceId=state.create_device(spaceId, device).id))

    @post("/spaces/{spaceId:str}/devices/{deviceId:str}/details", status_code=200)
    async def update_device_details(spaceId: str, deviceId: str, request: AnyRequest) -> Response[bytes]:
        require_uuid(spaceId, "spaceId")
        require_uuid(deviceId, "deviceId")
        body = decode_body(await request.body(), _details_decoder)
        state.update_device_details(spaceId, deviceId, body)
        return EMPTY_OK

    @delete("/devices/{deviceId:str}", status_code=200)
    async def delete_device(deviceId: str) -> Response[bytes]:
        state.delete_device(require_uuid(deviceId, "deviceId"))
        return EMPTY_OK

    @post("/devices/readings", status_code=200)
    async def store_readings(request: AnyRequest) -> Response[bytes]:
        state.store_readings(decode_body(await request.body(), _readings_decoder))
        return EMPTY_OK

    @get("/devices/{deviceId:str}/readings")
    async def get_readings_by_device(deviceId: str, request: AnyRequest) -> Response[bytes]:
        record = state.device(require_uuid(deviceId, "deviceId"))
        start = datetime_query(request, "startTime")
        end = datetime_query(request, "endTime")
        resolution: Any = choice_query(request, "resolution", tuple(RESOLUTION_S))
        measurement: Any = choice_query(request, "measurement", _MEASUREMENTS)
        if end <= start:
            raise ApiError(400, "endTime must be after startTime")
        body = record.body
        textual = minimal_answers()
        return answer([
            s.DeviceReading(
                deviceId=record.id,
                timeStamp=iso(bucket.start_s),
                measurement=measurement,
                value=bucket.value,
                unit=bucket.unit,
                label=text_label(measurement, bucket.direction) if textual else bucket.label,
                deviceType=body.deviceType,
                deviceProvider="EXTERNAL",
                medium=body.deviceMedium,
                direction=bucket.direction,
            )
            for bucket in aggregate(
                record.readings,
                start_s=start,
                end_s=end,
                resolution=resolution,
                measurement=measurement,
            )
        ])

    return [
        get_devices_in_space,
        register_external_device,
        update_device_details,
        delete_device,
        store_readings,
        get_readings_by_device,
    ]


def create_app(
    *,
    client_id: str = "zf-emulator",
    client_secret: str = "zf-emulator-secret",
    token_ttl_s: float = 86400.0,
    seed: int = 0,
) -> Litestar:
    """Build the emulator app; its state is ``app.state.zaehlerfreunde`` and ``.emulation``."""
    emulation = Emulation(token_ttl_s=token_ttl_s, seed=seed)
    state = ZaehlerfreundeState(on_duplicate=emulation.stats.count_duplicate)
    owner = str(uuid.uuid5(uuid.NAMESPACE_URL, f"zaehlerfreunde-partner:{client_id}"))
    protected = Router(
        PREFIX,
        route_handlers=[
            *_space_handlers(state, owner),
            *_device_handlers(state, owner),
        ],
        guards=[bearer_guard(emulation)],
    )
    app = Litestar(
        route_handlers=[
            _auth_router(emulation, client_id, client_secret),
            protected,
            control_router(emulation, state.entity_counts),
        ],
        middleware=[
            fault_middleware(emulation),
            answer_middleware(emulation, prefix=PREFIX, keep=KEEP_WHEN_MINIMAL),
        ],
        exception_handlers={ApiError: error_response},
        openapi_config=None,
        debug=False,
    )
    app.state.zaehlerfreunde = state
    app.state.emulation = emulation
    return app
