"""The console's Problems and Audit pages over HTTP: what is listed, the live list, dismissing."""

from __future__ import annotations

import re
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import update
from sqlmodel import col

from gateway.store.db import create_engine, session_factory
from gateway.store.tables import ProviderLinkRow
from tests.integration.test_console import notice_of, session_csrf, set_task, sign_in


@pytest.fixture(autouse=True)
def no_redirects(client: AsyncTestClient) -> None:
    client.follow_redirects = False


async def _customer(client: AsyncTestClient, ref: str) -> tuple[str, dict[str, str]]:
    """A customer with a site at Volue; its tasks by entity id."""
    body = {"externalRef": ref, "name": "N", "email": "n@example.com", "providers": ["volue"],
            "sites": [{"externalRef": f"{ref}-s", "name": "Hytta", "kind": "residential",
                       "address": {"line1": "Vei 1", "postcode": "9170", "city": "Longyearbyen",
                                   "country": "NO"},
                       "coordinates": {"latitude": 78.22, "longitude": 15.63}}]}
    customer = (await client.post("/v1/customers", json=body)).json()
    tasks = (await client.get("/v1/sync/tasks")).json()["items"]
    site = (await client.get(f"/v1/customers/{customer['id']}/sites")).json()["items"][0]
    ours = {t["entityId"]: t["id"] for t in tasks if t["entityId"] in (customer["id"], site["id"])}
    return customer["id"], {"customer": ours[customer["id"]], "site": ours[site["id"]]}


def _counts(html: str) -> dict[str, int]:
    return {kind: int(n) for n, kind in re.findall(r'data-kind="\w+">(\d+) (\w+)</span>', html)}


async def _drift(database_url: str, entity_id: str) -> None:
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            await session.execute(update(ProviderLinkRow).where(col(ProviderLinkRow.entity_id) == entity_id)
                                  .values(status="drifted"))
            await session.commit()
    finally:
        await engine.dispose()


async def test_problems_lists_every_kind_live_and_dismissing_takes_what_waits(
        client: AsyncTestClient, database_url: str) -> None:
    """Dead (with its error), blocked (with the reason), retrying (attempts) and drifted are
    counted and listed, on the page and in its live list; circuits read 'unknown' with no worker;
    a dismissal needs a reason, takes the blocked task with it and is on the Audit page."""
    _, tasks = await _customer(client, "prob-1")
    second, others = await _customer(client, "prob-2")
    await set_task(database_url, tasks["customer"], status="dead", last_error="user refused", attempts=3)
    await set_task(database_url, tasks["site"], status="blocked", blocked_by=tasks["customer"],
                   last_error="waits on a dead task")
    await set_task(database_url, others["customer"], status="pending", last_error="503 from Volue",
                   attempts=2)
    await _drift(database_url, second)
    await sign_in(client)
    page = await client.get("/console/problems")
    assert page.status_code == 200
    assert _counts(page.text) == {"dead": 1, "blocked": 1, "retrying": 1, "drifted": 1}
    assert "user refused" in page.text and "waits on a dead task: user refused" in page.text
    assert "503 from Volue" in page.text and 'data-state="unknown"' in page.text
    assert 'data-live="/console/problems/live"' in page.text and "/console/static/live.js" in page.text
    live = await client.get("/console/problems/live")
    assert live.status_code == 200 and "<html" not in live.text and live.headers["x-problems"] == "4"
    assert _counts(live.text) == _counts(page.text)
    only_zf = await client.get("/console/problems/live", params={"provider": "zaehlerfreunde"})
    assert only_zf.headers["x-problems"] == "0"

    csrf = await session_csrf(client)
    refused = await client.post(f"/console/tasks/{tasks['customer']}/dismiss", data={"_csrf_token": csrf})
    assert refused.status_code == 400 and "reason" in refused.text
    done = await client.post(f"/console/tasks/{tasks['customer']}/dismiss",
                             data={"_csrf_token": csrf, "reason": "customer left"})
    assert done.status_code == 303 and done.headers["location"] == "/console/problems"
    assert "and 1 task(s) waiting on it" in notice_of(done)
    after: dict[str, Any] = _counts((await client.get("/console/problems/live")).text)
    assert after == {"dead": 0, "blocked": 0, "retrying": 1, "drifted": 1}

    audit = await client.get("/console/audit", params={"action": "task.dismiss"})
    rows = re.findall(r'<tr class="audit-entry" data-action="([^"]+)" data-target="([^"]+)" '
                      r'data-result="([^"]+)">', audit.text)
    assert rows == [("task.dismiss", f"task:{tasks['customer']}", "ok"),
                    ("task.dismiss", f"task:{tasks['customer']}", "error")]
    assert "customer left" in audit.text and ">console<" in audit.text
    assert 'id="no-audit"' in (await client.get("/console/audit", params={"actor": "nobody"})).text


async def test_a_dead_group_is_dismissed_at_once(client: AsyncTestClient, database_url: str) -> None:
    """"Dismiss all" of a dead group dismisses exactly the dead tasks of that queue and error."""
    _, one = await _customer(client, "grp-1")
    _, two = await _customer(client, "grp-2")
    _, three = await _customer(client, "grp-3")
    for found in (one, two):
        await set_task(database_url, found["customer"], status="dead", last_error="quota exceeded")
    await set_task(database_url, three["customer"], status="dead", last_error="quota exceeded, and more")
    await sign_in(client)
    done = await client.post("/console/problems/dismiss", data={
        "_csrf_token": await session_csrf(client), "provider": "volue", "error": "quota exceeded",
        "reason": "the old quota"})
    assert done.status_code == 303 and "2 dead task(s) of volue dismissed" in notice_of(done)
    dead = (await client.get("/v1/sync/tasks", params={"status": "dead"})).json()["items"]
    assert [t["id"] for t in dead] == [three["customer"]]
    trail = (await client.get("/v1/audit", params={"action": "task.dismiss_many"})).json()["items"]
    assert trail[0]["via"] == "console" and "the old quota" in trail[0]["detail"]
