from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.reading_delivery import ReadingDelivery





T = TypeVar("T", bound="ReadingRead")



@_attrs_define
class ReadingRead:
    """ 
        Attributes:
            delivery (ReadingDelivery):
            obis_code (str):
            received_at (str):
            timestamp (str):
            value (float):
     """

    delivery: ReadingDelivery
    obis_code: str
    received_at: str
    timestamp: str
    value: float





    def to_dict(self) -> dict[str, Any]:
        from ..models.reading_delivery import ReadingDelivery # noqa: PLC0415
        delivery = self.delivery.to_dict()

        obis_code = self.obis_code

        received_at = self.received_at

        timestamp = self.timestamp

        value = self.value


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "delivery": delivery,
            "obisCode": obis_code,
            "receivedAt": received_at,
            "timestamp": timestamp,
            "value": value,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.reading_delivery import ReadingDelivery # noqa: PLC0415
        d = dict(src_dict)
        delivery = ReadingDelivery.from_dict(d.pop("delivery"))




        obis_code = d.pop("obisCode")

        received_at = d.pop("receivedAt")

        timestamp = d.pop("timestamp")

        value = d.pop("value")

        reading_read = cls(
            delivery=delivery,
            obis_code=obis_code,
            received_at=received_at,
            timestamp=timestamp,
            value=value,
        )

        return reading_read

