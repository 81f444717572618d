"""A chaos scenario from the command line, on production settings:

``.venv/bin/python -m tests.chaos --scenario throttled-then-slow --customers 1000``

Scenarios: ``throttled-then-slow``, ``neighbour-429``, ``lost-answers``, ``outage``, ``crash``,
``steady-5xx`` and ``faults`` (the first four one after another). ``--backend postgres`` (the default; needs
``GATEWAY_TEST_POSTGRES_URL``, which it empties, and starts a private Redis and ``--workers``
workers) or ``sqlite`` (a file in a temporary directory, the worker in the API process).
``--reduced`` starts from the CI sizes instead of the full ones; ``--customers``,
``--outage-s`` and ``--drain-s`` override them. Exits 1 when anything was lost, duplicated or
left open, or more readings were re-sent than the lost answers and killed workers explain.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from tests.chaos.run import FULL, REDUCED, SCENARIOS, chaos_run, sized


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos")
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="crash")
    parser.add_argument("--customers", type=int, help="customers per phase")
    parser.add_argument("--backend", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--reduced", action="store_true", help="the CI sizes and fault lengths")
    parser.add_argument("--outage-s", type=float, help="how long the provider stays down")
    parser.add_argument("--outage-provider", choices=("volue", "zaehlerfreunde"))
    parser.add_argument("--drain-s", type=float, help="longest wait for the queue per phase")
    parser.add_argument("--minimal", action="store_true",
                        help="the emulators answer only what their documents require")
    args = parser.parse_args(argv)
    params = REDUCED if args.reduced or os.environ.get("CHAOS_SIZE") == "reduced" else FULL
    changes = {name: value for name, value in (
        ("customers", args.customers), ("outage_s", args.outage_s),
        ("outage_provider", args.outage_provider), ("drain_s", args.drain_s)) if value is not None}
    postgres_url = os.environ.get("GATEWAY_TEST_POSTGRES_URL", "")
    if args.backend == "postgres" and not postgres_url:
        sys.exit("set GATEWAY_TEST_POSTGRES_URL (the chaos suite empties that database)")
    outcome = asyncio.run(chaos_run(args.scenario, sized(params, **changes), backend=args.backend,
                                    postgres_url=postgres_url, workers=args.workers,
                                    minimal=args.minimal))
    print(outcome.report())
    return 0 if outcome.ok else 1


if __name__ == "__main__":
    sys.exit(main())
