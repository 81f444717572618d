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





T = TypeVar("T", bound="SiteUpdate")



@_attrs_define
class SiteUpdate:
    """ 
        Attributes:
            address (AddressIn | Unset):
            category (SpaceCategory | Unset): Zählerfreunde's space categories (``NewSpace.category``).
            coordinates (CoordinatesIn | None | Unset):
            external_ref (str | Unset): The caller's own id: no control or format characters, no space at either end; stored
                and compared in Unicode NFC, so composed and decomposed spellings are one id.
            kind (SiteKind | Unset): Volue's LocationType, less its ``Unknown``.
            meter_point_ids (list[str] | Unset):
            name (str | Unset):
            parent_site_id (None | str | Unset):
     """

    address: AddressIn | Unset = UNSET
    category: SpaceCategory | Unset = UNSET
    coordinates: CoordinatesIn | None | Unset = UNSET
    external_ref: str | Unset = UNSET
    kind: SiteKind | Unset = UNSET
    meter_point_ids: list[str] | Unset = UNSET
    name: str | Unset = UNSET
    parent_site_id: None | str | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        from ..models.address_in import AddressIn # noqa: PLC0415
        from ..models.coordinates_in import CoordinatesIn # noqa: PLC0415
        address: dict[str, Any] | Unset = UNSET
        if not isinstance(self.address, Unset):
            address = self.address.to_dict()

        category: str | Unset = UNSET
        if not isinstance(self.category, Unset):
            category = self.category.value


        coordinates: dict[str, Any] | None | Unset
        if isinstance(self.coordinates, Unset):
            coordinates = UNSET
        elif isinstance(self.coordinates, CoordinatesIn):
            coordinates = self.coordinates.to_dict()
        else:
            coordinates = self.coordinates

        external_ref = self.external_ref

        kind: str | Unset = UNSET
        if not isinstance(self.kind, Unset):
            kind = self.kind.value


        meter_point_ids: list[str] | Unset = UNSET
        if not isinstance(self.meter_point_ids, Unset):
            meter_point_ids = self.meter_point_ids



        name = self.name

        parent_site_id: None | str | Unset
        if isinstance(self.parent_site_id, Unset):
            parent_site_id = UNSET
        else:
            parent_site_id = self.parent_site_id


        field_dict: dict[str, Any] = {}

        field_dict.update({
        })
        if address is not UNSET:
            field_dict["address"] = address
        if category is not UNSET:
            field_dict["category"] = category
        if coordinates is not UNSET:
            field_dict["coordinates"] = coordinates
        if external_ref is not UNSET:
            field_dict["externalRef"] = external_ref
        if kind is not UNSET:
            field_dict["kind"] = kind
        if meter_point_ids is not UNSET:
            field_dict["meterPointIds"] = meter_point_ids
        if name is not UNSET:
            field_dict["name"] = name
        if parent_site_id is not UNSET:
            field_dict["parentSiteId"] = parent_site_id

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.address_in import AddressIn # noqa: PLC0415
        from ..models.coordinates_in import CoordinatesIn # noqa: PLC0415
        d = dict(src_dict)
        _address = d.pop("address", UNSET)
        address: AddressIn | Unset
        if isinstance(_address,  Unset):
            address = UNSET
        else:
            address = AddressIn.from_dict(_address)




        _category = d.pop("category", UNSET)
        category: SpaceCategory | Unset
        if isinstance(_category,  Unset):
            category = UNSET
        else:
            category = SpaceCategory(_category)




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


        external_ref = d.pop("externalRef", UNSET)

        _kind = d.pop("kind", UNSET)
        kind: SiteKind | Unset
        if isinstance(_kind,  Unset):
            kind = UNSET
        else:
            kind = SiteKind(_kind)




        meter_point_ids = cast(list[str], d.pop("meterPointIds", UNSET))


        name = d.pop("name", UNSET)

        def _parse_parent_site_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        parent_site_id = _parse_parent_site_id(d.pop("parentSiteId", UNSET))


        site_update = cls(
            address=address,
            category=category,
            coordinates=coordinates,
            external_ref=external_ref,
            kind=kind,
            meter_point_ids=meter_point_ids,
            name=name,
            parent_site_id=parent_site_id,
        )

        return site_update

