"""The ops console in a real headless Chromium: sign in, find a customer and its tree, retry a
dead task, compare and repair a provider's drift, onboard a CSV file (refused with line and
column, then fixed), sign out; requests without the session cookie or with a bad CSRF token
are refused, the session cookie is worthless after sign-out, and no page breaks its CSP."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import col

from gateway.store.db import create_engine, session_factory
from gateway.store.tables import OutboxTaskRow
from providers.zaehlerfreunde.schemas import UpdateSpace
from tests.browser.conftest import off_loop
from tests.conftest import ADMIN_KEY

pytestmark = pytest.mark.browser

SITE = {
    "externalRef": "b-s-1", "name": "Hytta", "kind": "residential",
    "address": {"line1": "Vei 1", "postcode": "9170", "city": "Longyearbyen", "country": "NO"},
    "coordinates": {"latitude": 78.22, "longitude": 15.63},
    "devices": [{"externalRef": "b-m-1", "kind": "meter", "name": "Main meter", "medium": "electricity",
                 "isMain": True, "meterPointId": "707057500012345678"}],
}
CUSTOMER = {"externalRef": "b-c-1", "name": "Kari Nordmann", "email": "kari@example.com", "sites": [SITE]}

HEADER = ("customer_ref,customer_name,customer_email,site_ref,site_name,site_kind,address_line1,postcode,"
          "city,country,latitude,longitude,meter_ref,meter_name,medium,meter_point_id,is_main\n")
ROW_1 = ("csv-1,Ola Nordmann,ola@example.com,csv-s-1,Hjem,residential,Vei 2,9170,Longyearbyen,NO,78.21,"
         "15.64,csv-m-1,Meter,electricity,707057500012345679,yes\n")
ROW_2 = ("csv-2,Per Hansen,{email},csv-s-2,Hytte,residential,Vei 3,9170,Longyearbyen,NO,78.23,15.62,"
         "csv-m-2,Meter,electricity,707057500012345680,yes\n")


def wait_for(check: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not in time")
        time.sleep(0.1)


def all_synced(api: httpx.Client, path: str) -> bool:
    sync = api.get(path).json()["sync"]
    return bool(sync) and all(v["status"] == "synced" for v in sync.values())


def mark_dead(database_url: str, task_id: str, error: str) -> None:
    """Dead-letter a finished task by hand, as a refusal would have."""
    async def run() -> None:
        engine = create_engine(database_url)
        try:
            async with session_factory(engine)() as session:
                await session.execute(update(OutboxTaskRow).where(col(OutboxTaskRow.id) == task_id)
                                      .values(status="dead", last_error=error))
                await session.commit()
        finally:
            await engine.dispose()

    off_loop(lambda: asyncio.run(run()))


def test_console_walkthrough(browser: Any, stack: dict[str, Any], shots: Path, tmp_path: Path) -> None:
    """An operator signs in, finds a customer's tree, reads a meter, retries a dead task, repairs a
    renamed space from the Drift page, onboards a file after fixing the row the console named by
    line and column, and signs out."""
    base = stack["url"]
    api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=10)
    created = api.post("/v1/customers", json=CUSTOMER)
    assert created.status_code == 201, created.text
    customer_id = created.json()["id"]
    site_id = api.get(f"/v1/customers/{customer_id}/sites").json()["items"][0]["id"]
    meter_id = api.get(f"/v1/sites/{site_id}/devices").json()["items"][0]["id"]
    wait_for(lambda: all_synced(api, f"/v1/devices/{meter_id}"), "the customer's tree synced")
    readings = [{"deviceId": meter_id, "obisCode": "1-1:1.8.0", "timestamp": 1_767_225_600 + 3600 * i,
                 "value": 1000.0 + 1.5 * i * i} for i in range(6)]
    assert api.post("/v1/readings", json={"readings": readings}).status_code == 202
    wait_for(lambda: all(r["delivery"]["status"] == "delivered" for r in api.get(
        f"/v1/devices/{meter_id}/readings").json()["items"]), "the readings delivered")

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    complaints: list[str] = []  # what Chromium reports, such as a refusal under the CSP
    page.on("console", lambda message: complaints.append(message.text)
            if message.type in ("error", "warning") else None)
    headers: list[dict[str, str]] = []
    page.on("response", lambda response: headers.append(response.headers)
            if response.url.startswith(base + "/console") else None)

    # signing in: a page without the cookie leads to the form, a wrong key is refused
    page.goto(f"{base}/console/customers")
    assert "/console/sign-in" in page.url
    page.fill("#apiKey", "not-a-key")
    page.click("button[type=submit]")
    assert "unknown or revoked" in page.inner_text(".error")
    page.screenshot(path=shots / "01-sign-in.png", full_page=True)
    page.fill("#apiKey", ADMIN_KEY)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/console/customers")

    # overview
    page.goto(f"{base}/console")
    health = page.inner_text("#provider-health")
    assert "volue" in health and "zaehlerfreunde" in health and "fetched" in health
    assert health.count("closed") == 2  # the embedded worker's circuits
    assert page.locator("svg.chart rect").count() > 2
    page.screenshot(path=shots / "02-overview.png", full_page=True)

    # customers: search, the tree with statuses and upstream ids, a resync and an invite
    page.click("nav >> text=Customers")
    page.fill("#q", "nordm")
    page.click("form.search button")
    page.click("#customer-results >> text=Kari Nordmann")
    page.wait_for_url(f"{base}/console/customers/{customer_id}")
    tree = page.inner_text("#tree")
    assert "Hytta" in tree and "Main meter" in tree and "synced" in tree
    assert site_id in tree  # Volue's location id is our site id
    page.screenshot(path=shots / "03-customer.png", full_page=True)
    page.click(f"li[data-id='{customer_id}'] >> .record >> button:has-text('Resync')")
    assert "queued again" in page.inner_text(".notice")
    page.fill("form.invite input[name=email]", "guest@example.com")
    page.click("form.invite button")
    assert "invite queued: guest@example.com" in page.inner_text(".notice")

    # a meter: its readings with delivery status and the consumption chart
    page.click(f"a[href='/console/devices/{meter_id}']")
    assert page.locator("#readings tbody tr").count() == 6
    assert page.inner_text("#delivery-counts").split() == ["delivered", "6"]
    assert page.locator("svg.chart rect[fill]").count() >= 5
    page.screenshot(path=shots / "04-meter.png", full_page=True)

    # problems: a dead task is listed under its error and retried from there
    user_task = api.get("/v1/sync/tasks",
                        params={"entityId": customer_id, "provider": "volue"}).json()["items"]
    wait_for(lambda: all(t["status"] == "done" for t in api.get(
        "/v1/sync/tasks", params={"entityId": customer_id}).json()["items"]), "the resync done")
    mark_dead(stack["database_url"], user_task[-1]["id"], "refused for the walkthrough")
    page.click("nav >> text=Problems")
    assert "refused for the walkthrough" in page.inner_text("main")
    page.screenshot(path=shots / "05-failures.png", full_page=True)
    page.click(f"tr[data-task='{user_task[-1]['id']}'] >> button:has-text('Retry')")
    assert "queued again" in page.inner_text(".notice")
    wait_for(lambda: not api.get("/v1/sync/tasks",
                                 params={"entityId": customer_id, "status": "dead"}).json()["items"],
             "the retried task done")
    page.goto(f"{base}/console/problems")
    assert page.is_visible("#no-problems")

    # drift: a space renamed behind the gateway's back is listed with its field, and repaired
    space_id = api.get(f"/v1/sites/{site_id}").json()["sync"]["zaehlerfreunde"]["externalId"]
    spaces = stack["zf"].state.zaehlerfreunde
    spaces.update_space(space_id, UpdateSpace(name="Renamed upstream"))
    page.click("nav >> text=Drift")
    page.click(".drift-provider[data-provider=zaehlerfreunde] >> button:has-text('Compare')")
    row = page.locator(f"#drift-items tr[data-entity='{site_id}']")
    assert row.get_attribute("data-drift") == "differing"
    assert "name" in row.inner_text() and "Renamed upstream" in row.inner_text()
    page.screenshot(path=shots / "05b-drift.png", full_page=True)
    page.click(".drift-provider[data-provider=zaehlerfreunde] >> button:has-text('Repair')")
    page.check("#drift-confirm input[name=confirm]")  # the repair asks first
    page.click("#drift-confirm button:has-text('Repair zaehlerfreunde')")
    assert "Repair queued 1 outbox task(s)" in page.inner_text("#drift-repaired")
    wait_for(lambda: spaces.spaces[space_id].name == "Hytta", "the space repaired")

    # onboarding: a bad row is named by line and column; the fixed file is planned, run and followed
    bad = tmp_path / "customers.csv"
    bad.write_text(HEADER + ROW_1 + ROW_2.format(email="per-at-example.com"))
    page.click("nav >> text=Onboarding")
    page.set_input_files("#file", str(bad))
    page.click("button:has-text('Check')")
    problems = page.inner_text("#problems")
    assert "line 3" in problems and "column customer_email" in problems
    page.screenshot(path=shots / "06-onboarding-problems.png", full_page=True)
    fixed = tmp_path / "customers-fixed.csv"
    fixed.write_text(HEADER + ROW_1 + ROW_2.format(email="per@example.com"))
    page.set_input_files("#file", str(fixed))
    page.click("button:has-text('Check')")
    assert "2 new customer(s)" in page.inner_text("#plan-summary")
    page.screenshot(path=shots / "07-onboarding-plan.png", full_page=True)
    page.click("#run")
    page.wait_for_url(f"{base}/console/onboarding/progress*")
    # (a locator, not a script: the CSP allows no script that evaluates strings)
    page.locator("#progress-summary", has_text="All 2 customer(s) synced").wait_for(timeout=30_000)
    page.screenshot(path=shots / "08-onboarding-progress.png", full_page=True)
    onboarded = api.get("/v1/customers", params={"externalRef": "csv-2"}).json()["items"]
    assert onboarded[0]["email"] == "per@example.com"

    # refusals: a bad CSRF token with the cookie, and requests without it
    forged = page.request.post(f"{base}/console/resync", form={
        "_csrf_token": "forged", "entityType": "customer", "entityId": customer_id}, max_redirects=0)
    assert forged.status == 403 and forged.json()["field"] == "_csrf_token"
    stranger = browser.new_context()
    lost = stranger.new_page()
    lost.goto(f"{base}/console/failures")
    assert "/console/sign-in" in lost.url
    token = lost.get_attribute("input[name=_csrf_token]", "value")
    anonymous = stranger.request.post(f"{base}/console/tasks/{user_task[-1]['id']}/retry",
                                      form={"_csrf_token": token}, max_redirects=0)
    assert anonymous.status == 401
    stranger.close()

    # sign out: the cookie is gone and pages lead to the sign-in form again, even with the
    # cookie captured before
    captured = [c for c in context.cookies() if c["name"] == "gw_console"]
    assert captured and captured[0]["httpOnly"] and captured[0]["sameSite"] == "Strict"
    page.click("header button:has-text('Sign out')")
    page.wait_for_url(f"{base}/console/sign-in*")
    page.goto(f"{base}/console")
    assert "/console/sign-in" in page.url
    context.add_cookies(captured)
    page.goto(f"{base}/console/failures")
    assert "/console/sign-in" in page.url
    assert headers and all(h.get("x-frame-options") == "DENY" and h.get("cache-control") == "no-store"
                           and "frame-ancestors 'none'" in h.get("content-security-policy", "")
                           for h in headers)
    assert [text for text in complaints if "Content Security Policy" in text] == []
    page.screenshot(path=shots / "09-signed-out.png", full_page=True)
    assert any(url.endswith("/console/static/console.css") for url in requested)
    assert [url for url in requested if not url.startswith(base + "/")] == []  # every asset is the gateway's
    context.close()
    api.close()
