"""Which sites have their energy usage reported to Volue: one predicate, in one place.

A site qualifies when all three hold:

1. its Volue location is synced (the site's ``provider_links`` row at Volue is
   ``synced``), so Volue knows the ``locationId`` the report names;
2. its main meter (a live electricity meter with ``isMain``) has a meter point id,
   the report's ``meterPointId``;
3. it is enrolled: its customer is enrolled in Volue's programme
   (``programme_memberships`` status ``enrolled``, ``PUT /v1/customers/{id}/programmes/volue``)
   and the site is not switched off, or the site is switched on explicitly; the per-site
   switch is the site's ``energy_usage_enrollments`` row
   (``PUT /v1/sites/{id}/energy-usage/enrollment``), which overrides the customer's
   membership either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import and_, or_, select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.domain import DeviceKind, ProgrammeStatus, Provider, SyncStatus
from gateway.store.energy_tables import EnergyEnrollmentRow
from gateway.store.programme_tables import ProgrammeMembershipRow
from gateway.store.tables import DeviceRow, ProviderLinkRow, SiteRow

ELECTRICITY = "electricity"


@dataclass(frozen=True, slots=True)
class ReportingSite:
    """A site whose main meter's consumption goes to Volue as ``LocationEnergyUsage``."""

    site_id: str
    customer_id: str
    device_id: str
    meter_point_id: str


async def reporting_sites(session: AsyncSession,
                          site_ids: Sequence[str] | None = None) -> list[ReportingSite]:
    """The sites (all, or those of ``site_ids``) whose energy usage is reported to Volue."""
    link = ProviderLinkRow
    member = ProgrammeMembershipRow
    query = (
        select(col(SiteRow.id), col(SiteRow.customer_id), col(DeviceRow.id), col(DeviceRow.meter_point_id))
        .outerjoin(EnergyEnrollmentRow, col(EnergyEnrollmentRow.site_id) == col(SiteRow.id))
        .outerjoin(member, and_(col(member.customer_id) == col(SiteRow.customer_id),
                                col(member.programme) == Provider.VOLUE.value,
                                col(member.status) == ProgrammeStatus.ENROLLED.value))
        .join(link, and_(col(link.entity_id) == col(SiteRow.id), col(link.provider) == Provider.VOLUE.value,
                         col(link.status) == SyncStatus.SYNCED.value))
        .join(DeviceRow, and_(col(DeviceRow.site_id) == col(SiteRow.id),
                              col(DeviceRow.kind) == DeviceKind.METER.value,
                              col(DeviceRow.is_main).is_(True),
                              col(DeviceRow.medium) == ELECTRICITY,
                              col(DeviceRow.meter_point_id).is_not(None),
                              col(DeviceRow.deleted_at).is_(None)))
        .where(col(SiteRow.deleted_at).is_(None))
        .where(or_(col(EnergyEnrollmentRow.enabled).is_(True),
                   and_(col(EnergyEnrollmentRow.site_id).is_(None), col(member.customer_id).is_not(None))))
        .order_by(col(SiteRow.id))
    )
    if site_ids is not None:
        query = query.where(col(SiteRow.id).in_(list(site_ids)))
    rows = (await session.execute(query)).all()
    seen: set[str] = set()
    found: list[ReportingSite] = []
    for site_id, customer_id, device_id, meter_point_id in rows:
        if site_id in seen:  # two main meters: the first (by site order) is taken
            continue
        seen.add(site_id)
        found.append(ReportingSite(site_id, customer_id, device_id, meter_point_id))
    return found
