from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset







T = TypeVar("T", bound="EnergyPoint")



@_attrs_define
class EnergyPoint:
    """ 
        Attributes:
            kwh (float):
            timestamp (str):
     """

    kwh: float
    timestamp: str





    def to_dict(self) -> dict[str, Any]:
        kwh = self.kwh

        timestamp = self.timestamp


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "kwh": kwh,
            "timestamp": timestamp,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        kwh = d.pop("kwh")

        timestamp = d.pop("timestamp")

        energy_point = cls(
            kwh=kwh,
            timestamp=timestamp,
        )

        return energy_point

