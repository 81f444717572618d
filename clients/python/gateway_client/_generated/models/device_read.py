from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.device_kind import DeviceKind
from ..models.medium import Medium
from typing import cast

if TYPE_CHECKING:
  from ..models.device_read_sync import DeviceReadSync





T = TypeVar("T", bound="DeviceRead")



@_attrs_define
class DeviceRead:
    """ 
        Attributes:
            brand (None | str):
            capacity (float | None):
            created_at (str):
            customer_id (str):
            deleted_at (None | str):
            external_ref (str):
            id (str):
            is_main (bool):
            kind (DeviceKind):
            medium (Medium | None):
            meter_number (None | str):
            meter_point_id (None | str):
            model (None | str):
            name (str):
            site_id (None | str):
            sync (DeviceReadSync):
            updated_at (str):
            vin (None | str):
            year (int | None):
     """

    brand: None | str
    capacity: float | None
    created_at: str
    customer_id: str
    deleted_at: None | str
    external_ref: str
    id: str
    is_main: bool
    kind: DeviceKind
    medium: Medium | None
    meter_number: None | str
    meter_point_id: None | str
    model: None | str
    name: str
    site_id: None | str
    sync: DeviceReadSync
    updated_at: str
    vin: None | str
    year: int | None





    def to_dict(self) -> dict[str, Any]:
        from ..models.device_read_sync import DeviceReadSync # noqa: PLC0415
        brand: None | str
        brand = self.brand

        capacity: float | None
        capacity = self.capacity

        created_at = self.created_at

        customer_id = self.customer_id

        deleted_at: None | str
        deleted_at = self.deleted_at

        external_ref = self.external_ref

        id = self.id

        is_main = self.is_main

        kind = self.kind.value

        medium: None | str
        if isinstance(self.medium, Medium):
            medium = self.medium.value
        else:
            medium = self.medium

        meter_number: None | str
        meter_number = self.meter_number

        meter_point_id: None | str
        meter_point_id = self.meter_point_id

        model: None | str
        model = self.model

        name = self.name

        site_id: None | str
        site_id = self.site_id

        sync = self.sync.to_dict()

        updated_at = self.updated_at

        vin: None | str
        vin = self.vin

        year: int | None
        year = self.year


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "brand": brand,
            "capacity": capacity,
            "createdAt": created_at,
            "customerId": customer_id,
            "deletedAt": deleted_at,
            "externalRef": external_ref,
            "id": id,
            "isMain": is_main,
            "kind": kind,
            "medium": medium,
            "meterNumber": meter_number,
            "meterPointId": meter_point_id,
            "model": model,
            "name": name,
            "siteId": site_id,
            "sync": sync,
            "updatedAt": updated_at,
            "vin": vin,
            "year": year,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.device_read_sync import DeviceReadSync # noqa: PLC0415
        d = dict(src_dict)
        def _parse_brand(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        brand = _parse_brand(d.pop("brand"))


        def _parse_capacity(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        capacity = _parse_capacity(d.pop("capacity"))


        created_at = d.pop("createdAt")

        customer_id = d.pop("customerId")

        def _parse_deleted_at(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        deleted_at = _parse_deleted_at(d.pop("deletedAt"))


        external_ref = d.pop("externalRef")

        id = d.pop("id")

        is_main = d.pop("isMain")

        kind = DeviceKind(d.pop("kind"))




        def _parse_medium(data: object) -> Medium | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                medium_type_0 = Medium(data)



                return medium_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(Medium | None, data)

        medium = _parse_medium(d.pop("medium"))


        def _parse_meter_number(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        meter_number = _parse_meter_number(d.pop("meterNumber"))


        def _parse_meter_point_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        meter_point_id = _parse_meter_point_id(d.pop("meterPointId"))


        def _parse_model(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        model = _parse_model(d.pop("model"))


        name = d.pop("name")

        def _parse_site_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        site_id = _parse_site_id(d.pop("siteId"))


        sync = DeviceReadSync.from_dict(d.pop("sync"))




        updated_at = d.pop("updatedAt")

        def _parse_vin(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        vin = _parse_vin(d.pop("vin"))


        def _parse_year(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        year = _parse_year(d.pop("year"))


        device_read = cls(
            brand=brand,
            capacity=capacity,
            created_at=created_at,
            customer_id=customer_id,
            deleted_at=deleted_at,
            external_ref=external_ref,
            id=id,
            is_main=is_main,
            kind=kind,
            medium=medium,
            meter_number=meter_number,
            meter_point_id=meter_point_id,
            model=model,
            name=name,
            site_id=site_id,
            sync=sync,
            updated_at=updated_at,
            vin=vin,
            year=year,
        )

        return device_read

