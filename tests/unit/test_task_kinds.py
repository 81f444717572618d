"""The engine runs task kinds without knowing any, and the outbox's events name records generically."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import cast

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.domain import Provider
from gateway.core.settings import load_settings
from gateway.outbox.engine import RoundResult, SyncEngine
from gateway.outbox.outcomes import OutcomeType, _targets, about_entity
from gateway.store.tables import OutboxTaskRow
from providers.base import Outcome, ProviderAdapter, ProviderError, TransientError
from providers.registry import Adapters


class _Recording:
    """A kind that notes the tasks of each ``run`` and succeeds them."""

    def __init__(self) -> None:
        self.runs: list[list[str]] = []

    async def run(self, engine: SyncEngine, results: Sequence[RoundResult]) -> None:
        self.runs.append([result.task.id for result in results])
        for result in results:
            result.outcome = Outcome(external_id=None)

    async def record(self, session: AsyncSession, results: Sequence[RoundResult]) -> None:
        return None


class _Family(_Recording):
    entity_types = frozenset({"alpha", "beta"})


class _Single(_Recording):
    entity_type = "gamma"
    queue = "gamma-queue"


def _engine(*kinds: _Family | _Single) -> SyncEngine:
    adapter = cast(ProviderAdapter, SimpleNamespace(capabilities=SimpleNamespace(batch_limits={})))
    return SyncEngine(sessions=cast("async_sessionmaker[AsyncSession]", None),
                      adapters=Adapters({Provider.VOLUE: adapter}), settings=load_settings({}),
                      kinds=list(kinds))


def _task(task_id: str, entity_type: str) -> OutboxTaskRow:
    now = datetime.now(UTC)
    return OutboxTaskRow(id=task_id, provider="volue", entity_type=entity_type, entity_id=f"e-{task_id}",
                         customer_id="c", action="upsert", status="running", attempts=1, run_after=now,
                         created_at=now, updated_at=now)


async def test_a_family_runs_all_its_types_in_one_call_and_an_unknown_type_fails() -> None:
    """Tasks of a family's types reach its ``run`` together, a single kind gets its own, and a
    task no kind runs fails with the reason; the queues are the providers' and the kinds' own."""
    family, single = _Family(), _Single()
    engine = _engine(family, single)
    tasks = [_task("1", "alpha"), _task("2", "gamma"), _task("3", "beta"), _task("4", "delta")]
    results = {r.task.id: r for r in await engine._run_round("volue", tasks)}
    assert family.runs == [["1", "3"]] and single.runs == [["2"]]
    assert results["4"].fatal_reason == "no handler for delta tasks in this worker"
    assert engine.queues == ["volue", "gamma-queue"]


async def test_send_holds_requests_back_while_the_provider_is_paused() -> None:
    """A request whose turn comes while a 429 pauses the provider is not sent: its task goes
    back unsent (``held_back_s``) and the guard hears nothing of it."""
    engine = _engine()
    engine.guards["volue"].pause(time.monotonic(), 30)
    result = RoundResult(_task("1", "alpha"))
    sent: list[bool] = []

    async def request() -> list[Outcome | ProviderError]:
        sent.append(True)
        return [Outcome(external_id="x")]

    await engine.send("volue", [result], request, what="a test")
    assert sent == [] and result.held_back_s is not None and 29 < result.held_back_s <= 30
    assert not result.told and result.outcome is None and result.error is None


async def test_send_sets_each_result_and_marks_it_told() -> None:
    """One request's answers land on their results (an outcome or an error each) and the results
    are marked as told to the guard; an adapter crash is a transient error on every result."""
    engine = _engine()
    ok, failed = RoundResult(_task("1", "alpha")), RoundResult(_task("2", "alpha"))
    refusal = TransientError("busy", status=503, route="/x")

    async def answer() -> list[Outcome | ProviderError]:
        return [Outcome(external_id="x-1"), refusal]

    await engine.send("volue", [ok, failed], answer, what="a batch")
    assert ok.outcome == Outcome(external_id="x-1") and failed.error is refusal
    assert ok.told and failed.told

    crashed = RoundResult(_task("3", "alpha"))

    async def crash() -> list[Outcome | ProviderError]:
        raise RuntimeError("boom")

    await engine.send("volue", [crashed], crash, what="a test")
    assert isinstance(crashed.error, TransientError) and "RuntimeError" in crashed.error.message


def test_an_event_names_its_record_in_the_target_column_of_its_type() -> None:
    """A site's or device's event carries its id in that target column; a customer's and a
    record type without a column (an enrollment) carry only the customer."""
    def targets(entity_type: str) -> dict[str, object]:
        return _targets(about_entity(OutcomeType.RECORD_SYNCED, entity_type=entity_type, entity_id="r-1",
                                     customer_id="c-1"))

    assert targets("site") == {"site_id": "r-1"} and targets("device") == {"device_id": "r-1"}
    assert targets("customer") == {} and targets("enrollment") == {}
    event = about_entity(OutcomeType.RECORD_FAILED, entity_type="site", entity_id="r-1", customer_id="",
                         error="no")
    assert event.customer_id is None
    assert event.payload == {"entityType": "site", "entityId": "r-1", "error": "no"}
