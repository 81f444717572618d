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
  from ..models.site_create import SiteCreate
  from ..models.vehicle_create import VehicleCreate





T = TypeVar("T", bound="CustomerCreate")



@_attrs_define
class CustomerCreate:
    """ 
        Attributes:
            email (str):
            external_ref (str): The caller's own id: no control or format characters, no space at either end; stored and
                compared in Unicode NFC, so composed and decomposed spellings are one id.
            name (str):
            providers (list[Provider] | Unset):
            sites (list[SiteCreate] | Unset):
            vehicles (list[VehicleCreate] | Unset):
     """

    email: str
    external_ref: str
    name: str
    providers: list[Provider] | Unset = UNSET
    sites: list[SiteCreate] | Unset = UNSET
    vehicles: list[VehicleCreate] | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        from ..models.site_create import SiteCreate # noqa: PLC0415
        from ..models.vehicle_create import VehicleCreate # noqa: PLC0415
        email = self.email

        external_ref = self.external_ref

        name = self.name

        providers: list[str] | Unset = UNSET
        if not isinstance(self.providers, Unset):
            providers = []
            for providers_item_data in self.providers:
                providers_item = providers_item_data.value
                providers.append(providers_item)



        sites: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.sites, Unset):
            sites = []
            for sites_item_data in self.sites:
                sites_item = sites_item_data.to_dict()
                sites.append(sites_item)



        vehicles: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.vehicles, Unset):
            vehicles = []
            for vehicles_item_data in self.vehicles:
                vehicles_item = vehicles_item_data.to_dict()
                vehicles.append(vehicles_item)




        field_dict: dict[str, Any] = {}

        field_dict.update({
            "email": email,
            "externalRef": external_ref,
            "name": name,
        })
        if providers is not UNSET:
            field_dict["providers"] = providers
        if sites is not UNSET:
            field_dict["sites"] = sites
        if vehicles is not UNSET:
            field_dict["vehicles"] = vehicles

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.site_create import SiteCreate # noqa: PLC0415
        from ..models.vehicle_create import VehicleCreate # noqa: PLC0415
        d = dict(src_dict)
        email = d.pop("email")

        external_ref = d.pop("externalRef")

        name = d.pop("name")

        _providers = d.pop("providers", UNSET)
        providers: list[Provider] | Unset = UNSET
        if _providers is not UNSET:
            providers = []
            for providers_item_data in _providers:
                providers_item = Provider(providers_item_data)



                providers.append(providers_item)


        _sites = d.pop("sites", UNSET)
        sites: list[SiteCreate] | Unset = UNSET
        if _sites is not UNSET:
            sites = []
            for sites_item_data in _sites:
                sites_item = SiteCreate.from_dict(sites_item_data)



                sites.append(sites_item)


        _vehicles = d.pop("vehicles", UNSET)
        vehicles: list[VehicleCreate] | Unset = UNSET
        if _vehicles is not UNSET:
            vehicles = []
            for vehicles_item_data in _vehicles:
                vehicles_item = VehicleCreate.from_dict(vehicles_item_data)



                vehicles.append(vehicles_item)


        customer_create = cls(
            email=email,
            external_ref=external_ref,
            name=name,
            providers=providers,
            sites=sites,
            vehicles=vehicles,
        )

        return customer_create

