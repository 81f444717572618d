"""The client example of both READMEs runs as written against a live gateway."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

from tests.client.conftest import CLIENT_DIR
from tests.conftest import ADMIN_KEY

ROOT = CLIENT_DIR.parents[1]


def _example(readme: Path) -> str:
    blocks = re.findall(r"```python\n(.*?)```", readme.read_text(), flags=re.S)
    found = [b for b in blocks if "GatewayClient(" in b]
    assert len(found) == 1, f"{readme.name}: one client example expected"
    return found[0]


def test_readme_example_runs_and_replays(gateway_url: str) -> None:
    """The example (the same in both READMEs) creates, sends a reading, lists, and reruns as a replay."""
    example = _example(CLIENT_DIR / "README.md")
    assert _example(ROOT / "README.md") == example
    assert '"http://127.0.0.1:8000", "dev-admin-key"' in example
    runnable = example.replace("http://127.0.0.1:8000", gateway_url).replace("dev-admin-key", ADMIN_KEY)
    outputs = []
    for _ in range(2):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(runnable, "README example", "exec"), {})
        outputs.append(out.getvalue())
    assert outputs[0] == outputs[1] and "Kari Nordmann" in outputs[0]
    assert len(outputs[0].splitlines()) == 1
