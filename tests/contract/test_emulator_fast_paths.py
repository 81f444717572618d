"""The emulators' fast paths answer single-entity creates exactly as their route handlers do."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple, cast

import httpx
import pytest
from litestar import Litestar, Request

from providers.volue.emulator.app import API_PREFIX
from providers.volue.emulator.app import create_app as create_volue_app
from providers.zaehlerfreunde.emulator.app import create_app as create_zf_app

BASE_URL = "http://emulator.test"
FAST_BODY_LIMIT = 64 * 1024
UNKNOWN_UUID = "00000000-0000-4000-8000-000000000000"
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_MOVING_FIELDS = frozenset({"createdAt", "lastUpdated"})
_NO_BODY = object()

SPACE: dict[str, Any] = {
    "name": "Musterhaus",
    "addressLineOne": "Hauptstraße 1",
    "postcode": "10115",
    "city": "Berlin",
    "category": "SINGLE_FAMILY_HOME",
}
DEVICE: dict[str, Any] = {
    "deviceName": "Hauptzähler",
    "isMainDevice": True,
    "deviceType": "SMART_METER",
    "deviceMedium": "ELECTRICITY",
}
SPACES = "/partner/spaces"
DEVICES = "/partner/spaces/{space}/devices"

USERS = f"{API_PREFIX}/users"
LOCATIONS = f"{API_PREFIX}/users/{{user}}/locations"
RESOURCES = f"{API_PREFIX}/users/{{user}}/locations/{{location}}/resources"
AREA_1 = {"latitude": 79.51913682860402, "longitude": 15.97611317258921}
LOCATION: dict[str, Any] = {
    "locationId": "l1",
    "locationType": "Residential",
    "meterPointIds": ["707057500012345678"],
}
RESOURCE: dict[str, Any] = {"resourceId": "r1", "resourceType": "Charger"}


class Answer(NamedTuple):
    """One response, with generated ids and clock readings replaced by stable labels."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: Any
    handled: int  # how often a route handler read the request body while answering

    @property
    def visible(self) -> tuple[int, tuple[tuple[str, str], ...], Any]:
        return self.status, self.headers, self.body


@dataclass
class Side:
    """One emulator app, its client, its token and the ids it generated."""

    app: Litestar
    client: httpx.AsyncClient
    token: str = ""
    ids: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)

    def label(self, found: re.Match[str]) -> str:
        return self.labels.setdefault(found[0], f"<id-{len(self.labels) + 1}>")


