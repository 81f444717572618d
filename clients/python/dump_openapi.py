"""Write the gateway's served OpenAPI document to clients/python/openapi.json.

The app is built with default settings and asked for its document; no server is started and
no database is touched. The output is stable (sorted keys, two-space indent, final newline) so
that an unchanged API gives an unchanged file.

    python clients/python/dump_openapi.py [OUTPUT]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def document() -> dict[str, Any]:
    """The OpenAPI document the gateway serves at /schema/openapi.json."""
    from litestar.serialization import encode_json

    from gateway.app import create_app
    from gateway.core.settings import load_settings
    from gateway.http.contract import completed_document

    app = create_app(load_settings({}), embedded_worker=False)
    # What the JSON render plugin does for a request: complete the generated document and
    # encode it with Litestar's encoder (its values are spec objects, not only plain JSON).
    served = encode_json(completed_document(app, app.openapi_schema.to_schema()))
    schema: dict[str, Any] = json.loads(served)
    return schema


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else HERE / "openapi.json"
    out.write_text(json.dumps(document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
