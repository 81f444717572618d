from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.report_read_body import ReportReadBody





T = TypeVar("T", bound="ReportRead")



@_attrs_define
class ReportRead:
    """ 
        Attributes:
            body (ReportReadBody):
            created_at (str):
            customer_id (str):
            device_id (None | str):
            id (str):
            kind (str):
            last_error (None | str):
            sent_at (None | str):
            site_id (None | str):
            status (str):
            volue_event_id (None | str):
            volue_report_id (None | str):
     """

    body: ReportReadBody
    created_at: str
    customer_id: str
    device_id: None | str
    id: str
    kind: str
    last_error: None | str
    sent_at: None | str
    site_id: None | str
    status: str
    volue_event_id: None | str
    volue_report_id: None | str





    def to_dict(self) -> dict[str, Any]:
        from ..models.report_read_body import ReportReadBody # noqa: PLC0415
        body = self.body.to_dict()

        created_at = self.created_at

        customer_id = self.customer_id

        device_id: None | str
        device_id = self.device_id

        id = self.id

        kind = self.kind

        last_error: None | str
        last_error = self.last_error

        sent_at: None | str
        sent_at = self.sent_at

        site_id: None | str
        site_id = self.site_id

        status = self.status

        volue_event_id: None | str
        volue_event_id = self.volue_event_id

        volue_report_id: None | str
        volue_report_id = self.volue_report_id


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "body": body,
            "createdAt": created_at,
            "customerId": customer_id,
            "deviceId": device_id,
            "id": id,
            "kind": kind,
            "lastError": last_error,
            "sentAt": sent_at,
            "siteId": site_id,
            "status": status,
            "volueEventId": volue_event_id,
            "volueReportId": volue_report_id,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.report_read_body import ReportReadBody # noqa: PLC0415
        d = dict(src_dict)
        body = ReportReadBody.from_dict(d.pop("body"))




        created_at = d.pop("createdAt")

        customer_id = d.pop("customerId")

        def _parse_device_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        device_id = _parse_device_id(d.pop("deviceId"))


        id = d.pop("id")

        kind = d.pop("kind")

        def _parse_last_error(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        last_error = _parse_last_error(d.pop("lastError"))


        def _parse_sent_at(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        sent_at = _parse_sent_at(d.pop("sentAt"))


        def _parse_site_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        site_id = _parse_site_id(d.pop("siteId"))


        status = d.pop("status")

        def _parse_volue_event_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        volue_event_id = _parse_volue_event_id(d.pop("volueEventId"))


        def _parse_volue_report_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        volue_report_id = _parse_volue_report_id(d.pop("volueReportId"))


        report_read = cls(
            body=body,
            created_at=created_at,
            customer_id=customer_id,
            device_id=device_id,
            id=id,
            kind=kind,
            last_error=last_error,
            sent_at=sent_at,
            site_id=site_id,
            status=status,
            volue_event_id=volue_event_id,
            volue_report_id=volue_report_id,
        )

        return report_read

