from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast






T = TypeVar("T", bound="ReadingsBody")



@_attrs_define
class ReadingsBody:
    """ ``POST /v1/readings`` as documented: items are checked one by one, so not constrained here.

        Attributes:
            readings (list[Any]): Each item a ReadingIn: {obisCode, timestamp, value, deviceId or deviceExternalRef}. An
                item that does not fit is refused on its own (in `errors`), not by refusing the request.
     """

    readings: list[Any]





    def to_dict(self) -> dict[str, Any]:
        readings = self.readings




        field_dict: dict[str, Any] = {}

        field_dict.update({
            "readings": readings,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        readings = cast(list[Any], d.pop("readings"))


        readings_body = cls(
            readings=readings,
        )

        return readings_body

