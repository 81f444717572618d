from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.device_kind import DeviceKind
from ..models.medium import Medium
from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="DeviceCreate")



@_attrs_define
class DeviceCreate:
    """ 
        Attributes:
            external_ref (str): The caller's own id: no control or format characters, no space at either end; stored and
                compared in Unicode NFC, so composed and decomposed spellings are one id.
            kind (DeviceKind):
            name (str):
            brand (None | str | Unset):
            capacity (float | None | Unset):
            is_main (bool | Unset):  Default: False.
            medium (Medium | None | Unset):
            meter_number (None | str | Unset):
            meter_point_id (None | str | Unset):
            model (None | str | Unset):
            vin (None | str | Unset):
            year (int | None | Unset):
     """

    external_ref: str
    kind: DeviceKind
    name: str
    brand: None | str | Unset = UNSET
    capacity: float | None | Unset = UNSET
    is_main: bool | Unset = False
    medium: Medium | None | Unset = UNSET
    meter_number: None | str | Unset = UNSET
    meter_point_id: None | str | Unset = UNSET
    model: None | str | Unset = UNSET
    vin: None | str | Unset = UNSET
    year: int | None | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        external_ref = self.external_ref

        kind = self.kind.value

        name = self.name

        brand: None | str | Unset
        if isinstance(self.brand, Unset):
            brand = UNSET
        else:
            brand = self.brand

        capacity: float | None | Unset
        if isinstance(self.capacity, Unset):
            capacity = UNSET
        else:
            capacity = self.capacity

        is_main = self.is_main

        medium: None | str | Unset
        if isinstance(self.medium, Unset):
            medium = UNSET
        elif isinstance(self.medium, Medium):
            medium = self.medium.value
        else:
            medium = self.medium

        meter_number: None | str | Unset
        if isinstance(self.meter_number, Unset):
            meter_number = UNSET
        else:
            meter_number = self.meter_number

        meter_point_id: None | str | Unset
        if isinstance(self.meter_point_id, Unset):
            meter_point_id = UNSET
        else:
            meter_point_id = self.meter_point_id

        model: None | str | Unset
        if isinstance(self.model, Unset):
            model = UNSET
        else:
            model = self.model

        vin: None | str | Unset
        if isinstance(self.vin, Unset):
            vin = UNSET
        else:
            vin = self.vin

        year: int | None | Unset
        if isinstance(self.year, Unset):
            year = UNSET
        else:
            year = self.year


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "externalRef": external_ref,
            "kind": kind,
            "name": name,
        })
        if brand is not UNSET:
            field_dict["brand"] = brand
        if capacity is not UNSET:
            field_dict["capacity"] = capacity
        if is_main is not UNSET:
            field_dict["isMain"] = is_main
        if medium is not UNSET:
            field_dict["medium"] = medium
        if meter_number is not UNSET:
            field_dict["meterNumber"] = meter_number
        if meter_point_id is not UNSET:
            field_dict["meterPointId"] = meter_point_id
        if model is not UNSET:
            field_dict["model"] = model
        if vin is not UNSET:
            field_dict["vin"] = vin
        if year is not UNSET:
            field_dict["year"] = year

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        external_ref = d.pop("externalRef")

        kind = DeviceKind(d.pop("kind"))




        name = d.pop("name")

        def _parse_brand(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        brand = _parse_brand(d.pop("brand", UNSET))


        def _parse_capacity(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        capacity = _parse_capacity(d.pop("capacity", UNSET))


        is_main = d.pop("isMain", UNSET)

        def _parse_medium(data: object) -> Medium | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                medium_type_0 = Medium(data)



                return medium_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(Medium | None | Unset, data)

        medium = _parse_medium(d.pop("medium", UNSET))


        def _parse_meter_number(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        meter_number = _parse_meter_number(d.pop("meterNumber", UNSET))


        def _parse_meter_point_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        meter_point_id = _parse_meter_point_id(d.pop("meterPointId", UNSET))


        def _parse_model(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        model = _parse_model(d.pop("model", UNSET))


        def _parse_vin(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        vin = _parse_vin(d.pop("vin", UNSET))


        def _parse_year(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        year = _parse_year(d.pop("year", UNSET))


        device_create = cls(
            external_ref=external_ref,
            kind=kind,
            name=name,
            brand=brand,
            capacity=capacity,
            is_main=is_main,
            medium=medium,
            meter_number=meter_number,
            meter_point_id=meter_point_id,
            model=model,
            vin=vin,
            year=year,
        )

        return device_create

