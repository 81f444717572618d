"""The chaos suite at its reduced size, on PostgreSQL and a private Redis."""

from __future__ import annotations

import pytest

from tests.chaos.run import REDUCED, chaos_run

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


@pytest.mark.usefixtures("redis_url")
async def test_chaos_loses_duplicates_and_strands_nothing(postgres_url: str) -> None:
    """Under 5xx, 429, slow and lost answers, worker and API kills, FLUSHALL and token revocation,
    every accepted record, delete, reading, invite and report is upstream exactly once and the
    gateway has nothing open; re-sent readings stay within the workers' in-flight requests, and
    an invite or report is sent again only after a send the provider carried out unheard."""
    verdict = await chaos_run(postgres_url, REDUCED, say=False)
    print(verdict.report())
    assert verdict.line() == "lost=0 duplicated=0 stuck=0", verdict.report()
    assert verdict.counts["calls given up"] == 0, verdict.report()
    assert verdict.resent_readings <= verdict.counts["readings in-flight bound"], verdict.report()
    for kind in ("invite", "report"):
        bound = verdict.counts[f"unanswered {kind} sends"]
        assert verdict.resent_unconfirmed[kind] <= bound, verdict.report()
