"""Dismissing dead and blocked tasks, and the audit trail of ops actions at ``GET /v1/audit``."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient

from gateway.http.apikeys import Scope
from tests.integration.test_api_auth import add_key
from tests.integration.test_console import SITE, set_task


async def _tasks(client: AsyncTestClient, entity_id: str) -> list[dict[str, Any]]:
    return (await client.get("/v1/sync/tasks", params={"entityId": entity_id})).json()["items"]  # type: ignore[no-any-return]


async def _dead_with_a_blocked_child(client: AsyncTestClient, database_url: str, ref: str) -> tuple[str, str]:
    """A customer whose Volue task is dead and its site's Volue task blocked behind it."""
    created = (await client.post("/v1/customers", json={
        "externalRef": ref, "name": "Kari", "email": "kari@example.com",
        "sites": [{**SITE, "externalRef": f"{ref}-s", "devices": []}]})).json()
    site_id = (await client.get(f"/v1/customers/{created['id']}/sites")).json()["items"][0]["id"]
    parent = next(t for t in await _tasks(client, created["id"]) if t["provider"] == "volue")
    child = next(t for t in await _tasks(client, site_id) if t["provider"] == "volue")
    await set_task(database_url, parent["id"], status="dead", last_error="user refused")
    await set_task(database_url, child["id"], status="blocked", blocked_by=parent["id"],
                   last_error="waits on a dead task")
    return parent["id"], child["id"]


async def test_a_dismissed_dead_task_takes_what_waits_on_it_and_is_in_the_audit_trail(
        client: AsyncTestClient, database_url: str) -> None:
    """Dismissing a dead task with a reason dismisses the task blocked behind it too; neither is
    dead or blocked any more; one without a reason (400) and a second dismissal (409) are refused;
    every attempt is audited, with the key, the reason or the error."""
    parent, child = await _dead_with_a_blocked_child(client, database_url, "dis-1")
    no_reason = await client.post(f"/v1/sync/tasks/{parent}/dismiss", json={"reason": "  "})
    assert no_reason.status_code == 400 and no_reason.json()["field"] == "reason"
    done = await client.post(f"/v1/sync/tasks/{parent}/dismiss", json={"reason": "customer left Volue"})
    assert done.status_code == 200, done.text
    body = done.json()
    assert (body["taskId"], body["previousStatus"], body["reason"], body["alsoDismissed"]) == (
        parent, "dead", "customer left Volue", [child])
    assert body["dismissedBy"] == "admin"
    dismissed = (await client.get("/v1/sync/tasks", params={"status": "dismissed"})).json()["items"]
    assert {t["id"] for t in dismissed} == {parent, child}
    for status in ("dead", "blocked"):
        assert not (await client.get("/v1/sync/tasks", params={"status": status})).json()["items"]
    again = await client.post(f"/v1/sync/tasks/{parent}/dismiss", json={"reason": "again"})
    assert again.status_code == 409
    trail = (await client.get("/v1/audit", params={"action": "task.dismiss"})).json()["items"]
    assert [(e["result"], e["target"], e["actorId"], e["via"]) for e in trail] == [
        ("error", f"task:{parent}", "admin", "api"), ("ok", f"task:{parent}", "admin", "api"),
        ("error", f"task:{parent}", "admin", "api")]
    assert "customer left Volue" in trail[1]["detail"] and "1 waiting task(s)" in trail[1]["detail"]
    assert "only dead or blocked tasks" in trail[0]["detail"]
    assert "say why" in trail[2]["detail"]


