from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.provider import Provider
from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="CustomerUpdate")



@_attrs_define
class CustomerUpdate:
    """ 
        Attributes:
            email (str | Unset):
            external_ref (str | Unset): The caller's own id: no control or format characters, no space at either end; stored
                and compared in Unicode NFC, so composed and decomposed spellings are one id.
            name (str | Unset):
            providers (list[Provider] | Unset):
     """

    email: str | Unset = UNSET
    external_ref: str | Unset = UNSET
    name: str | Unset = UNSET
    providers: list[Provider] | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        email = self.email

        external_ref = self.external_ref

        name = self.name

        providers: list[str] | Unset = UNSET
        if not isinstance(self.providers, Unset):
            providers = []
            for providers_item_data in self.providers:
                providers_item = providers_item_data.value
                providers.append(providers_item)




        field_dict: dict[str, Any] = {}

        field_dict.update({
        })
        if email is not UNSET:
            field_dict["email"] = email
        if external_ref is not UNSET:
            field_dict["externalRef"] = external_ref
        if name is not UNSET:
            field_dict["name"] = name
        if providers is not UNSET:
            field_dict["providers"] = providers

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        email = d.pop("email", UNSET)

        external_ref = d.pop("externalRef", UNSET)

        name = d.pop("name", UNSET)

        _providers = d.pop("providers", UNSET)
        providers: list[Provider] | Unset = UNSET
        if _providers is not UNSET:
            providers = []
            for providers_item_data in _providers:
                providers_item = Provider(providers_item_data)



                providers.append(providers_item)


        customer_update = cls(
            email=email,
            external_ref=external_ref,
            name=name,
            providers=providers,
        )

        return customer_update

