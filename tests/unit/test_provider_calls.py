"""The shared frame of task kinds' provider calls: capability lookup, call history, errors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateway.core.domain import Provider
from gateway.outbox.engine import RoundResult
from gateway.outbox.provider_calls import capability, provider_call
from gateway.store.tables import OutboxTaskRow
from providers.base import Capability, RejectedError
from providers.http import call_log, record_call
from providers.registry import MissingCapability


def _result(n: int) -> RoundResult:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return RoundResult(OutboxTaskRow(id=f"t{n}", provider="volue", entity_type="volue_report",
                                     entity_id=f"e{n}", action="upsert", status="running",
                                     created_at=now, updated_at=now, run_after=now))


def test_a_missing_capability_fails_every_task_of_the_round() -> None:
    """When the adapter lacks what the kind needs, every result gets the reason and nothing is returned."""
    results = [_result(1), _result(2)]

    def lookup(provider: Provider) -> str:
        raise MissingCapability(provider, Capability.REPORT_SINK, configured=True)

    assert capability(results, lookup, Provider.VOLUE) is None
    assert [r.fatal_reason for r in results] == ["the volue adapter offers no report sink"] * 2


def test_an_offered_capability_is_returned_and_fails_nothing() -> None:
    """A capability the adapter has is handed back and the results stay untouched."""
    results = [_result(1)]
    found = capability(results, lambda provider: f"sender of {provider.value}", Provider.VOLUE)
    assert found == "sender of volue"
    assert results[0].fatal_reason is None


def test_calls_go_to_the_result_and_a_provider_error_becomes_its_error() -> None:
    """Exchanges inside the block land in the task's history; a ProviderError is kept, not raised."""
    result = _result(1)
    with provider_call(result):
        record_call(method="POST", route="/reports", status=400, started=0.0, error="400 Bad Request")
        raise RejectedError("refused", status=400, route="/reports")
    assert [c.route for c in result.calls] == ["/reports"]
    assert isinstance(result.error, RejectedError)
    assert call_log.get() is None


def test_other_exceptions_still_propagate() -> None:
    """Only provider errors are kept on the result; a bug surfaces."""
    result = _result(1)
    with pytest.raises(KeyError), provider_call(result):
        raise KeyError("bug")
    assert result.error is None and call_log.get() is None
