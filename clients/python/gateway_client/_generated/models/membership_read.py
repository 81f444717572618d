from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.programme_status import ProgrammeStatus
from ..models.provider import Provider
from typing import cast






T = TypeVar("T", bound="MembershipRead")



@_attrs_define
class MembershipRead:
    """ 
        Attributes:
            customer_id (str):
            eligibility_checked_at (None | str):
            eligible (bool | None):
            enrolled_at (None | str):
            last_error (None | str):
            provider (Provider): An upstream platform the gateway keeps in step.
            status (ProgrammeStatus): Where a customer stands in a provider's programme (Volue's SPARK programme).
     """

    customer_id: str
    eligibility_checked_at: None | str
    eligible: bool | None
    enrolled_at: None | str
    last_error: None | str
    provider: Provider
    status: ProgrammeStatus





    def to_dict(self) -> dict[str, Any]:
        customer_id = self.customer_id

        eligibility_checked_at: None | str
        eligibility_checked_at = self.eligibility_checked_at

        eligible: bool | None
        eligible = self.eligible

        enrolled_at: None | str
        enrolled_at = self.enrolled_at

        last_error: None | str
        last_error = self.last_error

        provider = self.provider.value

        status = self.status.value


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "customerId": customer_id,
            "eligibilityCheckedAt": eligibility_checked_at,
            "eligible": eligible,
            "enrolledAt": enrolled_at,
            "lastError": last_error,
            "provider": provider,
            "status": status,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        customer_id = d.pop("customerId")

        def _parse_eligibility_checked_at(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        eligibility_checked_at = _parse_eligibility_checked_at(d.pop("eligibilityCheckedAt"))


        def _parse_eligible(data: object) -> bool | None:
            if data is None:
                return data
            return cast(bool | None, data)

        eligible = _parse_eligible(d.pop("eligible"))


        def _parse_enrolled_at(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        enrolled_at = _parse_enrolled_at(d.pop("enrolledAt"))


        def _parse_last_error(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        last_error = _parse_last_error(d.pop("lastError"))


        provider = Provider(d.pop("provider"))




        status = ProgrammeStatus(d.pop("status"))




        membership_read = cls(
            customer_id=customer_id,
            eligibility_checked_at=eligibility_checked_at,
            eligible=eligible,
            enrolled_at=enrolled_at,
            last_error=last_error,
            provider=provider,
            status=status,
        )

        return membership_read

