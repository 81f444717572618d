"""Regenerate ``gateway_client/_generated`` from ``openapi.json`` (and ``_async_groups.py``
from ``_groups.py``).

    python clients/python/generate.py [--dump] [--output DIR]

``--dump`` first rewrites ``openapi.json`` from the gateway app (see ``dump_openapi.py``).
The generator is openapi-python-client at the version pinned in the project's dev extra, run
without its formatting hooks so that its output depends on its own templates only. Before it
reads the document, component schemas that Litestar emits twice under two names (a generic
``Page[X]`` once by its short and once by its qualified name, with identical content) are
folded into one, since the generator names models by title and refuses two with one name.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DOCUMENT = HERE / "openapi.json"
TARGET = HERE / "gateway_client" / "_generated"
CONFIG = HERE / "generator.yaml"
SYNC_GROUPS = HERE / "gateway_client" / "_groups.py"
ASYNC_GROUPS = HERE / "gateway_client" / "_async_groups.py"
REF = "#/components/schemas/"


def fold_duplicates(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with each set of identical component schemas kept once (the shortest name)
    and every reference to the others pointed at it."""
    schemas: dict[str, Any] = document.get("components", {}).get("schemas", {})
    by_content: dict[str, list[str]] = {}
    for name, schema in schemas.items():
        by_content.setdefault(json.dumps(schema, sort_keys=True), []).append(name)
    renamed: dict[str, str] = {}
    for names in by_content.values():
        keep = min(names, key=lambda n: (len(n), n))
        for name in names:
            if name != keep:
                renamed[REF + name] = REF + keep
    if not renamed:
        return document

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                k: (renamed.get(v, v) if k == "$ref" and isinstance(v, str) else walk(v))
                for k, v in node.items()
            }
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    folded: dict[str, Any] = walk(document)
    for ref in renamed:
        del folded["components"]["schemas"][ref.removeprefix(REF)]
    return folded


def derive_async_groups(source: str) -> str:
    """``_async_groups.py`` from the text of ``_groups.py``: each group class ``Async``-prefixed,
    each method a coroutine awaiting its call, each ``Iterator`` an ``AsyncIterator``."""
    classes = source[re.search(r"^class \w+\(Group\):", source, flags=re.M).start():]  # type: ignore[union-attr]
    classes = re.sub(r"^class (\w+)\(Group\):", r"class Async\1(Group):", classes, flags=re.M)
    lines = classes.split("\n")
    out: list[str] = []
    shift = 0  # continuation lines of a statement that grew keep their alignment
    for i, line in enumerate(lines):
        if shift and line.startswith(" " * 12):
            line = " " * shift + line
        else:
            shift = 0
        if line.startswith("    def ") and not line.startswith("    def _"):
            end = next(j for j in range(i, len(lines)) if lines[j].rstrip().endswith(":"))
            if "-> Iterator[" not in "".join(lines[i:end + 1]):
                line, shift = "    async def " + line.removeprefix("    def "), 6
        if "return self._do(" in line:
            line, shift = line.replace("return self._do(", "return await self._do("), 6
        out.append(line.replace("-> Iterator[", "-> AsyncIterator["))
    header = (
        '"""The resource groups of :class:`AsyncGatewayClient`, derived from ``_groups.py`` by\n'
        '``generate.py`` (``make client``); do not edit."""\n'
        "# ruff: noqa: E501\n\n"
        "from __future__ import annotations\n\n"
        "from collections.abc import AsyncIterator\n"
        "from typing import Any\n\n"
        "from ._generated import models as m\n"
        "from ._groups import Group, _id\n\n\n"
    )
    return header + "\n".join(out)


def generate(output: Path, document: Path = DOCUMENT) -> None:
    """Write the generated package for ``document`` to ``output`` (replaced if it exists)."""
    folded = fold_duplicates(json.loads(document.read_text()))
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "openapi.json"
        source.write_text(json.dumps(folded, indent=2, sort_keys=True))
        staging = Path(tmp) / "out"
        command = [
            sys.executable, "-m", "openapi_python_client", "generate", "--path", str(source),
            "--meta", "none", "--config", str(CONFIG), "--output-path", str(staging),
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0 or not (staging / "__init__.py").exists():
            raise SystemExit(f"openapi-python-client failed:\n{done.stdout}\n{done.stderr}")
        if "Unable to" in done.stdout or "Cannot parse" in done.stdout:
            raise SystemExit(f"openapi-python-client left parts of the document out:\n{done.stdout}")
        if output.exists():
            shutil.rmtree(output)
        shutil.copytree(staging, output)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--dump", action="store_true", help="rewrite openapi.json from the app first")
    parser.add_argument("--output", type=Path, default=TARGET)
    args = parser.parse_args(argv[1:])
    if args.dump:
        from dump_openapi import main as dump

        dump([argv[0], str(DOCUMENT)])
    generate(args.output)
    ASYNC_GROUPS.write_text(derive_async_groups(SYNC_GROUPS.read_text()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