async def test_the_audit_trail_filters_pages_and_needs_the_ops_scope(client: AsyncTestClient,
                                                                     database_url: str) -> None:
    """Retries and resyncs are audited; the trail filters by action, actor and target (a whole
    target or its id), pages newest first, and answers 403 to a key without ``ops``."""
    parent, _ = await _dead_with_a_blocked_child(client, database_url, "dis-2")
    assert (await client.post(f"/v1/sync/tasks/{parent}/retry")).status_code == 200
    assert (await client.post(f"/v1/sync/tasks/{parent}/retry")).status_code == 409
    customer = (await client.get("/v1/customers", params={"externalRef": "dis-2"})).json()["items"][0]
    resync = await client.post("/v1/sync/resync", json={"entityType": "customer", "entityId": customer["id"]})
    assert resync.status_code == 202
    everything = (await client.get("/v1/audit")).json()["items"]
    assert [(e["action"], e["result"]) for e in everything] == [
        ("record.resync", "ok"), ("task.retry", "error"), ("task.retry", "ok")]
    by_target = (await client.get("/v1/audit", params={"target": parent})).json()["items"]
    assert [e["result"] for e in by_target] == ["error", "ok"]
    whole = (await client.get("/v1/audit", params={"target": f"customer:{customer['id']}"})).json()["items"]
    assert [e["action"] for e in whole] == ["record.resync"]
    assert len((await client.get("/v1/audit", params={"actor": "admin"})).json()["items"]) == 3
    assert not (await client.get("/v1/audit", params={"actor": "someone-else"})).json()["items"]
    first = (await client.get("/v1/audit", params={"limit": 2})).json()
    rest = (await client.get("/v1/audit", params={"limit": 2, "cursor": first["nextCursor"]})).json()
    assert [e["id"] for e in first["items"] + rest["items"]] == [e["id"] for e in everything]
    assert rest["nextCursor"] is None
    reader = await add_key(database_url, Scope.CUSTOMERS_READ.value)
    refused = await client.get("/v1/audit", headers={"Authorization": f"Bearer {reader}"})
    assert refused.status_code == 403


async def test_circuits_without_a_worker_say_where_they_could_not_be_read(client: AsyncTestClient) -> None:
    """An API process with no worker and no shared store names each provider's circuit unknown."""
    circuits = (await client.get("/v1/sync/circuits")).json()["circuits"]
    states = {name: c["state"] for name, c in circuits.items()}
    assert states == {"volue": "unknown", "zaehlerfreunde": "unknown"}


async def test_invites_and_programme_changes_through_the_api_are_audited(client: AsyncTestClient) -> None:
    """An invite and a Volue enrollment sent through the API are in the trail with what they did."""
    created = (await client.post("/v1/customers", json={
        "externalRef": "aud-inv", "name": "Kari", "email": "kari@example.com",
        "sites": [{**SITE, "externalRef": "aud-inv-s", "devices": []}]})).json()
    site_id = (await client.get(f"/v1/customers/{created['id']}/sites")).json()["items"][0]["id"]
    assert (await client.post(f"/v1/sites/{site_id}/invites", json={})).status_code == 202
    enrolled = await client.put(f"/v1/customers/{created['id']}/programmes/volue", json={})
    assert enrolled.status_code == 202, enrolled.text
    trail = {e["action"]: e for e in (await client.get("/v1/audit")).json()["items"]}
    assert trail["invite.send"]["target"] == f"site:{site_id}"
    assert trail["invite.send"]["detail"] == "kari@example.com: pending"
    assert trail["programme.enroll"]["target"] == f"customer:{created['id']}"
    assert trail["programme.enroll"]["detail"] == "membership pending"


async def test_a_replayed_request_adds_no_second_entry(client: AsyncTestClient, database_url: str) -> None:
    """A dismissal sent twice with one Idempotency-Key is done and audited once; the copy replays."""
    parent, _ = await _dead_with_a_blocked_child(client, database_url, "dis-3")
    headers = {"Idempotency-Key": "dismiss-dis-3"}
    first = await client.post(f"/v1/sync/tasks/{parent}/dismiss", json={"reason": "gone"}, headers=headers)
    again = await client.post(f"/v1/sync/tasks/{parent}/dismiss", json={"reason": "gone"}, headers=headers)
    assert first.status_code == again.status_code == 200 and first.json() == again.json()
    trail = (await client.get("/v1/audit", params={"target": parent})).json()["items"]
    assert [(e["action"], e["result"]) for e in trail] == [("task.dismiss", "ok")]
