from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.price_area import PriceArea
from ..models.price_curve_payload_payload_type import PriceCurvePayloadPayloadType
from typing import cast

if TYPE_CHECKING:
  from ..models.price_curve import PriceCurve
  from ..models.price_curve_target import PriceCurveTarget





T = TypeVar("T", bound="PriceCurvePayload")



@_attrs_define
class PriceCurvePayload:
    """ 
        Attributes:
            payload_type (PriceCurvePayloadPayloadType):
            price_area (PriceArea):
            price_curve_delta (PriceCurve):
            targets (list[PriceCurveTarget]):
     """

    payload_type: PriceCurvePayloadPayloadType
    price_area: PriceArea
    price_curve_delta: PriceCurve
    targets: list[PriceCurveTarget]





    def to_dict(self) -> dict[str, Any]:
        from ..models.price_curve import PriceCurve # noqa: PLC0415
        from ..models.price_curve_target import PriceCurveTarget # noqa: PLC0415
        payload_type = self.payload_type.value

        price_area = self.price_area.value

        price_curve_delta = self.price_curve_delta.to_dict()

        targets = []
        for targets_item_data in self.targets:
            targets_item = targets_item_data.to_dict()
            targets.append(targets_item)




        field_dict: dict[str, Any] = {}

        field_dict.update({
            "payloadType": payload_type,
            "priceArea": price_area,
            "priceCurveDelta": price_curve_delta,
            "targets": targets,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.price_curve import PriceCurve # noqa: PLC0415
        from ..models.price_curve_target import PriceCurveTarget # noqa: PLC0415
        d = dict(src_dict)
        payload_type = PriceCurvePayloadPayloadType(d.pop("payloadType"))




        price_area = PriceArea(d.pop("priceArea"))




        price_curve_delta = PriceCurve.from_dict(d.pop("priceCurveDelta"))




        targets = []
        _targets = d.pop("targets")
        for targets_item_data in (_targets):
            targets_item = PriceCurveTarget.from_dict(targets_item_data)



            targets.append(targets_item)


        price_curve_payload = cls(
            payload_type=payload_type,
            price_area=price_area,
            price_curve_delta=price_curve_delta,
            targets=targets,
        )

        return price_curve_payload

