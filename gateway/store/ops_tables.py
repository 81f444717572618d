"""What ops did and found: the audit trail, task dismissals and kept drift results.

Registered with the metadata by ``gateway.store.tables``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index
from sqlmodel import Field, SQLModel


def _ts(index: bool = False) -> Column[datetime]:
    return Column(DateTime(timezone=True), nullable=False, index=index)


class AuditRow(SQLModel, table=True):
    """One ops action (retry, dismiss, repair, enroll, invite, key created …): who did what to
    what, through which surface, when, and how it ended (``ok`` or the error's text)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_action", "action", "id"),
        Index("ix_audit_log_actor", "actor_id", "id"),
        Index("ix_audit_log_target", "target", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=_ts(index=True))
    actor_kind: str = Field(max_length=20)
    """``api_key`` (an API key, the console's included) or ``cli`` (a command on the host)."""
    actor_id: str = Field(max_length=200)
    """The API key's id (``admin`` for the configured admin key), or the host user of a command."""
    actor_name: str = Field(max_length=200)
    via: str = Field(max_length=20)
    """``api``, ``console`` or ``cli``."""
    action: str = Field(max_length=50)
    target: str = Field(max_length=300)
    """What the action was done to: a task, a record, a provider, a key … (``kind:id``)."""
    result: str = Field(max_length=20)
    """``ok`` or ``error``."""
    detail: str | None = None
    """What it did (``3 tasks queued``) or, for an error, why it failed."""


class TaskDismissalRow(SQLModel, table=True):
    """Why a dead or blocked task was dismissed (its status is then ``dismissed``), by whom, when."""

    __tablename__ = "task_dismissals"

    task_id: str = Field(primary_key=True, max_length=36)
    previous_status: str = Field(max_length=10)
    reason: str = Field(max_length=2000)
    actor: str = Field(max_length=200)
    """Who dismissed it (the API key's name, or the host user of a command)."""
    dismissed_at: datetime = Field(sa_column=_ts(index=True))
    with_task: str | None = Field(default=None, max_length=36)
    """Set on a blocked task dismissed together with the dead task it waited on."""


class DriftRunRow(SQLModel, table=True):
    """One comparison of a provider with the records, kept: when, started how, what it found."""

    __tablename__ = "drift_runs"
    __table_args__ = (Index("ix_drift_runs_provider", "provider", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    provider: str = Field(max_length=20)
    source: str = Field(max_length=20)
    """``console`` or ``cli`` (compared by hand), ``daily`` (the scheduled run)."""
    checked_at: datetime = Field(sa_column=_ts(index=True))
    checked: int = 0
    held: int = 0
    skipped: int = 0
    counts: dict[str, int] = Field(sa_column=Column(JSON, nullable=False))
    """Objects per kind of drift."""
    items: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    """The drifted objects (at most :data:`DRIFT_ITEMS_KEPT`), as the report's items on the wire."""


DRIFT_ITEMS_KEPT = 500
