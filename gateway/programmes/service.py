"""Volue's SPARK programme in the gateway: membership, eligibility and compensation.

* **Enroll / leave** (:func:`plan_membership`): the caller's wish is stored on the
  customer's ``programme_memberships`` row (``wanted``), the row shows ``pending``, and
  one outbox task of kind ``volue_enrollment`` on the ``volue`` queue (its ``entity_id``
  the membership's own id) carries it out after the customer's and its sites' open Volue
  tasks (the user must exist first, and eligibility follows from the locations). The task reads
  the wish when it runs, so a leave queued behind an enroll wins, and running twice is
  harmless (enrolling again returns the standing enrollment; leaving twice is done).
  It waits only on live prerequisites: a task that is dead (or blocked behind a dead one) is
  not waited for, and when the dead task is the one creating the customer's user (no user at
  Volue yet) the wish fails at once (``failed``, naming the task and its reason) instead of
  waiting; an ``onlyIfEligible`` enroll of a customer known to be ineligible ends
  ``not_enrolled`` at once, with the reason.
* **Eligibility** (:func:`apply_eligibility`): a ``UserEligibility`` event marks its
  added users eligible and its removed users not; a refresh on demand asks Volue.
* **Compensation** (:func:`store_compensation`): fetched on demand, per site, with
  Volue's ``problems`` translated into the gateway's terms (:func:`translate_problem`)
  and the meter point ids Volue holds for the location, kept per site, so the site read
  shows the latest.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.clock import as_utc, new_id
from gateway.core.domain import ProgrammeStatus, Provider, SyncStatus, TaskAction
from gateway.core.errors import ConflictError
from gateway.outbox.plan import OutboxPlanner, blocked_by
from gateway.store.db import chunked
from gateway.store.programme_tables import ProgrammeMembershipRow, SiteCompensationRow
from gateway.store.tables import CustomerRow, SiteRow, table_of
from providers.base import Compensation, CompensationProblem

PROGRAMME = Provider.VOLUE.value
IF_ELIGIBLE = "enrolled_if_eligible"
"""A membership's ``wanted`` when the caller asked to enroll only an eligible customer."""
KNOWN_INELIGIBLE = "not eligible at Volue (as last learnt): not enrolled"
"""Why an ``onlyIfEligible`` enroll of a customer known to be ineligible ends at once."""
ENROLLMENT_KIND = "volue_enrollment"
"""Outbox task kind (``entity_id`` = the membership's id): enroll or leave, as the membership's
``wanted`` says when the task runs."""


async def membership(session: AsyncSession, customer_id: str, now: datetime) -> ProgrammeMembershipRow:
    """The customer's Volue membership row, added (not enrolled, eligibility unknown) if new."""
    row = await session.get(ProgrammeMembershipRow, (customer_id, PROGRAMME))
    if row is None:
        row = ProgrammeMembershipRow(customer_id=customer_id, programme=PROGRAMME, id=new_id(),
                                     updated_at=now)
        session.add(row)
    return row


async def plan_membership(session: AsyncSession, planner: OutboxPlanner, customer: CustomerRow,
                          *, enroll: bool, only_if_eligible: bool = False) -> ProgrammeMembershipRow:
    """Record the wish to enroll (or leave) and queue the task that carries it to Volue, after
    the customer's and its sites' open Volue tasks (eligibility follows from the locations).
    ``only_if_eligible``: the task asks Volue first and leaves an ineligible customer
    ``not_enrolled`` (with the reason) instead of failing."""
    if PROGRAMME not in customer.providers:
        raise ConflictError(f"customer {customer.id} is not at Volue (providers)", field="providers")
    link = await planner.link(customer.id, Provider.VOLUE)
    if link is not None and link.status in (SyncStatus.DELETING.value, SyncStatus.DELETED.value):
        raise ConflictError(f"customer {customer.id} is being removed from Volue")
    row = await membership(session, customer.id, planner.now)
    wanted = (IF_ELIGIBLE if enroll and only_if_eligible
              else ProgrammeStatus.ENROLLED.value if enroll else ProgrammeStatus.NOT_ENROLLED.value)
    settled = ProgrammeStatus.ENROLLED.value if enroll else ProgrammeStatus.NOT_ENROLLED.value
    if row.status == settled and (row.wanted == wanted or (enroll and row.wanted != IF_ELIGIBLE)):
        return row
    row.wanted = wanted
    row.updated_at = planner.now
    if wanted == IF_ELIGIBLE and row.eligible is False and row.status != ProgrammeStatus.ENROLLED.value:
        row.status, row.last_error = ProgrammeStatus.NOT_ENROLLED.value, KNOWN_INELIGIBLE
        return row
    user_task = await planner.open_task(customer.id, Provider.VOLUE)
    dead = blocked_by(user_task) if user_task is not None else None
    if dead is not None and (link is None or link.external_id is None):
        row.status = ProgrammeStatus.FAILED.value
        row.last_error = (f"the customer's user cannot be created at Volue (retry task {dead[0]}, then "
                          f"ask again): {dead[1] or 'no reason recorded'}")[:2000]
        return row
    sites = await planner.open_tasks(await _site_ids(session, customer.id), Provider.VOLUE)
    row.status = ProgrammeStatus.PENDING.value
    row.last_error = None
    live = [task for task in [user_task, *(task for _, task in sorted(sites.items()))]
            if task is not None and blocked_by(task) is None]
    planner.enqueue(
        queue=Provider.VOLUE.value, entity_type=ENROLLMENT_KIND, entity_id=row.id,
        customer_id=customer.id, action=TaskAction.UPSERT.value, after=live,
    )
    return row


