from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.invite_status import InviteStatus
from typing import cast






T = TypeVar("T", bound="InviteRead")



@_attrs_define
class InviteRead:
    """ 
        Attributes:
            created_at (str):
            customer_id (str):
            email (str):
            id (str):
            invite_link (None | str):
            last_error (None | str):
            send_email (bool):
            sent_at (None | str):
            site_id (str):
            status (InviteStatus): Where a Zählerfreunde space invite stands, as the API shows it.
     """

    created_at: str
    customer_id: str
    email: str
    id: str
    invite_link: None | str
    last_error: None | str
    send_email: bool
    sent_at: None | str
    site_id: str
    status: InviteStatus





    def to_dict(self) -> dict[str, Any]:
        created_at = self.created_at

        customer_id = self.customer_id

        email = self.email

        id = self.id

        invite_link: None | str
        invite_link = self.invite_link

        last_error: None | str
        last_error = self.last_error

        send_email = self.send_email

        sent_at: None | str
        sent_at = self.sent_at

        site_id = self.site_id

        status = self.status.value


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "createdAt": created_at,
            "customerId": customer_id,
            "email": email,
            "id": id,
            "inviteLink": invite_link,
            "lastError": last_error,
            "sendEmail": send_email,
            "sentAt": sent_at,
            "siteId": site_id,
            "status": status,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        created_at = d.pop("createdAt")

        customer_id = d.pop("customerId")

        email = d.pop("email")

        id = d.pop("id")

        def _parse_invite_link(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        invite_link = _parse_invite_link(d.pop("inviteLink"))


        def _parse_last_error(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        last_error = _parse_last_error(d.pop("lastError"))


        send_email = d.pop("sendEmail")

        def _parse_sent_at(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        sent_at = _parse_sent_at(d.pop("sentAt"))


        site_id = d.pop("siteId")

        status = InviteStatus(d.pop("status"))




        invite_read = cls(
            created_at=created_at,
            customer_id=customer_id,
            email=email,
            id=id,
            invite_link=invite_link,
            last_error=last_error,
            send_email=send_email,
            sent_at=sent_at,
            site_id=site_id,
            status=status,
        )

        return invite_read