def _steady(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: "<time>" if k in _MOVING_FIELDS else _steady(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_steady(v) for v in value]
    return value


def _unordered(name: str, value: str) -> str:
    """Litestar lists the methods of ``allow`` in no fixed order."""
    return ", ".join(sorted(value.split(", "))) if name == "allow" else value


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    half = len(data) // 2
    yield data[:half]
    yield data[half:]


Login = Callable[[httpx.AsyncClient], Awaitable[str]]


@dataclass
class Twin:
    """The same emulator twice: ``fast`` with its fast paths, ``slow`` with them switched off."""

    fast: Side
    slow: Side
    reads: Counter[int]

    async def call(
        self,
        method: str,
        path: str,
        body: Any = _NO_BODY,
        *,
        auth: str | None = "Bearer {token}",
        headers: tuple[tuple[str, str], ...] = (),
        chunked: bool = False,
        save: tuple[str, str] | None = None,
        fast_path: bool | None = None,
    ) -> tuple[Answer, Answer]:
        """Send one request to both apps; both must answer alike. ``fast_path`` says who answers."""
        fast = await self._send(self.fast, method, path, body, auth, headers, chunked, save)
        slow = await self._send(self.slow, method, path, body, auth, headers, chunked, save)
        assert fast.visible == slow.visible, f"{method} {path}"
        if fast_path is True:
            assert (fast.handled, slow.handled) == (0, 1), f"{method} {path} missed the fast path"
        elif fast_path is False:
            assert fast.handled == slow.handled, f"{method} {path} took the fast path"
        return fast, slow

    async def _send(
        self,
        side: Side,
        method: str,
        path: str,
        body: Any,
        auth: str | None,
        extra: tuple[tuple[str, str], ...],
        chunked: bool,
        save: tuple[str, str] | None,
    ) -> Answer:
        headers = list(extra)
        if auth is not None:
            headers.append(("authorization", auth.format(token=side.token)))
        content: bytes | None = None
        if body is not _NO_BODY:
            content = body if isinstance(body, bytes) else json.dumps(body).encode()
            headers.append(("content-type", "application/json"))
        before = self.reads[id(side.app)]
        response = await side.client.request(
            method,
            path.format_map(side.ids),
            content=_chunks(content) if chunked and content is not None else content,
            headers=headers,
        )
        handled = self.reads[id(side.app)] - before
        if save is not None and response.status_code in (200, 201):
            alias, key = save
            side.ids[alias] = response.json()[key]
        text = _UUID.sub(side.label, response.content.decode())
        decoded: Any = None
        if text:
            try:
                decoded = _steady(json.loads(text))
            except ValueError:
                decoded = text
        seen = sorted(
            (name, "<n>" if name == "content-length" else _unordered(name, value))
            for name, value in response.headers.multi_items()
        )
        return Answer(response.status_code, tuple(seen), decoded, handled)

    async def same_stats(self) -> dict[str, Any]:
        """Both apps counted the same requests, statuses, duplicates and entities."""
        fast, _ = await self.call("GET", "/_emulator/stats", auth=None)
        assert fast.status == 200
        stats: dict[str, Any] = fast.body
        return stats

    async def set_faults(self, **plan: Any) -> None:
        fast, _ = await self.call("PUT", "/_emulator/faults", plan, auth=None)
        assert fast.status == 200, fast.body


@pytest.fixture
def body_reads(monkeypatch: pytest.MonkeyPatch) -> Counter[int]:
    """Counts, per app, the requests whose body a route handler read."""
    reads: Counter[int] = Counter()
    original = Request.body

    async def body(self: Request[Any, Any, Any]) -> bytes:
        reads[id(self.scope["litestar_app"])] += 1
        return await original(self)

    monkeypatch.setattr(Request, "body", body)
    return reads


def _pair(create: Callable[[], Litestar]) -> tuple[Litestar, Litestar]:
    fast_app, slow_app = create(), create()
    slow_app.state.emulation.fast_paths = False
    return fast_app, slow_app


async def _twin(apps: tuple[Litestar, Litestar], reads: Counter[int], login: Login) -> AsyncIterator[Twin]:
    fast_app, slow_app = apps
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=cast(Any, fast_app)), base_url=BASE_URL) as fast,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=cast(Any, slow_app)), base_url=BASE_URL) as slow,
    ):
        twin = Twin(Side(fast_app, fast), Side(slow_app, slow), reads)
        for side in (twin.fast, twin.slow):
            side.token = await login(side.client)
        yield twin


async def _zf_login(client: httpx.AsyncClient) -> str:
    credentials = {"clientId": "zf-emulator", "clientSecret": "zf-emulator-secret"}
    response = await client.post("/partner/auth/token", json=credentials)
    token: str = response.json()["accessToken"]
    return token


async def _volue_login(client: httpx.AsyncClient) -> str:
    form = {
        "grant_type": "client_credentials",
        "client_id": "volue-emulator",
        "client_secret": "volue-emulator-secret",
    }
    response = await client.post("/connect/token", data=form)
    token: str = response.json()["access_token"]
    return token


@pytest.fixture
async def zf(body_reads: Counter[int]) -> AsyncIterator[Twin]:
    """Two fresh Zählerfreunde emulators, each with a token of its own."""
    async for twin in _twin(_pair(create_zf_app), body_reads, _zf_login):
        yield twin


@pytest.fixture
async def volue(body_reads: Counter[int]) -> AsyncIterator[Twin]:
    """Two fresh Volue emulators, each with a token of its own."""
    async for twin in _twin(_pair(create_volue_app), body_reads, _volue_login):
        yield twin


@pytest.fixture(scope="module")
def zf_apps() -> tuple[Litestar, Litestar]:
    """Two Zählerfreunde emulators shared by the refusal cases, which change nothing."""
    return _pair(create_zf_app)


