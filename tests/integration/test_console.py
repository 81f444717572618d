"""The ops console over HTTP: sessions, CSRF, scopes, and actions that do what the API does."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import update
from sqlmodel import col

from gateway.app import create_app
from gateway.console.auth import CSRF_FIELD, NOTICE_COOKIE, SESSION_COOKIE
from gateway.core.settings import load_settings
from gateway.http.apikeys import Scope, hash_key
from gateway.store.db import create_engine, session_factory
from gateway.store.tables import ApiKeyRow, OutboxTaskRow
from providers.zaehlerfreunde.schemas import UpdateSpace
from tests.conftest import ADMIN_KEY
from tests.integration.conftest import wait_synced
from tests.integration.test_api_auth import add_key

SITE = {
    "externalRef": "con-s-1", "name": "Hytta", "kind": "residential",
    "address": {"line1": "Vei 1", "postcode": "9170", "city": "Longyearbyen", "country": "NO"},
    "coordinates": {"latitude": 78.22, "longitude": 15.63},
    "devices": [{"externalRef": "con-m-1", "kind": "meter", "name": "Main meter", "medium": "electricity",
                 "isMain": True, "meterPointId": "707057500012345678"}],
}
CSV = ("customer_ref,customer_name,customer_email,site_ref,site_name,site_kind,address_line1,postcode,city,"
       "country\n"
       "con-1,Ada Lovelace,ada@example.com,con-s-9,Home,residential,Road 1,0155,Oslo,NO\n"
       "con-2,Alan Turing,{email},,,,,,,\n")


@pytest.fixture(autouse=True)
def no_redirects(client: AsyncTestClient) -> None:
    """Look at each redirect the console answers instead of following it."""
    client.follow_redirects = False


def notice_of(response: Any) -> str:
    """The notice an action left for the next page (empty when none)."""
    for header in response.headers.get_list("set-cookie"):
        if header.startswith(NOTICE_COOKIE + "="):
            return unquote(header.split(";")[0].split("=", 1)[1].strip('"'))
    return ""


def csrf_of(html: str) -> str:
    found = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


async def sign_in(client: AsyncTestClient, key: str = ADMIN_KEY, next_path: str = "/console") -> Any:
    form = await client.get("/console/sign-in")
    return await client.post("/console/sign-in", data={"apiKey": key, "_csrf_token": csrf_of(form.text),
                                                        "next": next_path})


async def session_csrf(client: AsyncTestClient) -> str:
    return csrf_of((await client.get("/console/onboarding")).text)


async def set_task(database_url: str, task_id: str, **values: Any) -> None:
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            await session.execute(update(OutboxTaskRow).where(col(OutboxTaskRow.id) == task_id)
                                  .values(**values))
            await session.commit()
    finally:
        await engine.dispose()


async def test_pages_without_a_session_lead_to_sign_in_and_actions_get_401(client: AsyncTestClient) -> None:
    """No session: a page redirects to the sign-in form (keeping the path), a form post is 401."""
    client.headers.pop("Authorization")
    page = await client.get("/console/failures")
    assert page.status_code == 303
    assert page.headers["location"] == "/console/sign-in?next=%2Fconsole%2Ffailures"
    token = csrf_of((await client.get("/console/sign-in")).text)
    action = await client.post("/console/tasks/some-task/retry", data={CSRF_FIELD: token})
    assert action.status_code == 401
    assert action.headers["content-type"].startswith("application/problem+json")
    assert action.json()["field"] == SESSION_COOKIE


async def test_sign_in_sets_a_strict_http_only_cookie_and_refuses_a_form_without_its_token(
        client: AsyncTestClient) -> None:
    """The session cookie is HttpOnly and SameSite=Strict; a sign-in post without the form's token is 403."""
    client.headers.pop("Authorization")
    forged = await client.post("/console/sign-in", data={"apiKey": ADMIN_KEY, CSRF_FIELD: "guessed"})
    assert forged.status_code == 403 and forged.json()["field"] == CSRF_FIELD
    signed_in = await sign_in(client, next_path="/console/customers")
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/console/customers"
    cookie = next(c for c in signed_in.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE + "="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie
    assert "Secure" not in cookie
    assert (await client.get("/console/customers")).status_code == 200


async def test_sign_in_goes_only_to_console_paths(client: AsyncTestClient) -> None:
    """A ``next`` outside the console (another site) lands on the overview instead."""
    client.headers.pop("Authorization")
    signed_in = await sign_in(client, next_path="//evil.example/console")
    assert signed_in.headers["location"] == "/console"


async def test_keys_need_the_console_or_ops_scope(client: AsyncTestClient, database_url: str) -> None:
    """Unknown keys get 401, keys without console or ops 403, a console key gets in."""
    client.headers.pop("Authorization")
    unknown = await sign_in(client, key="gw_nope_nope")
    assert unknown.status_code == 401 and "unknown or revoked" in unknown.text
    reader = await add_key(database_url, Scope.CUSTOMERS_READ.value)
    refused = await sign_in(client, key=reader)
    assert refused.status_code == 403 and "scope" in refused.text
    console = await add_key(database_url, Scope.CONSOLE.value)
    assert (await sign_in(client, key=console)).status_code == 303
    assert (await client.get("/console/failures")).status_code == 200


async def test_revoking_the_key_ends_its_console_sessions(client: AsyncTestClient, database_url: str) -> None:
    """A session opened with a key that is revoked afterwards leads back to sign-in."""
    client.headers.pop("Authorization")
    key = await add_key(database_url, Scope.CONSOLE.value)
    await sign_in(client, key=key)
    assert (await client.get("/console/customers")).status_code == 200
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            await session.execute(update(ApiKeyRow).where(col(ApiKeyRow.key_hash) == hash_key(key))
                                  .values(revoked_at=datetime.now(UTC)))
            await session.commit()
    finally:
        await engine.dispose()
    assert (await client.get("/console/customers")).status_code == 303


async def test_a_changed_session_id_is_refused(client: AsyncTestClient) -> None:
    """Changing a character of the session cookie (a random id) makes it worthless."""
    client.headers.pop("Authorization")
    await sign_in(client)
    value = client.cookies.get(SESSION_COOKIE, path="/console")
    assert value and len(value) >= 64
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, value[:-1] + ("a" if value[-1] != "a" else "b"), path="/console")
    assert (await client.get("/console")).status_code == 303


