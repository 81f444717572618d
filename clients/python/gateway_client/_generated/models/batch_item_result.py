from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.batch_item_error import BatchItemError
  from ..models.customer_created import CustomerCreated





T = TypeVar("T", bound="BatchItemResult")



@_attrs_define
class BatchItemResult:
    """ 
        Attributes:
            index (int):
            status (int):
            customer (CustomerCreated | None | Unset):
            error (BatchItemError | None | Unset):
     """

    index: int
    status: int
    customer: CustomerCreated | None | Unset = UNSET
    error: BatchItemError | None | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        from ..models.batch_item_error import BatchItemError # noqa: PLC0415
        from ..models.customer_created import CustomerCreated # noqa: PLC0415
        index = self.index

        status = self.status

        customer: dict[str, Any] | None | Unset
        if isinstance(self.customer, Unset):
            customer = UNSET
        elif isinstance(self.customer, CustomerCreated):
            customer = self.customer.to_dict()
        else:
            customer = self.customer

        error: dict[str, Any] | None | Unset
        if isinstance(self.error, Unset):
            error = UNSET
        elif isinstance(self.error, BatchItemError):
            error = self.error.to_dict()
        else:
            error = self.error


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "index": index,
            "status": status,
        })
        if customer is not UNSET:
            field_dict["customer"] = customer
        if error is not UNSET:
            field_dict["error"] = error

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.batch_item_error import BatchItemError # noqa: PLC0415
        from ..models.customer_created import CustomerCreated # noqa: PLC0415
        d = dict(src_dict)
        index = d.pop("index")

        status = d.pop("status")

        def _parse_customer(data: object) -> CustomerCreated | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                customer_type_0 = CustomerCreated.from_dict(data)



                return customer_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(CustomerCreated | None | Unset, data)

        customer = _parse_customer(d.pop("customer", UNSET))


        def _parse_error(data: object) -> BatchItemError | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                error_type_0 = BatchItemError.from_dict(data)



                return error_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(BatchItemError | None | Unset, data)

        error = _parse_error(d.pop("error", UNSET))


        batch_item_result = cls(
            index=index,
            status=status,
            customer=customer,
            error=error,
        )

        return batch_item_result

