"""Sending invites: ``POST /spaces/{s}/invites`` at Zählerfreunde, storing the link it returns.

An invite task waits for its site's Zählerfreunde task, so the space exists and
its id is on the site's provider link when the task runs.

The link is stored in a short transaction of its own right after Zählerfreunde
answered, before the round goes on, so a worker that dies later in the round
does not send the invite again: the next attempt finds the link and is done.
Zählerfreunde mints the invite and its partner API offers no way to list a
space's invites (``GET /spaces/{s}/users`` shows only users who joined), so an
attempt that died while its request was in flight cannot be looked up: that
request is the one an invite may be sent twice for.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Update, select, update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.clock import utcnow
from gateway.core.domain import Provider
from gateway.outbox.engine import RoundResult, SyncEngine
from gateway.outbox.outcomes import OutcomeType, OwnEvent, emit
from gateway.outbox.provider_calls import capability, provider_call
from gateway.outbox.unit_of_work import record_now
from gateway.store.invite_tables import InviteRow
from gateway.store.tables import ProviderLinkRow
from providers.base import Outcome, TransientError

INVITE_ENTITY = "invite"
INVITE_QUEUE = Provider.ZAEHLERFREUNDE.value


class InviteDelivery:
    """``TaskKind`` for invites: one upstream call per invite, a few at a time."""

    entity_type = INVITE_ENTITY
    queue = INVITE_QUEUE

    def __init__(self, *, concurrency: int = 8) -> None:
        self.concurrency = concurrency

    async def run(self, engine: SyncEngine, results: Sequence[RoundResult]) -> None:
        sender = capability(results, engine.adapters.invite_sender, Provider.ZAEHLERFREUNDE)
        if sender is None:
            return
        ids = [r.task.entity_id for r in results]
        async with engine.sessions() as session:
            invites = {row.id: row for (row,) in await session.execute(
                select(InviteRow).where(col(InviteRow.id).in_(ids)))}
            site_ids = sorted({row.site_id for row in invites.values()})
            spaces = {row.entity_id: row.external_id for (row,) in await session.execute(
                select(ProviderLinkRow).where(
                    col(ProviderLinkRow.entity_id).in_(site_ids),
                    col(ProviderLinkRow.provider) == Provider.ZAEHLERFREUNDE.value))}
        semaphore = asyncio.Semaphore(self.concurrency)

        async def one(result: RoundResult) -> None:
            invite = invites.get(result.task.entity_id)
            if invite is None:
                result.fatal_reason = f"invite {result.task.entity_id} does not exist"
                return
            space_id = spaces.get(invite.site_id)
            if space_id is None:
                result.error = TransientError(f"the site {invite.site_id} has no space yet")
                return
            link: str | None = None
            async with semaphore:
                # Renewed just before the send: a round that waited past its lease
                # leaves the invite to whichever worker holds it now.
                if not await engine.still_held(result.task):
                    result.error = TransientError("the task's lease lapsed before sending")
                    return
                with provider_call(result):
                    link = await sender.create_invite(space_id=space_id, email=invite.email,
                                                      send_email=invite.send_email)
            if link is None:
                return
            result.detail = link
            result.outcome = Outcome(external_id=None)
            # Shielded: a round cancelled now still records what Zählerfreunde has done.
            await asyncio.shield(record_now(engine.sessions, _sent(invite.id, link, utcnow()),
                                            what=f"the link of invite {invite.id}"))

        pending = []
        for result in results:
            sent = invites.get(result.task.entity_id)
            if sent is not None and sent.link is not None:
                result.detail = sent.link
                result.outcome = Outcome(external_id=None, note="sent by an earlier attempt")
            else:
                pending.append(result)
        await asyncio.gather(*(one(r) for r in pending))

    async def record(self, session: AsyncSession, results: Sequence[RoundResult]) -> None:
        """Store the link of every invite sent in this round that is not stored yet."""
        now = utcnow()
        sent = [r for r in results if r.outcome is not None and isinstance(r.detail, str)]
        for result in sent:
            await session.execute(_sent(result.task.entity_id, str(result.detail), now))
        if not sent:
            return
        invites = {row.id: row for (row,) in await session.execute(
            select(InviteRow).where(col(InviteRow.id).in_([r.task.entity_id for r in sent])))}
        await emit(session, [
            OwnEvent(type=OutcomeType.INVITE_LINK_READY, customer_id=invite.customer_id,
                     record=("site", invite.site_id),
                     payload={"inviteId": invite.id, "siteId": invite.site_id, "email": invite.email,
                              "inviteLink": invite.link or str(r.detail)})
            for r in sent if (invite := invites.get(r.task.entity_id)) is not None], now=now)


def _sent(invite_id: str, link: str, now: datetime) -> Update:
    """Store the link of an invite Zählerfreunde created, unless a link is stored already."""
    return (update(InviteRow).where(col(InviteRow.id) == invite_id, col(InviteRow.link).is_(None))
            .values(link=link, sent_at=now))
