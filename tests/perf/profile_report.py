"""Where a profiled process spent its samples: ``python -m tests.perf.profile_report FILE [N]``.

Reads py-spy's collapsed stacks (``PERF_PROFILE_DIR`` in the benchmarks) and prints the
share of samples under each role of the per-request work in a worker, then the ``N``
functions with the most samples inside them (inclusive), by file and name. py-spy samples
a process only while it is on a CPU (without ``--idle``), so the shares are shares of CPU.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

ROLES = {
    "upstream client (httpx, aiohttp, authlib)": ("(httpx/", "(httpx_aiohttp/", "(aiohttp/", "(authlib/",
                                                  "(providers/transport.py", "(providers/http.py"),
    "claim (gateway/outbox/claim.py)": ("(gateway/outbox/claim.py",),
    "prepare (gateway/customers/sync/context.py, fresh.py)": ("(gateway/customers/sync/context.py",
                                                              "(gateway/customers/sync/fresh.py"),
    "record (gateway/outbox/unit_of_work.py, plan.py)": ("(gateway/outbox/unit_of_work.py",
                                                         "(gateway/outbox/plan.py"),
    "database driver (sqlalchemy, asyncpg)": ("(sqlalchemy/", "(asyncpg/", "(sqlmodel/"),
    "queue (arq, redis)": ("(arq/", "(redis/"),
    "adapters (providers/)": ("(providers/",),
    "engine (gateway/outbox/engine.py)": ("(gateway/outbox/engine.py",),
}
"""Markers of each role in py-spy's frames (``function (path:line)``, paths relative to their
root); a sample belongs to the innermost frame that names a role."""


PHASES = {
    "claim": ("claim (gateway/outbox/claim.py",),
    "prepare": ("prepare (gateway/customers/sync/context.py",
                "_note_creates (gateway/customers/sync/kind.py"),
    "send (adapter + client)": ("send (gateway/outbox/engine.py",
                                "provider_call (gateway/outbox/provider_calls.py"),
    "record": ("record_round (gateway/outbox/recording.py", "_feed_guard (gateway/outbox/engine.py"),
}
"""The phases of a worker's round; a sample belongs to the outermost frame that names one.
SQLAlchemy's async layer runs database work in greenlets, whose stacks do not show the
coroutine that asked for it: that work lands in "not attributed" here, and under
"database driver" in the second table."""


def main(argv: list[str]) -> None:
    path, top = Path(argv[0]), int(argv[1]) if len(argv) > 1 else 25
    total = 0
    by_role: Counter[str] = Counter()
    by_phase: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        # A sample belongs to the innermost role it is in; idle samples (the loop waiting) too.
        role = "other"
        if any("_find_and_load" in frame for frame in frames):
            role = "start-up (imports)"
        else:
            for frame in reversed(frames):
                hit = next((name for name, marks in ROLES.items() if any(m in frame for m in marks)), None)
                if hit is not None:
                    role = hit
                    break
        by_role[role] += count
        phase = "start-up (imports)" if role.startswith("start-up") else next(
            (name for frame in frames for name, marks in PHASES.items()
             if any(m in frame for m in marks)), "not attributed (queue, timers, database work in greenlets)")
        by_phase[phase] += count
        for frame in set(frames):
            inclusive[frame] += count
    print(f"{path.name}: {total} samples")
    print("by phase of the round:")
    for phase, n in by_phase.most_common():
        print(f"  {n / max(total, 1):6.1%}  {phase}")
    print("by the innermost code named:")
    for role, n in by_role.most_common():
        print(f"  {n / max(total, 1):6.1%}  {role}")
    print(f"top {top} functions (inclusive):")
    for frame, n in inclusive.most_common(top):
        print(f"  {n / max(total, 1):6.1%}  {frame[:150]}")


if __name__ == "__main__":
    main(sys.argv[1:])
