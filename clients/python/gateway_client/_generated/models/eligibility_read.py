from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast






T = TypeVar("T", bound="EligibilityRead")



@_attrs_define
class EligibilityRead:
    """ 
        Attributes:
            checked_at (None | str):
            customer_id (str):
            eligible (bool | None):
     """

    checked_at: None | str
    customer_id: str
    eligible: bool | None





    def to_dict(self) -> dict[str, Any]:
        checked_at: None | str
        checked_at = self.checked_at

        customer_id = self.customer_id

        eligible: bool | None
        eligible = self.eligible


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "checkedAt": checked_at,
            "customerId": customer_id,
            "eligible": eligible,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        def _parse_checked_at(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        checked_at = _parse_checked_at(d.pop("checkedAt"))


        customer_id = d.pop("customerId")

        def _parse_eligible(data: object) -> bool | None:
            if data is None:
                return data
            return cast(bool | None, data)

        eligible = _parse_eligible(d.pop("eligible"))


        eligibility_read = cls(
            checked_at=checked_at,
            customer_id=customer_id,
            eligible=eligible,
        )

        return eligibility_read

