"""The console's session, headers and form input, and the throttling of wrong credentials (issue 27)."""

from __future__ import annotations

import random
import secrets
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select, update
from sqlmodel import col

from gateway.app import create_app
from gateway.console.auth import CSRF_FIELD, SESSION_COOKIE
from gateway.console.headers import HEADERS
from gateway.core.settings import Settings, load_settings
from gateway.http.apikeys import Scope, hash_key
from gateway.store.console_tables import ConsoleSessionRow
from gateway.store.db import create_engine, session_factory
from gateway.store.tables import ApiKeyRow
from tests.conftest import ADMIN_KEY
from tests.integration.test_api_auth import add_key, bearer
from tests.integration.test_console import SITE, csrf_of, session_csrf, sign_in


@pytest.fixture
def console(client: AsyncTestClient) -> AsyncTestClient:
    """A browser of the console: no API key, and each redirect looked at instead of followed."""
    client.follow_redirects = False
    client.headers.pop("Authorization", None)
    return client


def from_address(app: Litestar, address: str) -> httpx.AsyncClient:
    """A client of ``app`` (whose lifespan runs elsewhere) whose requests come from ``address``."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 40_000)),
                             base_url="http://testserver.local", follow_redirects=False)


async def stored_sessions(database_url: str) -> list[str]:
    """The ids of the sessions stored in the database."""
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            return list((await session.execute(select(ConsoleSessionRow.id))).scalars())
    finally:
        await engine.dispose()


def plant(client: httpx.AsyncClient, session_id: str) -> None:
    """Make ``session_id`` the client's only session cookie."""
    client.cookies.delete(SESSION_COOKIE)
    client.cookies.set(SESSION_COOKIE, session_id, domain="testserver.local", path="/console")


def assert_console_headers(response: Any) -> None:
    for name, value in HEADERS.items():
        assert response.headers.get(name) == value, (response.request.url, name, response.headers)


async def test_a_session_cookie_replayed_after_sign_out_leads_to_sign_in(console: AsyncTestClient) -> None:
    """Signing out deletes the session on the server: the cookie captured before it opens nothing."""
    await sign_in(console)
    captured = console.cookies.get(SESSION_COOKIE, path="/console")
    assert captured and (await console.get("/console/customers")).status_code == 200
    signed_out = await console.post("/console/sign-out", data={CSRF_FIELD: await session_csrf(console)})
    assert signed_out.status_code == 303 and signed_out.headers["location"] == "/console/sign-in"
    plant(console, captured)
    replayed = await console.get("/console/customers")
    assert replayed.status_code == 303
    assert replayed.headers["location"].startswith("/console/sign-in")


async def test_revoking_a_key_deletes_its_session_at_once(console: AsyncTestClient,
                                                          database_url: str) -> None:
    """The first request after the key's revocation is sent to sign-in, and the session is gone."""
    key = await add_key(database_url, Scope.CONSOLE.value)
    await sign_in(console, key=key)
    captured = console.cookies.get(SESSION_COOKIE, path="/console")
    assert (await console.get("/console")).status_code == 200
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            await session.execute(update(ApiKeyRow).where(col(ApiKeyRow.key_hash) == hash_key(key))
                                  .values(revoked_at=datetime.now(UTC)))
            await session.commit()
    finally:
        await engine.dispose()
    assert (await console.get("/console")).status_code == 303
    assert captured and await stored_sessions(database_url) == []


async def test_sign_in_never_adopts_the_session_id_the_browser_brought(console: AsyncTestClient) -> None:
    """A session id planted before sign-in is replaced by a fresh one, and the planted id opens nothing."""
    planted = secrets.token_hex(32)
    plant(console, planted)
    signed_in = await sign_in(console)
    assert signed_in.status_code == 303
    fresh = console.cookies.get(SESSION_COOKIE, path="/console")
    assert fresh and fresh != planted
    assert (await console.get("/console")).status_code == 200
    plant(console, planted)
    assert (await console.get("/console")).status_code == 303


async def test_visitors_without_a_session_store_nothing(console: AsyncTestClient, database_url: str) -> None:
    """The sign-in form and refused requests write no session (no row per anonymous visitor)."""
    for _ in range(3):
        assert (await console.get("/console/sign-in")).status_code == 200
        assert (await console.get("/console/failures")).status_code == 303
    assert SESSION_COOKIE not in console.cookies
    assert await stored_sessions(database_url) == []


