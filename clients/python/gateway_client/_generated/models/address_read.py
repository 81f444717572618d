from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast






T = TypeVar("T", bound="AddressRead")



@_attrs_define
class AddressRead:
    """ 
        Attributes:
            city (str):
            country (str):
            line1 (str):
            line2 (None | str):
            postcode (str):
     """

    city: str
    country: str
    line1: str
    line2: None | str
    postcode: str





    def to_dict(self) -> dict[str, Any]:
        city = self.city

        country = self.country

        line1 = self.line1

        line2: None | str
        line2 = self.line2

        postcode = self.postcode


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "city": city,
            "country": country,
            "line1": line1,
            "line2": line2,
            "postcode": postcode,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        city = d.pop("city")

        country = d.pop("country")

        line1 = d.pop("line1")

        def _parse_line2(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        line2 = _parse_line2(d.pop("line2"))


        postcode = d.pop("postcode")

        address_read = cls(
            city=city,
            country=country,
            line1=line1,
            line2=line2,
            postcode=postcode,
        )

        return address_read

