from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.created_ref import CreatedRef





T = TypeVar("T", bound="CreatedSite")



@_attrs_define
class CreatedSite:
    """ 
        Attributes:
            devices (list[CreatedRef]):
            external_ref (str):
            id (str):
     """

    devices: list[CreatedRef]
    external_ref: str
    id: str





    def to_dict(self) -> dict[str, Any]:
        from ..models.created_ref import CreatedRef # noqa: PLC0415
        devices = []
        for devices_item_data in self.devices:
            devices_item = devices_item_data.to_dict()
            devices.append(devices_item)



        external_ref = self.external_ref

        id = self.id


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "devices": devices,
            "externalRef": external_ref,
            "id": id,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.created_ref import CreatedRef # noqa: PLC0415
        d = dict(src_dict)
        devices = []
        _devices = d.pop("devices")
        for devices_item_data in (_devices):
            devices_item = CreatedRef.from_dict(devices_item_data)



            devices.append(devices_item)


        external_ref = d.pop("externalRef")

        id = d.pop("id")

        created_site = cls(
            devices=devices,
            external_ref=external_ref,
            id=id,
        )

        return created_site