async def test_every_console_response_carries_the_security_headers(console: AsyncTestClient) -> None:
    """Pages, the sign-in form, redirects, refusals, problems, unknown paths and assets all carry
    the headers."""
    console.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
    created = await console.post("/v1/customers", json={"externalRef": "sec-c", "name": "Kari",
                                                       "email": "kari@example.com", "sites": [SITE]})
    customer = created.json()
    device_id = customer["sites"][0]["devices"][0]["id"]
    console.headers.pop("Authorization")
    seen = [await console.get("/console/sign-in"), await console.get("/console/customers"),
            await console.post("/console/sign-out", data={CSRF_FIELD: "forged"}),
            await console.get("/console/static/console.css"), await console.get("/console/no/such/page"),
            await console.put("/console/resync")]
    seen.append(await sign_in(console, key="wrong-key"))
    seen.append(await sign_in(console))
    for path in ("/console", "/console/customers?q=Kari", f"/console/customers/{customer['id']}",
                 "/console/failures", "/console/drift", "/console/onboarding",
                 "/console/onboarding/progress?ref=sec-c", f"/console/devices/{device_id}",
                 "/console/customers/no-such-customer"):
        page = await console.get(path)
        assert page.status_code in (200, 404), (path, page.status_code)
        seen.append(page)
    seen.append(await console.post("/console/resync", data={CSRF_FIELD: await session_csrf(console),
                                                           "entityType": "customer", "entityId": "\x00"}))
    assert [r.status_code for r in seen[:8]] == [200, 303, 403, 200, 404, 405, 401, 303]
    for response in seen:
        assert_console_headers(response)
    api = await console.get("/v1/customers")
    assert "X-Frame-Options" not in api.headers  # the API's answers are not pages


