from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast






T = TypeVar("T", bound="CustomerBatch")



@_attrs_define
class CustomerBatch:
    """ ``POST /v1/customers/batch``: each item is validated and answered on its own.

        Attributes:
            customers (list[Any]): Each item a CustomerCreate body (as for POST /v1/customers). An item that does not fit is
                answered with a 400 in its own result, not by refusing the request, so the items are not constrained here.
     """

    customers: list[Any]





    def to_dict(self) -> dict[str, Any]:
        customers = self.customers




        field_dict: dict[str, Any] = {}

        field_dict.update({
            "customers": customers,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        customers = cast(list[Any], d.pop("customers"))


        customer_batch = cls(
            customers=customers,
        )

        return customer_batch

