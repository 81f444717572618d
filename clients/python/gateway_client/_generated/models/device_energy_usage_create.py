from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.energy_point import EnergyPoint





T = TypeVar("T", bound="DeviceEnergyUsageCreate")



@_attrs_define
class DeviceEnergyUsageCreate:
    """ 
        Attributes:
            points (list[EnergyPoint]):
            meter_point_id (None | str | Unset):
            volue_event_id (None | str | Unset):
     """

    points: list[EnergyPoint]
    meter_point_id: None | str | Unset = UNSET
    volue_event_id: None | str | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        from ..models.energy_point import EnergyPoint # noqa: PLC0415
        points = []
        for points_item_data in self.points:
            points_item = points_item_data.to_dict()
            points.append(points_item)



        meter_point_id: None | str | Unset
        if isinstance(self.meter_point_id, Unset):
            meter_point_id = UNSET
        else:
            meter_point_id = self.meter_point_id

        volue_event_id: None | str | Unset
        if isinstance(self.volue_event_id, Unset):
            volue_event_id = UNSET
        else:
            volue_event_id = self.volue_event_id


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "points": points,
        })
        if meter_point_id is not UNSET:
            field_dict["meterPointId"] = meter_point_id
        if volue_event_id is not UNSET:
            field_dict["volueEventId"] = volue_event_id

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.energy_point import EnergyPoint # noqa: PLC0415
        d = dict(src_dict)
        points = []
        _points = d.pop("points")
        for points_item_data in (_points):
            points_item = EnergyPoint.from_dict(points_item_data)



            points.append(points_item)


        def _parse_meter_point_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        meter_point_id = _parse_meter_point_id(d.pop("meterPointId", UNSET))


        def _parse_volue_event_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        volue_event_id = _parse_volue_event_id(d.pop("volueEventId", UNSET))


        device_energy_usage_create = cls(
            points=points,
            meter_point_id=meter_point_id,
            volue_event_id=volue_event_id,
        )

        return device_energy_usage_create

