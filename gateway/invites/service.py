"""Invites to a site's Zählerfreunde space, as the API and the console plan them.

:func:`invite` runs inside the caller's unit of work (the caller commits) and answers the
invite with the status its sending task gives it; the callers show it their own way.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.clock import new_id
from gateway.core.domain import InviteStatus, Provider, TaskStatus
from gateway.core.errors import ConflictError
from gateway.core.wire import Email, Wire
from gateway.customers import reads
from gateway.invites.delivery import INVITE_ENTITY, INVITE_QUEUE
from gateway.outbox.plan import OutboxPlanner
from gateway.store.invite_tables import InviteRow
from gateway.store.tables import OutboxTaskRow


class InviteCreate(Wire):
    email: Email | None = None
    """Defaults to the customer's email."""
    send_email: bool = True
    """Whether Zählerfreunde emails the invite; the link is returned either way."""
    force: bool = False
    """Send a new invite even when this address was already invited to the site."""


def invite_status(row: InviteRow, task: OutboxTaskRow | None) -> InviteStatus:
    """An invite's status follows the task that sends it."""
    if row.link is not None:
        return InviteStatus.SENT
    if task is not None and task.status in (TaskStatus.DEAD, TaskStatus.DISMISSED, TaskStatus.CANCELLED,
                                            TaskStatus.SUPERSEDED):
        return InviteStatus.FAILED
    return InviteStatus.PENDING


@dataclass(frozen=True)
class Invite:
    """An invite with the task that sends it and the status that gives it."""

    row: InviteRow
    task: OutboxTaskRow | None
    status: InviteStatus

    @property
    def email(self) -> str:
        return self.row.email

    @property
    def customer_id(self) -> str:
        return self.row.customer_id


async def with_tasks(
    session: AsyncSession, query: Select[InviteRow]
) -> list[tuple[InviteRow, OutboxTaskRow | None]]:
    """The invites ``query`` selects, each with its sending task."""
    rows = await session.execute(
        query.add_columns(OutboxTaskRow).outerjoin(OutboxTaskRow, col(OutboxTaskRow.id) == InviteRow.task_id))
    return [(invite, task) for invite, task in rows]


async def invite(session: AsyncSession, planner: OutboxPlanner, site_id: str,
                 data: InviteCreate) -> tuple[int, Invite]:
    """Plan an invite to a site's space: 202 and the new invite, or 200 and the earlier one
    to the same address that has not failed (unless ``force``)."""
    site = await reads.get_site(session, site_id)
    customer = await reads.get_customer(session, site.customer_id)
    if Provider.ZAEHLERFREUNDE.value not in customer.providers:
        raise ConflictError(f"customer {customer.id} is not enrolled at Zählerfreunde")
    email = (data.email or customer.email).lower()
    if not data.force:
        earlier = await with_tasks(session, select(InviteRow).where(
            col(InviteRow.site_id) == site.id, col(InviteRow.email) == email,
        ).order_by(col(InviteRow.created_at).desc()))
        for invite_row, task in earlier:
            status = invite_status(invite_row, task)
            if status != InviteStatus.FAILED:
                return 200, Invite(invite_row, task, status)
    invite_id = new_id()
    space_task = await planner.open_task(site.id, Provider.ZAEHLERFREUNDE)
    task = planner.enqueue(queue=INVITE_QUEUE, entity_type=INVITE_ENTITY, entity_id=invite_id,
                           customer_id=customer.id, after=[space_task])
    row = InviteRow(id=invite_id, site_id=site.id, customer_id=customer.id, email=email,
                    send_email=data.send_email, task_id=task.id, created_at=planner.now)
    session.add(row)
    return 202, Invite(row, task, invite_status(row, task))
