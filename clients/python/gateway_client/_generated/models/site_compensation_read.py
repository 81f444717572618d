from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast
import datetime

if TYPE_CHECKING:
  from ..models.compensation_problem_read import CompensationProblemRead





T = TypeVar("T", bound="SiteCompensationRead")



@_attrs_define
class SiteCompensationRead:
    """ The site's compensation for the current month, as last fetched from the provider.

        Attributes:
            active_amount (float):
            blocked_amount (float):
            checked_at (str):
            currency (None | str):
            period_from (datetime.date | None):
            period_to (datetime.date | None):
            problems (list[CompensationProblemRead]):
            meter_point_ids (list[str] | Unset):
     """

    active_amount: float
    blocked_amount: float
    checked_at: str
    currency: None | str
    period_from: datetime.date | None
    period_to: datetime.date | None
    problems: list[CompensationProblemRead]
    meter_point_ids: list[str] | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        from ..models.compensation_problem_read import CompensationProblemRead # noqa: PLC0415
        active_amount = self.active_amount

        blocked_amount = self.blocked_amount

        checked_at = self.checked_at

        currency: None | str
        currency = self.currency

        period_from: None | str
        if isinstance(self.period_from, datetime.date):
            period_from = self.period_from.isoformat()
        else:
            period_from = self.period_from

        period_to: None | str
        if isinstance(self.period_to, datetime.date):
            period_to = self.period_to.isoformat()
        else:
            period_to = self.period_to

        problems = []
        for problems_item_data in self.problems:
            problems_item = problems_item_data.to_dict()
            problems.append(problems_item)



        meter_point_ids: list[str] | Unset = UNSET
        if not isinstance(self.meter_point_ids, Unset):
            meter_point_ids = self.meter_point_ids




        field_dict: dict[str, Any] = {}

        field_dict.update({
            "activeAmount": active_amount,
            "blockedAmount": blocked_amount,
            "checkedAt": checked_at,
            "currency": currency,
            "periodFrom": period_from,
            "periodTo": period_to,
            "problems": problems,
        })
        if meter_point_ids is not UNSET:
            field_dict["meterPointIds"] = meter_point_ids

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.compensation_problem_read import CompensationProblemRead # noqa: PLC0415
        d = dict(src_dict)
        active_amount = d.pop("activeAmount")

        blocked_amount = d.pop("blockedAmount")

        checked_at = d.pop("checkedAt")

        def _parse_currency(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        currency = _parse_currency(d.pop("currency"))


        def _parse_period_from(data: object) -> datetime.date | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                period_from_type_0 = datetime.date.fromisoformat(data)



                return period_from_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.date | None, data)

        period_from = _parse_period_from(d.pop("periodFrom"))


        def _parse_period_to(data: object) -> datetime.date | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                period_to_type_0 = datetime.date.fromisoformat(data)



                return period_to_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.date | None, data)

        period_to = _parse_period_to(d.pop("periodTo"))


        problems = []
        _problems = d.pop("problems")
        for problems_item_data in (_problems):
            problems_item = CompensationProblemRead.from_dict(problems_item_data)



            problems.append(problems_item)


        meter_point_ids = cast(list[str], d.pop("meterPointIds", UNSET))


        site_compensation_read = cls(
            active_amount=active_amount,
            blocked_amount=blocked_amount,
            checked_at=checked_at,
            currency=currency,
            period_from=period_from,
            period_to=period_to,
            problems=problems,
            meter_point_ids=meter_point_ids,
        )

        return site_compensation_read

