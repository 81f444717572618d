"""Invites to a site's Zählerfreunde space: sent by the worker once, link stored, idempotent."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient

from tests.integration.test_sync_faults import _tree
from tests.support import eventually


async def _site(client: AsyncTestClient, n: int, providers: list[str] | None = None) -> dict[str, Any]:
    body = _tree(n)
    if providers is not None:
        body["providers"] = providers
    customer = (await client.post("/v1/customers", json=body)).json()
    return (await client.get(f"/v1/customers/{customer['id']}/sites")).json()["items"][0]


async def _wait_sent(client: AsyncTestClient, invite_id: str, timeout: float = 30.0) -> dict[str, Any]:
    async def sent() -> dict[str, Any] | None:
        body: dict[str, Any] = (await client.get(f"/v1/invites/{invite_id}")).json()
        return body if body["status"] != "pending" else None

    return await eventually(sent, what=f"invite {invite_id} sent", timeout=timeout)


async def test_invite_is_sent_once_and_reinvites_are_idempotent_unless_forced(
    live_client: AsyncTestClient, emulators: dict[str, Any]
) -> None:
    """The worker stores the link; the same email again is the same invite; force sends a new one."""
    site = await _site(live_client, 1)
    path = f"/v1/sites/{site['id']}/invites"
    first = await live_client.post(path, json={})
    assert first.status_code == 202, first.text
    invite = first.json()
    assert invite["status"] == "pending" and invite["email"] == "kari@example.com"
    sent = await _wait_sent(live_client, invite["id"])
    assert sent["status"] == "sent" and sent["inviteLink"].startswith("https://")
    zf = emulators["zf"].state.zaehlerfreunde
    assert [(i.user_email, i.link) for i in zf.invites.values()] == [("kari@example.com", sent["inviteLink"])]
    again = await live_client.post(path, json={"email": "Kari@Example.com"})
    assert again.status_code == 200 and again.json()["id"] == invite["id"]
    forced = await live_client.post(path, json={"force": True, "sendEmail": False})
    assert forced.status_code == 202 and forced.json()["id"] != invite["id"]
    other = await live_client.post(path, json={"email": "ola@example.com"})
    assert other.status_code == 202
    for new in (forced.json(), other.json()):
        assert (await _wait_sent(live_client, new["id"]))["status"] == "sent"
    assert len(zf.invites) == 3
    assert {i.send_email for i in zf.invites.values()} == {True, False}


async def test_pending_reinvite_is_the_same_invite_and_rules_are_checked(client: AsyncTestClient) -> None:
    """Without a worker a second invite returns the pending one; unknown sites 404, non-enrolled 409."""
    site = await _site(client, 2)
    path = f"/v1/sites/{site['id']}/invites"
    first = (await client.post(path, json={"email": "a@example.com"})).json()
    second = await client.post(path, json={"email": "a@example.com"})
    assert second.status_code == 200 and second.json()["id"] == first["id"]
    assert second.json()["status"] == "pending"
    assert (await client.post("/v1/sites/nope/invites", json={})).status_code == 404
    volue_only = await _site(client, 3, providers=["volue"])
    refused = await client.post(f"/v1/sites/{volue_only['id']}/invites", json={})
    assert refused.status_code == 409
    bad = await client.post(path, json={"email": "not-an-email"})
    assert bad.status_code == 400 and bad.json()["field"] == "email"
    assert (await client.get("/v1/invites/nope")).status_code == 404
