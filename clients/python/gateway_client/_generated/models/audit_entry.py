from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast






T = TypeVar("T", bound="AuditEntry")



@_attrs_define
class AuditEntry:
    """ 
        Attributes:
            action (str):
            actor_id (str):
            actor_kind (str):
            actor_name (str):
            at (str):
            detail (None | str):
            id (int):
            result (str):
            target (str):
            via (str):
     """

    action: str
    actor_id: str
    actor_kind: str
    actor_name: str
    at: str
    detail: None | str
    id: int
    result: str
    target: str
    via: str





    def to_dict(self) -> dict[str, Any]:
        action = self.action

        actor_id = self.actor_id

        actor_kind = self.actor_kind

        actor_name = self.actor_name

        at = self.at

        detail: None | str
        detail = self.detail

        id = self.id

        result = self.result

        target = self.target

        via = self.via


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "action": action,
            "actorId": actor_id,
            "actorKind": actor_kind,
            "actorName": actor_name,
            "at": at,
            "detail": detail,
            "id": id,
            "result": result,
            "target": target,
            "via": via,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        action = d.pop("action")

        actor_id = d.pop("actorId")

        actor_kind = d.pop("actorKind")

        actor_name = d.pop("actorName")

        at = d.pop("at")

        def _parse_detail(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        detail = _parse_detail(d.pop("detail"))


        id = d.pop("id")

        result = d.pop("result")

        target = d.pop("target")

        via = d.pop("via")

        audit_entry = cls(
            action=action,
            actor_id=actor_id,
            actor_kind=actor_kind,
            actor_name=actor_name,
            at=at,
            detail=detail,
            id=id,
            result=result,
            target=target,
            via=via,
        )

        return audit_entry

