"""The chaos suite at full size: ``GATEWAY_TEST_POSTGRES_URL=... .venv/bin/python -m tests.chaos``.

300 customers, 100,000 readings, a worker SIGKILLed every ~8 s; the database is emptied and a
private Redis is started. ``CHAOS_SIZE=reduced`` runs the CI size instead.
"""

from __future__ import annotations

import asyncio
import os
import sys

from tests.chaos.run import FULL, REDUCED, chaos_run


def main() -> None:
    database_url = os.environ.get("GATEWAY_TEST_POSTGRES_URL")
    if not database_url:
        sys.exit("set GATEWAY_TEST_POSTGRES_URL (the chaos suite empties that database)")
    size = REDUCED if os.environ.get("CHAOS_SIZE") == "reduced" else FULL
    verdict = asyncio.run(chaos_run(database_url, size))
    print(verdict.report())


if __name__ == "__main__":
    main()
