"""The Problems page in a real headless Chromium: a provider outage shows there by itself (no
reload), and a dead task dismissed there with a reason is found in the audit trail."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from providers.emulation.faults import FaultPlan
from tests.browser.test_console import CUSTOMER, all_synced, mark_dead, wait_for
from tests.browser.test_console_layout import AXE, LAYOUT, NARROW, RUN_AXE, signed_in
from tests.conftest import ADMIN_KEY

pytestmark = pytest.mark.browser


def _signed_in(browser: Any, base: str) -> tuple[Any, Any, list[str]]:
    """A page signed in as the admin key, and the pages its main frame loaded."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{base}/console/sign-in")
    page.fill("#apiKey", ADMIN_KEY)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/console")
    loaded: list[str] = []
    page.on("framenavigated", lambda frame: loaded.append(frame.url) if frame == page.main_frame else None)
    return context, page, loaded


def test_a_provider_outage_shows_in_problems_within_ten_seconds_without_a_reload(
        browser: Any, stack: dict[str, Any], shots: Path) -> None:
    """Volue answers every request 503 while customers are created: the open page shows Volue's
    circuit open (with the failure and the next probe) and the retrying tasks within 10 s,
    by its own polling; the page is never loaded again."""
    base = stack["url"]
    context, page, loaded = _signed_in(browser, base)
    page.goto(f"{base}/console/problems")
    circuit = page.locator("tr.circuit[data-provider=volue]")
    assert circuit.get_attribute("data-state") == "closed"
    loaded.clear()

    stack["volue"].state.emulation.set_faults(FaultPlan(error_rate=1.0, error_statuses=[503]))
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=10) as api:
        for i in range(6):
            body = {**CUSTOMER, "externalRef": f"outage-{i}", "providers": ["volue"],
                    "sites": []}
            assert api.post("/v1/customers", json=body).status_code == 201
    started = time.monotonic()
    page.locator("tr.circuit[data-provider=volue][data-state=open]").wait_for(timeout=10_000)
    shown_after = time.monotonic() - started
    assert shown_after < 10
    row = page.inner_text("tr.circuit[data-provider=volue]")
    assert "503" in row and "open" in row
    retrying = page.locator("section.group[data-kind=retrying][data-provider=volue]").first
    retrying.wait_for(timeout=10_000)
    assert "Held back while volue's circuit is open" in retrying.inner_text()
    assert loaded == []  # the page was not loaded again: its list updated itself
    page.screenshot(path=shots / "problems-outage.png", full_page=True)
    stack["volue"].state.emulation.set_faults(FaultPlan())
    context.close()


def test_a_dead_task_dismissed_with_a_reason_is_in_the_audit_trail(
        browser: Any, stack: dict[str, Any], shots: Path) -> None:
    """A dead task is listed on Problems; dismissed there with a reason it leaves the page, and
    the Audit page shows who dismissed which task, why, and that it went through."""
    base = stack["url"]
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=10) as api:
        body = {**CUSTOMER, "externalRef": "dismiss-1", "sites": []}
        customer_id = api.post("/v1/customers", json=body).json()["id"]
        wait_for(lambda: all_synced(api, f"/v1/customers/{customer_id}"), "the customer synced")
        task_id = api.get("/v1/sync/tasks", params={"entityId": customer_id,
                                                    "provider": "volue"}).json()["items"][0]["id"]
        mark_dead(stack["database_url"], task_id, "enrollment of a customer who left")
        context, page, _ = _signed_in(browser, base)
        page.click("nav >> text=Problems")
        row = page.locator(f"tr[data-task='{task_id}']")
        assert "enrollment of a customer who left" in page.inner_text("section.group[data-kind=dead]")
        row.locator("details.dismiss summary").click()
        row.locator("input[name=reason]").fill("obsolete: the customer left before it ran")
        row.locator("button:has-text('Dismiss')").click()
        assert f"task {task_id} dismissed" in page.inner_text(".notice")
        assert page.locator(f"tr[data-task='{task_id}']").count() == 0
        tasks = api.get("/v1/sync/tasks", params={"entityId": customer_id, "provider": "volue"}).json()
        assert tasks["items"][0]["status"] == "dismissed"
        page.click("nav >> text=Audit")
        entry = page.locator(f"#audit-entries tr[data-action='task.dismiss'][data-target='task:{task_id}']")
        text = entry.inner_text()
        assert "obsolete: the customer left before it ran" in text and "admin" in text and "console" in text
        assert entry.get_attribute("data-result") == "ok"
        page.screenshot(path=shots / "audit.png", full_page=True)
        context.close()


def test_ops_pages_with_content_pass_axe_and_fit_375_px(browser: Any, stack: dict[str, Any]) -> None:
    """Problems with a dead and a blocked task (their retry and dismiss forms), a repair's
    confirmation, a kept drift result and an audit entry: axe-core finds no serious or critical
    violation, and at 375 px no page is wider than the screen."""
    base = stack["url"]
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=10) as api:
        customer_id = api.post("/v1/customers", json={**CUSTOMER, "externalRef": "axe-1"}).json()["id"]
        site_id = api.get(f"/v1/customers/{customer_id}/sites").json()["items"][0]["id"]
        wait_for(lambda: all_synced(api, f"/v1/sites/{site_id}"), "the site synced")
        tasks = api.get("/v1/sync/tasks", params={"provider": "volue"}).json()["items"]
        mark_dead(stack["database_url"], tasks[-1]["id"], "refused for the check")
        mark_dead(stack["database_url"], tasks[0]["id"], "refused too")
        assert api.post(f"/v1/sync/tasks/{tasks[0]['id']}/dismiss", json={"reason": "for the audit page"}
                        ).status_code == 200
    paths = ["/console/problems", "/console/drift/repair?provider=zaehlerfreunde", "/console/audit"]
    context, page = signed_in(browser, base, viewport={"width": 1280, "height": 900})
    page.goto(f"{base}/console/drift")
    page.click(".drift-provider[data-provider=zaehlerfreunde] >> button:has-text('Compare')")
    run_id = page.locator("tr.drift-run").first.get_attribute("data-run")
    paths.append(f"/console/drift?run={run_id}")
    found: dict[str, list[str]] = {}
    for path in paths:
        answer = page.goto(base + path)
        assert answer is not None and answer.status == 200, path
        page.add_script_tag(path=str(AXE))
        found[path] = page.evaluate(RUN_AXE)
        if path == "/console/audit":
            assert page.locator("tr.audit-entry").count() >= 1
        if path == "/console/problems":
            assert page.locator("details.dismiss").count() >= 2
    context.close()
    assert not [f"{path}: {v}" for path, violations in found.items() for v in violations]
    context, page = signed_in(browser, base, viewport=NARROW)
    widths = {}
    for path in paths:
        page.goto(base + path)
        widths[path] = page.evaluate(LAYOUT)["width"]
    context.close()
    assert all(width <= NARROW["width"] for width in widths.values()), widths
