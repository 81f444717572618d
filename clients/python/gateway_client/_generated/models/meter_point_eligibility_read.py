from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset







T = TypeVar("T", bound="MeterPointEligibilityRead")



@_attrs_define
class MeterPointEligibilityRead:
    """ 
        Attributes:
            checked_at (str):
            eligible (bool):
            meter_point_id (str):
     """

    checked_at: str
    eligible: bool
    meter_point_id: str





    def to_dict(self) -> dict[str, Any]:
        checked_at = self.checked_at

        eligible = self.eligible

        meter_point_id = self.meter_point_id


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "checkedAt": checked_at,
            "eligible": eligible,
            "meterPointId": meter_point_id,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        checked_at = d.pop("checkedAt")

        eligible = d.pop("eligible")

        meter_point_id = d.pop("meterPointId")

        meter_point_eligibility_read = cls(
            checked_at=checked_at,
            eligible=eligible,
            meter_point_id=meter_point_id,
        )

        return meter_point_eligibility_read

