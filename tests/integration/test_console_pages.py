"""The console's record, search, events, subscriptions and API keys pages over HTTP: names
instead of ids, every record's state with attempts and next try, the sync history with its
bodies, search by any id, lists that count and page, redelivery and keys (shown once,
revoked), each console action in the audit trail."""

from __future__ import annotations

import html
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import update
from sqlmodel import col

from gateway.console.auth import CSRF_FIELD
from gateway.http.apikeys import Scope
from gateway.store.db import create_engine, session_factory
from gateway.store.event_tables import (
    VolueEventRow,
    VolueEventTargetRow,
    WebhookDeliveryRow,
    WebhookSubscriptionRow,
)
from gateway.store.tables import ProviderLinkRow, UpstreamCallBodyRow, UpstreamCallRow
from tests.conftest import ADMIN_KEY
from tests.integration.test_api_auth import add_key
from tests.integration.test_console import notice_of, session_csrf, set_task, sign_in

SITE = {
    "externalRef": "pg-s-1", "name": "Hytta", "kind": "residential",
    "address": {"line1": "Vei 1", "postcode": "9170", "city": "Longyearbyen", "country": "NO"},
    "coordinates": {"latitude": 78.22, "longitude": 15.63},
    "devices": [{"externalRef": "pg-m-1", "kind": "meter", "name": "Main meter", "medium": "electricity",
                 "isMain": True, "meterPointId": "707057500012345678"}],
}


@pytest.fixture(autouse=True)
def no_redirects(client: AsyncTestClient) -> None:
    client.follow_redirects = False


async def add_rows(database_url: str, *rows: Any) -> None:
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            for row in rows:
                session.add(row)
                await session.flush()
            await session.commit()
    finally:
        await engine.dispose()


async def set_link(database_url: str, entity_id: str, provider: str, **values: Any) -> None:
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            await session.execute(update(ProviderLinkRow).where(
                col(ProviderLinkRow.entity_id) == entity_id, col(ProviderLinkRow.provider) == provider)
                .values(**values))
            await session.commit()
    finally:
        await engine.dispose()


async def tree(client: AsyncTestClient, ref: str = "pg-c") -> tuple[str, str, str]:
    """A customer with a site and a meter: their ids."""
    created = await client.post("/v1/customers", json={"externalRef": ref, "name": "Kari Nordmann",
                                                       "email": "kari@example.com", "sites": [{
                                                           **SITE, "externalRef": f"{ref}-s",
                                                           "devices": [{**SITE["devices"][0],  # type: ignore[index]
                                                                        "externalRef": f"{ref}-m"}]}]})
    assert created.status_code == 201, created.text
    customer_id = created.json()["id"]
    site_id = (await client.get(f"/v1/customers/{customer_id}/sites")).json()["items"][0]["id"]
    meter_id = (await client.get(f"/v1/sites/{site_id}/devices")).json()["items"][0]["id"]
    return customer_id, site_id, meter_id


async def audit(client: AsyncTestClient, action: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (await client.get("/v1/audit", params={"action": action})).json()["items"]
    return items


async def test_customer_page_shows_states_tasks_and_sync_history_by_name(client: AsyncTestClient,
                                                                         database_url: str) -> None:
    """Each record's state per provider with its task's attempts and next try; tasks name their record;
    the sync history lists each call with its operation, status, latency, error, bodies and trace id."""
    customer_id, site_id, meter_id = await tree(client)
    tasks = (await client.get("/v1/sync/tasks", params={"entityId": site_id})).json()["items"]
    retrying = tasks[0]
    next_try = datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC)
    await set_task(database_url, retrying["id"], attempts=3, run_after=next_try,
                   last_error="503 from upstream")
    body_id = uuid.uuid4().hex
    await add_rows(database_url,
                   UpstreamCallBodyRow(id=body_id, request_body='{"name": "Hytta", "token": "[redacted]"}',
                                       response_body='{"id": "loc-7"}', at=datetime.now(UTC)),
                   UpstreamCallRow(entity_id=site_id, entity_type="site", customer_id=customer_id,
                                   provider=retrying["provider"], task_id=retrying["id"], method="POST",
                                   route="/locations", status=503, latency_ms=41.7, error="upstream busy",
                                   at=datetime.now(UTC), trace_id="4bf92f3577b34da6a3ce929d0e0e4736",
                                   body_id=body_id))
    await sign_in(client)
    page = (await client.get(f"/console/customers/{customer_id}")).text
    site = page[page.index(f'id="record-{site_id}"'):]
    assert f'data-provider="{retrying["provider"]}"' in site
    assert "attempt(s) 3" in site and "2031-05-06 07:08:09" in site
    assert f'href="/console/tasks/{retrying["id"]}"' in site
    row = re.search(rf'<tr data-task="{retrying["id"]}">.*?</tr>', page, re.S)
    assert row and "site Hytta" in row.group(0) and "2031-05-06 07:08:09" in row.group(0)
    history = page[page.index('id="sync-history"'):]
    call = re.search(r'<tr data-call="\d+">.*?</tr>', history, re.S)
    assert call, history
    shown = html.unescape(call.group(0))
    for expected in ("POST /locations", "site Hytta", "503", "42 ms", "upstream busy",
                     "4bf92f3577b34da6a3ce929d0e0e4736", '"token": "[redacted]"', '"id": "loc-7"',
                     "<summary>request body</summary>", f"/console/tasks/{retrying['id']}"):
        assert expected in shown, expected
    assert meter_id in page  # the meter's page link


