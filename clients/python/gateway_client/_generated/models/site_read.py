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
  from ..models.site_read_compensation import SiteReadCompensation
  from ..models.site_read_sync import SiteReadSync





T = TypeVar("T", bound="SiteRead")



@_attrs_define
class SiteRead:
    """ 
        Attributes:
            address (AddressRead):
            category (SpaceCategory): Zählerfreunde's space categories (``NewSpace.category``).
            coordinates (CoordinatesRead | None):
            created_at (str):
            customer_id (str):
            deleted_at (None | str):
            external_ref (str):
            id (str):
            kind (SiteKind): Volue's LocationType, less its ``Unknown``.
            meter_point_ids (list[str]):
            name (str):
            parent_site_id (None | str):
            sync (SiteReadSync):
            updated_at (str):
            compensation (SiteReadCompensation | Unset):
     """

    address: AddressRead
    category: SpaceCategory
    coordinates: CoordinatesRead | None
    created_at: str
    customer_id: str
    deleted_at: None | str
    external_ref: str
    id: str
    kind: SiteKind
    meter_point_ids: list[str]
    name: str
    parent_site_id: None | str
    sync: SiteReadSync
    updated_at: str
    compensation: SiteReadCompensation | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        from ..models.address_read import AddressRead # noqa: PLC0415
        from ..models.coordinates_read import CoordinatesRead # noqa: PLC0415
        from ..models.site_read_compensation import SiteReadCompensation # noqa: PLC0415
        from ..models.site_read_sync import SiteReadSync # noqa: PLC0415
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
        from ..models.site_read_compensation import SiteReadCompensation # noqa: PLC0415
        from ..models.site_read_sync import SiteReadSync # noqa: PLC0415
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


        sync = SiteReadSync.from_dict(d.pop("sync"))




        updated_at = d.pop("updatedAt")

        _compensation = d.pop("compensation", UNSET)
        compensation: SiteReadCompensation | Unset
        if isinstance(_compensation,  Unset):
            compensation = UNSET
        else:
            compensation = SiteReadCompensation.from_dict(_compensation)




        site_read = cls(
            address=address,
            category=category,
            coordinates=coordinates,
            created_at=created_at,
            customer_id=customer_id,
            deleted_at=deleted_at,
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

        return site_read