async def test_console_forms_with_a_nul_are_400_naming_the_field(console: AsyncTestClient) -> None:
    """A NUL in any form field (URL-encoded or multipart) is a 400 problem naming it, never 500."""
    await sign_in(console)
    token = await session_csrf(console)
    cases = [
        ("/console/resync", {"entityType": "customer", "entityId": "\x00"}, "entityId"),
        ("/console/failures/retry", {"provider": "volue", "error": "x\x00y"}, "error"),
        ("/console/sites/x/invite", {"email": "a\x00@example.com"}, "email"),
        ("/console/onboarding/run", {"csv": "customer_ref\nc\x00\n"}, "csv"),
        ("/console/customers/x/volue/enroll", {"onlyIfEligible": "\x00"}, "onlyIfEligible"),
    ]
    for path, form, field in cases:
        answer = await console.post(path, data={CSRF_FIELD: token, **form})
        assert answer.status_code == 400, (path, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.json()["field"] == field and "NUL" in answer.json()["detail"]
    text_part = await console.post("/console/onboarding/plan", data={CSRF_FIELD: token, "note": "x\x00"},
                                  files={"file": ("a.csv", b"customer_ref\n", "text/csv")})
    assert text_part.status_code == 400 and text_part.json()["field"] == "note"
    body = (f'--b\r\nContent-Disposition: form-data; name="{CSRF_FIELD}"\r\n\r\n{token}\r\n'
            '--b\r\nContent-Disposition: form-data; name="file"; filename="a\x00.csv"\r\n'
            'Content-Type: text/csv\r\n\r\ncustomer_ref\n\r\n--b--\r\n').encode()
    named = await console.post("/console/onboarding/plan", content=body,
                              headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert named.status_code == 400 and named.json()["field"] == "file" and "NUL" in named.text, named.text
    assert (await console.get("/console")).status_code == 200


async def test_forty_wrong_sign_ins_are_throttled_but_the_right_key_works_elsewhere(
        console: AsyncTestClient, database_url: str) -> None:
    """Wrong sign-ins from one address get 429 with Retry-After before the 40th; the right key
    still signs in from another address, while the attacking address is refused even with it."""
    app = console.app
    key = await add_key(database_url, Scope.CONSOLE.value)
    prefix = key.split("_")[1]
    async with from_address(app, "192.0.2.66") as attacker, from_address(app, "198.51.100.7") as owner:
        token = csrf_of((await attacker.get("/console/sign-in")).text)
        statuses = []
        for attempt in range(40):
            wrong = f"gw_{prefix}_{secrets.token_urlsafe(32)}" if attempt % 2 else secrets.token_urlsafe(20)
            answer = await attacker.post("/console/sign-in", data={CSRF_FIELD: token, "apiKey": wrong})
            statuses.append(answer.status_code)
        assert set(statuses) <= {401, 429} and 429 in statuses
        first = statuses.index(429)
        assert first < 39 and set(statuses[first:]) == {429}
        throttled = await attacker.post("/console/sign-in", data={CSRF_FIELD: token, "apiKey": key})
        assert throttled.status_code == 429 and int(throttled.headers["retry-after"]) >= 1
        assert_console_headers(throttled)
        owner_token = csrf_of((await owner.get("/console/sign-in")).text)
        signed_in = await owner.post("/console/sign-in", data={CSRF_FIELD: owner_token, "apiKey": key})
        assert signed_in.status_code == 303
        assert (await owner.get("/console/failures")).status_code == 200


async def test_wrong_api_keys_are_throttled_but_the_right_key_works_elsewhere(
        console: AsyncTestClient, database_url: str) -> None:
    """150 requests with wrong keys from one address end in 429 problems; the right key still
    works from another address, while the attacker's address is refused even with it."""
    app = console.app
    key = await add_key(database_url, Scope.CUSTOMERS_READ.value)
    async with from_address(app, "192.0.2.99") as attacker, from_address(app, "203.0.113.5") as owner:
        statuses = []
        for _ in range(150):
            answer = await attacker.get("/v1/customers", headers=bearer(f"gw_{secrets.token_hex(4)}_x"))
            statuses.append(answer.status_code)
        assert statuses.count(401) == 20 and statuses.count(429) == 130
        refused = await attacker.get("/v1/customers", headers=bearer(key))
        assert refused.status_code == 429 and refused.json()["type"].endswith("/rate-limited")
        assert int(refused.headers["retry-after"]) >= 1
        assert (await owner.get("/v1/customers", headers=bearer(key))).status_code == 200


async def test_many_addresses_guessing_one_key_do_not_lock_its_owner_out(
        console: AsyncTestClient, database_url: str) -> None:
    """Wrong keys with one key's prefix from many addresses: past the limit those addresses get 429
    for that prefix, while the owner's address (no failures) still gets in with the right key."""
    app = console.app
    key = await add_key(database_url, Scope.CUSTOMERS_READ.value)
    prefix = key.split("_")[1]
    statuses = []
    for index in range(30):
        async with from_address(app, f"192.0.2.{index + 1}") as guesser:
            for _ in range(2):
                answer = await guesser.get("/v1/customers",
                                           headers=bearer(f"gw_{prefix}_{secrets.token_urlsafe(32)}"))
                statuses.append(answer.status_code)
    assert statuses[:20] == [401] * 20 and 429 in statuses[20:]
    async with from_address(app, "192.0.2.30") as guesser, from_address(app, "198.51.100.1") as owner:
        assert (await guesser.get("/v1/customers", headers=bearer(key))).status_code == 429
        assert (await owner.get("/v1/customers", headers=bearer(key))).status_code == 200
        # another key's prefix is not affected at the guessing addresses
        other = await add_key(database_url, Scope.CUSTOMERS_READ.value)
        assert (await guesser.get("/v1/customers", headers=bearer(other))).status_code == 200


@asynccontextmanager
async def replicas(settings: Settings, copies: int) -> AsyncIterator[list[Litestar]]:
    """``copies`` API processes of one deployment, their lifespans running."""
    async with AsyncExitStack() as stack:
        apps = []
        for _ in range(copies):
            app = create_app(settings, embedded_worker=False)
            await stack.enter_async_context(app.lifespan())
            apps.append(app)
        yield apps


@pytest.mark.redis
async def test_with_redis_sessions_and_failure_counts_are_shared(sqlite_url: str, redis_url: str) -> None:
    """Two API processes with one Redis: a session opened at one works at the other and ends at
    both on sign-out; wrong keys counted at one throttle the address at the other."""
    settings = load_settings({}, database_url=sqlite_url, admin_api_key=ADMIN_KEY, redis_url=redis_url,
                             console_session_secret="shared-secret")
    address = f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"
    async with replicas(settings, 2) as (one, two):
        async with from_address(one, address) as first, from_address(two, address) as second:
            token = csrf_of((await first.get("/console/sign-in")).text)
            signed_in = await first.post("/console/sign-in", data={CSRF_FIELD: token, "apiKey": ADMIN_KEY})
            assert signed_in.status_code == 303
            session_id = first.cookies.get(SESSION_COOKIE)
            plant(second, session_id)
            page = await second.get("/console/failures")
            assert page.status_code == 200
            out = await second.post("/console/sign-out", data={CSRF_FIELD: csrf_of(page.text)})
            assert out.status_code == 303
            assert (await first.get("/console/failures")).status_code == 303
            statuses = []
            for index in range(25):
                replica = first if index % 2 else second
                answer = await replica.get("/v1/customers", headers=bearer(f"gw_{secrets.token_hex(4)}_x"))
                statuses.append(answer.status_code)
            assert statuses == [401] * 20 + [429] * 5
