"""Schemathesis hooks for the API contract run (loaded through ``SCHEMATHESIS_HOOKS``).

Two inputs are valid only when the API handed them out, which a JSON Schema cannot say;
generated values of them would make valid requests fail for reasons the data cannot show:

* ``Idempotency-Key``: a key reused with a different body is a 422 by design, and the
  generator repeats keys across bodies. A schema-valid key is made unique per request
  (an invalid one is left as generated, for the negative cases).
* ``cursor``: any string the schema allows, but only ``nextCursor`` values decode. A
  schema-valid generated cursor is dropped (the first page is asked for instead); an
  invalid one (too long) is left for the negative cases.
"""

from __future__ import annotations

import uuid
from typing import Any

import schemathesis

MAX_CURSOR = 500
MAX_KEY = 200


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """Every phase sends through here: make valid keys unique, drop valid made-up cursors."""
    headers = case.headers or {}
    key = headers.get("Idempotency-Key")
    if isinstance(key, str) and 1 <= len(key) <= MAX_KEY:
        headers["Idempotency-Key"] = str(uuid.uuid4())
    query = case.query or {}
    cursor = query.get("cursor")
    if isinstance(cursor, str) and len(cursor) <= MAX_CURSOR:
        del query["cursor"]
