from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.site_kind import SiteKind
from ..models.space_category import SpaceCategory
from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.address_in import AddressIn
  from ..models.coordinates_in import CoordinatesIn
  from ..models.device_create import DeviceCreate





T = TypeVar("T", bound="SiteCreate")



@_attrs_define
class SiteCreate:
    """ 
        Attributes:
            address (AddressIn):
            external_ref (str): The caller's own id: no control or format characters, no space at either end; stored and
                compared in Unicode NFC, so composed and decomposed spellings are one id.
            kind (SiteKind): Volue's LocationType, less its ``Unknown``.
            name (str):
            category (None | SpaceCategory | Unset):
            coordinates (CoordinatesIn | None | Unset):
            devices (list[DeviceCreate] | Unset):
            meter_point_ids (list[str] | Unset):
            parent_site_id (None | str | Unset):
     """

    address: AddressIn
    external_ref: str
    kind: SiteKind
    name: str
    category: None | SpaceCategory | Unset = UNSET
    coordinates: CoordinatesIn | None | Unset = UNSET
    devices: list[DeviceCreate] | Unset = UNSET
    meter_point_ids: list[str] | Unset = UNSET
    parent_site_id: None | str | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        from ..models.address_in import AddressIn # noqa: PLC0415
        from ..models.coordinates_in import CoordinatesIn # noqa: PLC0415
        from ..models.device_create import DeviceCreate # noqa: PLC0415
        address = self.address.to_dict()

        external_ref = self.external_ref

        kind = self.kind.value

        name = self.name

        category: None | str | Unset
        if isinstance(self.category, Unset):
            category = UNSET
        elif isinstance(self.category, SpaceCategory):
            category = self.category.value
        else:
            category = self.category

        coordinates: dict[str, Any] | None | Unset
        if isinstance(self.coordinates, Unset):
            coordinates = UNSET
        elif isinstance(self.coordinates, CoordinatesIn):
            coordinates = self.coordinates.to_dict()
        else:
            coordinates = self.coordinates

        devices: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.devices, Unset):
            devices = []
            for devices_item_data in self.devices:
                devices_item = devices_item_data.to_dict()
                devices.append(devices_item)



        meter_point_ids: list[str] | Unset = UNSET
        if not isinstance(self.meter_point_ids, Unset):
            meter_point_ids = self.meter_point_ids



        parent_site_id: None | str | Unset
        if isinstance(self.parent_site_id, Unset):
            parent_site_id = UNSET
        else:
            parent_site_id = self.parent_site_id


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "address": address,
            "externalRef": external_ref,
            "kind": kind,
            "name": name,
        })
        if category is not UNSET:
            field_dict["category"] = category
        if coordinates is not UNSET:
            field_dict["coordinates"] = coordinates
        if devices is not UNSET:
            field_dict["devices"] = devices
        if meter_point_ids is not UNSET:
            field_dict["meterPointIds"] = meter_point_ids
        if parent_site_id is not UNSET:
            field_dict["parentSiteId"] = parent_site_id

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.address_in import AddressIn # noqa: PLC0415
        from ..models.coordinates_in import CoordinatesIn # noqa: PLC0415
        from ..models.device_create import DeviceCreate # noqa: PLC0415
        d = dict(src_dict)
        address = AddressIn.from_dict(d.pop("address"))




        external_ref = d.pop("externalRef")

        kind = SiteKind(d.pop("kind"))




        name = d.pop("name")

        def _parse_category(data: object) -> None | SpaceCategory | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                category_type_0 = SpaceCategory(data)



                return category_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | SpaceCategory | Unset, data)

        category = _parse_category(d.pop("category", UNSET))


        def _parse_coordinates(data: object) -> CoordinatesIn | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                coordinates_type_0 = CoordinatesIn.from_dict(data)



                return coordinates_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(CoordinatesIn | None | Unset, data)

        coordinates = _parse_coordinates(d.pop("coordinates", UNSET))


        _devices = d.pop("devices", UNSET)
        devices: list[DeviceCreate] | Unset = UNSET
        if _devices is not UNSET:
            devices = []
            for devices_item_data in _devices:
                devices_item = DeviceCreate.from_dict(devices_item_data)



                devices.append(devices_item)


        meter_point_ids = cast(list[str], d.pop("meterPointIds", UNSET))


        def _parse_parent_site_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        parent_site_id = _parse_parent_site_id(d.pop("parentSiteId", UNSET))


        site_create = cls(
            address=address,
            external_ref=external_ref,
            kind=kind,
            name=name,
            category=category,
            coordinates=coordinates,
            devices=devices,
            meter_point_ids=meter_point_ids,
            parent_site_id=parent_site_id,
        )

        return site_create

