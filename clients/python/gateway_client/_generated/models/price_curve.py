from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.currency import Currency
from ..models.energy_unit import EnergyUnit
from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.price_curve_point import PriceCurvePoint





T = TypeVar("T", bound="PriceCurve")



@_attrs_define
class PriceCurve:
    """ 
        Attributes:
            currency (Currency | None | Unset):
            energy_unit (EnergyUnit | None | Unset):
            points (list[PriceCurvePoint] | Unset):
            resolution (None | str | Unset):
     """

    currency: Currency | None | Unset = UNSET
    energy_unit: EnergyUnit | None | Unset = UNSET
    points: list[PriceCurvePoint] | Unset = UNSET
    resolution: None | str | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        from ..models.price_curve_point import PriceCurvePoint # noqa: PLC0415
        currency: None | str | Unset
        if isinstance(self.currency, Unset):
            currency = UNSET
        elif isinstance(self.currency, Currency):
            currency = self.currency.value
        else:
            currency = self.currency

        energy_unit: None | str | Unset
        if isinstance(self.energy_unit, Unset):
            energy_unit = UNSET
        elif isinstance(self.energy_unit, EnergyUnit):
            energy_unit = self.energy_unit.value
        else:
            energy_unit = self.energy_unit

        points: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.points, Unset):
            points = []
            for points_item_data in self.points:
                points_item = points_item_data.to_dict()
                points.append(points_item)



        resolution: None | str | Unset
        if isinstance(self.resolution, Unset):
            resolution = UNSET
        else:
            resolution = self.resolution


        field_dict: dict[str, Any] = {}

        field_dict.update({
        })
        if currency is not UNSET:
            field_dict["currency"] = currency
        if energy_unit is not UNSET:
            field_dict["energyUnit"] = energy_unit
        if points is not UNSET:
            field_dict["points"] = points
        if resolution is not UNSET:
            field_dict["resolution"] = resolution

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.price_curve_point import PriceCurvePoint # noqa: PLC0415
        d = dict(src_dict)
        def _parse_currency(data: object) -> Currency | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                currency_type_0 = Currency(data)



                return currency_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(Currency | None | Unset, data)

        currency = _parse_currency(d.pop("currency", UNSET))


        def _parse_energy_unit(data: object) -> EnergyUnit | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                energy_unit_type_0 = EnergyUnit(data)



                return energy_unit_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(EnergyUnit | None | Unset, data)

        energy_unit = _parse_energy_unit(d.pop("energyUnit", UNSET))


        _points = d.pop("points", UNSET)
        points: list[PriceCurvePoint] | Unset = UNSET
        if _points is not UNSET:
            points = []
            for points_item_data in _points:
                points_item = PriceCurvePoint.from_dict(points_item_data)



                points.append(points_item)


        def _parse_resolution(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        resolution = _parse_resolution(d.pop("resolution", UNSET))


        price_curve = cls(
            currency=currency,
            energy_unit=energy_unit,
            points=points,
            resolution=resolution,
        )

        return price_curve

