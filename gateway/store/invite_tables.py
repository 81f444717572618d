"""The invites table: an email address invited to a site's Zählerfreunde space.

Registered with the metadata by ``gateway.store.tables``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, Index
from sqlmodel import Field, SQLModel


def _ts(nullable: bool = False) -> Column[datetime]:
    return Column(DateTime(timezone=True), nullable=nullable)


class InviteRow(SQLModel, table=True):
    """An invite of an email address to a site's Zählerfreunde space; ``task_id`` sends it."""

    __tablename__ = "invites"
    __table_args__ = (Index("ix_invites_site_email", "site_id", "email"),)

    id: str = Field(primary_key=True, max_length=36)
    site_id: str = Field(max_length=36)
    customer_id: str = Field(max_length=36)
    email: str = Field(max_length=320)
    """Lower-cased, so that re-inviting the same address is recognised."""
    send_email: bool
    task_id: str = Field(max_length=36)
    link: str | None = Field(default=None, max_length=2000)
    created_at: datetime = Field(sa_column=_ts())
    sent_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
