from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset






T = TypeVar("T", bound="EnrollRequest")



@_attrs_define
class EnrollRequest:
    """ 
        Attributes:
            only_if_eligible (bool | Unset):  Default: False.
     """

    only_if_eligible: bool | Unset = False





    def to_dict(self) -> dict[str, Any]:
        only_if_eligible = self.only_if_eligible


        field_dict: dict[str, Any] = {}

        field_dict.update({
        })
        if only_if_eligible is not UNSET:
            field_dict["onlyIfEligible"] = only_if_eligible

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        only_if_eligible = d.pop("onlyIfEligible", UNSET)

        enroll_request = cls(
            only_if_eligible=only_if_eligible,
        )

        return enroll_request

