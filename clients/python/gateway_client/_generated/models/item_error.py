from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast






T = TypeVar("T", bound="ItemError")



@_attrs_define
class ItemError:
    """ 
        Attributes:
            detail (str):
            field (None | str):
            index (int):
     """

    detail: str
    field: None | str
    index: int





    def to_dict(self) -> dict[str, Any]:
        detail = self.detail

        field: None | str
        field = self.field

        index = self.index


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "detail": detail,
            "field": field,
            "index": index,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        detail = d.pop("detail")

        def _parse_field(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        field = _parse_field(d.pop("field"))


        index = d.pop("index")

        item_error = cls(
            detail=detail,
            field=field,
            index=index,
        )

        return item_error

