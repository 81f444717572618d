"""The committed Python client is what ``make client`` makes from the document the app serves."""

from __future__ import annotations

import filecmp
import json
from pathlib import Path

from tests.client.conftest import CLIENT_DIR


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*")) if p.is_file() and "__pycache__" not in p.parts
    }


def test_committed_document_is_the_served_one() -> None:
    """clients/python/openapi.json equals the document the gateway serves (else: run `make client`)."""
    import dump_openapi

    committed = json.loads((CLIENT_DIR / "openapi.json").read_text())
    assert committed == dump_openapi.document(), "the API changed: run `make client` and commit the result"


def test_committed_client_is_generated_from_the_committed_document(tmp_path: Path) -> None:
    """Regenerating from openapi.json gives the committed gateway_client/_generated file for file."""
    import generate

    out = tmp_path / "_generated"
    generate.generate(out)
    committed = CLIENT_DIR / "gateway_client" / "_generated"
    fresh, kept = _tree(out), _tree(committed)
    assert sorted(fresh) == sorted(kept), "generated files differ: run `make client` and commit the result"
    changed = [name for name in fresh if fresh[name] != kept[name]]
    assert not changed, f"generated files differ ({changed[:5]}): run `make client` and commit the result"
    assert not filecmp.dircmp(out, committed).diff_files


def test_committed_async_groups_are_derived_from_the_sync_ones() -> None:
    """gateway_client/_async_groups.py is what make client derives from _groups.py."""
    import generate

    derived = generate.derive_async_groups(generate.SYNC_GROUPS.read_text())
    assert generate.ASYNC_GROUPS.read_text() == derived, "_groups.py changed: run `make client`"
