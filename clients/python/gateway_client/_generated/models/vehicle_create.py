from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="VehicleCreate")



@_attrs_define
class VehicleCreate:
    """ 
        Attributes:
            brand (str):
            external_ref (str): The caller's own id: no control or format characters, no space at either end; stored and
                compared in Unicode NFC, so composed and decomposed spellings are one id.
            model (str):
            name (str):
            vin (str):
            year (int):
            capacity (float | None | Unset):
     """

    brand: str
    external_ref: str
    model: str
    name: str
    vin: str
    year: int
    capacity: float | None | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        brand = self.brand

        external_ref = self.external_ref

        model = self.model

        name = self.name

        vin = self.vin

        year = self.year

        capacity: float | None | Unset
        if isinstance(self.capacity, Unset):
            capacity = UNSET
        else:
            capacity = self.capacity


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "brand": brand,
            "externalRef": external_ref,
            "model": model,
            "name": name,
            "vin": vin,
            "year": year,
        })
        if capacity is not UNSET:
            field_dict["capacity"] = capacity

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        brand = d.pop("brand")

        external_ref = d.pop("externalRef")

        model = d.pop("model")

        name = d.pop("name")

        vin = d.pop("vin")

        year = d.pop("year")

        def _parse_capacity(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        capacity = _parse_capacity(d.pop("capacity", UNSET))


        vehicle_create = cls(
            brand=brand,
            external_ref=external_ref,
            model=model,
            name=name,
            vin=vin,
            year=year,
            capacity=capacity,
        )

        return vehicle_create

