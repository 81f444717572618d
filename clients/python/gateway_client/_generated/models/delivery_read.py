from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast






T = TypeVar("T", bound="DeliveryRead")



@_attrs_define
class DeliveryRead:
    """ 
        Attributes:
            attempts (int):
            created_at (str):
            delivered_at (None | str):
            event_id (str):
            first_attempt_at (None | str):
            id (str):
            last_attempt_at (None | str):
            last_error (None | str):
            last_status (int | None):
            next_attempt_at (None | str):
            status (str):
            subscription_id (str):
     """

    attempts: int
    created_at: str
    delivered_at: None | str
    event_id: str
    first_attempt_at: None | str
    id: str
    last_attempt_at: None | str
    last_error: None | str
    last_status: int | None
    next_attempt_at: None | str
    status: str
    subscription_id: str





    def to_dict(self) -> dict[str, Any]:
        attempts = self.attempts

        created_at = self.created_at

        delivered_at: None | str
        delivered_at = self.delivered_at

        event_id = self.event_id

        first_attempt_at: None | str
        first_attempt_at = self.first_attempt_at

        id = self.id

        last_attempt_at: None | str
        last_attempt_at = self.last_attempt_at

        last_error: None | str
        last_error = self.last_error

        last_status: int | None
        last_status = self.last_status

        next_attempt_at: None | str
        next_attempt_at = self.next_attempt_at

        status = self.status

        subscription_id = self.subscription_id


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "attempts": attempts,
            "createdAt": created_at,
            "deliveredAt": delivered_at,
            "eventId": event_id,
            "firstAttemptAt": first_attempt_at,
            "id": id,
            "lastAttemptAt": last_attempt_at,
            "lastError": last_error,
            "lastStatus": last_status,
            "nextAttemptAt": next_attempt_at,
            "status": status,
            "subscriptionId": subscription_id,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        attempts = d.pop("attempts")

        created_at = d.pop("createdAt")

        def _parse_delivered_at(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        delivered_at = _parse_delivered_at(d.pop("deliveredAt"))


        event_id = d.pop("eventId")

        def _parse_first_attempt_at(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        first_attempt_at = _parse_first_attempt_at(d.pop("firstAttemptAt"))


        id = d.pop("id")

        def _parse_last_attempt_at(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        last_attempt_at = _parse_last_attempt_at(d.pop("lastAttemptAt"))


        def _parse_last_error(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        last_error = _parse_last_error(d.pop("lastError"))


        def _parse_last_status(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        last_status = _parse_last_status(d.pop("lastStatus"))


        def _parse_next_attempt_at(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        next_attempt_at = _parse_next_attempt_at(d.pop("nextAttemptAt"))


        status = d.pop("status")

        subscription_id = d.pop("subscriptionId")

        delivery_read = cls(
            attempts=attempts,
            created_at=created_at,
            delivered_at=delivered_at,
            event_id=event_id,
            first_attempt_at=first_attempt_at,
            id=id,
            last_attempt_at=last_attempt_at,
            last_error=last_error,
            last_status=last_status,
            next_attempt_at=next_attempt_at,
            status=status,
            subscription_id=subscription_id,
        )

        return delivery_read