async def test_every_console_form_checks_the_csrf_token(client: AsyncTestClient) -> None:
    """Each console action refuses a wrong CSRF token with 403 naming the field."""
    created = await client.post("/v1/customers", json={"externalRef": "con-c", "name": "Kari",
                                                       "email": "kari@example.com", "sites": [SITE]})
    customer_id = created.json()["id"]
    await sign_in(client)
    posts: list[tuple[str, dict[str, str]]] = [
        ("/console/sign-out", {}),
        ("/console/resync", {"entityType": "customer", "entityId": customer_id}),
        ("/console/tasks/x/retry", {}),
        ("/console/failures/retry", {"provider": "volue", "error": "x"}),
        ("/console/sites/x/invite", {}),
        ("/console/onboarding/run", {"csv": CSV}),
        ("/console/drift/compare", {"provider": "volue"}),
        ("/console/drift/repair", {"provider": "volue"}),
        (f"/console/customers/{customer_id}/volue/enroll", {}),
        (f"/console/customers/{customer_id}/volue/leave", {}),
    ]
    for path, form in posts:
        refused = await client.post(path, data={**form, CSRF_FIELD: "not-the-token"})
        assert refused.status_code == 403, (path, refused.text)
        assert refused.json()["field"] == CSRF_FIELD
    assert (await client.get("/console")).status_code == 200  # the session itself still holds


