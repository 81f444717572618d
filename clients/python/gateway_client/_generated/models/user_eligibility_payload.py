from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.user_eligibility_payload_payload_type import UserEligibilityPayloadPayloadType
from typing import cast






T = TypeVar("T", bound="UserEligibilityPayload")



@_attrs_define
class UserEligibilityPayload:
    """ 
        Attributes:
            added_users (list[str]):
            last_updated (str):
            payload_type (UserEligibilityPayloadPayloadType):
            removed_users (list[str]):
     """

    added_users: list[str]
    last_updated: str
    payload_type: UserEligibilityPayloadPayloadType
    removed_users: list[str]





    def to_dict(self) -> dict[str, Any]:
        added_users = self.added_users



        last_updated = self.last_updated

        payload_type = self.payload_type.value

        removed_users = self.removed_users




        field_dict: dict[str, Any] = {}

        field_dict.update({
            "addedUsers": added_users,
            "lastUpdated": last_updated,
            "payloadType": payload_type,
            "removedUsers": removed_users,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        added_users = cast(list[str], d.pop("addedUsers"))


        last_updated = d.pop("lastUpdated")

        payload_type = UserEligibilityPayloadPayloadType(d.pop("payloadType"))




        removed_users = cast(list[str], d.pop("removedUsers"))


        user_eligibility_payload = cls(
            added_users=added_users,
            last_updated=last_updated,
            payload_type=payload_type,
            removed_users=removed_users,
        )

        return user_eligibility_payload

