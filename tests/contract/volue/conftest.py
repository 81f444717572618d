"""Contract-test fixtures: the Volue emulator over real HTTP, checked against the spec.

Every response from the Partner API routes is validated with openapi-core against
``../shared/providers/volue/ec-sandbox-swagger.json``. The request is validated too and
the verdict kept, so a test can prove that the spec and the emulator agree on a refusal.

The published file describes its polymorphic payloads the way .NET's generator emits
them: each payload schema is ``allOf: [base]`` plus its own properties, and both the
base and the payload say ``additionalProperties: false``. Read as JSON Schema, no
payload can satisfy both, so no event or report could ever validate. :func:`load_spec`
rewrites exactly those schemas into what their ``discriminator`` mappings mean: each
mapped payload gets the base's ``payloadType`` (fixed to its mapping key) inline, and
the base becomes a ``oneOf`` of its mapped payloads. The Bearer scheme name is also
lower-cased: HTTP auth schemes are case-insensitive, but openapi-core compares the
request's scheme, lower-cased, with the name exactly as written ("Bearer"), so no
request could pass its security check otherwise. Nothing else is changed.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest, MockResponse

from providers.emulation import serve_in_thread
from providers.volue.emulator.app import API_PREFIX, create_app

REPO_ROOT = Path(__file__).resolve().parents[3]
SHARED_DIR = Path(os.environ.get("GATEWAY_SHARED_DIR", REPO_ROOT / ".." / "shared"))
VOLUE_DIR = SHARED_DIR / "providers" / "volue"
SPEC_PATH = VOLUE_DIR / "ec-sandbox-swagger.json"
SEEDS_DIR = SHARED_DIR / "seeds"
CLIENT_ID = "volue-emulator"
CLIENT_SECRET = "volue-emulator-secret"


def load_spec() -> dict[str, Any]:
    """Return the Partner API spec with its polymorphic payloads made satisfiable."""
    spec: dict[str, Any] = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    for scheme in spec["components"]["securitySchemes"].values():
        if scheme.get("type") == "http":
            scheme["scheme"] = scheme["scheme"].lower()
    schemas = spec["components"]["schemas"]
    for base_name in ("SparkEventPayload", "SparkReportPayload"):
        base = schemas[base_name]
        mapping: dict[str, str] = base["discriminator"]["mapping"]
        tag_schema = base["properties"]["payloadType"]
        for tag, ref in mapping.items():
            sub = schemas[ref.rsplit("/", 1)[-1]]
            sub.pop("allOf", None)
            sub["properties"] = {
                "payloadType": {"allOf": [copy.deepcopy(tag_schema)], "enum": [tag]},
                **sub["properties"],
            }
            sub["required"] = sorted({*sub.get("required", []), "payloadType"})
        schemas[base_name] = {"oneOf": [{"$ref": ref} for ref in mapping.values()]}
    return spec


@pytest.fixture(scope="session")
def openapi() -> OpenAPI:
    # openapi-core only parses application/json by itself; problem bodies are JSON too.
    config = Config(extra_media_type_deserializers={"application/problem+json": json.loads})
    return OpenAPI.from_dict(load_spec(), config=config)


@dataclass
class SpecChecker:
    """httpx response hook: every Partner API response must match the spec."""

    openapi: OpenAPI
    checked: int = 0
    request_errors: list[Exception | None] = field(default_factory=list)

    def __call__(self, response: httpx.Response) -> None:
        response.read()
        request = response.request
        if not request.url.path.startswith(API_PREFIX):
            return
        oa_request = MockRequest(
            f"{request.url.scheme}://{request.url.netloc.decode()}",
            request.method.lower(),
            request.url.path,
            args=dict(request.url.params),
            headers=dict(request.headers),
            data=request.content or None,
            content_type=request.headers.get("content-type", "application/json"),
        )
        try:
            self.openapi.validate_request(oa_request)
            self.request_errors.append(None)
        except Exception as exc:  # any verdict of the validator is recorded
            self.request_errors.append(exc)
        if response.status_code == 401:
            # The spec secures every operation with Bearer but lists no 401 response:
            # the challenge is the standard one, without a body.
            assert response.headers["www-authenticate"].startswith("Bearer")
            assert response.content == b""
            self.checked += 1
            return
        oa_response = MockResponse(
            response.content,
            status_code=response.status_code,
            headers=dict(response.headers),
            content_type=response.headers.get("content-type", "application/json"),
        )
        self.openapi.validate_response(oa_request, oa_response)
        self.checked += 1

    @property
    def last_request_valid(self) -> bool:
        return self.request_errors[-1] is None

    @property
    def last_request_refused_for_its_body(self) -> bool:
        """Whether the spec refused the last request for what it sent, not for auth."""
        error = self.request_errors[-1]
        return error is not None and type(error).__name__ != "SecurityValidationError"


@dataclass
class Emulator:
    base_url: str
    app: Any

    @property
    def volue(self) -> Any:
        return self.app.state.volue

    @property
    def emulation(self) -> Any:
        return self.app.state.emulation

    def token(self) -> str:
        response = httpx.post(
            f"{self.base_url}/connect/token",
            data={
                "grant_type": "client_credentials",
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
            },
        )
        response.raise_for_status()
        token: str = response.json()["access_token"]
        return token


def make_emulator(**options: Any) -> Iterator[Emulator]:
    app = create_app(webhook_retry_delays_s=(0.05, 0.1, 0.2), **options)
    with serve_in_thread(app) as url:
        yield Emulator(url, app)


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    yield from make_emulator()


@pytest.fixture
def spec_checker(openapi: OpenAPI) -> SpecChecker:
    return SpecChecker(openapi)


@pytest.fixture
def api(emulator: Emulator, spec_checker: SpecChecker) -> Iterator[httpx.Client]:
    """A client on the Partner API with a token; every response is checked against the spec."""
    with httpx.Client(
        base_url=emulator.base_url + API_PREFIX,
        headers={"authorization": f"Bearer {emulator.token()}"},
        event_hooks={"response": [spec_checker]},
        timeout=10.0,
    ) as client:
        yield client
    assert spec_checker.checked > 0