async def _site_ids(session: AsyncSession, customer_id: str) -> list[str]:
    sites = table_of(SiteRow)
    return list((await session.execute(select(sites.c.id).where(
        sites.c.customer_id == customer_id, sites.c.deleted_at.is_(None)))).scalars())


async def apply_eligibility(session: AsyncSession, added: Iterable[str], removed: Iterable[str],
                            as_of: datetime) -> int:
    """Mark the customers of a ``UserEligibility`` event eligible (added) or not (removed) as
    of the event's ``lastUpdated``; ids that are not our customers are ignored, and so is a
    customer whose eligibility was learnt later than that (events may arrive out of order).
    Returns how many rows changed."""
    changes = {uid: True for uid in added}
    changes.update({uid: False for uid in removed})
    if not changes:
        return 0
    customers = table_of(CustomerRow)
    known: set[str] = set()
    ids = list(changes)
    for chunk in chunked(ids):
        result = await session.execute(select(customers.c.id).where(customers.c.id.in_(chunk)))
        known.update(result.scalars())
    changed = 0
    for customer_id in ids:
        if customer_id not in known:
            continue
        row = await membership(session, customer_id, as_of)
        checked = as_utc(row.eligibility_checked_at)
        if checked is not None and checked > as_of:
            continue
        row.eligible = changes[customer_id]
        row.eligibility_checked_at = as_of
        row.updated_at = as_of
        changed += 1
    return changed


async def set_eligibility(session: AsyncSession, customer_id: str, eligible: bool | None,
                          now: datetime) -> ProgrammeMembershipRow:
    """Store the eligibility Volue answered on demand (None: Volue does not know the user)."""
    row = await membership(session, customer_id, now)
    row.eligible = eligible
    row.eligibility_checked_at = now
    row.updated_at = now
    return row


def translate_problem(site_id: str | None, problem: CompensationProblem) -> dict[str, Any]:
    """Volue's problem on a location as what to fix at the gateway, naming the site."""
    site = f"site {site_id}" if site_id else "a location Volue holds that is not a site here"
    if problem.kind == "MissingMpidOnLocation":
        return {"kind": problem.kind, "field": "meterPointIds",
                "message": f"{site} has no meter point id: add one to the site's meterPointIds "
                           "(or a meter device with a meterPointId) so Volue can pay its "
                           "compensation"}
    if problem.kind == "CompensationMpidDoesNotMatchLocation":
        return {"kind": problem.kind, "field": "meterPointIds",
                "message": f"{site}: a meter point id reported for it is not one of the site's "
                           f"meterPointIds; correct the site or the reports (Volue: "
                           f"{problem.message})"}
    return {"kind": problem.kind, "field": None, "message": f"{site}: {problem.message}"}


async def store_compensation(session: AsyncSession, customer_id: str, found: Compensation,
                             now: datetime) -> list[SiteCompensationRow]:
    """Replace the customer's per-site compensation with what Volue answered."""
    sites = table_of(SiteRow)
    ours = set((await session.execute(
        select(sites.c.id).where(sites.c.customer_id == customer_id))).scalars())
    table = table_of(SiteCompensationRow)
    await session.execute(delete(table).where(table.c.customer_id == customer_id))
    rows: list[SiteCompensationRow] = []
    for site in found.sites:
        if site.site_id is None or site.site_id not in ours:
            continue
        row = SiteCompensationRow(
            site_id=site.site_id, customer_id=customer_id, period_from=found.period_from,
            period_to=found.period_to, active_amount=site.active_amount,
            blocked_amount=site.blocked_amount, currency=site.currency,
            problems=[translate_problem(site.site_id, p) for p in site.problems], checked_at=now,
            meter_point_ids=list(site.meter_point_ids))
        session.add(row)
        rows.append(row)
    return rows

