"""An emulator's injected errors can be narrowed to chosen statuses (a provider that is down)."""

from __future__ import annotations

import httpx

from providers.volue.emulator.app import API_PREFIX
from tests.contract.volue.conftest import Emulator


def test_error_statuses_pick_the_injected_status(emulator: Emulator) -> None:
    """With errorRate 1 and errorStatuses [503] every API request is answered 503."""
    plan = {"errorRate": 1.0, "errorStatuses": [503], "seed": 3}
    assert httpx.put(f"{emulator.base_url}/_emulator/faults", json=plan).status_code == 200
    headers = {"authorization": f"Bearer {emulator.token()}"}
    with httpx.Client(base_url=emulator.base_url + API_PREFIX, headers=headers) as client:
        codes = {client.get("/users").status_code for _ in range(20)}
    assert codes == {503}


def test_error_statuses_outside_5xx_are_refused(emulator: Emulator) -> None:
    """A fault plan naming a non-5xx error status is refused with 400 naming errorStatuses."""
    response = httpx.put(f"{emulator.base_url}/_emulator/faults",
                         json={"errorRate": 1.0, "errorStatuses": [404]})
    assert response.status_code == 400
    assert "errorStatuses" in response.text
