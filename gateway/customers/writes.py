"""Creates, updates and deletes of customers, sites and devices, with their checks.

Every function here runs inside the caller's transaction; the caller commits. The
upstream work a write needs is planned through :mod:`gateway.customers.planning`, so
that it is recorded atomically with the change.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from msgspec import UNSET
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.clock import new_id
from gateway.core.domain import DEFAULT_CATEGORY, DeviceKind, EntityType, SiteKind
from gateway.core.errors import ConflictError, InvalidError
from gateway.customers import schemas as s
from gateway.customers.locks import lock_links
from gateway.customers.planning import (
    live_links,
    plan_entity_upsert,
    plan_site_meter_change,
    plan_tree_delete,
)
from gateway.customers.reads import customer_tree
from gateway.customers.rules import check_device_fields
from gateway.customers.sync.fresh import FreshTrees
from gateway.outbox.plan import OutboxPlanner
from gateway.store.db import among, chunked, is_postgres
from gateway.store.tables import CustomerRow, DeviceRow, SiteRow

# --- validation shared by creates and updates -------------------------------------------


async def refs_in_use(
    session: AsyncSession, table: type[CustomerRow] | type[SiteRow] | type[DeviceRow], refs: list[str]
) -> set[str]:
    """Those of ``refs`` that a live (not deleted) row of ``table`` already has as its externalRef."""
    taken: set[str] = set()
    connection = await session.connection()
    postgres = is_postgres(connection)
    for part in chunked(refs, postgres=postgres):
        rows = await connection.execute(
            select(col(table.external_ref)).where(
                among(table.external_ref, part, postgres=postgres),
                col(table.deleted_at).is_(None),
            )
        )
        taken.update(ref for (ref,) in rows)
    return taken


async def check_refs_free(
    session: AsyncSession,
    *,
    customers: Sequence[str] = (),
    sites: Sequence[tuple[str, str]] = (),
    devices: Sequence[tuple[str, str]] = (),
) -> None:
    """Refuse with 409 when an externalRef (given with its field path) is already in use."""
    taken = await refs_in_use(session, CustomerRow, list(customers))
    if taken:
        raise ConflictError(f"a customer with externalRef {sorted(taken)[0]!r} exists",
                            field="externalRef")
    for table, items, noun in ((SiteRow, sites, "site"), (DeviceRow, devices, "device")):
        taken = await refs_in_use(session, table, [ref for ref, _ in items])
        for ref, path in items:
            if ref in taken:
                raise ConflictError(f"a {noun} with externalRef {ref!r} exists", field=path)
        seen: set[str] = set()
        for ref, path in items:
            if ref in seen:
                raise ConflictError(f"externalRef {ref!r} is used twice in this request",
                                    field=path)
            seen.add(ref)


# --- creates -----------------------------------------------------------------------------


def site_values(customer_id: str, data: s.SiteCreate, now: datetime) -> dict[str, Any]:
    """The column values of a new site row."""
    return {
        "id": new_id(), "customer_id": customer_id, "external_ref": data.external_ref,
        "name": data.name, "kind": data.kind.value,
        "category": (data.category or DEFAULT_CATEGORY[data.kind]).value,
        "address_line1": data.address.line1, "address_line2": data.address.line2,
        "postcode": data.address.postcode, "city": data.address.city,
        "country": data.address.country,
        "latitude": data.coordinates.latitude if data.coordinates else None,
        "longitude": data.coordinates.longitude if data.coordinates else None,
        "meter_point_ids": list(dict.fromkeys(data.meter_point_ids)),
        "parent_site_id": data.parent_site_id, "created_at": now, "updated_at": now,
        "deleted_at": None,
    }


def device_values(
    customer_id: str, site_id: str | None, data: s.DeviceCreate | s.VehicleCreate, now: datetime
) -> dict[str, Any]:
    """The column values of a new device (or vehicle) row."""
    values: dict[str, Any] = {
        "id": new_id(), "customer_id": customer_id, "site_id": site_id,
        "external_ref": data.external_ref, "name": data.name, "brand": data.brand,
        "model": data.model, "year": data.year, "vin": data.vin, "capacity": data.capacity,
        "created_at": now, "updated_at": now, "deleted_at": None,
    }
    if isinstance(data, s.VehicleCreate):
        values.update(site_id=None, kind=DeviceKind.VEHICLE.value, medium=None, is_main=False,
                      meter_number=None, meter_point_id=None)
    else:
        values.update(kind=data.kind.value, medium=data.medium.value if data.medium else None,
                      is_main=data.is_main, meter_number=data.meter_number,
                      meter_point_id=data.meter_point_id)
    return values


async def add_site(
    session: AsyncSession,
    planner: OutboxPlanner,
    customer: CustomerRow,
    data: s.SiteCreate,
    now: datetime,
    *,
    field_prefix: str = "",
) -> tuple[SiteRow, list[DeviceRow]]:
    """Insert a site (and its nested devices) and queue their upstream work."""
    if data.parent_site_id is not None:
        parent = await session.get(SiteRow, data.parent_site_id)
        if parent is None or parent.deleted_at is not None or parent.customer_id != customer.id:
            raise InvalidError(
                "parentSiteId must name a site of the same customer",
                field=f"{field_prefix}parentSiteId",
            )
    for index, device in enumerate(data.devices):
        check_device_fields(
            device.kind,
            {"medium": device.medium, "meter_point_id": device.meter_point_id,
             "meter_number": device.meter_number},
            f"{field_prefix}devices[{index}].",
        )
    site = SiteRow(**site_values(customer.id, data, now))
    session.add(site)
    planner.mark_new(site.id)
    await plan_entity_upsert(planner, customer, EntityType.SITE, site)
    devices: list[DeviceRow] = []
    for device_data in data.devices:
        device_row = DeviceRow(**device_values(customer.id, site.id, device_data, now))
        session.add(device_row)
        planner.mark_new(device_row.id)
        await plan_entity_upsert(planner, customer, EntityType.DEVICE, device_row)
        devices.append(device_row)
    return site, devices


async def add_device(
    session: AsyncSession,
    planner: OutboxPlanner,
    customer: CustomerRow,
    site: SiteRow | None,
    data: s.DeviceCreate | s.VehicleCreate,
    now: datetime,
) -> DeviceRow:
    if isinstance(data, s.DeviceCreate):
        check_device_fields(
            data.kind,
            {"medium": data.medium, "meter_point_id": data.meter_point_id,
             "meter_number": data.meter_number},
        )
    device = DeviceRow(**device_values(customer.id, site.id if site else None, data, now))
    session.add(device)
    planner.mark_new(device.id)
    await plan_entity_upsert(planner, customer, EntityType.DEVICE, device)
    return device


RefPaths = list[tuple[str, str]]


def tree_refs(data: s.CustomerCreate, prefix: str = "") -> tuple[RefPaths, RefPaths]:
    """The site and device externalRefs of a nested create, with their field paths."""
    sites = [(site.external_ref, f"{prefix}sites[{i}].externalRef") for i, site in enumerate(data.sites)]
    devices = [
        (device.external_ref, f"{prefix}sites[{i}].devices[{j}].externalRef")
        for i, site in enumerate(data.sites)
        for j, device in enumerate(site.devices)
    ] + [(v.external_ref, f"{prefix}vehicles[{k}].externalRef") for k, v in enumerate(data.vehicles)]
    return sites, devices


def add_customer(fresh: FreshTrees, data: s.CustomerCreate, now: datetime) -> dict[str, Any]:
    """Plan a new customer with its nested sites, devices and vehicles into ``fresh``.

    Everything is checked before anything is added, so a refused customer leaves
    ``fresh`` as it was. externalRefs are checked by the caller
    (:func:`check_refs_free`), in bulk for batches.
    """
    for i, site in enumerate(data.sites):
        if site.parent_site_id is not None:
            raise InvalidError(
                "a site nested in a new customer cannot name a parent site",
                field=f"sites[{i}].parentSiteId",
            )
        for j, device in enumerate(site.devices):
            check_device_fields(
                device.kind,
                {"medium": device.medium, "meter_point_id": device.meter_point_id,
                 "meter_number": device.meter_number},
                f"sites[{i}].devices[{j}].",
            )
    providers = list(dict.fromkeys(p.value for p in data.providers))
    customer: dict[str, Any] = {
        "id": new_id(), "external_ref": data.external_ref, "name": data.name, "email": data.email,
        "providers": providers, "created_at": now, "updated_at": now, "deleted_at": None,
    }
    fresh.add("customers", customer, providers=providers)
    for site_data in data.sites:
        site_row = site_values(customer["id"], site_data, now)
        fresh.add("sites", site_row, providers=providers)
        for device_data in site_data.devices:
            fresh.add("devices", device_values(customer["id"], site_row["id"], device_data, now),
                      providers=providers)
    for vehicle in data.vehicles:
        fresh.add("devices", device_values(customer["id"], None, vehicle, now), providers=providers)
    return customer


# --- updates -----------------------------------------------------------------------------


def apply_changes(row: Any, changes: dict[str, Any]) -> bool:
    """Set the given attributes; say whether anything changed."""
    changed = False
    for name, value in changes.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


async def update_customer(
    session: AsyncSession, planner: OutboxPlanner, row: CustomerRow, data: s.CustomerUpdate, now: datetime
) -> None:
    changes: dict[str, Any] = {}
    if data.external_ref is not UNSET and data.external_ref != row.external_ref:
        await check_refs_free(session, customers=[data.external_ref])
        changes["external_ref"] = data.external_ref
    if data.name is not UNSET:
        changes["name"] = data.name
    if data.email is not UNSET:
        changes["email"] = data.email
    old_providers = list(row.providers)
    if data.providers is not UNSET:
        changes["providers"] = list(dict.fromkeys(p.value for p in data.providers))
    if not apply_changes(row, changes):
        return
    row.updated_at = now
    if data.providers is UNSET:
        return
    added = [p for p in row.providers if p not in old_providers]
    removed = [p for p in old_providers if p not in row.providers]
    sites, devices = await customer_tree(session, row.id)
    await lock_links(session, [row.id, *(site.id for site in sites), *(device.id for device in devices)])
    if added:
        await plan_entity_upsert(planner, row, EntityType.CUSTOMER, row, providers=added)
        for site in sorted(sites, key=lambda site: site.parent_site_id is not None):
            await plan_entity_upsert(planner, row, EntityType.SITE, site, providers=added)
        for device in devices:
            await plan_entity_upsert(planner, row, EntityType.DEVICE, device, providers=added,
                                     resend_site=False)
    if removed:
        await plan_tree_delete(planner, row, sites, devices, providers=removed, customer_too=True)


async def update_site(
    session: AsyncSession, planner: OutboxPlanner, customer: CustomerRow, row: SiteRow,
    data: s.SiteUpdate, now: datetime,
) -> None:
    changes: dict[str, Any] = {}
    if data.external_ref is not UNSET and data.external_ref != row.external_ref:
        await check_refs_free(session, sites=[(data.external_ref, "externalRef")])
        changes["external_ref"] = data.external_ref
    for name in ("name",):
        if getattr(data, name) is not UNSET:
            changes[name] = getattr(data, name)
    if data.kind is not UNSET:
        changes["kind"] = data.kind.value
        if data.category is UNSET and row.category == DEFAULT_CATEGORY[SiteKind(row.kind)].value:
            changes["category"] = DEFAULT_CATEGORY[data.kind].value
    if data.category is not UNSET:
        changes["category"] = data.category.value
    if data.address is not UNSET:
        changes.update(
            address_line1=data.address.line1, address_line2=data.address.line2,
            postcode=data.address.postcode, city=data.address.city, country=data.address.country,
        )
    if data.coordinates is not UNSET:
        changes["latitude"] = data.coordinates.latitude if data.coordinates else None
        changes["longitude"] = data.coordinates.longitude if data.coordinates else None
    if data.meter_point_ids is not UNSET:
        changes["meter_point_ids"] = list(dict.fromkeys(data.meter_point_ids))
    if data.parent_site_id is not UNSET:
        if data.parent_site_id is not None:
            if data.parent_site_id == row.id:
                raise InvalidError("a site cannot be its own parent", field="parentSiteId")
            parent = await session.get(SiteRow, data.parent_site_id)
            if parent is None or parent.deleted_at is not None or parent.customer_id != row.customer_id:
                raise InvalidError("parentSiteId must name a site of the same customer",
                                   field="parentSiteId")
        changes["parent_site_id"] = data.parent_site_id
    if not apply_changes(row, changes):
        return
    row.updated_at = now
    providers = await live_links(planner, row.id, customer.providers)
    await plan_entity_upsert(planner, customer, EntityType.SITE, row, providers=providers)


async def update_device(
    session: AsyncSession, planner: OutboxPlanner, customer: CustomerRow, row: DeviceRow,
    data: s.DeviceUpdate, now: datetime,
) -> None:
    changes: dict[str, Any] = {}
    if data.external_ref is not UNSET and data.external_ref != row.external_ref:
        await check_refs_free(session, devices=[(data.external_ref, "externalRef")])
        changes["external_ref"] = data.external_ref
    for name in ("name", "is_main", "meter_number", "meter_point_id", "brand", "model", "year",
                 "vin", "capacity"):
        value = getattr(data, name)
        if value is not UNSET:
            changes[name] = value
    if data.medium is not UNSET:
        changes["medium"] = data.medium.value if data.medium else None
    kind = DeviceKind(row.kind)
    merged = {name: changes.get(name, getattr(row, name))
              for name in ("medium", "meter_point_id", "meter_number")}
    if kind is not DeviceKind.VEHICLE:
        check_device_fields(kind, merged)
    if not changes:
        return
    await lock_links(session, [row.id, *([row.site_id] if row.site_id else [])])
    if not apply_changes(row, changes):
        return
    row.updated_at = now
    providers = await live_links(planner, row.id, customer.providers)
    await plan_entity_upsert(planner, customer, EntityType.DEVICE, row, providers=providers)


# --- deletes -----------------------------------------------------------------------------


async def delete_customer(
    session: AsyncSession, planner: OutboxPlanner, row: CustomerRow, now: datetime
) -> None:
    sites, devices = await customer_tree(session, row.id)
    await lock_links(session, [row.id, *(site.id for site in sites), *(device.id for device in devices)])
    for item in [row, *sites, *devices]:
        item.deleted_at = now
        item.updated_at = now
    await plan_tree_delete(planner, row, sites, devices, providers=row.providers, customer_too=True)


async def delete_site(
    session: AsyncSession, planner: OutboxPlanner, customer: CustomerRow, row: SiteRow, now: datetime
) -> None:
    children = [
        site for site in await session.exec(
            select(SiteRow).where(col(SiteRow.parent_site_id) == row.id, col(SiteRow.deleted_at).is_(None))
        )
    ]
    if children:
        raise ConflictError(
            f"site has {len(children)} child site(s); delete or move them first", field=None
        )
    devices = [
        device for device in await session.exec(
            select(DeviceRow).where(col(DeviceRow.site_id) == row.id, col(DeviceRow.deleted_at).is_(None))
        )
    ]
    await lock_links(session, [row.id, *(device.id for device in devices)])
    for item in [row, *devices]:
        item.deleted_at = now
        item.updated_at = now
    await plan_tree_delete(planner, customer, [row], devices, providers=customer.providers,
                           customer_too=False)


async def delete_device(
    session: AsyncSession, planner: OutboxPlanner, customer: CustomerRow, row: DeviceRow, now: datetime
) -> None:
    await lock_links(session, [row.id, *([row.site_id] if row.site_id else [])])
    row.deleted_at = now
    row.updated_at = now
    await plan_tree_delete(planner, customer, [], [row], providers=customer.providers,
                           customer_too=False)
    if row.kind == DeviceKind.METER.value and row.site_id:
        await plan_site_meter_change(planner, customer, row.site_id)