async def test_console_retry_and_resync_do_what_the_api_does(client: AsyncTestClient,
                                                             database_url: str) -> None:
    """A dead task retried from the console is pending again; a resync queues the customer's tree."""
    created = await client.post("/v1/customers", json={"externalRef": "con-r", "name": "Kari",
                                                       "email": "kari@example.com", "sites": [SITE]})
    customer_id = created.json()["id"]
    task = (await client.get("/v1/sync/tasks", params={"entityId": customer_id})).json()["items"][0]
    await set_task(database_url, task["id"], status="dead", last_error="refused upstream", attempts=3)
    await sign_in(client)
    csrf = await session_csrf(client)
    failures = await client.get("/console/problems")
    assert "refused upstream" in failures.text and task["id"] in failures.text
    assert "refused upstream" in (await client.get("/console/failures")).text  # the former page's address
    retried = await client.post(f"/console/tasks/{task['id']}/retry", data={"_csrf_token": csrf})
    assert retried.status_code == 303 and "queued again" in notice_of(retried)
    again = (await client.get("/v1/sync/tasks", params={"entityId": customer_id})).json()["items"][0]
    assert again["status"] == "pending" and again["attempts"] == 0
    not_dead = await client.post(f"/console/tasks/{task['id']}/retry", data={"_csrf_token": csrf})
    assert not_dead.status_code == 409
    resynced = await client.post("/console/resync", data={"_csrf_token": csrf, "entityType": "customer",
                                                          "entityId": customer_id, "back": customer_id})
    assert resynced.status_code == 303
    assert resynced.headers["location"] == f"/console/customers/{customer_id}"
    said = "customer: nothing new queued, its upstream work is still pending"  # the retried task
    assert notice_of(resynced) == said
    shown = await client.get(resynced.headers["location"])
    assert f'<p class="notice" role="status">{said}</p>' in shown.text
    assert not notice_of(await client.get(resynced.headers["location"]))  # shown once, then cleared


async def test_group_retry_sends_every_dead_task_with_that_error(client: AsyncTestClient,
                                                                 database_url: str) -> None:
    """"Retry all" of a failure group retries the dead tasks of that queue with exactly that error."""
    ids = []
    for ref in ("con-g1", "con-g2", "con-g3"):
        created = await client.post("/v1/customers", json={"externalRef": ref, "name": "N",
                                                           "email": "n@example.com"})
        ids.append(created.json()["id"])
    tasks = [(await client.get("/v1/sync/tasks", params={"entityId": i})).json()["items"][0]["id"]
             for i in ids]
    await set_task(database_url, tasks[0], status="dead", last_error="quota exceeded")
    await set_task(database_url, tasks[1], status="dead", last_error="quota exceeded")
    await set_task(database_url, tasks[2], status="dead", last_error="quota exceeded, and more")
    await sign_in(client)
    retried = await client.post("/console/failures/retry", data={
        "_csrf_token": await session_csrf(client), "provider": "volue", "error": "quota exceeded"})
    assert retried.status_code == 303 and "2 dead task(s) of volue queued again" in notice_of(retried)
    dead = (await client.get("/v1/sync/tasks", params={"status": "dead"})).json()["items"]
    assert [t["id"] for t in dead] == [tasks[2]]


