"""Volue notifications are accepted only while fresh (``GATEWAY_VOLUE_WEBHOOK_MAX_AGE_S`` by their
``notificationSentUtc``), and their ids are kept at least as long, so a captured notification
is a duplicate within the window and refused after it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import msgspec
import pytest
from litestar.testing import AsyncTestClient
from msgspec.structs import replace
from sqlalchemy import select

from gateway.app import create_app
from gateway.core.clock import utcnow
from gateway.core.settings import SettingsError, load_settings
from gateway.events.receiver import AHEAD_TOLERANCE_S, staleness
from gateway.outbox.retention import NOTIFICATION_MARGIN_S, prune_all
from gateway.store.db import create_engine, session_factory
from gateway.store.event_tables import VolueNotificationRow
from providers.volue import schemas as vs
from providers.volue.webhooks import sign
from tests.conftest import ADMIN_KEY
from tests.integration.test_volue_webhook_receiver import KEY, VECTOR_NAMES, _vector

SECRET = "freshness-secret"
URL = "/v1/providers/volue/webhook"


def _signed(sent: datetime, notification_id: str = "n-1") -> tuple[bytes, dict[str, str]]:
    note = vs.EventNotification(
        notification_id=notification_id, event_id=f"ev-{notification_id}", event_created_at_utc=sent,
        notification_sent_utc=sent, notification_type=vs.NotificationType.USER_ELIGIBILITY_UPDATED,
        payload=vs.UserEligibilityPayload(last_updated=sent, added_users=["u"], removed_users=[]))
    body = msgspec.json.encode(note)
    return body, {"x-payload-signature": sign(body, SECRET), "content-type": "application/json"}


@pytest.fixture
async def receiver(sqlite_url: str) -> AsyncIterator[AsyncTestClient]:
    """The API with the default freshness window (a day), the webhook secret set."""
    settings = load_settings({}, database_url=sqlite_url, admin_api_key=ADMIN_KEY,
                             volue_webhook_secret=SECRET)
    assert settings.volue.webhook_max_age_s == 86_400
    async with AsyncTestClient(create_app(settings, embedded_worker=False)) as client:
        client.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
        yield client


async def _events(client: AsyncTestClient) -> list[Any]:
    return list((await client.get("/v1/events")).json()["items"])


async def test_a_fresh_notification_is_stored_and_its_replay_is_a_duplicate(
    receiver: AsyncTestClient,
) -> None:
    """Within the window a notification is accepted once, and sent again it is a duplicate."""
    body, headers = _signed(utcnow() - timedelta(hours=23))
    first = await receiver.post(URL, content=body, headers=headers)
    again = await receiver.post(URL, content=body, headers=headers)
    assert first.status_code == 200 and first.json()["duplicate"] is False, first.text
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert len(await _events(receiver)) == 1


@pytest.mark.parametrize("offset", [timedelta(days=1, minutes=1), timedelta(days=400),
                                    -timedelta(seconds=AHEAD_TOLERANCE_S + 60)])
async def test_a_stale_or_future_notification_is_a_400_naming_its_timestamp(
    receiver: AsyncTestClient, offset: timedelta
) -> None:
    """Signed notifications sent before the window or well ahead of our clock are refused, not stored."""
    body, headers = _signed(utcnow() - offset)
    response = await receiver.post(URL, content=body, headers=headers)
    assert response.status_code == 400, response.text
    assert response.json()["field"] == "notificationSentUtc"
    assert await _events(receiver) == []


async def test_a_notification_a_little_ahead_of_our_clock_is_accepted(receiver: AsyncTestClient) -> None:
    """Clock skew within the tolerance does not refuse a notification."""
    body, headers = _signed(utcnow() + timedelta(seconds=AHEAD_TOLERANCE_S / 2))
    assert (await receiver.post(URL, content=body, headers=headers)).status_code == 200


@pytest.mark.parametrize("name", VECTOR_NAMES)
async def test_the_published_vectors_from_2000_are_stale_under_the_default_window(
    sqlite_url: str, name: str
) -> None:
    """Volue's signed vectors verify but, sent in 2000, are refused as stale by default."""
    body, signature = _vector(name)
    settings = load_settings({}, database_url=sqlite_url, admin_api_key=ADMIN_KEY, volue_webhook_secret=KEY)
    async with AsyncTestClient(create_app(settings, embedded_worker=False)) as client:
        response = await client.post(URL, content=body, headers={"x-payload-signature": signature,
                                                                 "content-type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.json()["field"] == "notificationSentUtc"
    assert "2000-01-01" in response.json()["detail"]


def test_the_window_is_read_from_the_environment_and_must_be_positive() -> None:
    """GATEWAY_VOLUE_WEBHOOK_MAX_AGE_S sets the window; zero is refused naming the variable."""
    assert load_settings({"GATEWAY_VOLUE_WEBHOOK_MAX_AGE_S": "3600"}).volue.webhook_max_age_s == 3600
    with pytest.raises(SettingsError, match="GATEWAY_VOLUE_WEBHOOK_MAX_AGE_S"):
        load_settings({"GATEWAY_VOLUE_WEBHOOK_MAX_AGE_S": "0"})


def test_staleness_bounds() -> None:
    """The window's edges: at the max age still fresh, just past it stale; ahead by the tolerance fresh."""
    now = utcnow()
    assert staleness(now - timedelta(seconds=100), now=now, max_age_s=100) is None
    assert staleness(now - timedelta(seconds=101), now=now, max_age_s=100) is not None
    assert staleness(now + timedelta(seconds=AHEAD_TOLERANCE_S), now=now, max_age_s=100) is None
    assert staleness(now.replace(tzinfo=None), now=now, max_age_s=100) is None


async def test_notification_ids_outlive_the_window_even_past_the_events_retention(database_url: str) -> None:
    """With a window longer than the events' retention, notification ids are kept for the window
    (and a margin above the clock-skew tolerance); ids older than that are pruned."""
    settings = load_settings({}, database_url=database_url, admin_api_key=ADMIN_KEY,
                             events_retention_s=2 * 86_400, volue_webhook_max_age_s=5 * 86_400)
    assert NOTIFICATION_MARGIN_S > AHEAD_TOLERANCE_S
    now = utcnow()
    engine = create_engine(database_url)
    sessions = session_factory(engine)
    try:
        async with sessions() as session:
            for name, age in (("inside", timedelta(days=5)), ("past", timedelta(days=5, hours=2))):
                session.add(VolueNotificationRow(notification_id=name, event_id=name, received_at=now - age))
            await session.commit()
        await prune_all(sessions, settings, now=now)
        async with sessions() as session:
            left = set((await session.execute(select(VolueNotificationRow.notification_id))).scalars())
        assert left == {"inside"}
        await prune_all(sessions, replace(settings, volue=replace(settings.volue, webhook_max_age_s=3600.0)),
                        now=now)
        async with sessions() as session:
            left = set((await session.execute(select(VolueNotificationRow.notification_id))).scalars())
        assert left == set()  # a short window: the events' retention (2 days) governs
    finally:
        await engine.dispose()
