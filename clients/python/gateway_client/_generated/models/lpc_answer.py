from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="LpcAnswer")



@_attrs_define
class LpcAnswer:
    """ 
        Attributes:
            accept (list[str] | Unset):
            decline (list[str] | Unset):
     """

    accept: list[str] | Unset = UNSET
    decline: list[str] | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        accept: list[str] | Unset = UNSET
        if not isinstance(self.accept, Unset):
            accept = self.accept



        decline: list[str] | Unset = UNSET
        if not isinstance(self.decline, Unset):
            decline = self.decline




        field_dict: dict[str, Any] = {}

        field_dict.update({
        })
        if accept is not UNSET:
            field_dict["accept"] = accept
        if decline is not UNSET:
            field_dict["decline"] = decline

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        accept = cast(list[str], d.pop("accept", UNSET))


        decline = cast(list[str], d.pop("decline", UNSET))


        lpc_answer = cls(
            accept=accept,
            decline=decline,
        )

        return lpc_answer

