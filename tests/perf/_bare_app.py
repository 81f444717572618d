"""The baseline for tests/perf/api.py: a bare Litestar handler doing one primary-key select."""

from __future__ import annotations

import os

from litestar import Litestar, get
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

engine = create_async_engine(os.environ["GATEWAY_DATABASE_URL"], pool_size=20)


@get("/bare/{customer_id:str}")
async def bare(customer_id: str) -> dict[str, object]:
    async with engine.connect() as conn:
        row = (await conn.execute(text("SELECT id, external_ref, name, email FROM customers WHERE id = :id"),
                                  {"id": customer_id})).first()
    if row is None:
        return {}
    return {"id": row.id, "externalRef": row.external_ref, "name": row.name, "email": row.email}


app = Litestar(route_handlers=[bare])
