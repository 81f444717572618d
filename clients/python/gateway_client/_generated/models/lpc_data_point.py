from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="LPCDataPoint")



@_attrs_define
class LPCDataPoint:
    """ 
        Attributes:
            max_power_in_kilo_watts (float | None | Unset):
            timestamp (None | str | Unset):
     """

    max_power_in_kilo_watts: float | None | Unset = UNSET
    timestamp: None | str | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        max_power_in_kilo_watts: float | None | Unset
        if isinstance(self.max_power_in_kilo_watts, Unset):
            max_power_in_kilo_watts = UNSET
        else:
            max_power_in_kilo_watts = self.max_power_in_kilo_watts

        timestamp: None | str | Unset
        if isinstance(self.timestamp, Unset):
            timestamp = UNSET
        else:
            timestamp = self.timestamp


        field_dict: dict[str, Any] = {}

        field_dict.update({
        })
        if max_power_in_kilo_watts is not UNSET:
            field_dict["maxPowerInKiloWatts"] = max_power_in_kilo_watts
        if timestamp is not UNSET:
            field_dict["timestamp"] = timestamp

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        def _parse_max_power_in_kilo_watts(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        max_power_in_kilo_watts = _parse_max_power_in_kilo_watts(d.pop("maxPowerInKiloWatts", UNSET))


        def _parse_timestamp(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        timestamp = _parse_timestamp(d.pop("timestamp", UNSET))


        lpc_data_point = cls(
            max_power_in_kilo_watts=max_power_in_kilo_watts,
            timestamp=timestamp,
        )

        return lpc_data_point

