"""The ``volue_enrollment`` task kind: enroll a customer in Volue's programme, or leave it.

Each task reads the customer's membership row when it runs and carries out the wish
stored there (``wanted``), so the newest wish wins whatever order tasks were queued in.
A wish to enroll only if eligible asks Volue's eligibility first and leaves an
ineligible customer ``not_enrolled`` with the reason, without an enroll call.
Enrolling is idempotent at Volue (a second enroll returns the standing enrollment) and
leaving a programme one is not in answers 404, which counts as done; a task can
therefore run twice without harm. After an unclear answer (a timeout, a lost answer, a
5xx) ``GET /users/{id}/enrollment`` decides: when it shows the wish carried out the task
is done, else the original error stands and the task is tried again. A refusal (Volue
answers 400, say the user is not eligible) leaves the membership ``failed`` with Volue's
message.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.clock import utcnow
from gateway.core.domain import ProgrammeStatus, Provider
from gateway.outbox.engine import RoundResult, SyncEngine
from gateway.outbox.provider_calls import capability, provider_call
from gateway.programmes.service import ENROLLMENT_KIND, IF_ELIGIBLE, PROGRAMME
from gateway.store.programme_tables import ProgrammeMembershipRow
from providers.base import Enrollment, Outcome, Programme, ProviderError, TransientError

NOT_ELIGIBLE = "not eligible at Volue: not enrolled"
READ_BACK = "the answer was lost or unclear; Volue's enrollment, read back, shows it done"


class EnrollmentKind:
    """``TaskKind`` carrying enroll and leave wishes to Volue's programme."""

    entity_type = ENROLLMENT_KIND
    queue = Provider.VOLUE.value

    async def run(self, engine: SyncEngine, results: Sequence[RoundResult]) -> None:
        programme = capability(results, engine.adapters.programme, Provider.VOLUE)
        if programme is None:
            return
        async with engine.sessions() as session:
            rows = {row.id: (row.customer_id, row.wanted) for row in
                    [await _membership(session, r.task.entity_id) for r in results] if row}
        for result in results:
            found = rows.get(result.task.entity_id)
            if found is None:
                result.fatal_reason = f"programme membership {result.task.entity_id} does not exist"
                continue
            customer_id, wanted = found
            with provider_call(result):
                await self._carry_out(programme, result, customer_id, wanted)

    @staticmethod
    async def _carry_out(programme: Programme, result: RoundResult, customer_id: str, wanted: str) -> None:
        """Enroll (after asking eligibility when the wish is conditional) or leave."""
        if wanted == IF_ELIGIBLE and not await programme.customer_eligible(customer_id):
            result.detail = (wanted, None, NOT_ELIGIBLE)
            result.outcome = Outcome(external_id=None, note=NOT_ELIGIBLE)
            return
        enrollment: Enrollment | None = None
        enroll = wanted in (ProgrammeStatus.ENROLLED.value, IF_ELIGIBLE)
        note: str | None = None
        try:
            if enroll:
                enrollment = await programme.enroll(customer_id)
            else:
                await programme.leave(customer_id)
        except TransientError as unclear:
            # A timeout, a lost answer or a 5xx: Volue may have done it. Its enrollment decides.
            found = await _read_back(programme, customer_id)
            if found is None or not found.stated or found.enrolled != enroll:
                raise unclear from None
            enrollment = found if enroll else None
            note = READ_BACK
        result.detail = (wanted, enrollment, None)
        result.outcome = Outcome(external_id=enrollment.enrollment_id if enrollment else None, note=note)

    async def record(self, session: AsyncSession, results: Sequence[RoundResult]) -> None:
        """Show the outcome on the membership: enrolled (since when), not enrolled, or
        failed with the provider's message once the task is dead."""
        now = utcnow()
        for result in results:
            row = await _membership(session, result.task.entity_id)
            if row is None:
                continue
            detail: Any = result.detail
            if result.outcome is not None and detail is not None:
                wanted, enrollment, note = detail
                if wanted != row.wanted:
                    continue  # a newer wish is queued behind this task
                if note is not None:
                    row.status = ProgrammeStatus.NOT_ENROLLED.value
                    row.last_error = note
                    row.eligible = False
                    row.eligibility_checked_at = now
                    row.updated_at = now
                    session.add(row)
                    continue
                if enrollment is not None:
                    row.status = ProgrammeStatus.ENROLLED.value
                    row.enrollment_id = enrollment.enrollment_id
                    row.enrolled_at = enrollment.enrolled_at or now
                else:
                    row.status = ProgrammeStatus.NOT_ENROLLED.value
                    row.enrollment_id = None
                    row.enrolled_at = None
                row.last_error = None
            else:
                message = result.fatal_reason or (result.error.message if result.error else "failed")
                row.last_error = message[:2000]
                if result.dead:
                    row.status = ProgrammeStatus.FAILED.value
            row.updated_at = now
            session.add(row)


async def _read_back(programme: Programme, customer_id: str) -> Enrollment | None:
    """``GET /users/{id}/enrollment`` after an unclear answer (a user Volue does not know is not
    enrolled); None when the read-back fails too."""
    try:
        found = await programme.enrollment(customer_id)
    except ProviderError:
        return None
    return found if found is not None else Enrollment(enrolled=False)


async def _membership(session: AsyncSession, membership_id: str) -> ProgrammeMembershipRow | None:
    found = await session.exec(select(ProgrammeMembershipRow).where(
        ProgrammeMembershipRow.id == membership_id, ProgrammeMembershipRow.programme == PROGRAMME))
    return found.first()
