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
  from ..models.customer_read_programmes import CustomerReadProgrammes
  from ..models.customer_read_sync import CustomerReadSync





T = TypeVar("T", bound="CustomerRead")



@_attrs_define
class CustomerRead:
    """ 
        Attributes:
            created_at (str):
            deleted_at (None | str):
            email (str):
            external_ref (str):
            id (str):
            name (str):
            providers (list[Provider]):
            sync (CustomerReadSync):
            updated_at (str):
            programmes (CustomerReadProgrammes | Unset):
     """

    created_at: str
    deleted_at: None | str
    email: str
    external_ref: str
    id: str
    name: str
    providers: list[Provider]
    sync: CustomerReadSync
    updated_at: str
    programmes: CustomerReadProgrammes | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        from ..models.customer_read_programmes import CustomerReadProgrammes # noqa: PLC0415
        from ..models.customer_read_sync import CustomerReadSync # noqa: PLC0415
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



        sync = self.sync.to_dict()

        updated_at = self.updated_at

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
            "sync": sync,
            "updatedAt": updated_at,
        })
        if programmes is not UNSET:
            field_dict["programmes"] = programmes

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.customer_read_programmes import CustomerReadProgrammes # noqa: PLC0415
        from ..models.customer_read_sync import CustomerReadSync # noqa: PLC0415
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


        sync = CustomerReadSync.from_dict(d.pop("sync"))




        updated_at = d.pop("updatedAt")

        _programmes = d.pop("programmes", UNSET)
        programmes: CustomerReadProgrammes | Unset
        if isinstance(_programmes,  Unset):
            programmes = UNSET
        else:
            programmes = CustomerReadProgrammes.from_dict(_programmes)




        customer_read = cls(
            created_at=created_at,
            deleted_at=deleted_at,
            email=email,
            external_ref=external_ref,
            id=id,
            name=name,
            providers=providers,
            sync=sync,
            updated_at=updated_at,
            programmes=programmes,
        )

        return customer_read

