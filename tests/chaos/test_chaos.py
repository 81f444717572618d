"""The chaos suite at its reduced size, on production settings: the fault scenarios on SQLite,
the crash scenario on PostgreSQL, a private Redis and two workers."""

from __future__ import annotations

import pytest

from tests.chaos.run import REDUCED, Outcome, chaos_run

RATIO_BOUND = 10.0
"""A loose bound on writes per minimum write: the figures are printed, not judged, here."""


def _assert_correct(outcome: Outcome) -> None:
    """Nothing lost, duplicated or left open; every re-send justified; the figures add up."""
    verdict = outcome.verdict
    report = outcome.report()
    assert verdict.line() == "lost=0 duplicated=0 stuck=0", report
    assert verdict.counts["calls given up"] == 0, report
    assert outcome.unsynced == [], report
    assert verdict.counts["readings checked per key"] == verdict.counts["readings"], report
    assert verdict.resent_readings <= verdict.counts["readings in-flight bound"], report
    for kind in ("invite", "report"):
        counts = verdict.counts
        justified = counts[f"unanswered {kind} sends"] + counts[f"{kind} sends in flight at kills"]
        assert verdict.resent_unconfirmed[kind] + verdict.resent_after_kill[kind] <= justified, report
    for found in outcome.figures:
        if found.synced_s is None:
            continue
        # A record deleted before it went upstream needs none of its writes: no floor then.
        deletes = any(v for k, v in found.work.items() if k.startswith("deleted"))
        for provider, minimum in found.minimum.items():
            writes = found.of(provider, kind="writes")
            assert deletes or minimum <= writes, report
            assert writes <= RATIO_BOUND * max(minimum, 1), report


async def test_fault_scenarios_keep_every_record_once_on_sqlite() -> None:
    """Under a 429 burst then 2-4 s latency, 20% 429s with a busy neighbour, answers lost after
    the work was done and a 503 outage, all with the faults on while the queue drains, every
    accepted record and reading is upstream exactly once with its value, and nothing stays open."""
    outcome = await chaos_run("faults", REDUCED, backend="sqlite", say=True)
    print(outcome.report())
    _assert_correct(outcome)


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.usefixtures("redis_url")
async def test_crash_scenario_keeps_every_record_once_on_postgres(postgres_url: str) -> None:
    """Under 5xx, 429, slow and lost answers, worker and API kills, FLUSHALL and token revocation,
    with two workers on PostgreSQL and both emulators answering only what their documents
    require (the fault scenarios above get their full answers), every accepted record, delete,
    reading, invite and report is
    upstream exactly once and the gateway has nothing open; re-sent readings stay within the
    killed workers' in-flight requests and the requests answered late or lost, and an invite or
    report is sent again only after a send the provider carried out unheard or a worker killed
    between the send and its record."""
    outcome = await chaos_run("crash", REDUCED, backend="postgres", postgres_url=postgres_url,
                              workers=2, say=True, minimal=True)
    print(outcome.report())
    _assert_correct(outcome)
