from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.event_read_payload import EventReadPayload
  from ..models.event_target import EventTarget





T = TypeVar("T", bound="EventRead")



@_attrs_define
class EventRead:
    """ 
        Attributes:
            created_at (str):
            id (str):
            payload (EventReadPayload):
            received_at (str):
            source (str):
            targets (list[EventTarget]):
            type_ (str):
            volue_event_id (str):
     """

    created_at: str
    id: str
    payload: EventReadPayload
    received_at: str
    source: str
    targets: list[EventTarget]
    type_: str
    volue_event_id: str





    def to_dict(self) -> dict[str, Any]:
        from ..models.event_read_payload import EventReadPayload # noqa: PLC0415
        from ..models.event_target import EventTarget # noqa: PLC0415
        created_at = self.created_at

        id = self.id

        payload = self.payload.to_dict()

        received_at = self.received_at

        source = self.source

        targets = []
        for targets_item_data in self.targets:
            targets_item = targets_item_data.to_dict()
            targets.append(targets_item)



        type_ = self.type_

        volue_event_id = self.volue_event_id


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "createdAt": created_at,
            "id": id,
            "payload": payload,
            "receivedAt": received_at,
            "source": source,
            "targets": targets,
            "type": type_,
            "volueEventId": volue_event_id,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.event_read_payload import EventReadPayload # noqa: PLC0415
        from ..models.event_target import EventTarget # noqa: PLC0415
        d = dict(src_dict)
        created_at = d.pop("createdAt")

        id = d.pop("id")

        payload = EventReadPayload.from_dict(d.pop("payload"))




        received_at = d.pop("receivedAt")

        source = d.pop("source")

        targets = []
        _targets = d.pop("targets")
        for targets_item_data in (_targets):
            targets_item = EventTarget.from_dict(targets_item_data)



            targets.append(targets_item)


        type_ = d.pop("type")

        volue_event_id = d.pop("volueEventId")

        event_read = cls(
            created_at=created_at,
            id=id,
            payload=payload,
            received_at=received_at,
            source=source,
            targets=targets,
            type_=type_,
            volue_event_id=volue_event_id,
        )

        return event_read

