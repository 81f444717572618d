"""Old call history, finished tasks and Volue events are pruned; open and dead work is kept."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from msgspec.structs import replace
from sqlalchemy import func, select

from gateway.bootstrap import build_adapters
from gateway.core.clock import utcnow
from gateway.core.domain import Provider
from gateway.core.settings import Settings
from gateway.events.poll import reconcile
from gateway.outbox.retention import prune, prune_events
from gateway.store.db import create_engine, session_factory
from gateway.store.event_tables import (
    VolueEventRow,
    VolueEventTargetRow,
    VolueNotificationRow,
    WebhookDeliveryRow,
    WebhookSubscriptionRow,
)
from gateway.store.tables import OutboxTaskRow, UpstreamCallRow


def _task(task_id: str, status: str, age_s: float) -> OutboxTaskRow:
    at = utcnow() - timedelta(seconds=age_s)
    return OutboxTaskRow(id=task_id, provider="volue", entity_type="customer", entity_id="e",
                         customer_id="c", action="upsert", status=status, attempts=1, run_after=at,
                         created_at=at, updated_at=at)


def _call(age_s: float) -> UpstreamCallRow:
    return UpstreamCallRow(entity_id="e", entity_type="customer", customer_id="c", provider="volue",
                           task_id="t", method="POST", route="/users", status=201, latency_ms=3.0,
                           at=utcnow() - timedelta(seconds=age_s))


async def test_prune_keeps_recent_and_unfinished(settings: Settings) -> None:
    """Only calls and done/cancelled/superseded tasks older than the retention go."""
    engine = create_engine(settings.store.database_url)
    sessions = session_factory(engine)
    week = 7 * 86_400
    async with sessions() as session:
        session.add_all([_call(week + 60), _call(60)])
        for i, (status, age) in enumerate([("done", week + 60), ("done", 60), ("cancelled", week + 60),
                                           ("superseded", week + 60), ("dead", week + 60),
                                           ("pending", week + 60)]):
            session.add(_task(f"t{i}", status, age))
        await session.commit()
        calls, tasks = await prune(session, now=utcnow(), keep_s=week)
        assert (calls, tasks) == (1, 3)
        left = {t.status for (t,) in await session.exec(select(OutboxTaskRow))}  # type: ignore[call-overload]
        assert left == {"done", "dead", "pending"}
        count = (await session.exec(select(func.count()).select_from(UpstreamCallRow))).one()  # type: ignore[call-overload]
        assert count[0] == 1
    await engine.dispose()


async def test_old_events_go_with_their_targets_and_settled_deliveries(settings: Settings) -> None:
    """Events past the retention go with their targets, deliveries and notification ids; recent
    events and events with a delivery still pending stay."""
    engine = create_engine(settings.store.database_url)
    sessions = session_factory(engine)
    month, now = 30 * 86_400, utcnow()
    old = now - timedelta(seconds=month + 60)
    async with sessions() as session:
        session.add(WebhookSubscriptionRow(id="sub", url="http://127.0.0.1/hook", event_types=[],
                                           secret_sealed="x", created_at=old))
        for event_id, at, delivery in (("old", old, "delivered"), ("waiting", old, "retrying"),
                                       ("recent", now, "delivered")):
            session.add(VolueEventRow(id=event_id, volue_event_id=f"v-{event_id}", type="PriceCurveCreated",
                                      created_at=at, received_at=at, source="webhook", payload={}))
            session.add(VolueEventTargetRow(event_id=event_id, customer_id="c"))
            session.add(WebhookDeliveryRow(id=f"d-{event_id}", subscription_id="sub", event_id=event_id,
                                           status=delivery, created_at=at))
            session.add(VolueNotificationRow(notification_id=f"n-{event_id}", event_id=event_id,
                                             received_at=at))
        await session.commit()
        assert await prune_events(session, now=now, keep_s=month) == 1

        async def left(column: Any) -> set[str]:
            return set((await session.execute(select(column))).scalars())

        assert await left(VolueEventRow.id) == {"waiting", "recent"}
        assert await left(VolueEventTargetRow.event_id) == {"waiting", "recent"}
        assert await left(WebhookDeliveryRow.event_id) == {"waiting", "recent"}
        assert await left(VolueNotificationRow.notification_id) == {"n-recent"}
    await engine.dispose()


async def test_the_poll_does_not_store_events_beyond_the_retention(
    settings: Settings, emulators: dict[str, Any]
) -> None:
    """An event Volue still lists but created before the retention horizon is not stored (it
    would only be pruned again); within the horizon the same event is stored once."""
    settings = replace(
        settings,
        volue=replace(settings.volue, base_url=emulators["volue_url"] + "/energy-coordination/v1"),
        zf=replace(settings.zf, base_url=emulators["zf_url"] + "/partner"))
    engine = create_engine(settings.store.database_url)
    adapters = build_adapters(settings)
    source = adapters.event_source(Provider.VOLUE)
    try:
        async with httpx.AsyncClient(base_url=emulators["volue_url"]) as volue:
            token = (await volue.post("/connect/token", data={
                "grant_type": "client_credentials", "client_id": "volue-emulator",
                "client_secret": "volue-emulator-secret"})).json()["access_token"]
            simulated = await volue.post("/energy-coordination/v1/simulation/events/usereligibility",
                                         json={}, headers={"Authorization": f"Bearer {token}"})
            assert simulated.status_code == 200, simulated.text
        later = utcnow() + timedelta(seconds=settings.events.retention_s + 3600)
        beyond = await reconcile(sessions=session_factory(engine), source=source,
                                 settings=settings, now=later)
        assert beyond.stored == 0 and beyond.pages == 1
        within = await reconcile(sessions=session_factory(engine), source=source,
                                 settings=settings)
        assert within.stored == 1
    finally:
        await adapters.aclose()
        await engine.dispose()
