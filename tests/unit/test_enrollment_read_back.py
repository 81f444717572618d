"""After an unclear answer to an enroll or a leave, Volue's enrollment read back decides the outcome."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from gateway.core.domain import ProgrammeStatus
from gateway.outbox.engine import RoundResult
from gateway.programmes.delivery import READ_BACK, EnrollmentKind
from gateway.store.tables import OutboxTaskRow
from providers.base import Compensation, Enrollment, ProviderError, TransientError
from providers.volue.programme import _enrollment

SINCE = datetime(2026, 1, 1, tzinfo=UTC)


class LostAnswers:
    """A programme whose enroll and leave are carried out but answered 502; ``held`` is Volue's state."""

    def __init__(self, *, carry_out: bool, read_back_fails: bool = False) -> None:
        self.carry_out = carry_out
        self.read_back_fails = read_back_fails
        self.held: Enrollment | None = Enrollment(enrolled=False)
        self.reads = 0

    async def enroll(self, customer_id: str) -> Enrollment:
        if self.carry_out:
            self.held = Enrollment(enrolled=True, enrollment_id="e-1", enrolled_at=SINCE)
        raise TransientError("502 Bad Gateway", status=502, maybe_sent=True)

    async def leave(self, customer_id: str) -> bool:
        if self.carry_out:
            self.held = None  # Volue may forget the user's enrollment altogether (404)
        raise TransientError("timed out", maybe_sent=True)

    async def enrollment(self, customer_id: str) -> Enrollment | None:
        self.reads += 1
        if self.read_back_fails:
            raise TransientError("503", status=503)
        return self.held

    async def customer_eligible(self, customer_id: str) -> bool | None:
        return True

    async def meter_point_eligible(self, meter_point_id: str) -> bool:
        return True

    async def compensation(self, customer_id: str) -> Compensation | None:
        return None


def _result() -> RoundResult:
    task = OutboxTaskRow(id="t", provider="volue", entity_type="volue_enrollment", entity_id="m",
                         customer_id="c", action="upsert", status="running", attempts=1,
                         run_after=SINCE, created_at=SINCE, updated_at=SINCE)
    return RoundResult(task=task)


async def _carry_out(programme: Any, wanted: str) -> RoundResult:
    result = _result()
    try:
        await EnrollmentKind._carry_out(programme, result, "c", wanted)
    except ProviderError as exc:
        result.error = exc
    return result


async def test_an_enroll_whose_answer_was_lost_is_done_when_volue_shows_it() -> None:
    """A 502 after Volue enrolled: the read-back shows the enrollment, so the task is done with it."""
    programme = LostAnswers(carry_out=True)
    result = await _carry_out(programme, ProgrammeStatus.ENROLLED.value)
    assert result.error is None and programme.reads == 1
    assert result.outcome is not None and result.outcome.note == READ_BACK
    assert result.outcome.external_id == "e-1"
    assert result.detail[1].enrolled_at == SINCE


async def test_an_enroll_volue_did_not_carry_out_keeps_its_error() -> None:
    """A 502 before Volue enrolled, or a read-back that fails too: the original error stands (retried)."""
    for programme in (LostAnswers(carry_out=False), LostAnswers(carry_out=True, read_back_fails=True)):
        result = await _carry_out(programme, ProgrammeStatus.ENROLLED.value)
        assert isinstance(result.error, TransientError) and result.error.status == 502
        assert result.outcome is None


async def test_a_leave_whose_answer_was_lost_is_done_when_volue_holds_no_enrollment() -> None:
    """A timed-out leave that Volue carried out (it no longer knows an enrollment) is done."""
    programme = LostAnswers(carry_out=True)
    programme.held = Enrollment(enrolled=True, enrollment_id="e-1")
    result = await _carry_out(programme, ProgrammeStatus.NOT_ENROLLED.value)
    assert result.error is None and result.outcome is not None and result.outcome.note == READ_BACK
    still = LostAnswers(carry_out=False)
    still.held = Enrollment(enrolled=True, enrollment_id="e-1")
    assert isinstance((await _carry_out(still, ProgrammeStatus.NOT_ENROLLED.value)).error, TransientError)


@pytest.mark.parametrize(("body", "implied", "enrolled", "stated"), [
    (b'{"userId": "c", "isEnrolled": true, "enrollmentId": "e"}', False, True, True),
    (b'{"userId": "c", "isEnrolled": false}', True, False, True),
    (b'{"userId": "c", "enrollmentId": "e"}', False, True, True),
    (b'{"userId": "c"}', True, True, False),
    (b'{"userId": "c"}', False, False, False),
    (b"", True, True, False),
])
def test_minimal_enrollment_answers(body: bytes, implied: bool, enrolled: bool, stated: bool) -> None:
    """An answer with only the required userId (or none) is read as what the request implies, not stated."""
    request = httpx.Request("GET", "http://127.0.0.1/users/c/enrollment")
    found = _enrollment(httpx.Response(200, content=body, request=request), implied=implied)
    assert (found.enrolled, found.stated) == (enrolled, stated)
