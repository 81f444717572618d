from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast






T = TypeVar("T", bound="SubscriptionCreated")



@_attrs_define
class SubscriptionCreated:
    """ 
        Attributes:
            created_at (str):
            description (None | str):
            event_types (list[str]):
            id (str):
            secret (str):
            url (str):
     """

    created_at: str
    description: None | str
    event_types: list[str]
    id: str
    secret: str
    url: str





    def to_dict(self) -> dict[str, Any]:
        created_at = self.created_at

        description: None | str
        description = self.description

        event_types = self.event_types



        id = self.id

        secret = self.secret

        url = self.url


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "createdAt": created_at,
            "description": description,
            "eventTypes": event_types,
            "id": id,
            "secret": secret,
            "url": url,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        created_at = d.pop("createdAt")

        def _parse_description(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        description = _parse_description(d.pop("description"))


        event_types = cast(list[str], d.pop("eventTypes"))


        id = d.pop("id")

        secret = d.pop("secret")

        url = d.pop("url")

        subscription_created = cls(
            created_at=created_at,
            description=description,
            event_types=event_types,
            id=id,
            secret=secret,
            url=url,
        )

        return subscription_created

