"""Onboarding from the console: the CLI's CSV rules (``gateway.ops.onboarding``) and the API's
batch create (``create_many``), called in-process.

The dry run parses and checks the whole file (every problem by line and column), looks up
which customers the gateway holds already, and lists the upstream objects the new ones
become. A run creates the new customers' whole trees in one unit of work; a customer the
gateway already holds is skipped (``gateway onboard`` adds missing records to those).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import msgspec
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.customers import writes
from gateway.customers.service import create_many
from gateway.ops.onboarding import OnboardingCustomer, PlannedCall, RowProblem, locate, parse_csv
from gateway.ops.onboarding_plan import batches, planned_calls
from gateway.outbox.plan import OutboxPlanner
from gateway.store.tables import CustomerRow


@dataclass(slots=True)
class OnboardingPlan:
    text: str
    """The file as text, carried by the run form."""
    customers: list[OnboardingCustomer]
    """The customers the run creates (those the gateway does not hold yet)."""
    existing: list[str]
    """externalRefs of the file's customers the gateway holds already (skipped)."""
    problems: list[RowProblem]
    calls: list[PlannedCall]
    lines: int = 0

    @property
    def calls_by_provider(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for call in self.calls:
            counts[call.provider.value] = counts.get(call.provider.value, 0) + 1
        return counts


@dataclass(slots=True)
class RunOutcome:
    created: int = 0
    failed: int = 0
    problems: list[RowProblem] = field(default_factory=list)


async def plan_file(session: AsyncSession, raw: bytes) -> OnboardingPlan:
    """Check a file and plan what onboarding it does (reads only)."""
    parsed = parse_csv(raw)
    text = raw.decode("utf-8-sig", errors="replace")
    lines = text.count("\n") + (0 if text.endswith("\n") else 1)
    if parsed.problems:
        return OnboardingPlan(text=text, customers=[], existing=[], problems=parsed.problems, calls=[],
                              lines=lines)
    refs = [c.body.external_ref for c in parsed.customers]
    taken = await writes.refs_in_use(session, CustomerRow, refs)
    new = [c for c in parsed.customers if c.body.external_ref not in taken]
    return OnboardingPlan(text=text, customers=new, existing=sorted(taken), problems=[],
                          calls=planned_calls(new), lines=lines)


async def run_file(session: AsyncSession, planner: OutboxPlanner, plan: OnboardingPlan) -> RunOutcome:
    """Create the plan's customers through the API's batch create; refusals by line and column."""
    outcome = RunOutcome()
    for batch in batches(plan.customers):
        raws = [msgspec.Raw(msgspec.json.encode(c.body)) for c in batch]
        result = await create_many(session, planner, raws)
        outcome.created += result.created
        outcome.failed += result.failed
        for item in result.results:
            if item.error is None:
                continue
            customer = batch[item.index]
            line, column = locate(customer.records, item.error.field or "")
            outcome.problems.append(RowProblem(line=line, field=column, detail=item.error.detail))
    return outcome
