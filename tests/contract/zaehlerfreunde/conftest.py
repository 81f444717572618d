"""Contract harness: the Zählerfreunde emulator over real HTTP, every call checked against
the partner API's OpenAPI file.

Each response passes through an httpx event hook that validates the request and the
response with openapi-core. A request the spec forbids must be refused with a 4xx; a
response with a documented status must match the documented schema; a status the
spec does not document is allowed only for refusals (4xx).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.exceptions import OpenAPIError
from openapi_core.templating.responses.exceptions import ResponseNotFound
from werkzeug.datastructures import Headers, ImmutableMultiDict

from providers.emulation import serve_in_thread
from providers.zaehlerfreunde.emulator.app import create_app

REPO_ROOT = Path(__file__).resolve().parents[3]
SHARED = Path(os.environ.get("GATEWAY_SHARED_DIR", REPO_ROOT / ".." / "shared"))
SPEC_PATH = SHARED / "providers" / "zaehlerfreunde" / "openapi.yaml"
SEED_PATH = SHARED / "seeds" / "004_fbb3ed72ffff64ac.txt"
CLIENT_ID = "contract-client"
CLIENT_SECRET = "contract-secret"


class HttpxOpenAPIRequest:
    """An httpx request seen through openapi-core's Request protocol."""

    def __init__(self, request: httpx.Request) -> None:
        self._request = request
        query = parse_qs(request.url.query.decode(), keep_blank_values=True)
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(query),
            header=Headers(dict(request.headers)),
            cookie=ImmutableMultiDict(),
        )

    @property
    def host_url(self) -> str:
        return f"{self._request.url.scheme}://{self._request.url.netloc.decode()}"

    @property
    def path(self) -> str:
        return self._request.url.path

    @property
    def method(self) -> str:
        return self._request.method.lower()

    @property
    def body(self) -> bytes | None:
        return self._request.content or None

    @property
    def content_type(self) -> str:
        return self._request.headers.get("content-type", "")


class HttpxOpenAPIResponse:
    """An httpx response seen through openapi-core's Response protocol."""

    def __init__(self, response: httpx.Response) -> None:
        self._response = response

    @property
    def status_code(self) -> int:
        return self._response.status_code

    @property
    def content_type(self) -> str:
        return self._response.headers.get("content-type", "")

    @property
    def headers(self) -> Headers:
        return Headers(dict(self._response.headers))

    @property
    def data(self) -> bytes | None:
        return self._response.content or None


@dataclass
class Call:
    """One checked exchange."""

    method: str
    path: str
    status: int
    request_valid: bool
    response_documented: bool


@dataclass
class ContractChecker:
    """Validates every exchange against the spec and keeps a log of them."""

    openapi: OpenAPI
    calls: list[Call] = field(default_factory=list)

    def __call__(self, response: httpx.Response) -> None:
        response.read()
        request = response.request
        if request.url.path.startswith("/_emulator"):
            return
        oreq = HttpxOpenAPIRequest(request)
        try:
            self.openapi.validate_request(oreq)
            request_valid, reason = True, ""
        except OpenAPIError as exc:
            request_valid, reason = False, f"{type(exc).__name__}: {exc}"
        status = response.status_code
        assert request_valid or 400 <= status < 500, (
            f"{request.method} {request.url.path} is forbidden by the spec ({reason}) "
            f"but was answered {status}"
        )
        try:
            self.openapi.validate_response(oreq, HttpxOpenAPIResponse(response))
            documented = True
        except ResponseNotFound:
            documented = False
        assert documented or status >= 400, (
            f"{request.method} {request.url.path} answered undocumented success {status}"
        )
        self.calls.append(Call(request.method, request.url.path, status, request_valid, documented))


@dataclass
class Emulator:
    """A running emulator, its app (for state inspection) and a checked client."""

    app: Any
    client: httpx.Client
    checker: ContractChecker

    def token(self) -> str:
        response = self.client.post(
            "/partner/auth/token", json={"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET}
        )
        assert response.status_code == 200, response.text
        token: str = response.json()["accessToken"]
        return token

    def login(self) -> None:
        """Put a fresh bearer token on every following request."""
        self.client.headers["authorization"] = f"Bearer {self.token()}"

    def stats(self) -> dict[str, Any]:
        response = self.client.get("/_emulator/stats")
        assert response.status_code == 200
        stats: dict[str, Any] = response.json()
        return stats

    def create_space(self, **overrides: Any) -> str:
        body = {
            "name": "Musterhaus",
            "addressLineOne": "Hauptstraße 1",
            "postcode": "10115",
            "city": "Berlin",
            "category": "SINGLE_FAMILY_HOME",
            **overrides,
        }
        response = self.client.post("/partner/spaces", json=body)
        assert response.status_code == 200, response.text
        space_id: str = response.json()["spaceId"]
        return space_id

    def create_device(self, space_id: str, **overrides: Any) -> str:
        body = {
            "deviceName": "Hauptzähler",
            "isMainDevice": True,
            "deviceType": "SMART_METER",
            "deviceMedium": "ELECTRICITY",
            **overrides,
        }
        response = self.client.post(f"/partner/spaces/{space_id}/devices", json=body)
        assert response.status_code == 200, response.text
        device_id: str = response.json()["deviceId"]
        return device_id


@pytest.fixture(scope="session")
def openapi() -> OpenAPI:
    """The Zählerfreunde OpenAPI document, loaded once.

    The upstream file omits the required ``description`` of some responses, so the
    document itself is not schema-checked; requests and responses still are.
    """
    SPEC_PATH.stat()  # a missing document is a FileNotFoundError naming it (skipped without ../shared)
    return OpenAPI.from_file_path(str(SPEC_PATH), config=Config(spec_validator_cls=None))


@pytest.fixture
def start_emulator(openapi: OpenAPI) -> Callable[..., AbstractContextManager[Emulator]]:
    """Start an emulator with the given ``create_app`` options, served on 127.0.0.1."""

    @contextmanager
    def start(**options: Any) -> Iterator[Emulator]:
        app = create_app(**{"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, **options})
        checker = ContractChecker(openapi)
        with (
            serve_in_thread(app) as base_url,
            httpx.Client(
                base_url=base_url, event_hooks={"response": [checker]}, timeout=10
            ) as client,
        ):
            yield Emulator(app, client, checker)

    return start


@pytest.fixture
def zf(start_emulator: Callable[..., AbstractContextManager[Emulator]]) -> Iterator[Emulator]:
    """A fresh emulator with a logged-in client."""
    with start_emulator() as emulator:
        emulator.login()
        yield emulator
