"""Fixtures of the browser suite: a headless Chromium (Debian's package, driven by Playwright),
the gateway served on loopback by uvicorn with its embedded worker, and both emulators.

The browser is ``GATEWAY_TEST_CHROMIUM`` (default ``/usr/bin/chromium``, where Debian's
``chromium`` package puts it); without it the suite is skipped, or fails when
``GATEWAY_TEST_REQUIRE_SERVICES=1``. Screenshots go to ``tests/browser/output/``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest

from gateway.app import create_app
from gateway.core.settings import load_settings
from gateway.store.migrate import upgrade
from providers.emulation import serve_in_thread
from providers.volue.emulator.app import create_app as volue_app
from providers.zaehlerfreunde.emulator.app import create_app as zf_app
from tests.conftest import ADMIN_KEY, REQUIRE_SERVICES

CHROMIUM = os.environ.get("GATEWAY_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
OUTPUT = Path(__file__).resolve().parent / "output"
T = TypeVar("T")


def off_loop(work: Callable[[], T]) -> T:
    """Run ``work`` in a thread of its own: Playwright's sync API keeps an event loop running
    in the test's thread, where ``asyncio.run`` (migrations, direct database writes) cannot."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(work).result()


def _unavailable(why: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"the browser suite needs Chromium (GATEWAY_TEST_REQUIRE_SERVICES=1) but {why}")
    pytest.skip(f"no browser: {why}")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless Chromium for the module."""
    if not Path(CHROMIUM).is_file():
        _unavailable(f"{CHROMIUM} does not exist (apt-get install chromium, or set GATEWAY_TEST_CHROMIUM)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        _unavailable(f"Playwright is not installed ({exc})")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@contextmanager
def serve_stack(folder: Path) -> Iterator[dict[str, Any]]:
    """Both emulators and the gateway (SQLite in ``folder``, embedded worker), each on a loopback port."""
    database_url = f"sqlite+aiosqlite:///{folder / 'gateway.db'}"
    off_loop(lambda: upgrade(database_url))
    volue, zf = volue_app(), zf_app()
    with serve_in_thread(volue) as volue_url, serve_in_thread(zf) as zf_url:
        settings = load_settings(
            {}, database_url=database_url, admin_api_key=ADMIN_KEY,
            volue_base_url=volue_url + "/energy-coordination/v1", zf_base_url=zf_url + "/partner",
            sync_backoff_base_s=0.05, sync_backoff_max_s=1.0,
        )
        with serve_in_thread(create_app(settings)) as gateway_url:
            yield {"url": gateway_url, "database_url": database_url, "volue": volue, "zf": zf}


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """Both emulators and the gateway for one test."""
    with serve_stack(tmp_path) as served:
        yield served


@pytest.fixture(scope="module")
def shared_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Both emulators and the gateway, shared by the tests of a module (they only read, or write
    records of their own)."""
    with serve_stack(tmp_path_factory.mktemp("stack")) as served:
        yield served


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Path:
    """The folder this test's screenshots go to."""
    folder = OUTPUT / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    return folder