async def test_customer_search_and_tree(client: AsyncTestClient) -> None:
    """Search finds by name, email or externalRef (a % is literal); the tree shows records and statuses."""
    created = await client.post("/v1/customers", json={"externalRef": "con-t", "name": "Kari Nordmann",
                                                       "email": "kari@example.com", "sites": [SITE]})
    customer_id = created.json()["id"]
    await sign_in(client)
    for query in ("NORDM", "kari@exa", "con-t"):
        found = await client.get("/console/customers", params={"q": query})
        assert f"/console/customers/{customer_id}" in found.text, query
    assert customer_id not in (await client.get("/console/customers", params={"q": "%"})).text
    tree = await client.get(f"/console/customers/{customer_id}")
    assert "Hytta" in tree.text and "Main meter" in tree.text and "pending" in tree.text
    missing = await client.get("/console/customers/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404 and "not found" in missing.text


async def test_onboarding_names_line_and_column_then_creates_the_new_customers(
        client: AsyncTestClient) -> None:
    """The dry run lists each problem by line and column; a clean file is created, known customers skipped."""
    await sign_in(client)
    csrf = await session_csrf(client)
    bad = CSV.format(email="turing-at-example")
    planned = await client.post("/console/onboarding/plan", data={"_csrf_token": csrf},
                                files={"file": ("people.csv", bad.encode(), "text/csv")})
    assert planned.status_code == 200
    assert re.search(r"line 3</td><td>column <code>customer_email</code>", planned.text), planned.text
    good = CSV.format(email="alan@example.com")
    assert (await client.post("/v1/customers", json={"externalRef": "con-2", "name": "Alan Turing",
                                                     "email": "alan@example.com"})).status_code == 201
    planned = await client.post("/console/onboarding/plan", data={"_csrf_token": csrf},
                                files={"file": ("people.csv", good.encode(), "text/csv")})
    assert "1 new customer(s), 1 already in the gateway" in planned.text
    run = await client.post("/console/onboarding/run", data={"_csrf_token": csrf, "csv": good})
    assert run.status_code == 303
    assert run.headers["location"].startswith("/console/onboarding/progress?ref=con-1")
    ada = (await client.get("/v1/customers", params={"externalRef": "con-1"})).json()["items"]
    assert len(ada) == 1 and ada[0]["email"] == "ada@example.com"
    progress = await client.get(run.headers["location"])
    assert "Ada Lovelace" in progress.text and 'http-equiv="refresh"' in progress.text


async def test_console_is_left_out_of_the_openapi_document(client: AsyncTestClient) -> None:
    """The served API document names no console route."""
    document = (await client.get("/schema/openapi.json")).json()
    assert document["paths"] and not [p for p in document["paths"] if p.startswith("/console")]


async def test_overview_and_meter_count_the_readings(client: AsyncTestClient) -> None:
    """Readings stored this hour show in the overview's hourly chart and on the meter's page."""
    created = await client.post("/v1/customers", json={"externalRef": "con-m", "name": "Kari",
                                                       "email": "kari@example.com", "sites": [SITE]})
    customer_id = created.json()["id"]
    site_id = (await client.get(f"/v1/customers/{customer_id}/sites")).json()["items"][0]["id"]
    meter_id = (await client.get(f"/v1/sites/{site_id}/devices")).json()["items"][0]["id"]
    readings = [{"deviceId": meter_id, "obisCode": "1-1:1.8.0", "timestamp": 1_767_225_600 + 900 * i,
                 "value": 100.0 + 2 * i} for i in range(3)]
    stored = await client.post("/v1/readings", json={"readings": readings})
    assert stored.status_code == 202 and stored.json()["accepted"] == 3
    await sign_in(client)
    overview = await client.get("/console")
    hour = datetime.now(UTC).strftime("%H")
    assert f"ingested {hour}:00: 3 readings</title>" in overview.text
    assert "volue" in overview.text and "zaehlerfreunde" in overview.text
    meter = await client.get(f"/console/devices/{meter_id}")
    assert meter.status_code == 200
    table = meter.text.split('id="readings"')[1]
    assert table.count('<span class="badge pending">pending</span></td>') == 3
    assert "Consumption between readings, 1-1:1.8.0" in meter.text
    assert meter.text.count(": 2</title></rect>") == 2  # two intervals of 2 kWh each


async def test_console_invite_defaults_to_the_customers_email_and_checks_the_address(
        client: AsyncTestClient) -> None:
    """An invite with no address goes to the customer's email; a malformed address is 400 naming email."""
    created = await client.post("/v1/customers", json={"externalRef": "con-i", "name": "Kari",
                                                       "email": "Kari@Example.com", "sites": [SITE]})
    customer_id = created.json()["id"]
    site_id = (await client.get(f"/v1/customers/{customer_id}/sites")).json()["items"][0]["id"]
    await sign_in(client)
    csrf = await session_csrf(client)
    invited = await client.post(f"/console/sites/{site_id}/invite", data={"_csrf_token": csrf, "email": ""})
    assert invited.status_code == 303 and notice_of(invited) == "invite queued: kari@example.com"
    again = await client.post(f"/console/sites/{site_id}/invite", data={"_csrf_token": csrf, "email": ""})
    assert notice_of(again).startswith("already invited")
    bad = await client.post(f"/console/sites/{site_id}/invite",
                            data={CSRF_FIELD: csrf, "email": "kari-at-home"})
    assert bad.status_code == 400 and bad.json()["field"] == "email"
    page = await client.get(f"/console/customers/{customer_id}")
    assert page.text.count("kari@example.com</td>") == 1


async def test_the_cookie_is_secure_when_configured(database_url: str) -> None:
    """With GATEWAY_CONSOLE_COOKIE_SECURE the session cookie carries Secure."""
    from gateway.app import create_app
    from gateway.core.settings import load_settings

    settings = load_settings({"GATEWAY_CONSOLE_COOKIE_SECURE": "true"}, database_url=database_url,
                             admin_api_key=ADMIN_KEY)
    app = create_app(settings, embedded_worker=False)
    async with AsyncTestClient(app, base_url="https://gateway.local") as client:
        client.follow_redirects = False
        signed_in = await sign_in(client)
        cookie = next(c for c in signed_in.headers.get_list("set-cookie")
                      if c.startswith(SESSION_COOKIE + "="))
        assert "Secure" in cookie


async def test_console_forms_refuse_a_malformed_return_address(client: AsyncTestClient) -> None:
    """A form's return record that is not a record id is 400 naming the field, and nothing is queued."""
    created = await client.post("/v1/customers", json={"externalRef": "con-b", "name": "Kari",
                                                       "email": "kari@example.com"})
    customer_id = created.json()["id"]
    await sign_in(client)
    csrf = await session_csrf(client)
    resync = await client.post("/console/resync", data={"_csrf_token": csrf, "entityType": "customer",
                                                        "entityId": customer_id, "back": "//evil.example"})
    assert resync.status_code == 400 and resync.json()["field"] == "back", resync.text
    retry = await client.post("/console/tasks/x/retry?back=..%2F..%2Fschema", data={"_csrf_token": csrf})
    assert retry.status_code == 400 and retry.json()["field"] == "back"
    assert len((await client.get("/v1/sync/tasks", params={"entityId": customer_id})).json()["items"]) == 1


async def test_a_link_cannot_put_words_on_a_console_page(client: AsyncTestClient) -> None:
    """Notices come only from the gateway's own cookie: a notice in the query string is not shown."""
    await sign_in(client)
    page = await client.get("/console/customers", params={"notice": "Your key expired: go to evil.example"})
    assert page.status_code == 200 and "evil.example" not in page.text


async def test_a_run_names_rows_refused_since_the_dry_run(client: AsyncTestClient) -> None:
    """A record taken between dry run and run is refused by line and column; the rest is created."""
    await sign_in(client)
    csrf = await session_csrf(client)
    good = CSV.format(email="alan@example.com")
    taken = {**SITE, "externalRef": "con-s-9", "devices": []}
    other = {"externalRef": "con-x", "name": "X", "email": "x@example.com", "sites": [taken]}
    assert (await client.post("/v1/customers", json=other)).status_code == 201
    run = await client.post("/console/onboarding/run", data={"_csrf_token": csrf, "csv": good})
    assert run.status_code == 200
    assert re.search(r"line 2</td><td>column <code>site_ref</code></td><td>[^<]*con-s-9", run.text), run.text
    assert "1 customer(s) onboarded" in run.text and "1 refused" in run.text
    assert (await client.get("/v1/customers", params={"externalRef": "con-2"})).json()["items"]
    assert not (await client.get("/v1/customers", params={"externalRef": "con-1"})).json()["items"]


def drift_rows(html: str) -> set[tuple[str, str, str]]:
    """(drift, type, record or upstream id) of each row the Drift page lists."""
    rows = re.findall(r'<tr class="\w+" data-drift="(\w+)" data-entity="([^"]*)" data-external="([^"]*)">'
                      r'\s*<td>.*?</td>\s*<td>(\w+)</td>', html, flags=re.S)
    return {(drift, kind, entity or external) for drift, entity, external, kind in rows}


async def test_drift_page_lists_what_changed_upstream_and_repair_restores_it(
        live_client: AsyncTestClient, emulators: dict[str, Any]) -> None:
    """A location deleted and a space renamed in the emulators are listed (with the differing
    field) after Compare, and each comparison is kept; Repair asks first (without its confirmation
    field nothing is queued), then queues the fixes and the emulators hold the records again."""
    client = live_client
    client.follow_redirects = False
    body = {"externalRef": "con-d", "name": "Drift", "email": "drift@example.com",
            "sites": [{**SITE, "externalRef": "con-d-s", "devices": []}]}
    customer = (await client.post("/v1/customers", json=body)).json()
    site = (await client.get(f"/v1/customers/{customer['id']}/sites")).json()["items"][0]
    synced = await wait_synced(client, [f"/v1/customers/{customer['id']}", f"/v1/sites/{site['id']}"],
                               timeout=30)
    space = synced[1]["sync"]["zaehlerfreunde"]["externalId"]
    volue = emulators["volue"].state.volue.store
    zf = emulators["zf"].state.zaehlerfreunde
    volue.delete_location(customer["id"], site["id"])
    zf.update_space(space, UpdateSpace(name="Renamed upstream"))

    await sign_in(client)
    page = await client.get("/console/drift")
    assert page.status_code == 200 and 'href="/console/drift"' in page.text
    csrf = csrf_of(page.text)
    assert 'data-provider="volue"' in page.text and 'data-provider="zaehlerfreunde"' in page.text
    compared = await client.post("/console/drift/compare", data={"_csrf_token": csrf, "provider": "volue"})
    assert compared.status_code == 200, compared.text
    assert drift_rows(compared.text) == {("missing", "site", site["id"])}
    compared = await client.post("/console/drift/compare",
                                 data={CSRF_FIELD: csrf, "provider": "zaehlerfreunde"})
    assert drift_rows(compared.text) == {("differing", "site", site["id"])}
    assert '<td class="drift-fields">name' in compared.text and "Renamed upstream" in compared.text
    shown = (await client.get(f"/v1/sites/{site['id']}")).json()["sync"]
    assert shown["volue"]["status"] == "drifted" and shown["zaehlerfreunde"]["status"] == "drifted"

    kept = await client.get("/console/drift")
    assert kept.text.count('class="drift-run"') == 2 and 'data-source="console"' in kept.text
    asked = await client.post("/console/drift/repair", data={CSRF_FIELD: csrf, "provider": "volue"})
    assert asked.status_code == 200 and 'id="drift-confirm"' in asked.text
    assert 'id="drift-repaired"' not in asked.text
    assert 'id="drift-confirm"' in (await client.get("/console/drift/repair?provider=volue")).text
    assert shown == (await client.get(f"/v1/sites/{site['id']}")).json()["sync"]  # nothing queued
    for provider in ("volue", "zaehlerfreunde"):
        repaired = await client.post("/console/drift/repair",
                                     data={CSRF_FIELD: csrf, "provider": provider, "confirm": "repair"})
        assert repaired.status_code == 200 and 'id="drift-repaired"' in repaired.text, repaired.text
        assert "Repair queued 1 outbox task(s) for 1 record(s)" in repaired.text
    await wait_synced(client, [f"/v1/sites/{site['id']}"], timeout=30)
    assert volue.locations[site["id"]].coordinates == (78.22, 15.63)
    assert zf.spaces[space].name == "Hytta"
    clean = await client.post("/console/drift/compare", data={"_csrf_token": csrf, "provider": "volue"})
    assert 'id="no-drift"' in clean.text


async def test_drift_compare_refuses_an_unknown_provider(client: AsyncTestClient) -> None:
    """A provider the gateway does not know is refused with 400 naming the field."""
    await sign_in(client)
    csrf = await session_csrf(client)
    refused = await client.post("/console/drift/compare", data={"_csrf_token": csrf, "provider": "acme"})
    assert refused.status_code == 400, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "provider" in refused.text


async def test_volue_enrollment_from_the_customer_page(live_client: AsyncTestClient,
                                                       emulators: dict[str, Any]) -> None:
    """Enroll on the customer's page queues the membership (pending), the outbox enrolls it at Volue
    and the page shows enrolled with enrolledAt; Leave takes it out again."""
    client = live_client
    client.follow_redirects = False
    body = {"externalRef": "con-v", "name": "Spark", "email": "spark@example.com", "providers": ["volue"],
            "sites": [{**SITE, "externalRef": "con-v-s",
                       "coordinates": {"latitude": 79.51913682860402, "longitude": 15.97611317258921}}]}
    customer_id = (await client.post("/v1/customers", json=body)).json()["id"]
    await sign_in(client)
    page = await client.get(f"/console/customers/{customer_id}")
    assert 'id="volue-status">not_enrolled' in page.text
    assert 'id="volue-enrolled-at"><span class="muted">not enrolled' in page.text
    csrf = csrf_of(page.text)
    queued = await client.post(f"/console/customers/{customer_id}/volue/enroll", data={"_csrf_token": csrf})
    assert queued.status_code == 303 and queued.headers["location"] == f"/console/customers/{customer_id}"
    assert notice_of(queued) == "Volue enrollment queued: pending"
    store = emulators["volue"].state.volue.store
    for _ in range(300):
        membership = (await client.get(f"/v1/customers/{customer_id}/programmes/volue")).json()
        if membership["status"] == "enrolled":
            break
        await asyncio.sleep(0.1)
    assert membership["status"] == "enrolled" and store.users[customer_id].enrollment_id is not None
    page = await client.get(f"/console/customers/{customer_id}")
    assert 'id="volue-status">enrolled' in page.text
    enrolled_at = membership["enrolledAt"][:19].replace("T", " ")
    assert f'id="volue-enrolled-at">{enrolled_at}Z' in page.text
    again = await client.post(f"/console/customers/{customer_id}/volue/enroll", data={"_csrf_token": csrf})
    assert notice_of(again) == "Volue: already enrolled"
    left = await client.post(f"/console/customers/{customer_id}/volue/leave", data={"_csrf_token": csrf})
    assert notice_of(left) == "Volue leaving queued: pending"
    for _ in range(300):
        if store.users[customer_id].enrollment_id is None:
            break
        await asyncio.sleep(0.1)
    assert store.users[customer_id].enrollment_id is None


async def test_volue_enrollment_needs_a_customer_at_volue(client: AsyncTestClient) -> None:
    """Enrolling a customer not at Volue is refused with 409 naming providers; an unknown one is 404."""
    created = await client.post("/v1/customers", json={"externalRef": "con-nv", "name": "Z",
                                                       "email": "z@example.com",
                                                       "providers": ["zaehlerfreunde"]})
    customer_id = created.json()["id"]
    await sign_in(client)
    csrf = await session_csrf(client)
    page = await client.get(f"/console/customers/{customer_id}")
    assert "Volue enrollment" not in page.text
    refused = await client.post(f"/console/customers/{customer_id}/volue/enroll", data={"_csrf_token": csrf})
    assert refused.status_code == 409 and refused.json()["field"] == "providers"
    missing = await client.post("/console/customers/00000000-0000-0000-0000-000000000000/volue/enroll",
                                data={"_csrf_token": csrf})
    assert missing.status_code == 404



async def test_drift_says_when_a_provider_cannot_be_listed(database_url: str) -> None:
    """A provider that does not answer (a closed loopback port) gets a 502 page saying why, no report."""
    settings = load_settings({}, database_url=database_url, admin_api_key=ADMIN_KEY,
                             volue_base_url="http://127.0.0.1:9/energy-coordination/v1")
    async with AsyncTestClient(create_app(settings, embedded_worker=False)) as client:
        client.follow_redirects = False
        await sign_in(client)
        page = await client.get("/console/drift")
        refused = await client.post("/console/drift/compare", data={"_csrf_token": csrf_of(page.text),
                                                                    "provider": "volue"})
    assert refused.status_code == 502
    assert 'id="drift-error"' in refused.text and "volue could not be listed" in refused.text
    assert 'id="drift-report"' not in refused.text
