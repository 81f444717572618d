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
  from ..models.address_read import AddressRead
  from ..models.coordinates_read import CoordinatesRead
  from ..models.created_ref import CreatedRef
  from ..models.site_created_compensation import SiteCreatedCompensation
  from ..models.site_created_sync import SiteCreatedSync





T = TypeVar("T", bound="SiteCreated")



@_attrs_define
class SiteCreated:
    """ The new site with the ids of the devices created with it.

        Attributes:
            address (AddressRead):
            category (SpaceCategory): Zählerfreunde's space categories (``NewSpace.category``).
            coordinates (CoordinatesRead | None):
            created_at (str):
            customer_id (str):
            deleted_at (None | str):
            devices (list[CreatedRef]):
            external_ref (str):
            id (str):
            kind (SiteKind): Volue's LocationType, less its ``Unknown``.
            meter_point_ids (list[str]):
            name (str):
            parent_site_id (None | str):
            sync (SiteCreatedSync):
            updated_at (str):
            compensation (SiteCreatedCompensation | Unset):
     """

    address: AddressRead
    category: SpaceCategory
    coordinates: CoordinatesRead | None
    created_at: str
    customer_id: str
    deleted_at: None | str
    devices: list[CreatedRef]
    external_ref: str
    id: str
    kind: SiteKind
    meter_point_ids: list[str]
    name: str
    parent_site_id: None | str
    sync: SiteCreatedSync
    updated_at: str
    compensation: SiteCreatedCompensation | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        from ..models.address_read import AddressRead # noqa: PLC0415
        from ..models.coordinates_read import CoordinatesRead # noqa: PLC0415
        from ..models.created_ref import CreatedRef # noqa: PLC0415
        from ..models.site_created_compensation import SiteCreatedCompensation # noqa: PLC0415
        from ..models.site_created_sync import SiteCreatedSync # noqa: PLC0415
        address = self.address.to_dict()

        category = self.category.value

        coordinates: dict[str, Any] | None
        if isinstance(self.coordinates, CoordinatesRead):
            coordinates = self.coordinates.to_dict()
        else:
            coordinates = self.coordinates

        created_at = self.created_at

        customer_id = self.customer_id

        deleted_at: None | str
        deleted_at = self.deleted_at

        devices = []
        for devices_item_data in self.devices:
            devices_item = devices_item_data.to_dict()
            devices.append(devices_item)



        external_ref = self.external_ref

        id = self.id

        kind = self.kind.value

        meter_point_ids = self.meter_point_ids



        name = self.name

        parent_site_id: None | str
        parent_site_id = self.parent_site_id

        sync = self.sync.to_dict()

        updated_at = self.updated_at

        compensation: dict[str, Any] | Unset = UNSET
        if not isinstance(self.compensation, Unset):
            compensation = self.compensation.to_dict()


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "address": address,
            "category": category,
            "coordinates": coordinates,
            "createdAt": created_at,
            "customerId": customer_id,
            "deletedAt": deleted_at,
            "devices": devices,
            "externalRef": external_ref,
            "id": id,
            "kind": kind,
            "meterPointIds": meter_point_ids,
            "name": name,
            "parentSiteId": parent_site_id,
            "sync": sync,
            "updatedAt": updated_at,
        })
        if compensation is not UNSET:
            field_dict["compensation"] = compensation

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.address_read import AddressRead # noqa: PLC0415
        from ..models.coordinates_read import CoordinatesRead # noqa: PLC0415
        from ..models.created_ref import CreatedRef # noqa: PLC0415
        from ..models.site_created_compensation import SiteCreatedCompensation # noqa: PLC0415
        from ..models.site_created_sync import SiteCreatedSync # noqa: PLC0415
        d = dict(src_dict)
        address = AddressRead.from_dict(d.pop("address"))




        category = SpaceCategory(d.pop("category"))




        def _parse_coordinates(data: object) -> CoordinatesRead | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                coordinates_type_0 = CoordinatesRead.from_dict(data)



                return coordinates_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(CoordinatesRead | None, data)

        coordinates = _parse_coordinates(d.pop("coordinates"))


        created_at = d.pop("createdAt")

        customer_id = d.pop("customerId")

        def _parse_deleted_at(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        deleted_at = _parse_deleted_at(d.pop("deletedAt"))


        devices = []
        _devices = d.pop("devices")
        for devices_item_data in (_devices):
            devices_item = CreatedRef.from_dict(devices_item_data)



            devices.append(devices_item)


        external_ref = d.pop("externalRef")

        id = d.pop("id")

        kind = SiteKind(d.pop("kind"))




        meter_point_ids = cast(list[str], d.pop("meterPointIds"))


        name = d.pop("name")

        def _parse_parent_site_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        parent_site_id = _parse_parent_site_id(d.pop("parentSiteId"))


        sync = SiteCreatedSync.from_dict(d.pop("sync"))




        updated_at = d.pop("updatedAt")

        _compensation = d.pop("compensation", UNSET)
        compensation: SiteCreatedCompensation | Unset
        if isinstance(_compensation,  Unset):
            compensation = UNSET
        else:
            compensation = SiteCreatedCompensation.from_dict(_compensation)




        site_created = cls(
            address=address,
            category=category,
            coordinates=coordinates,
            created_at=created_at,
            customer_id=customer_id,
            deleted_at=deleted_at,
            devices=devices,
            external_ref=external_ref,
            id=id,
            kind=kind,
            meter_point_ids=meter_point_ids,
            name=name,
            parent_site_id=parent_site_id,
            sync=sync,
            updated_at=updated_at,
            compensation=compensation,
        )

        return site_created

