from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset







T = TypeVar("T", bound="CreatedRef")



@_attrs_define
class CreatedRef:
    """ A record a write created: its new id and the caller's externalRef.

        Attributes:
            external_ref (str):
            id (str):
     """

    external_ref: str
    id: str





    def to_dict(self) -> dict[str, Any]:
        external_ref = self.external_ref

        id = self.id


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "externalRef": external_ref,
            "id": id,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        external_ref = d.pop("externalRef")

        id = d.pop("id")

        created_ref = cls(
            external_ref=external_ref,
            id=id,
        )

        return created_ref

