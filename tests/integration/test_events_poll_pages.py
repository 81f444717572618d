"""The events poll walks Volue's pages as the document allows them: counted from totalRecords,
pageSize and currentPage alone, events without createdAt kept, events without a payload skipped."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlmodel import col

from gateway.core.clock import utcnow
from gateway.core.events import EventPage
from gateway.core.settings import Settings
from gateway.events.poll import reconcile
from gateway.store.db import create_engine, session_factory
from gateway.store.event_tables import VolueEventRow
from providers.volue import schemas as vs
from providers.volue.events import page as event_page


class Pages:
    """An event source answering with fixed Volue pages (mapped as the adapter maps them),
    remembering which it was asked for."""

    def __init__(self, pages: list[vs.GetEventsResponse]) -> None:
        self.pages = pages
        self.asked: list[int] = []

    async def events_page(self, page: int) -> EventPage:
        self.asked.append(page)
        return event_page(self.pages[page - 1])


def _minimal_pages(events: list[vs.GetEventResponse], size: int) -> list[vs.GetEventsResponse]:
    chunks = [events[i:i + size] for i in range(0, len(events), size)]
    return [vs.GetEventsResponse(
        pagination=vs.ApiPagination(total_records=len(events), page_size=size, current_page=n + 1),
        events=chunk) for n, chunk in enumerate(chunks)]


async def test_poll_walks_minimal_pages(settings: Settings) -> None:
    """Five events over three pages without totalPages/nextPage: all pages read, four events stored."""
    now = utcnow()
    payload = vs.UserEligibilityPayload(last_updated=now, added_users=[], removed_users=[])
    events = [vs.GetEventResponse(id=f"e{n}", created_at=now - timedelta(minutes=n), payload=payload)
              for n in range(5)]
    events[1] = vs.GetEventResponse(id="e1", payload=payload)  # no createdAt
    events[3] = vs.GetEventResponse(id="e3", created_at=now - timedelta(minutes=3))  # no payload
    source = Pages(_minimal_pages(events, 2))
    engine = create_engine(settings.store.database_url)
    try:
        result = await reconcile(sessions=session_factory(engine), source=source, settings=settings, now=now)
        async with session_factory(engine)() as session:
            stored = set((await session.execute(select(col(VolueEventRow.volue_event_id)))).scalars())
    finally:
        await engine.dispose()
    assert (result.pages, result.stored, stored) == (3, 4, {"e0", "e1", "e2", "e4"})
    assert source.asked[:2] == [1, 3] and sorted(source.asked) == [1, 2, 3]
