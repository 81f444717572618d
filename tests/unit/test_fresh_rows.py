"""New trees go to PostgreSQL as JSON rows that carry every column, defaults included."""

from __future__ import annotations

import msgspec

from gateway.customers.sync.fresh import _insert_all_sql, _json_rows
from gateway.store.tables import DeviceRow


def test_missing_columns_take_their_default_or_null() -> None:
    """A row without ``is_main`` or ``medium`` is sent with the column default (False) and null."""
    rows = msgspec.json.decode(_json_rows(DeviceRow.__table__, [{"id": "d-1", "kind": "meter"}]))  # type: ignore[attr-defined]
    assert rows[0]["is_main"] is False and rows[0]["medium"] is None and rows[0]["id"] == "d-1"
    assert set(rows[0]) == {c.name for c in DeviceRow.__table__.columns}  # type: ignore[attr-defined]


def test_one_statement_inserts_the_tables_in_the_given_order() -> None:
    """Parents come first: each table is one data-modifying CTE fed by its own parameter."""
    sql = _insert_all_sql(("customers", "provider_links"))
    assert sql.index("INSERT INTO customers") < sql.index("INSERT INTO provider_links")
    assert "NULL::customers, $1::json" in sql and "NULL::provider_links, $2::json" in sql
