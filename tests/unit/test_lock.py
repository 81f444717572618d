"""uv.lock and the pip pins exported from it (requirements/*.txt) describe the same install."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _lock() -> dict[str, dict[str, object]]:
    data = tomllib.loads((ROOT / "uv.lock").read_text())
    return {_norm(p["name"]): p for p in data["package"]}


def _pins(name: str) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (ROOT / "requirements" / name).read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        match = PIN.match(line)
        assert match, f"requirements/{name}: not a pin: {line!r}"
        pins[_norm(match[1])] = match[2]
    return pins


def _requirement_names(specs: list[str]) -> set[str]:
    return {_norm(re.split(r"[\[<>=!~; ]", spec, maxsplit=1)[0]) for spec in specs}


def _pyproject() -> dict[str, object]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_lock_covers_every_dependency_pyproject_declares() -> None:
    """Every runtime and dev dependency pyproject.toml declares is locked, as the project's own."""
    project = _pyproject()
    lock = _lock()
    run = _requirement_names(project["dependencies"])
    dev = _requirement_names(project["optional-dependencies"]["dev"])
    assert not (run | dev) - set(lock), "uv.lock lacks dependencies: run requirements/refresh"
    locked_project = lock[_norm(project["name"])]
    assert {_norm(d["name"]) for d in locked_project["dependencies"]} == run
    assert {_norm(d["name"]) for d in locked_project["optional-dependencies"]["dev"]} == dev


def test_exported_pins_are_the_locked_versions() -> None:
    """requirements/run.txt and dev.txt pin exactly the lock's versions, dev.txt every locked package."""
    lock = _lock()
    versions = {name: str(p["version"]) for name, p in lock.items() if "editable" not in p["source"]}
    run, dev = _pins("run.txt"), _pins("dev.txt")
    for name, pins in (("run.txt", run), ("dev.txt", dev)):
        wrong = {n: (v, versions.get(n)) for n, v in pins.items() if versions.get(n) != v}
        assert not wrong, f"requirements/{name} differs from uv.lock (pinned, locked): {wrong}"
    assert set(dev) == set(versions), "requirements/dev.txt misses locked packages: run requirements/refresh"
    assert set(run) < set(dev)
    assert _requirement_names(_pyproject()["dependencies"]) <= set(run)
