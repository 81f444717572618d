from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.batch_item_result import BatchItemResult





T = TypeVar("T", bound="CustomerBatchResult")



@_attrs_define
class CustomerBatchResult:
    """ 
        Attributes:
            created (int):
            failed (int):
            results (list[BatchItemResult]):
     """

    created: int
    failed: int
    results: list[BatchItemResult]





    def to_dict(self) -> dict[str, Any]:
        from ..models.batch_item_result import BatchItemResult # noqa: PLC0415
        created = self.created

        failed = self.failed

        results = []
        for results_item_data in self.results:
            results_item = results_item_data.to_dict()
            results.append(results_item)




        field_dict: dict[str, Any] = {}

        field_dict.update({
            "created": created,
            "failed": failed,
            "results": results,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.batch_item_result import BatchItemResult # noqa: PLC0415
        d = dict(src_dict)
        created = d.pop("created")

        failed = d.pop("failed")

        results = []
        _results = d.pop("results")
        for results_item_data in (_results):
            results_item = BatchItemResult.from_dict(results_item_data)



            results.append(results_item)


        customer_batch_result = cls(
            created=created,
            failed=failed,
            results=results,
        )

        return customer_batch_result

