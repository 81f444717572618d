"""Without the provider documents the tests that read them are skipped as one group; CI fails instead."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# One module that reads the documents as it is imported, one that reads them in its tests.
READERS = ["tests/integration/test_volue_webhook_receiver.py", "tests/unit/test_volue_webhooks.py"]


def _pytest(tmp_path: Path, *, require: bool) -> subprocess.CompletedProcess[str]:
    # bytecode caching on: the second run then starts from compiled modules (a few seconds less)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("GATEWAY_TEST_") and k != "PYTHONDONTWRITEBYTECODE"}
    env["GATEWAY_SHARED_DIR"] = str(tmp_path / "no-documents-here")
    if require:
        env["GATEWAY_TEST_REQUIRE_SERVICES"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", *READERS],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=240, check=False)


def test_missing_documents_skip_as_one_group_naming_where_they_go(tmp_path: Path) -> None:
    """No documents: exit 0, no errors, and one skip line naming GATEWAY_SHARED_DIR and ../shared."""
    done = _pytest(tmp_path, require=False)
    assert done.returncode == 0, done.stdout[-3000:]
    lines = [line for line in done.stdout.splitlines() if "provider documents not found" in line]
    assert len(lines) == 1, done.stdout[-3000:]
    assert lines[0].startswith("SKIPPED [") and "GATEWAY_SHARED_DIR" in lines[0] and "beside" in lines[0]
    assert "error" not in done.stdout.splitlines()[-1]


def test_missing_documents_fail_when_required(tmp_path: Path) -> None:
    """With GATEWAY_TEST_REQUIRE_SERVICES=1 (CI) missing documents fail the run instead of skipping."""
    done = _pytest(tmp_path, require=True)
    assert done.returncode != 0
    assert "provider documents not found" not in done.stdout
    assert "FileNotFoundError" in done.stdout
