from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.notification_type import NotificationType
from typing import cast

if TYPE_CHECKING:
  from ..models.location_lpc_payload import LocationLPCPayload
  from ..models.lpc_reservation_payload import LPCReservationPayload
  from ..models.price_curve_payload import PriceCurvePayload
  from ..models.resource_lpc_payload import ResourceLPCPayload
  from ..models.user_eligibility_payload import UserEligibilityPayload





T = TypeVar("T", bound="EventNotification")



@_attrs_define
class EventNotification:
    """ The body Volue POSTs to a webhook (``webhook-server-openapi.yaml``).

        Attributes:
            event_created_at_utc (str):
            event_id (str):
            notification_id (str):
            notification_sent_utc (str):
            notification_type (NotificationType):
            payload (LocationLPCPayload | LPCReservationPayload | PriceCurvePayload | ResourceLPCPayload |
                UserEligibilityPayload):
     """

    event_created_at_utc: str
    event_id: str
    notification_id: str
    notification_sent_utc: str
    notification_type: NotificationType
    payload: LocationLPCPayload | LPCReservationPayload | PriceCurvePayload | ResourceLPCPayload | UserEligibilityPayload





    def to_dict(self) -> dict[str, Any]:
        from ..models.location_lpc_payload import LocationLPCPayload # noqa: PLC0415
        from ..models.lpc_reservation_payload import LPCReservationPayload # noqa: PLC0415
        from ..models.price_curve_payload import PriceCurvePayload # noqa: PLC0415
        from ..models.resource_lpc_payload import ResourceLPCPayload # noqa: PLC0415
        from ..models.user_eligibility_payload import UserEligibilityPayload # noqa: PLC0415
        event_created_at_utc = self.event_created_at_utc

        event_id = self.event_id

        notification_id = self.notification_id

        notification_sent_utc = self.notification_sent_utc

        notification_type = self.notification_type.value

        payload: dict[str, Any]
        if isinstance(self.payload, PriceCurvePayload):
            payload = self.payload.to_dict()
        elif isinstance(self.payload, UserEligibilityPayload):
            payload = self.payload.to_dict()
        elif isinstance(self.payload, LocationLPCPayload):
            payload = self.payload.to_dict()
        elif isinstance(self.payload, ResourceLPCPayload):
            payload = self.payload.to_dict()
        else:
            payload = self.payload.to_dict()



        field_dict: dict[str, Any] = {}

        field_dict.update({
            "eventCreatedAtUtc": event_created_at_utc,
            "eventId": event_id,
            "notificationId": notification_id,
            "notificationSentUtc": notification_sent_utc,
            "notificationType": notification_type,
            "payload": payload,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.location_lpc_payload import LocationLPCPayload # noqa: PLC0415
        from ..models.lpc_reservation_payload import LPCReservationPayload # noqa: PLC0415
        from ..models.price_curve_payload import PriceCurvePayload # noqa: PLC0415
        from ..models.resource_lpc_payload import ResourceLPCPayload # noqa: PLC0415
        from ..models.user_eligibility_payload import UserEligibilityPayload # noqa: PLC0415
        d = dict(src_dict)
        event_created_at_utc = d.pop("eventCreatedAtUtc")

        event_id = d.pop("eventId")

        notification_id = d.pop("notificationId")

        notification_sent_utc = d.pop("notificationSentUtc")

        notification_type = NotificationType(d.pop("notificationType"))




        def _parse_payload(data: object) -> LocationLPCPayload | LPCReservationPayload | PriceCurvePayload | ResourceLPCPayload | UserEligibilityPayload:
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                payload_type_0 = PriceCurvePayload.from_dict(data)



                return payload_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                payload_type_1 = UserEligibilityPayload.from_dict(data)



                return payload_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                payload_type_2 = LocationLPCPayload.from_dict(data)



                return payload_type_2
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                payload_type_3 = ResourceLPCPayload.from_dict(data)



                return payload_type_3
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            if not isinstance(data, dict):
                raise TypeError()
            payload_type_4 = LPCReservationPayload.from_dict(data)



            return payload_type_4

        payload = _parse_payload(d.pop("payload"))


        event_notification = cls(
            event_created_at_utc=event_created_at_utc,
            event_id=event_id,
            notification_id=notification_id,
            notification_sent_utc=notification_sent_utc,
            notification_type=notification_type,
            payload=payload,
        )

        return event_notification

