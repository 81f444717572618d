from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset







T = TypeVar("T", bound="ConsumptionRead")



@_attrs_define
class ConsumptionRead:
    """ 
        Attributes:
            complete (bool):
            end (str):
            quantity (float):
            start (str):
            unit (str):
     """

    complete: bool
    end: str
    quantity: float
    start: str
    unit: str





    def to_dict(self) -> dict[str, Any]:
        complete = self.complete

        end = self.end

        quantity = self.quantity

        start = self.start

        unit = self.unit


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "complete": complete,
            "end": end,
            "quantity": quantity,
            "start": start,
            "unit": unit,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        complete = d.pop("complete")

        end = d.pop("end")

        quantity = d.pop("quantity")

        start = d.pop("start")

        unit = d.pop("unit")

        consumption_read = cls(
            complete=complete,
            end=end,
            quantity=quantity,
            start=start,
            unit=unit,
        )

        return consumption_read

