from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="InviteCreate")



@_attrs_define
class InviteCreate:
    """ 
        Attributes:
            email (None | str | Unset):
            force (bool | Unset):  Default: False.
            send_email (bool | Unset):  Default: True.
     """

    email: None | str | Unset = UNSET
    force: bool | Unset = False
    send_email: bool | Unset = True





    def to_dict(self) -> dict[str, Any]:
        email: None | str | Unset
        if isinstance(self.email, Unset):
            email = UNSET
        else:
            email = self.email

        force = self.force

        send_email = self.send_email


        field_dict: dict[str, Any] = {}

        field_dict.update({
        })
        if email is not UNSET:
            field_dict["email"] = email
        if force is not UNSET:
            field_dict["force"] = force
        if send_email is not UNSET:
            field_dict["sendEmail"] = send_email

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        def _parse_email(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        email = _parse_email(d.pop("email", UNSET))


        force = d.pop("force", UNSET)

        send_email = d.pop("sendEmail", UNSET)

        invite_create = cls(
            email=email,
            force=force,
            send_email=send_email,
        )

        return invite_create

