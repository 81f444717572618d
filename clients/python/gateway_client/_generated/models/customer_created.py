from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.provider import Provider
from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.created_ref import CreatedRef
  from ..models.created_site import CreatedSite
  from ..models.customer_created_programmes import CustomerCreatedProgrammes
  from ..models.customer_created_sync import CustomerCreatedSync





T = TypeVar("T", bound="CustomerCreated")



@_attrs_define
class CustomerCreated:
    """ The new customer with the ids of the sites, devices and vehicles created with it.

        Attributes:
            created_at (str):
            deleted_at (None | str):
            email (str):
            external_ref (str):
            id (str):
            name (str):
            providers (list[Provider]):
            sites (list[CreatedSite]):
            sync (CustomerCreatedSync):
            updated_at (str):
            vehicles (list[CreatedRef]):
            programmes (CustomerCreatedProgrammes | Unset):
     """

    created_at: str
    deleted_at: None | str
    email: str
    external_ref: str
    id: str
    name: str
    providers: list[Provider]
    sites: list[CreatedSite]
    sync: CustomerCreatedSync
    updated_at: str
    vehicles: list[CreatedRef]
    programmes: CustomerCreatedProgrammes | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        from ..models.created_ref import CreatedRef # noqa: PLC0415
        from ..models.created_site import CreatedSite # noqa: PLC0415
        from ..models.customer_created_programmes import CustomerCreatedProgrammes # noqa: PLC0415
        from ..models.customer_created_sync import CustomerCreatedSync # noqa: PLC0415
        created_at = self.created_at

        deleted_at: None | str
        deleted_at = self.deleted_at

        email = self.email

        external_ref = self.external_ref

        id = self.id

        name = self.name

        providers = []
        for providers_item_data in self.providers:
            providers_item = providers_item_data.value
            providers.append(providers_item)



        sites = []
        for sites_item_data in self.sites:
            sites_item = sites_item_data.to_dict()
            sites.append(sites_item)



        sync = self.sync.to_dict()

        updated_at = self.updated_at

        vehicles = []
        for vehicles_item_data in self.vehicles:
            vehicles_item = vehicles_item_data.to_dict()
            vehicles.append(vehicles_item)



        programmes: dict[str, Any] | Unset = UNSET
        if not isinstance(self.programmes, Unset):
            programmes = self.programmes.to_dict()


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "createdAt": created_at,
            "deletedAt": deleted_at,
            "email": email,
            "externalRef": external_ref,
            "id": id,
            "name": name,
            "providers": providers,
            "sites": sites,
            "sync": sync,
            "updatedAt": updated_at,
            "vehicles": vehicles,
        })
        if programmes is not UNSET:
            field_dict["programmes"] = programmes

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.created_ref import CreatedRef # noqa: PLC0415
        from ..models.created_site import CreatedSite # noqa: PLC0415
        from ..models.customer_created_programmes import CustomerCreatedProgrammes # noqa: PLC0415
        from ..models.customer_created_sync import CustomerCreatedSync # noqa: PLC0415
        d = dict(src_dict)
        created_at = d.pop("createdAt")

        def _parse_deleted_at(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        deleted_at = _parse_deleted_at(d.pop("deletedAt"))


        email = d.pop("email")

        external_ref = d.pop("externalRef")

        id = d.pop("id")

        name = d.pop("name")

        providers = []
        _providers = d.pop("providers")
        for providers_item_data in (_providers):
            providers_item = Provider(providers_item_data)



            providers.append(providers_item)


        sites = []
        _sites = d.pop("sites")
        for sites_item_data in (_sites):
            sites_item = CreatedSite.from_dict(sites_item_data)



            sites.append(sites_item)


        sync = CustomerCreatedSync.from_dict(d.pop("sync"))




        updated_at = d.pop("updatedAt")

        vehicles = []
        _vehicles = d.pop("vehicles")
        for vehicles_item_data in (_vehicles):
            vehicles_item = CreatedRef.from_dict(vehicles_item_data)



            vehicles.append(vehicles_item)


        _programmes = d.pop("programmes", UNSET)
        programmes: CustomerCreatedProgrammes | Unset
        if isinstance(_programmes,  Unset):
            programmes = UNSET
        else:
            programmes = CustomerCreatedProgrammes.from_dict(_programmes)




        customer_created = cls(
            created_at=created_at,
            deleted_at=deleted_at,
            email=email,
            external_ref=external_ref,
            id=id,
            name=name,
            providers=providers,
            sites=sites,
            sync=sync,
            updated_at=updated_at,
            vehicles=vehicles,
            programmes=programmes,
        )

        return customer_created

