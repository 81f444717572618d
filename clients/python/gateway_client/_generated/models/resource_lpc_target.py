from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.lpc_data_point import LPCDataPoint





T = TypeVar("T", bound="ResourceLPCTarget")



@_attrs_define
class ResourceLPCTarget:
    """ 
        Attributes:
            location_id (str):
            meter_point_id (str):
            points (list[LPCDataPoint]):
            resolution (str):
            resource_id (str):
     """

    location_id: str
    meter_point_id: str
    points: list[LPCDataPoint]
    resolution: str
    resource_id: str





    def to_dict(self) -> dict[str, Any]:
        from ..models.lpc_data_point import LPCDataPoint # noqa: PLC0415
        location_id = self.location_id

        meter_point_id = self.meter_point_id

        points = []
        for points_item_data in self.points:
            points_item = points_item_data.to_dict()
            points.append(points_item)



        resolution = self.resolution

        resource_id = self.resource_id


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "locationId": location_id,
            "meterPointId": meter_point_id,
            "points": points,
            "resolution": resolution,
            "resourceId": resource_id,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.lpc_data_point import LPCDataPoint # noqa: PLC0415
        d = dict(src_dict)
        location_id = d.pop("locationId")

        meter_point_id = d.pop("meterPointId")

        points = []
        _points = d.pop("points")
        for points_item_data in (_points):
            points_item = LPCDataPoint.from_dict(points_item_data)



            points.append(points_item)


        resolution = d.pop("resolution")

        resource_id = d.pop("resourceId")

        resource_lpc_target = cls(
            location_id=location_id,
            meter_point_id=meter_point_id,
            points=points,
            resolution=resolution,
            resource_id=resource_id,
        )

        return resource_lpc_target

