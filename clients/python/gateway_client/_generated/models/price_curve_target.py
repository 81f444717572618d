from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset







T = TypeVar("T", bound="PriceCurveTarget")



@_attrs_define
class PriceCurveTarget:
    """ 
        Attributes:
            location_id (str):
            resource_id (str):
     """

    location_id: str
    resource_id: str





    def to_dict(self) -> dict[str, Any]:
        location_id = self.location_id

        resource_id = self.resource_id


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "locationId": location_id,
            "resourceId": resource_id,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        location_id = d.pop("locationId")

        resource_id = d.pop("resourceId")

        price_curve_target = cls(
            location_id=location_id,
            resource_id=resource_id,
        )

        return price_curve_target

