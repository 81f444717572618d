"""``/schema`` in a real headless Chromium: Swagger UI renders the OpenAPI 3.1 document from
assets the gateway serves itself, and a request tried from the page is answered."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.app import create_app
from gateway.core.settings import load_settings
from providers.emulation import serve_in_thread
from tests.conftest import ADMIN_KEY

pytestmark = pytest.mark.browser


@pytest.fixture
def gateway_url(sqlite_url: str) -> Iterator[str]:
    """The gateway (SQLite, no worker) on a loopback port."""
    settings = load_settings({}, database_url=sqlite_url, admin_api_key=ADMIN_KEY)
    with serve_in_thread(create_app(settings, embedded_worker=False)) as url:
        yield url


def test_schema_renders_operations_and_a_tried_request_answers(browser: Any, gateway_url: str,
                                                               shots: Path) -> None:
    """/schema lists at least 40 operations, loads nothing from elsewhere, and "Try it out" gets a 200."""
    page = browser.new_page()
    foreign: list[str] = []
    page.on("request", lambda request: foreign.append(request.url)
            if not request.url.startswith((gateway_url, "data:")) else None)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{gateway_url}/schema")
    page.wait_for_selector(".opblock-summary", timeout=30_000)
    assert page.locator(".opblock").count() >= 40
    assert not page.locator("text=Unable to render this definition").count()
    assert "3.1" in page.locator(".info .version-stamp, .info").first.inner_text()

    page.get_by_role("button", name="Authorize").first.click()
    page.locator(".modal-ux input[type=text], .modal-ux input[type=password]").first.fill(ADMIN_KEY)
    page.locator(".modal-ux button.authorize").click()
    page.locator(".modal-ux button.btn-done").click()

    operation = page.locator(".opblock-get").filter(
        has=page.locator(".opblock-summary-path[data-path='/v1/customers']"))
    operation.locator(".opblock-summary").click()
    operation.locator("button.try-out__btn").click()
    operation.locator("button.execute").click()
    status = operation.locator(".live-responses-table tr.response .response-col_status").first
    status.wait_for(timeout=30_000)
    page.screenshot(path=str(shots / "schema.png"))
    assert status.inner_text().strip() == "200"
    assert '"items"' in operation.locator(".live-responses-table .microlight").first.inner_text()
    assert foreign == [], f"requests outside the gateway: {foreign}"
    assert errors == []
    page.close()
