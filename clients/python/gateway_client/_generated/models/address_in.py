from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="AddressIn")



@_attrs_define
class AddressIn:
    """ 
        Attributes:
            city (str):
            country (str):
            line1 (str):
            postcode (str):
            line2 (None | str | Unset):
     """

    city: str
    country: str
    line1: str
    postcode: str
    line2: None | str | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        city = self.city

        country = self.country

        line1 = self.line1

        postcode = self.postcode

        line2: None | str | Unset
        if isinstance(self.line2, Unset):
            line2 = UNSET
        else:
            line2 = self.line2


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "city": city,
            "country": country,
            "line1": line1,
            "postcode": postcode,
        })
        if line2 is not UNSET:
            field_dict["line2"] = line2

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        city = d.pop("city")

        country = d.pop("country")

        line1 = d.pop("line1")

        postcode = d.pop("postcode")

        def _parse_line2(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        line2 = _parse_line2(d.pop("line2", UNSET))


        address_in = cls(
            city=city,
            country=country,
            line1=line1,
            postcode=postcode,
            line2=line2,
        )

        return address_in

