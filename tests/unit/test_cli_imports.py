"""The ``gateway`` command imports only what the chosen command needs."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import cast

import pytest

from gateway.cli import COMMAND_HELP, LAZY_COMMANDS, build_parser

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "onboarding.csv"
HEAVY = ("litestar", "sqlalchemy", "sqlmodel", "gateway.app", "structlog", "uvicorn", "alembic")

PROBE = """
import contextlib, io, json, sys
from gateway.cli import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
    main(sys.argv[1:])
heavy = {heavy!r}
print(json.dumps(sorted(m for m in sys.modules if m in heavy or m.split(".")[0] in heavy)))
"""


def _loaded_after(*argv: str) -> list[str]:
    script = PROBE.format(heavy=HEAVY)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}  # no key: no request
    done = subprocess.run([sys.executable, "-c", script, *argv], capture_output=True, text=True,
                          timeout=60, check=True, env=env)
    loaded: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return loaded


def test_help_loads_no_framework_database_or_app() -> None:
    """``gateway --help`` imports neither Litestar, SQLAlchemy, the app nor the logging stack."""
    assert _loaded_after("--help") == []


def test_status_help_loads_no_framework_database_or_app() -> None:
    """``gateway status --help`` builds its full arguments without the web framework or database layer."""
    assert _loaded_after("status", "--help") == []


def test_onboard_dry_run_loads_no_framework_database_or_app() -> None:
    """``gateway onboard FILE --dry-run`` checks and plans a file without Litestar, SQLAlchemy or the app."""
    assert _loaded_after("onboard", str(EXAMPLE), "--dry-run") == []


def test_the_probe_sees_heavy_imports() -> None:
    """The probe itself notices a command that does load the database layer (``api-keys --help``)."""
    assert "sqlmodel" in _loaded_after("api-keys", "--help")


def _helps(parser: object) -> dict[str, str | None]:
    action = parser._subparsers._group_actions[0]  # type: ignore[attr-defined]
    return {choice.dest: choice.help for choice in action._choices_actions}


@pytest.mark.parametrize("names", [names for names, _ in LAZY_COMMANDS], ids=lambda n: n[0])
def test_listed_help_is_the_full_parsers_help(names: tuple[str, ...]) -> None:
    """The help ``gateway --help`` lists for a lazily built command is the one its full parser gives."""
    listed = _helps(build_parser([]))
    full = _helps(build_parser([names[0]]))
    for name in names:
        assert listed[name] == COMMAND_HELP[name] == full[name]
    action = build_parser([names[0]])._subparsers._group_actions[0]  # type: ignore[union-attr]
    subcommands = cast("dict[str, argparse.ArgumentParser]", action.choices)
    assert subcommands[names[0]]._actions[1:], f"{names[0]} got no arguments of its own"
