"""Startup objects are kept from the cyclic collector only while a process serves."""

from __future__ import annotations

import gc

from litestar.testing import AsyncTestClient

from gateway.app import create_app
from gateway.core.heap import startup_objects_frozen
from gateway.core.settings import load_settings


def test_the_block_freezes_what_is_alive_and_hands_it_back() -> None:
    """Inside the block the objects alive at its start are frozen; after it, none are."""
    gc.unfreeze()
    with startup_objects_frozen():
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0


async def test_the_app_freezes_its_startup_objects_while_it_serves(sqlite_url: str) -> None:
    """Between startup and shutdown the API process's startup heap is frozen, then released."""
    gc.unfreeze()
    app = create_app(load_settings({}, database_url=sqlite_url, admin_api_key="k"), embedded_worker=False)
    async with AsyncTestClient(app) as client:
        assert (await client.get("/health/live")).status_code == 200
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0
