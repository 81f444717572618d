"""Every console page in headless Chromium: axe-core finds no serious or critical accessibility
violation, and at 375 px every header link is visible and nothing scrolls sideways.

``axe.min.js`` beside this file is axe-core 4.14.1 (Deque Systems, MPL-2.0, from the npm
package ``axe-core``), injected into each page by the test only: the console itself ships no
script. The pages are the navigation's (:data:`gateway.console.render.NAV`, so a new page is
checked as soon as it is linked) and the record pages reached from them.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.console.render import NAV
from gateway.store.db import create_engine, session_factory
from gateway.store.event_tables import (
    VolueEventRow,
    VolueEventTargetRow,
    WebhookDeliveryRow,
    WebhookSubscriptionRow,
)
from gateway.store.tables import ApiKeyRow
from tests.browser.conftest import off_loop
from tests.browser.test_console import CUSTOMER, SITE, all_synced, wait_for
from tests.conftest import ADMIN_KEY

pytestmark = pytest.mark.browser

METER = {"kind": "meter", "name": "Main meter", "medium": "electricity", "isMain": True,
         "meterPointId": "707057500012349999"}
AXE = Path(__file__).resolve().parent / "axe.min.js"
NARROW = {"width": 375, "height": 800}
RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.filter(v => v.impact === "serious" || v.impact === "critical").map(v =>
    `${v.id} (${v.impact}): ${v.help} -- ${v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(", ")}`);
}"""
LAYOUT = """() => ({
  width: document.documentElement.scrollWidth,
  hidden: [...document.querySelectorAll("header nav a, header button, header input:not([type=hidden])")]
  .filter(e => {
    const box = e.getBoundingClientRect();
    const style = getComputedStyle(e);
    return box.width === 0 || box.height === 0 || box.left < 0 || box.right > window.innerWidth
      || style.visibility === "hidden" || style.display === "none";
  }).map(e => e.textContent.trim() || e.outerHTML.slice(0, 60)),
  links: document.querySelectorAll("header nav a").length,
})"""


def add_rows(database_url: str, *rows: Any) -> None:
    async def run() -> None:
        engine = create_engine(database_url)
        try:
            async with session_factory(engine)() as session:
                for row in rows:
                    session.add(row)
                    await session.flush()
                await session.commit()
        finally:
            await engine.dispose()

    off_loop(lambda: asyncio.run(run()))


@pytest.fixture(scope="module")
def pages(shared_stack: dict[str, Any]) -> Iterator[list[str]]:
    """A synced customer, an event with a failed delivery and an API key; every page to check."""
    base = shared_stack["url"]
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=10) as api:
        meter = {**METER, "externalRef": "a11y-m-1"}
        body = {**CUSTOMER, "externalRef": "a11y-c-1",
                "sites": [{**SITE, "externalRef": "a11y-s-1", "devices": [meter]}]}
        created = api.post("/v1/customers", json=body)
        assert created.status_code == 201, created.text
        customer_id = created.json()["id"]
        site_id = api.get(f"/v1/customers/{customer_id}/sites").json()["items"][0]["id"]
        meter_id = api.get(f"/v1/sites/{site_id}/devices").json()["items"][0]["id"]
        wait_for(lambda: all_synced(api, f"/v1/devices/{meter_id}"), "the customer's tree synced")
        task_id = api.get("/v1/sync/tasks", params={"entityId": site_id}).json()["items"][0]["id"]
    now = datetime.now(UTC)
    event_id, subscription_id = str(uuid.uuid4()), str(uuid.uuid4())
    add_rows(shared_stack["database_url"],
             VolueEventRow(id=event_id, volue_event_id="a11y-ev", type="PriceCurveCreated", created_at=now,
                           received_at=now, source="webhook", payload={"curve": [1, 2]}),
             VolueEventTargetRow(event_id=event_id, customer_id=customer_id, site_id=site_id),
             WebhookSubscriptionRow(id=subscription_id, url="https://hooks.example.com/a-rather-long-path/in",
                                    event_types=[], description="billing", secret_sealed="sealed",
                                    created_at=now),
             ApiKeyRow(id=str(uuid.uuid4()), name="billing", prefix="0a11y0ke", key_hash="0" * 64,
                       scopes=["customers:read"], created_at=now),
             WebhookDeliveryRow(id=str(uuid.uuid4()), subscription_id=subscription_id, event_id=event_id,
                                status="failed", attempts=9, last_status=500, last_error="server error",
                                created_at=now))
    yield [*(path for _, _, path in NAV),
           f"/console/customers/{customer_id}", "/console/customers?problems=1",
           f"/console/devices/{meter_id}",
           f"/console/tasks/{task_id}", f"/console/search?q={site_id}", f"/console/events/{event_id}",
           f"/console/subscriptions/{subscription_id}"]


