from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast
import datetime

if TYPE_CHECKING:
  from ..models.site_compensation import SiteCompensation





T = TypeVar("T", bound="CompensationRead")



@_attrs_define
class CompensationRead:
    """ 
        Attributes:
            checked_at (str):
            customer_id (str):
            period_from (datetime.date | None):
            period_to (datetime.date | None):
            sites (list[SiteCompensation]):
     """

    checked_at: str
    customer_id: str
    period_from: datetime.date | None
    period_to: datetime.date | None
    sites: list[SiteCompensation]





    def to_dict(self) -> dict[str, Any]:
        from ..models.site_compensation import SiteCompensation # noqa: PLC0415
        checked_at = self.checked_at

        customer_id = self.customer_id

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

        sites = []
        for sites_item_data in self.sites:
            sites_item = sites_item_data.to_dict()
            sites.append(sites_item)




        field_dict: dict[str, Any] = {}

        field_dict.update({
            "checkedAt": checked_at,
            "customerId": customer_id,
            "periodFrom": period_from,
            "periodTo": period_to,
            "sites": sites,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.site_compensation import SiteCompensation # noqa: PLC0415
        d = dict(src_dict)
        checked_at = d.pop("checkedAt")

        customer_id = d.pop("customerId")

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


        sites = []
        _sites = d.pop("sites")
        for sites_item_data in (_sites):
            sites_item = SiteCompensation.from_dict(sites_item_data)



            sites.append(sites_item)


        compensation_read = cls(
            checked_at=checked_at,
            customer_id=customer_id,
            period_from=period_from,
            period_to=period_to,
            sites=sites,
        )

        return compensation_read

