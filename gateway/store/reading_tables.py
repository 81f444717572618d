"""Tables of readings and their delivery state.

Registered with the metadata by ``gateway.store.tables``.

Readings are written in bulk (COPY or Core inserts, never ORM objects) and
are keyed by (device, OBIS code, epoch second): that primary key is also what
deduplicates them, so each reading has two index entries, its key and its
batch. ``batch_id`` names the :class:`ReadingBatchRow` the reading is
delivered with, which is also the ``entity_id`` of the outbox task that
delivers it (NULL when no provider takes the reading). A reading is
delivered when its batch is (``reading_batches.delivered_at``, set once, in
the transaction that finishes the task) or, for the readings a partly failed
attempt did deliver, when its own ``delivered_at`` is set; marking the batch
instead of each of its readings keeps delivery at one row update per batch.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, DateTime, Index, String, text
from sqlmodel import Field, SQLModel

_UTC_DATETIME = DateTime(timezone=True)


def _bytewise(length: int, *, nullable: bool = False, primary_key: bool = False) -> Column[str]:
    """A string column compared byte by byte on PostgreSQL (``COLLATE "C"``): ids and codes need
    no language rules, and the readings indexes grow much faster without them."""
    return Column(String(length).with_variant(String(length, collation="C"), "postgresql"),
                  nullable=nullable, primary_key=primary_key)


def _ts(nullable: bool = False) -> Column[datetime]:
    return Column(_UTC_DATETIME, nullable=nullable)


class ReadingRow(SQLModel, table=True):
    """One meter reading: a value of one OBIS code of one device at one epoch second."""

    __tablename__ = "readings"
    __table_args__ = (Index("ix_readings_batch", "batch_id"),)

    device_id: str = Field(sa_column=_bytewise(36, primary_key=True))
    obis_code: str = Field(sa_column=_bytewise(40, primary_key=True))
    """Normalised ``A-B:C.D.E`` (plus ``*F`` and a suffix when given); short forms read as ``1-1:``."""
    ts: int = Field(sa_column=Column(BigInteger(), primary_key=True, autoincrement=False))
    """Epoch seconds (UTC)."""
    value: float
    batch_id: str | None = Field(default=None, sa_column=_bytewise(36, nullable=True))
    received_at: datetime = Field(sa_column=_ts())
    delivered_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    """Set only for readings delivered by an attempt that failed for others of the batch."""


class ReadingBatchRow(SQLModel, table=True):
    """A customer's readings delivered by one task (see :mod:`gateway.readings.batches`)."""

    __tablename__ = "reading_batches"
    __table_args__ = (
        # The batches not delivered yet, per customer: where an ingest looks for open ones.
        Index("ix_reading_batches_open", "customer_id",
              sqlite_where=text("delivered_at IS NULL"), postgresql_where=text("delivered_at IS NULL")),
    )

    id: str = Field(primary_key=True, max_length=36)
    customer_id: str = Field(max_length=36, index=True)
    size: int
    """Readings stored in the batch."""
    created_at: datetime = Field(sa_column=_ts())
    delivered_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    """When the task delivering every remaining reading of the batch finished."""
