from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast






T = TypeVar("T", bound="EventTarget")



@_attrs_define
class EventTarget:
    """ 
        Attributes:
            customer_id (None | str):
            device_id (None | str):
            site_id (None | str):
     """

    customer_id: None | str
    device_id: None | str
    site_id: None | str





    def to_dict(self) -> dict[str, Any]:
        customer_id: None | str
        customer_id = self.customer_id

        device_id: None | str
        device_id = self.device_id

        site_id: None | str
        site_id = self.site_id


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "customerId": customer_id,
            "deviceId": device_id,
            "siteId": site_id,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        def _parse_customer_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        customer_id = _parse_customer_id(d.pop("customerId"))


        def _parse_device_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        device_id = _parse_device_id(d.pop("deviceId"))


        def _parse_site_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        site_id = _parse_site_id(d.pop("siteId"))


        event_target = cls(
            customer_id=customer_id,
            device_id=device_id,
            site_id=site_id,
        )

        return event_target

