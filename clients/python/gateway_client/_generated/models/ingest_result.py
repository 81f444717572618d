from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.item_error import ItemError





T = TypeVar("T", bound="IngestResult")



@_attrs_define
class IngestResult:
    """ 
        Attributes:
            accepted (int):
            duplicates (int):
            errors (list[ItemError]):
            rejected (int):
     """

    accepted: int
    duplicates: int
    errors: list[ItemError]
    rejected: int





    def to_dict(self) -> dict[str, Any]:
        from ..models.item_error import ItemError # noqa: PLC0415
        accepted = self.accepted

        duplicates = self.duplicates

        errors = []
        for errors_item_data in self.errors:
            errors_item = errors_item_data.to_dict()
            errors.append(errors_item)



        rejected = self.rejected


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "accepted": accepted,
            "duplicates": duplicates,
            "errors": errors,
            "rejected": rejected,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.item_error import ItemError # noqa: PLC0415
        d = dict(src_dict)
        accepted = d.pop("accepted")

        duplicates = d.pop("duplicates")

        errors = []
        _errors = d.pop("errors")
        for errors_item_data in (_errors):
            errors_item = ItemError.from_dict(errors_item_data)



            errors.append(errors_item)


        rejected = d.pop("rejected")

        ingest_result = cls(
            accepted=accepted,
            duplicates=duplicates,
            errors=errors,
            rejected=rejected,
        )

        return ingest_result

