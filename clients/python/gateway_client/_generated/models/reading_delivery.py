from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.reading_delivery_status import ReadingDeliveryStatus
from typing import cast






T = TypeVar("T", bound="ReadingDelivery")



@_attrs_define
class ReadingDelivery:
    """ 
        Attributes:
            delivered_at (None | str):
            last_error (None | str):
            status (ReadingDeliveryStatus): Where a reading stands on its way to Zählerfreunde, as the API shows it.
     """

    delivered_at: None | str
    last_error: None | str
    status: ReadingDeliveryStatus





    def to_dict(self) -> dict[str, Any]:
        delivered_at: None | str
        delivered_at = self.delivered_at

        last_error: None | str
        last_error = self.last_error

        status = self.status.value


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "deliveredAt": delivered_at,
            "lastError": last_error,
            "status": status,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        def _parse_delivered_at(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        delivered_at = _parse_delivered_at(d.pop("deliveredAt"))


        def _parse_last_error(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        last_error = _parse_last_error(d.pop("lastError"))


        status = ReadingDeliveryStatus(d.pop("status"))




        reading_delivery = cls(
            delivered_at=delivered_at,
            last_error=last_error,
            status=status,
        )

        return reading_delivery