def shot_name(path: str) -> str:
    return path.strip("/").replace("/", "-").replace("?", "-").replace("=", "-")[:60]


def signed_in(browser: Any, base: str, **options: Any) -> Any:
    """A browser context signed in to the console (the page's CSP set aside so that the test may
    inject axe-core)."""
    context = browser.new_context(bypass_csp=True, **options)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{base}/console/sign-in")
    page.fill("#apiKey", ADMIN_KEY)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/console")
    return context, page


def test_axe_finds_no_serious_violation_on_any_console_page(browser: Any, shared_stack: dict[str, Any],
                                                            pages: list[str], shots: Path) -> None:
    """axe-core reports no serious or critical violation on the sign-in form and every console page."""
    base = shared_stack["url"]
    anonymous = browser.new_context(bypass_csp=True)
    form = anonymous.new_page()
    form.goto(f"{base}/console/sign-in")
    form.add_script_tag(path=str(AXE))
    found: dict[str, list[str]] = {"/console/sign-in": form.evaluate(RUN_AXE)}
    anonymous.close()
    context, page = signed_in(browser, base, viewport={"width": 1280, "height": 900})
    for path in pages:
        answer = page.goto(base + path)
        assert answer is not None and answer.status == 200, path
        page.add_script_tag(path=str(AXE))
        found[path] = page.evaluate(RUN_AXE)
        page.screenshot(path=shots / f"{len(found):02}-{shot_name(path)}.png", full_page=True)
    context.close()
    bad = [f"{path}: {violation}" for path, violations in found.items() for violation in violations]
    assert not bad, "\n".join(bad)


def test_at_375_px_every_header_link_shows_and_nothing_scrolls_sideways(
        browser: Any, shared_stack: dict[str, Any], pages: list[str], shots: Path) -> None:
    """On a 375 px wide screen each page keeps every header link and control on screen and is no wider
    than the screen (wide tables scroll inside their own box)."""
    base = shared_stack["url"]
    context, page = signed_in(browser, base, viewport=NARROW)
    measured: dict[str, Any] = {}
    for number, path in enumerate(pages):
        page.goto(base + path)
        measured[path] = layout = page.evaluate(LAYOUT)
        assert layout["links"] == len(NAV), path
        page.screenshot(path=shots / f"{number:02}-{shot_name(path)}.png", full_page=True)
    context.close()
    bad = [f"{path}: {m}" for path, m in measured.items() if m["width"] > NARROW["width"] or m["hidden"]]
    assert not bad, "\n".join(bad)


def test_the_skip_link_and_focus_are_visible_from_the_keyboard(browser: Any,
                                                               shared_stack: dict[str, Any]) -> None:
    """The first Tab shows the skip link, which moves focus to the page's content; focus is outlined."""
    base = shared_stack["url"]
    context, page = signed_in(browser, base, viewport=NARROW)
    page.goto(f"{base}/console/customers")
    page.keyboard.press("Tab")
    skip = page.locator("a.skip-link")
    assert skip.evaluate("e => e === document.activeElement")
    box = skip.bounding_box()
    assert box is not None and box["y"] >= 0  # on screen once focused
    assert skip.evaluate("e => getComputedStyle(e).outlineStyle") != "none"
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"
    context.close()


def test_the_customer_page_shows_the_upstream_calls_with_their_bodies(
        browser: Any, shared_stack: dict[str, Any], pages: list[str], shots: Path) -> None:
    """The synced customer's page lists the calls its sync made; a call's folded bodies open to the
    JSON sent and answered, and no token shows."""
    base = shared_stack["url"]
    customer_page = next(path for path in pages if path.startswith("/console/customers/"))
    context, page = signed_in(browser, base, viewport={"width": 1280, "height": 900})
    page.goto(base + customer_page)
    calls = page.locator("#sync-history tbody tr")
    assert calls.count() >= 4  # a token and a create at each provider, at least
    def call(operation: str) -> Any:
        return page.locator("#sync-history tbody tr").filter(
            has=page.get_by_text(operation, exact=True)).first

    create = call("POST /users")
    assert "201" in create.inner_text() or "200" in create.inner_text()
    create.locator("summary", has_text="request body").click()
    sent = create.locator("details.body pre").first.inner_text()
    assert f'"userId": "{customer_page.rsplit("/", 1)[-1]}"' in sent  # Volue's user id is ours
    create.locator("summary", has_text="response body").click()
    assert create.locator("details.body pre").last.is_visible()
    history = page.locator("#sync-history").text_content() or ""  # folded bodies included
    assert set(re.findall(r'"access_token": "([^"]*)"', history)) <= {"[redacted]"}
    page.screenshot(path=shots / "customer-sync-history.png", full_page=True)
    context.close()