@pytest.fixture(scope="module")
def volue_apps() -> tuple[Litestar, Litestar]:
    """Two Volue emulators shared by the refusal cases, which change nothing."""
    return _pair(create_volue_app)


@pytest.fixture
async def zf_shared(zf_apps: tuple[Litestar, Litestar], body_reads: Counter[int]) -> AsyncIterator[Twin]:
    """The shared Zählerfreunde emulators with fresh clients and tokens."""
    async for twin in _twin(zf_apps, body_reads, _zf_login):
        yield twin


@pytest.fixture
async def volue_shared(
    volue_apps: tuple[Litestar, Litestar], body_reads: Counter[int]
) -> AsyncIterator[Twin]:
    """The shared Volue emulators with fresh clients and tokens."""
    async for twin in _twin(volue_apps, body_reads, _volue_login):
        yield twin


def _sized(template: dict[str, Any], key: str, size: int) -> bytes:
    """``template`` as JSON of exactly ``size`` bytes, padding the string at ``key``."""
    bare = len(json.dumps({**template, key: ""}).encode())
    return json.dumps({**template, key: "x" * (size - bare)}).encode()


# ---------------------------------------------------------------- Zählerfreunde


async def _zf_state(zf: Twin) -> None:
    for path in (SPACES, DEVICES):
        listed, _ = await zf.call("GET", path)
        assert listed.status == 200


async def test_zf_creates_take_the_fast_path_and_answer_like_the_handlers(zf: Twin) -> None:
    """Space and device creates are answered by the fast path with the handlers' status, headers and body."""
    space, _ = await zf.call("POST", SPACES, SPACE, save=("space", "spaceId"), fast_path=True)
    assert space.status == 200 and space.body == {"spaceId": "<id-1>"}
    assert space.headers == (("content-length", "<n>"), ("content-type", "application/json"))
    full = {**SPACE, "addressLineTwo": "Hinterhaus", "isParticipatingInLttProject": True}
    await zf.call("POST", SPACES, full, fast_path=True)
    device, _ = await zf.call("POST", DEVICES, DEVICE, save=("device", "deviceId"), fast_path=True)
    assert device.status == 200 and device.body == {"deviceId": "<id-3>"}
    other = {**DEVICE, "externalDeviceId": "ext-1", "serialNumber": "SN-1", "deviceName": "Zweiter"}
    await zf.call("POST", DEVICES, other, fast_path=True)
    await zf.call("POST", SPACES, SPACE, auth="bearer   {token}  ", fast_path=True)
    await _zf_state(zf)
    stats = await zf.same_stats()
    assert stats["requests"][f"POST {SPACES}"] == {"200": 3}
    assert stats["requests"]["POST /partner/spaces/{spaceId}/devices"] == {"200": 2}


async def test_zf_repeated_creates_count_duplicates_alike(zf: Twin) -> None:
    """The same space or external device created twice gets two ids and one duplicate on both paths."""
    await zf.call("POST", SPACES, SPACE, save=("space", "spaceId"), fast_path=True)
    again, _ = await zf.call("POST", SPACES, SPACE, fast_path=True)
    assert again.status == 200 and again.body == {"spaceId": "<id-2>"}
    device = {**DEVICE, "externalDeviceId": "ext-1"}
    await zf.call("POST", DEVICES, device, fast_path=True)
    await zf.call("POST", DEVICES, device, fast_path=True)
    await _zf_state(zf)
    stats = await zf.same_stats()
    assert stats["duplicates"] == {"space": 1, "device": 1}
    assert stats["entities"]["spaces"] == 2 and stats["entities"]["devices"] == 2


class Case(NamedTuple):
    name: str
    path: str
    body: Any
    auth: str | None
    status: int