async def test_customers_list_counts_pages_and_filters_problems(client: AsyncTestClient,
                                                                database_url: str) -> None:
    """The list says how many match and pages past 50; its sync status column and the "has problems"
    filter follow dead tasks and failed records."""
    ids = []
    for number in range(52):
        created = await client.post("/v1/customers", json={"externalRef": f"pg-l-{number:02}",
                                                           "name": f"Lister {number:02}",
                                                           "email": "l@example.com"})
        ids.append(created.json()["id"])
    await sign_in(client)
    first = (await client.get("/console/customers", params={"q": "lister"})).text
    assert "1–50 of 52 customers" in first and first.count("<tr data-customer=") == 50
    assert 'href="/console/customers?q=lister&amp;page=2"' in first
    second = (await client.get("/console/customers", params={"q": "lister", "page": 2})).text
    assert "51–52 of 52 customers" in second and second.count("<tr data-customer=") == 2
    assert "Lister 51" in second and "Lister 00" not in second
    task = (await client.get("/v1/sync/tasks", params={"entityId": ids[3]})).json()["items"][0]
    await set_task(database_url, task["id"], status="dead", last_error="refused")
    await set_link(database_url, ids[7], "volue", status="failed", last_error="refused too")
    troubled = (await client.get("/console/customers", params={"q": "lister", "problems": "1"})).text
    assert "1–2 of 2 customers" in troubled
    assert f'data-customer="{ids[3]}"' in troubled and f'data-customer="{ids[7]}"' in troubled
    row = re.search(rf'<tr data-customer="{ids[7]}">.*?</tr>', troubled, re.S)
    assert row and 'class="badge failed">failed<' in row.group(0)
    calm = re.search(rf'<tr data-customer="{ids[0]}">.*?</tr>', first, re.S)
    assert calm and 'class="badge pending">pending<' in calm.group(0)
    failed = (await client.get("/v1/sync/tasks", params={"entityId": ids[7]})).json()["items"][0]
    await set_task(database_url, failed["id"], status="dead", last_error="refused too")
    dismissed = await client.post(f"/v1/sync/tasks/{failed['id']}/dismiss", json={"reason": "known"})
    assert dismissed.status_code == 200, dismissed.text
    after = (await client.get("/console/customers", params={"q": "lister", "problems": "1"})).text
    assert "1–1 of 1 customers" in after and f'data-customer="{ids[7]}"' not in after


async def test_search_finds_a_record_by_any_id(client: AsyncTestClient, database_url: str) -> None:
    """Task id, our record ids, an upstream id and an externalRef (any case) each lead to the record."""
    customer_id, site_id, meter_id = await tree(client, "pg-find")
    task = (await client.get("/v1/sync/tasks", params={"entityId": meter_id})).json()["items"][0]
    await set_link(database_url, site_id, "zaehlerfreunde", external_id="space-4711")
    await sign_in(client)
    expectations = {
        task["id"]: f'href="/console/tasks/{task["id"]}"',
        customer_id: f'href="/console/customers/{customer_id}"',
        "PG-FIND-S": f'href="/console/customers/{customer_id}#record-{site_id}"',
        "space-4711": f'href="/console/customers/{customer_id}#record-{site_id}"',
        meter_id: f'href="/console/customers/{customer_id}#record-{meter_id}"',
    }
    for query, link in expectations.items():
        found = (await client.get("/console/search", params={"q": query})).text
        assert link in found, query
    nothing = (await client.get("/console/search", params={"q": "no-such-id"})).text
    assert "Nothing has the id or externalRef" in nothing


async def test_task_page_shows_state_next_try_and_calls(client: AsyncTestClient, database_url: str) -> None:
    """A task's page: kind, record by name, status, attempts, next try, last error and its calls."""
    customer_id, site_id, _ = await tree(client, "pg-task")
    task = (await client.get("/v1/sync/tasks", params={"entityId": site_id})).json()["items"][0]
    await set_task(database_url, task["id"], attempts=2, run_after=datetime(2031, 1, 2, 3, 4, 5, tzinfo=UTC),
                   last_error="timed out")
    await add_rows(database_url, UpstreamCallRow(
        entity_id=site_id, entity_type="site", customer_id=customer_id, provider=task["provider"],
        task_id=task["id"], method="PUT", route="/spaces/x", status=None, latency_ms=10_000.0,
        error="timed out", at=datetime.now(UTC) - timedelta(seconds=5)))
    await sign_in(client)
    page = (await client.get(f"/console/tasks/{task['id']}")).text
    assert 'id="task-attempts">2<' in page and "2031-01-02 03:04:05" in page and "timed out" in page
    assert f'href="/console/customers/{customer_id}#record-{site_id}">Hytta<' in page
    assert "PUT /spaces/x" in page and "no answer" in page
    assert (await client.get("/console/tasks/not-a-task")).status_code == 404


