from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.report_status import ReportStatus
from typing import cast






T = TypeVar("T", bound="EnergyPointRead")



@_attrs_define
class EnergyPointRead:
    """ 
        Attributes:
            direction (str):
            flagged (bool):
            kwh (float | None):
            meter_point_id (None | str):
            report_id (None | str):
            report_status (None | ReportStatus):
            reported (bool):
            resolution_s (int):
            timestamp (str):
     """

    direction: str
    flagged: bool
    kwh: float | None
    meter_point_id: None | str
    report_id: None | str
    report_status: None | ReportStatus
    reported: bool
    resolution_s: int
    timestamp: str





    def to_dict(self) -> dict[str, Any]:
        direction = self.direction

        flagged = self.flagged

        kwh: float | None
        kwh = self.kwh

        meter_point_id: None | str
        meter_point_id = self.meter_point_id

        report_id: None | str
        report_id = self.report_id

        report_status: None | str
        if isinstance(self.report_status, ReportStatus):
            report_status = self.report_status.value
        else:
            report_status = self.report_status

        reported = self.reported

        resolution_s = self.resolution_s

        timestamp = self.timestamp


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "direction": direction,
            "flagged": flagged,
            "kwh": kwh,
            "meterPointId": meter_point_id,
            "reportId": report_id,
            "reportStatus": report_status,
            "reported": reported,
            "resolutionS": resolution_s,
            "timestamp": timestamp,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        direction = d.pop("direction")

        flagged = d.pop("flagged")

        def _parse_kwh(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        kwh = _parse_kwh(d.pop("kwh"))


        def _parse_meter_point_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        meter_point_id = _parse_meter_point_id(d.pop("meterPointId"))


        def _parse_report_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        report_id = _parse_report_id(d.pop("reportId"))


        def _parse_report_status(data: object) -> None | ReportStatus:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                report_status_type_0 = ReportStatus(data)



                return report_status_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | ReportStatus, data)

        report_status = _parse_report_status(d.pop("reportStatus"))


        reported = d.pop("reported")

        resolution_s = d.pop("resolutionS")

        timestamp = d.pop("timestamp")

        energy_point_read = cls(
            direction=direction,
            flagged=flagged,
            kwh=kwh,
            meter_point_id=meter_point_id,
            report_id=report_id,
            report_status=report_status,
            reported=reported,
            resolution_s=resolution_s,
            timestamp=timestamp,
        )

        return energy_point_read