_BEARER = "Bearer {token}"
_without_city = {k: v for k, v in SPACE.items() if k != "city"}
_without_medium = {k: v for k, v in DEVICE.items() if k != "deviceMedium"}
ZF_REFUSALS = [
    Case("space-missing-token", SPACES, SPACE, None, 401),
    Case("space-invalid-token", SPACES, SPACE, "Bearer not-a-token", 401),
    Case("space-basic-scheme", SPACES, SPACE, "Basic {token}", 401),
    Case("space-malformed-json", SPACES, b'{"name": ', _BEARER, 400),
    Case("space-empty-body", SPACES, b"", _BEARER, 400),
    Case("space-json-array", SPACES, b"[]", _BEARER, 400),
    Case("space-unknown-field", SPACES, {**SPACE, "colour": "blue"}, _BEARER, 400),
    Case("space-missing-field", SPACES, _without_city, _BEARER, 400),
    Case("space-bad-enum", SPACES, {**SPACE, "category": "CASTLE"}, _BEARER, 400),
    Case("device-missing-token", DEVICES, DEVICE, None, 401),
    Case("device-invalid-token", DEVICES, DEVICE, "Bearer not-a-token", 401),
    Case("device-malformed-json", DEVICES, b"{,}", _BEARER, 400),
    Case("device-unknown-field", DEVICES, {**DEVICE, "colour": "blue"}, _BEARER, 400),
    Case("device-missing-field", DEVICES, _without_medium, _BEARER, 400),
    Case("device-space-not-uuid", "/partner/spaces/not-a-uuid/devices", DEVICE, _BEARER, 400),
    Case("device-space-unknown", f"/partner/spaces/{UNKNOWN_UUID}/devices", DEVICE, _BEARER, 404),
    Case("device-space-is-a-text-segment", "/partner/spaces/spaces/devices", DEVICE, _BEARER, 400),
]


@pytest.mark.parametrize("case", ZF_REFUSALS, ids=[c.name for c in ZF_REFUSALS])
async def test_zf_refusals_fall_through_to_the_handlers(zf_shared: Twin, case: Case) -> None:
    """A create the fast path cannot answer gets the handler's refusal and changes nothing."""
    zf = zf_shared
    await zf.call("POST", SPACES, SPACE, save=("space", "spaceId"), fast_path=True)
    before = await zf.same_stats()
    refused, _ = await zf.call("POST", case.path, case.body, auth=case.auth, fast_path=False)
    assert refused.status == case.status, refused.body
    if case.status == 401:
        assert ("www-authenticate", 'Bearer realm="partner"') in refused.headers
    after = await zf.same_stats()
    assert after["entities"] == before["entities"] and after["duplicates"] == before["duplicates"]
    await _zf_state(zf)


async def test_zf_faulted_routes_fall_through(zf: Twin) -> None:
    """A fault plan applying to a create route sends it through Litestar; one for other paths does not."""
    await zf.call("POST", SPACES, SPACE, save=("space", "spaceId"), fast_path=True)
    await zf.set_faults(errorRate=1.0, seed=5, paths=["/partner/spaces"])
    for path, body in ((SPACES, SPACE), (DEVICES, DEVICE), (SPACES, SPACE)):
        failed, _ = await zf.call("POST", path, body, fast_path=False)
        assert failed.status in (500, 502, 503) and failed.handled == 0
    await zf.set_faults(rateLimitRate=1.0, retryAfterS=3)
    limited, _ = await zf.call("POST", DEVICES, DEVICE, fast_path=False)
    assert limited.status == 429 and ("retry-after", "3") in limited.headers
    await zf.set_faults(latencyMsMin=1, latencyMsMax=1)
    for path, body in ((SPACES, SPACE), (DEVICES, DEVICE)):
        slowed, _ = await zf.call("POST", path, body, fast_path=False)
        assert slowed.status == 200 and slowed.handled == 1
    await zf.set_faults(errorRate=1.0, paths=["/partner/devices"])
    for path, body in ((SPACES, SPACE), (DEVICES, DEVICE)):
        spared, _ = await zf.call("POST", path, body, fast_path=True)
        assert spared.status == 200
    await zf.set_faults()
    await _zf_state(zf)
    await zf.same_stats()


