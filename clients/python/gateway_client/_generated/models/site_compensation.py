from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.compensation_problem_read import CompensationProblemRead





T = TypeVar("T", bound="SiteCompensation")



@_attrs_define
class SiteCompensation:
    """ 
        Attributes:
            active_amount (float):
            blocked_amount (float):
            currency (None | str):
            meter_point_ids (list[str]):
            problems (list[CompensationProblemRead]):
            site_id (str):
     """

    active_amount: float
    blocked_amount: float
    currency: None | str
    meter_point_ids: list[str]
    problems: list[CompensationProblemRead]
    site_id: str





    def to_dict(self) -> dict[str, Any]:
        from ..models.compensation_problem_read import CompensationProblemRead # noqa: PLC0415
        active_amount = self.active_amount

        blocked_amount = self.blocked_amount

        currency: None | str
        currency = self.currency

        meter_point_ids = self.meter_point_ids



        problems = []
        for problems_item_data in self.problems:
            problems_item = problems_item_data.to_dict()
            problems.append(problems_item)



        site_id = self.site_id


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "activeAmount": active_amount,
            "blockedAmount": blocked_amount,
            "currency": currency,
            "meterPointIds": meter_point_ids,
            "problems": problems,
            "siteId": site_id,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.compensation_problem_read import CompensationProblemRead # noqa: PLC0415
        d = dict(src_dict)
        active_amount = d.pop("activeAmount")

        blocked_amount = d.pop("blockedAmount")

        def _parse_currency(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        currency = _parse_currency(d.pop("currency"))


        meter_point_ids = cast(list[str], d.pop("meterPointIds"))


        problems = []
        _problems = d.pop("problems")
        for problems_item_data in (_problems):
            problems_item = CompensationProblemRead.from_dict(problems_item_data)



            problems.append(problems_item)


        site_id = d.pop("siteId")

        site_compensation = cls(
            active_amount=active_amount,
            blocked_amount=blocked_amount,
            currency=currency,
            meter_point_ids=meter_point_ids,
            problems=problems,
            site_id=site_id,
        )

        return site_compensation

