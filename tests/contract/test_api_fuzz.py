"""Schemathesis over every operation of the served document, with every check, on each database.

The gateway is served on loopback (no worker: upstream work stays queued) and Schemathesis
(its command line, a dev dependency) runs all four phases (examples, coverage, fuzzing and
the stateful phase following the document's links) with positive and negative data. The
checks turned off for some operations are listed, with their reasons, in
``tests/contract/schemathesis.toml``; ``schemathesis_hooks.py`` keeps generated
Idempotency-Keys unique and made-up cursors out of valid requests.

Sized for CI by ``GATEWAY_FUZZ_EXAMPLES`` (examples per operation and phase, default 5) and
``GATEWAY_FUZZ_SEED`` (default 1, so a run is reproducible); a larger run, e.g.
``GATEWAY_FUZZ_EXAMPLES=100 GATEWAY_FUZZ_SEED=$RANDOM pytest tests/contract/test_api_fuzz.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.app import create_app
from gateway.core.settings import Settings, load_settings
from providers.emulation import serve_in_thread
from providers.volue.emulator.app import create_app as volue_app
from providers.zaehlerfreunde.emulator.app import create_app as zf_app
from tests.conftest import REPO

HERE = Path(__file__).resolve().parent
FUZZ_KEY = "contract-fuzz-key"
EXAMPLES = int(os.environ.get("GATEWAY_FUZZ_EXAMPLES", "5"))
SEED = int(os.environ.get("GATEWAY_FUZZ_SEED", "1"))
UNLIMITED = {f"rate_limit_{scope}": 0 for scope in (
    "customers_read", "customers_write", "readings_write", "invites_write", "ops")}
UNLIMITED["auth_failure_limit"] = 0  # the checks of auth send wrong keys from one address


def run_schemathesis(base_url: str, report: Path) -> subprocess.CompletedProcess[str]:
    command = [
        str(Path(sys.executable).with_name("schemathesis")), "--no-color",
        "--config-file", str(HERE / "schemathesis.toml"),
        "run", f"{base_url}/schema/openapi.json",
        "--mode", "all", "--phases", "examples,coverage,fuzzing,stateful",
        "--max-examples", str(EXAMPLES), "--seed", str(SEED), "--workers", "1",
        "--report", "junit", "--report-junit-path", str(report),
    ]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.contract.schemathesis_hooks",
           "GATEWAY_FUZZ_API_KEY": FUZZ_KEY,
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=900,
                          check=False)


def _fuzz(settings: Settings, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    with serve_in_thread(create_app(settings, embedded_worker=False)) as base_url:
        assert base_url.startswith("http://127.0.0.1:")
        return run_schemathesis(base_url, tmp_path / "junit.xml")


@pytest.mark.timeout(1200)
def test_every_operation_keeps_to_the_document(database_url: str, tmp_path: Path) -> None:
    """Schemathesis finds no failure in any operation, on positive and negative data, statefully."""
    # Routes that ask a provider on the caller's behalf (eligibility, compensation) reach the
    # emulators, served on loopback, as they would reach the providers.
    with serve_in_thread(volue_app()) as volue_url, serve_in_thread(zf_app()) as zf_url:
        settings = load_settings({}, database_url=database_url, admin_api_key=FUZZ_KEY, **UNLIMITED,
                                 volue_base_url=volue_url + "/energy-coordination/v1",
                                 zf_base_url=zf_url + "/partner")
        result = _fuzz(settings, tmp_path)
    (tmp_path / "schemathesis.log").write_text(result.stdout + result.stderr)
    summary = result.stdout[result.stdout.find("SUMMARY"):] if "SUMMARY" in result.stdout else ""
    failures = result.stdout[result.stdout.find("FAILURES"):] if "FAILURES" in result.stdout else ""
    assert result.returncode == 0, (failures[:30_000] or result.stdout[-20_000:]) + result.stderr[-5000:]
    assert "Tested: " in summary and "failures" not in summary.splitlines()[-1], summary