async def test_zf_unusual_requests_fall_through(zf: Twin) -> None:
    """Repeated headers, chunked or oversized bodies and odd hosts go to the handler with the same answer."""
    await zf.call("POST", SPACES, SPACE, save=("space", "spaceId"), fast_path=True)
    repeated = (("x-trace", "1"), ("x-trace", "2"))
    odd_host = (("host", "emulator_test"),)
    for path, body, headers, chunked in (
        (SPACES, SPACE, repeated, False),
        (DEVICES, DEVICE, (), True),
        (DEVICES, DEVICE, odd_host, False),
    ):
        handled, _ = await zf.call("POST", path, body, headers=headers, chunked=chunked, fast_path=False)
        assert handled.status == 200 and handled.handled == 1
    at_limit = _sized(SPACE, "name", FAST_BODY_LIMIT)
    await zf.call("POST", SPACES, at_limit, fast_path=True)
    over_limit = _sized(SPACE, "name", FAST_BODY_LIMIT + 1)
    large, _ = await zf.call("POST", SPACES, over_limit, fast_path=False)
    assert large.status == 200 and large.handled == 1
    await zf.call("POST", SPACES + "/", SPACE, fast_path=False)
    await zf.call("POST", "/partner//spaces/{space}/devices", DEVICE, fast_path=False)
    await _zf_state(zf)
    await zf.same_stats()


# ---------------------------------------------------------------- Volue


async def _volue_state(volue: Twin, *pairs: tuple[str, str]) -> None:
    paths = [USERS, f"{USERS}/eligible", f"{API_PREFIX}/events"]
    for user, location in pairs:
        paths.append(LOCATIONS.replace("{user}", user))
        paths.append(RESOURCES.replace("{user}", user).replace("{location}", location))
    for path in paths:
        listed, _ = await volue.call("GET", path)
        assert listed.status == 200, (path, listed.body)


async def test_volue_creates_take_the_fast_path_and_answer_like_the_handlers(volue: Twin) -> None:
    """User, location and resource creates are answered by the fast path as the handlers answer them."""
    user, _ = await volue.call("POST", USERS, {"userId": "u1"}, fast_path=True)
    assert user.status == 201 and user.body == {"userId": "u1"}
    assert user.headers == (("content-length", "<n>"), ("content-type", "application/json"))
    path = LOCATIONS.format(user="u1")
    located, _ = await volue.call("POST", path, {**LOCATION, "coordinates": AREA_1}, fast_path=True)
    assert located.status == 201 and located.body["userId"] == "u1"
    path = RESOURCES.format(user="u1", location="l1")
    placed, _ = await volue.call("POST", path, {**RESOURCE, "meterPointId": "mp-1"}, fast_path=True)
    assert placed.status == 201 and placed.body["locationId"] == "l1"
    await volue.call("POST", USERS, {"userId": "Zoë Ø"}, auth="bearer  {token} ", fast_path=True)
    zoe_location = {**LOCATION, "locationId": "l3"}
    await volue.call("POST", LOCATIONS.format(user="Zoë Ø"), zoe_location, fast_path=True)
    zoe_resource = {**RESOURCE, "resourceId": "r3"}
    await volue.call("POST", RESOURCES.format(user="Zoë Ø", location="l3"), zoe_resource, fast_path=True)
    await _volue_state(volue, ("u1", "l1"), ("Zoë Ø", "l3"))
    stats = await volue.same_stats()
    assert stats["entities"]["events"] == 1
    assert stats["requests"][f"POST {USERS}"] == {"201": 2}


async def test_volue_repeated_creates_are_idempotent_or_conflicts_alike(volue: Twin) -> None:
    """Identical re-creates answer 200 and count duplicates, differing ones 409/400, on both paths."""
    for user in ("u1", "u2"):
        await volue.call("POST", USERS, {"userId": user}, fast_path=True)
    again, _ = await volue.call("POST", USERS, {"userId": "u1"}, fast_path=True)
    assert again.status == 200
    locations = LOCATIONS.format(user="u1")
    await volue.call("POST", locations, LOCATION, fast_path=True)
    same, _ = await volue.call("POST", locations, LOCATION, fast_path=True)
    assert same.status == 200
    moved = {**LOCATION, "meterPointIds": ["707057500099999999"]}
    differs, _ = await volue.call("POST", locations, moved, fast_path=False)
    assert (differs.status, differs.body) == (409, None)
    taken, _ = await volue.call("POST", LOCATIONS.format(user="u2"), LOCATION, fast_path=False)
    assert (taken.status, taken.body) == (409, None)
    resources = RESOURCES.format(user="u1", location="l1")
    await volue.call("POST", resources, RESOURCE, fast_path=True)
    repeat, _ = await volue.call("POST", resources, RESOURCE, fast_path=True)
    assert repeat.status == 200
    retyped, _ = await volue.call("POST", resources, {**RESOURCE, "resourceType": "HVAC"}, fast_path=False)
    assert retyped.status == 400 and isinstance(retyped.body, str)
    await _volue_state(volue, ("u1", "l1"))
    stats = await volue.same_stats()
    assert stats["duplicates"] == {"user": 1, "location": 1, "resource": 1}


