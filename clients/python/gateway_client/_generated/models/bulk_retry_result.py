from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset







T = TypeVar("T", bound="BulkRetryResult")



@_attrs_define
class BulkRetryResult:
    """ 
        Attributes:
            more (bool):
            retried (int):
     """

    more: bool
    retried: int





    def to_dict(self) -> dict[str, Any]:
        more = self.more

        retried = self.retried


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "more": more,
            "retried": retried,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        more = d.pop("more")

        retried = d.pop("retried")

        bulk_retry_result = cls(
            more=more,
            retried=retried,
        )

        return bulk_retry_result

