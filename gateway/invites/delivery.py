"""Sending invites: ``POST /spaces/{s}/invites`` at Zählerfreunde, storing the link it returns.

An invite task waits for its site's Zählerfreunde task, so the space exists and
its id is on the site's provider link when the task runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from sqlalchemy import select, update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.clock import utcnow
from gateway.core.domain import Provider
from gateway.outbox.engine import RoundResult, SyncEngine
from gateway.store.invite_tables import InviteRow
from gateway.store.tables import ProviderLinkRow
from providers.base import CallRecord, Outcome, ProviderError, TransientError
from providers.http import call_log
from providers.registry import MissingCapability

INVITE_ENTITY = "invite"
INVITE_QUEUE = Provider.ZAEHLERFREUNDE.value


class InviteDelivery:
    """``TaskKind`` for invites: one upstream call per invite, a few at a time."""

    entity_type = INVITE_ENTITY
    queue = INVITE_QUEUE

    def __init__(self, *, concurrency: int = 8) -> None:
        self.concurrency = concurrency

    async def run(self, engine: SyncEngine, results: Sequence[RoundResult]) -> None:
        try:
            sender = engine.adapters.invite_sender(Provider.ZAEHLERFREUNDE)
        except MissingCapability as exc:
            for result in results:
                result.fatal_reason = exc.message
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
            calls: list[CallRecord] = []
            token = call_log.set(calls)
            try:
                async with semaphore:
                    link = await sender.create_invite(space_id=space_id, email=invite.email,
                                                      send_email=invite.send_email)
                result.detail = link
                result.outcome = Outcome(external_id=None)
            except ProviderError as exc:
                result.error = exc
            finally:
                call_log.reset(token)
                result.calls = calls

        await asyncio.gather(*(one(r) for r in results))

    async def record(self, session: AsyncSession, results: Sequence[RoundResult]) -> None:
        """Store the link of every invite sent in this round."""
        now = utcnow()
        for result in results:
            if result.outcome is not None and isinstance(result.detail, str):
                await session.execute(
                    update(InviteRow).where(col(InviteRow.id) == result.task.entity_id)
                    .values(link=result.detail, sent_at=now))