_USERS_AT_L1 = RESOURCES.format(user="u1", location="l1")
_U1_LOCATIONS = LOCATIONS.format(user="u1")
_without_type = {"resourceId": "r9"}
VOLUE_REFUSALS = [
    Case("user-missing-token", USERS, {"userId": "u9"}, None, 401),
    Case("user-invalid-token", USERS, {"userId": "u9"}, "Bearer not-a-token", 401),
    Case("user-basic-scheme", USERS, {"userId": "u9"}, "Basic {token}", 401),
    Case("user-malformed-json", USERS, b'{"userId": ', _BEARER, 400),
    Case("user-empty-body", USERS, b"", _BEARER, 400),
    Case("user-unknown-field", USERS, {"userId": "u9", "name": "extra"}, _BEARER, 400),
    Case("user-missing-field", USERS, {}, _BEARER, 400),
    Case("user-wrong-type", USERS, {"userId": 5}, _BEARER, 400),
    Case("user-empty-id", USERS, {"userId": ""}, _BEARER, 400),
    Case("location-missing-token", _U1_LOCATIONS, LOCATION, None, 401),
    Case("location-invalid-token", _U1_LOCATIONS, LOCATION, "Bearer nope", 401),
    Case("location-malformed-json", _U1_LOCATIONS, b"{]", _BEARER, 400),
    Case("location-unknown-field", _U1_LOCATIONS, {**LOCATION, "x": 1}, _BEARER, 400),
    Case("location-missing-field", _U1_LOCATIONS, {"locationType": "Other"}, _BEARER, 400),
    Case("location-bad-enum", _U1_LOCATIONS, {**LOCATION, "locationType": "Cave"}, _BEARER, 400),
    Case("location-no-place", _U1_LOCATIONS, {"locationId": "l9"}, _BEARER, 400),
    Case(
        "location-bad-coordinates",
        _U1_LOCATIONS,
        {"locationId": "l9", "coordinates": {"latitude": 100.0, "longitude": 0.0}},
        _BEARER,
        400,
    ),
    Case("location-unknown-user", LOCATIONS.format(user="nobody"), LOCATION, _BEARER, 404),
    Case("location-user-is-a-text-segment", LOCATIONS.format(user="batch"), LOCATION, _BEARER, 404),
    Case("resource-missing-token", _USERS_AT_L1, RESOURCE, None, 401),
    Case("resource-invalid-token", _USERS_AT_L1, RESOURCE, "Bearer nope", 401),
    Case("resource-malformed-json", _USERS_AT_L1, b"nope", _BEARER, 400),
    Case("resource-unknown-field", _USERS_AT_L1, {**RESOURCE, "x": 1}, _BEARER, 400),
    Case("resource-missing-field", _USERS_AT_L1, _without_type, _BEARER, 400),
    Case("resource-bad-enum", _USERS_AT_L1, {**RESOURCE, "resourceType": "Toaster"}, _BEARER, 400),
    Case("resource-empty-id", _USERS_AT_L1, {**RESOURCE, "resourceId": ""}, _BEARER, 400),
    Case("resource-unknown-user", RESOURCES.format(user="nobody", location="l1"), RESOURCE, _BEARER, 404),
    Case("resource-unknown-location", RESOURCES.format(user="u1", location="l9"), RESOURCE, _BEARER, 404),
    Case("resource-foreign-location", RESOURCES.format(user="u1", location="l2"), RESOURCE, _BEARER, 404),
]


