"""Tables of providers' programmes: a customer's membership, and each site's compensation.

Registered with the metadata by ``gateway.store.tables``.

* ``programme_memberships``: one row per customer and programme (``volue``): what the
  caller wants (``wanted``: enrolled or not_enrolled), where it stands (``status``:
  enrolled, not_enrolled, pending, failed), since when, and the customer's eligibility
  as last learnt (from a ``UserEligibility`` event or asked on demand).
* ``site_compensations``: the latest compensation fetched for a site (current month),
  with the provider's problems translated into what to fix at the gateway and the meter
  point ids the provider holds for the site's location.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Column, Date, DateTime
from sqlmodel import Field, SQLModel

_UTC = DateTime(timezone=True)


def _ts(nullable: bool = True) -> Column[datetime]:
    return Column(_UTC, nullable=nullable)


class ProgrammeMembershipRow(SQLModel, table=True):
    __tablename__ = "programme_memberships"

    customer_id: str = Field(primary_key=True, max_length=36)
    programme: str = Field(primary_key=True, max_length=20)
    id: str = Field(max_length=36, unique=True)
    """The membership's own id: the ``entity_id`` of its outbox tasks (not the customer's id,
    which names the customer's own upserts at the same queue)."""
    wanted: str = Field(default="not_enrolled", max_length=20)
    status: str = Field(default="not_enrolled", max_length=20)
    enrollment_id: str | None = Field(default=None, max_length=100)
    enrolled_at: datetime | None = Field(default=None, sa_column=_ts())
    eligible: bool | None = Field(default=None, index=True)
    eligibility_checked_at: datetime | None = Field(default=None, sa_column=_ts())
    last_error: str | None = None
    updated_at: datetime = Field(sa_column=_ts(nullable=False))


class SiteCompensationRow(SQLModel, table=True):
    __tablename__ = "site_compensations"

    site_id: str = Field(primary_key=True, max_length=36)
    customer_id: str = Field(max_length=36, index=True)
    period_from: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    period_to: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    active_amount: float = 0.0
    blocked_amount: float = 0.0
    currency: str | None = Field(default=None, max_length=3)
    problems: list[dict[str, object]] = Field(sa_column=Column(JSON, nullable=False))
    checked_at: datetime = Field(sa_column=_ts(nullable=False))
    meter_point_ids: list[str] = Field(default_factory=list, sa_column=Column(
        JSON, nullable=False, server_default="[]"))
    """The meter point ids Volue's answer names for the site's location."""
