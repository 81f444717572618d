from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.programme_status import ProgrammeStatus
from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="ProgrammeRead")



@_attrs_define
class ProgrammeRead:
    """ A customer's membership of a provider's programme.

        Attributes:
            status (ProgrammeStatus): Where a customer stands in a provider's programme (Volue's SPARK programme).
            eligibility_checked_at (None | str | Unset):
            eligible (bool | None | Unset):
            enrolled_at (None | str | Unset):
            last_error (None | str | Unset):
     """

    status: ProgrammeStatus
    eligibility_checked_at: None | str | Unset = UNSET
    eligible: bool | None | Unset = UNSET
    enrolled_at: None | str | Unset = UNSET
    last_error: None | str | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        status = self.status.value

        eligibility_checked_at: None | str | Unset
        if isinstance(self.eligibility_checked_at, Unset):
            eligibility_checked_at = UNSET
        else:
            eligibility_checked_at = self.eligibility_checked_at

        eligible: bool | None | Unset
        if isinstance(self.eligible, Unset):
            eligible = UNSET
        else:
            eligible = self.eligible

        enrolled_at: None | str | Unset
        if isinstance(self.enrolled_at, Unset):
            enrolled_at = UNSET
        else:
            enrolled_at = self.enrolled_at

        last_error: None | str | Unset
        if isinstance(self.last_error, Unset):
            last_error = UNSET
        else:
            last_error = self.last_error


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "status": status,
        })
        if eligibility_checked_at is not UNSET:
            field_dict["eligibilityCheckedAt"] = eligibility_checked_at
        if eligible is not UNSET:
            field_dict["eligible"] = eligible
        if enrolled_at is not UNSET:
            field_dict["enrolledAt"] = enrolled_at
        if last_error is not UNSET:
            field_dict["lastError"] = last_error

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        status = ProgrammeStatus(d.pop("status"))




        def _parse_eligibility_checked_at(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        eligibility_checked_at = _parse_eligibility_checked_at(d.pop("eligibilityCheckedAt", UNSET))


        def _parse_eligible(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        eligible = _parse_eligible(d.pop("eligible", UNSET))


        def _parse_enrolled_at(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        enrolled_at = _parse_enrolled_at(d.pop("enrolledAt", UNSET))


        def _parse_last_error(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        last_error = _parse_last_error(d.pop("lastError", UNSET))


        programme_read = cls(
            status=status,
            eligibility_checked_at=eligibility_checked_at,
            eligible=eligible,
            enrolled_at=enrolled_at,
            last_error=last_error,
        )

        return programme_read