@pytest.mark.parametrize("case", VOLUE_REFUSALS, ids=[c.name for c in VOLUE_REFUSALS])
async def test_volue_refusals_fall_through_to_the_handlers(volue_shared: Twin, case: Case) -> None:
    """A create the fast path cannot answer gets the handler's refusal and changes nothing."""
    volue = volue_shared
    for user, location in (("u1", "l1"), ("u2", "l2")):
        await volue.call("POST", USERS, {"userId": user}, fast_path=True)
        body = {**LOCATION, "locationId": location}
        await volue.call("POST", LOCATIONS.format(user=user), body, fast_path=True)
    before = await volue.same_stats()
    refused, _ = await volue.call("POST", case.path, case.body, auth=case.auth, fast_path=False)
    assert refused.status == case.status, refused.body
    if case.status == 401:
        assert ("www-authenticate", 'Bearer error="invalid_token"') in refused.headers
    after = await volue.same_stats()
    assert after["entities"] == before["entities"] and after["duplicates"] == before["duplicates"]
    assert after["entities"]["users"] == 2 and after["entities"]["resources"] == 0
    await _volue_state(volue, ("u1", "l1"), ("u2", "l2"))


async def test_volue_faulted_routes_fall_through(volue: Twin) -> None:
    """A fault plan applying to a create route sends it through Litestar; one for other paths does not."""
    await volue.call("POST", USERS, {"userId": "u1"}, fast_path=True)
    await volue.call("POST", LOCATIONS.format(user="u1"), LOCATION, fast_path=True)
    creates = [
        (USERS, {"userId": "u2"}),
        (LOCATIONS.format(user="u1"), {**LOCATION, "locationId": "l2"}),
        (_USERS_AT_L1, RESOURCE),
    ]
    await volue.set_faults(errorRate=1.0, seed=7, paths=[USERS])
    for path, body in creates:
        failed, _ = await volue.call("POST", path, body, fast_path=False)
        assert failed.status in (500, 502, 503) and failed.handled == 0
    await volue.set_faults(rateLimitRate=1.0, retryAfterS=4)
    limited, _ = await volue.call("POST", USERS, {"userId": "u2"}, fast_path=False)
    assert limited.status == 429 and ("retry-after", "4") in limited.headers
    await volue.set_faults(latencyMsMin=1, latencyMsMax=1)
    for path, body in creates:
        slowed, _ = await volue.call("POST", path, body, fast_path=False)
        assert slowed.status == 201 and slowed.handled == 1
    await volue.set_faults(errorRate=1.0, paths=[f"{API_PREFIX}/webhooks"])
    for path, body in creates:
        spared, _ = await volue.call("POST", path, body, fast_path=True)
        assert spared.status == 200
    await volue.set_faults()
    await _volue_state(volue, ("u1", "l1"))
    await volue.same_stats()


async def test_volue_unusual_requests_fall_through(volue: Twin) -> None:
    """Repeated headers, chunked or oversized bodies and odd hosts go to the handler with the same answer."""
    repeated = (("x-trace", "1"), ("x-trace", "2"))
    odd_host = (("host", "emulator_test"),)
    for path, body, headers, chunked in (
        (USERS, {"userId": "u1"}, repeated, False),
        (_U1_LOCATIONS, LOCATION, (), True),
        (_USERS_AT_L1, RESOURCE, odd_host, False),
    ):
        handled, _ = await volue.call("POST", path, body, headers=headers, chunked=chunked, fast_path=False)
        assert handled.status == 201 and handled.handled == 1
    await volue.call("POST", USERS, _sized({"userId": ""}, "userId", FAST_BODY_LIMIT), fast_path=True)
    large, _ = await volue.call(
        "POST", USERS, _sized({"userId": ""}, "userId", FAST_BODY_LIMIT + 1), fast_path=False
    )
    assert large.status == 201 and large.handled == 1
    await volue.call("POST", USERS + "/", {"userId": "u3"}, fast_path=False)
    await volue.call("POST", f"{API_PREFIX}/users//locations", LOCATION, fast_path=False)
    await _volue_state(volue, ("u1", "l1"))
    await volue.same_stats()
