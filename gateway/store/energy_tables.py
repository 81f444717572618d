"""Tables of derived energy usage (see :mod:`gateway.energy`).

Registered with the metadata by ``gateway.store.tables``.

``energy_usage_enrollments`` holds the per-site flag that turns the reporting of a
site's energy usage to Volue on (the third condition of
``gateway.energy.enrollment.reports_energy_usage``). ``energy_usage_points`` holds one
derived interval per (site, direction, interval start): its value, whether it was
flagged (a register that went down), and the value last queued for Volue with the
report that carries it. ``energy_usage_marks`` remembers, per meter, up to which
``received_at`` its readings have been derived.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, DateTime
from sqlmodel import Field, SQLModel

_UTC_DATETIME = DateTime(timezone=True)


class EnergyEnrollmentRow(SQLModel, table=True):
    """Whether a site's energy usage is reported to Volue."""

    __tablename__ = "energy_usage_enrollments"

    site_id: str = Field(primary_key=True, max_length=36)
    enabled: bool = True
    updated_at: datetime = Field(sa_column=Column(_UTC_DATETIME, nullable=False))


class EnergyPointRow(SQLModel, table=True):
    """One derived interval of a site's main meter."""

    __tablename__ = "energy_usage_points"

    site_id: str = Field(primary_key=True, max_length=36)
    direction: str = Field(primary_key=True, max_length=8)
    """``import`` (consumption, reported to Volue) or ``export``."""
    ts: int = Field(sa_column=Column(BigInteger(), primary_key=True, autoincrement=False))
    """Interval start, epoch seconds."""
    interval_s: int
    device_id: str = Field(max_length=36)
    meter_point_id: str | None = Field(default=None, max_length=40)
    kwh: float | None = None
    """None while the interval is flagged."""
    flagged: bool = False
    """A register that went down (meter exchange, rollover): left out, never reported."""
    reported_kwh: float | None = None
    """The value last queued for Volue (None: never)."""
    report_id: str | None = Field(default=None, max_length=36)
    """The ``volue_reports`` row that carries ``reported_kwh``."""
    updated_at: datetime = Field(sa_column=Column(_UTC_DATETIME, nullable=False))


class EnergyMarkRow(SQLModel, table=True):
    """How far a meter's readings have been derived."""

    __tablename__ = "energy_usage_marks"

    device_id: str = Field(primary_key=True, max_length=36)
    received_through: datetime = Field(sa_column=Column(_UTC_DATETIME, nullable=False))
