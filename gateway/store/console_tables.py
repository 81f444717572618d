"""The console's server-side sessions (the store behind Litestar's session middleware).

Registered with the metadata by ``gateway.store.tables``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, LargeBinary
from sqlmodel import Field, SQLModel


class ConsoleSessionRow(SQLModel, table=True):
    """One console session: its id (the cookie's value), its data and when it ends."""

    __tablename__ = "console_sessions"

    id: str = Field(primary_key=True, max_length=128)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    expires_at: datetime | None = Field(default=None,
                                        sa_column=Column(DateTime(timezone=True), nullable=True, index=True))