async def test_events_and_redelivery_from_the_console(client: AsyncTestClient, database_url: str) -> None:
    """Events are listed with the records they name; a delivery is sent again from its subscription's
    page, and the redelivery is in the audit trail."""
    customer_id, site_id, _ = await tree(client, "pg-ev")
    now = datetime.now(UTC)
    event_id, subscription_id, delivery_id = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    await add_rows(
        database_url,
        VolueEventRow(id=event_id, volue_event_id="volue-ev-1", type="PriceCurveCreated", created_at=now,
                      received_at=now, source="webhook", payload={"curve": [1, 2, 3]}),
        VolueEventTargetRow(event_id=event_id, customer_id=customer_id, site_id=site_id),
        WebhookSubscriptionRow(id=subscription_id, url="https://hooks.example.com/in", event_types=[],
                               description="billing", secret_sealed="sealed", created_at=now),
        WebhookDeliveryRow(id=delivery_id, subscription_id=subscription_id, event_id=event_id,
                           status="failed", attempts=9, last_status=500, last_error="server error",
                           created_at=now))
    await sign_in(client)
    events = (await client.get("/console/events")).text
    assert "PriceCurveCreated" in events and "Kari Nordmann / Hytta" in events
    assert "1–1 of 1 events" in events
    assert "volue-ev-1" in (await client.get(f"/console/events/{event_id}")).text
    listed = (await client.get("/console/subscriptions")).text
    assert "https://hooks.example.com/in" in listed and "failed</span> 1" in listed
    page = (await client.get(f"/console/subscriptions/{subscription_id}")).text
    assert f'aria-label="Redeliver delivery {delivery_id} (PriceCurveCreated)"' in page
    csrf = await session_csrf(client)
    path = f"/console/subscriptions/{subscription_id}/deliveries/{delivery_id}/redeliver"
    sent = await client.post(path, data={CSRF_FIELD: csrf})
    assert sent.status_code == 303 and "queued again" in notice_of(sent)
    deliveries = (await client.get(f"/v1/webhook-subscriptions/{subscription_id}/deliveries")).json()["items"]
    assert deliveries[0]["status"] == "pending"
    noted = await audit(client, "delivery.redeliver")
    assert noted[0]["target"] == f"delivery:{delivery_id}" and noted[0]["via"] == "console"
    missing = await client.post(f"/console/subscriptions/{subscription_id}/deliveries/nope/redeliver",
                                data={CSRF_FIELD: csrf})
    assert missing.status_code == 404
    assert (await audit(client, "delivery.redeliver"))[0]["result"] == "error"


async def test_api_keys_created_shown_once_and_revoked(client: AsyncTestClient, database_url: str) -> None:
    """A key made on the keys page works with its scopes, is shown only in the create's answer, and stops
    working once revoked; both are in the audit trail. A console-only session may not manage keys."""
    await sign_in(client)
    csrf = await session_csrf(client)
    created = await client.post("/console/keys", data={CSRF_FIELD: csrf, "name": "billing",
                                                       "customers:read": "true"})
    assert created.status_code == 201, created.text
    key = re.search(r'id="new-key-value" type="text" readonly value="([^"]+)"', created.text)
    assert key, created.text
    secret = key.group(1)
    reader = {"Authorization": f"Bearer {secret}"}
    assert (await client.get("/v1/customers", headers=reader)).status_code == 200
    assert (await client.post("/v1/customers", headers=reader, json={})).status_code == 403
    listing = (await client.get("/console/keys")).text
    assert secret not in listing and "billing" in listing
    key_id = (await audit(client, "api_key.create"))[0]["target"].removeprefix("api_key:")
    assert f'aria-label="Revoke key billing ({secret.split("_")[1]})"' in listing
    refused = await client.post("/console/keys", data={CSRF_FIELD: csrf, "name": "nothing"})
    assert refused.status_code == 400 and refused.json()["field"] == "scope"
    revoked = await client.post(f"/console/keys/{key_id}/revoke", data={CSRF_FIELD: csrf})
    assert revoked.status_code == 303 and "revoked" in notice_of(revoked)
    assert (await audit(client, "api_key.revoke"))[0]["target"] == f"api_key:{key_id}"
    client.cookies.clear()
    console_only = await add_key(database_url, Scope.CONSOLE.value)
    await sign_in(client, key=console_only)
    assert (await client.get("/console/keys")).status_code == 403
    assert ADMIN_KEY not in listing


async def test_new_console_forms_check_the_csrf_token(client: AsyncTestClient) -> None:
    """The keys and redelivery forms refuse a wrong CSRF token with 403 naming the field."""
    await sign_in(client)
    for path, form in (("/console/keys", {"name": "x", "ops": "true"}), ("/console/keys/x/revoke", {}),
                       ("/console/subscriptions/x/deliveries/y/redeliver", {})):
        refused = await client.post(path, data={**form, CSRF_FIELD: "not-the-token"})
        assert refused.status_code == 403 and refused.json()["field"] == CSRF_FIELD, path
