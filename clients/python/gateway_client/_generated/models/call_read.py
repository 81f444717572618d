from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast






T = TypeVar("T", bound="CallRead")



@_attrs_define
class CallRead:
    """ 
        Attributes:
            at (str):
            entity_id (str):
            entity_type (str):
            error (None | str):
            latency_ms (float):
            method (str):
            provider (str):
            route (str):
            status (int | None):
            task_id (str):
     """

    at: str
    entity_id: str
    entity_type: str
    error: None | str
    latency_ms: float
    method: str
    provider: str
    route: str
    status: int | None
    task_id: str





    def to_dict(self) -> dict[str, Any]:
        at = self.at

        entity_id = self.entity_id

        entity_type = self.entity_type

        error: None | str
        error = self.error

        latency_ms = self.latency_ms

        method = self.method

        provider = self.provider

        route = self.route

        status: int | None
        status = self.status

        task_id = self.task_id


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "at": at,
            "entityId": entity_id,
            "entityType": entity_type,
            "error": error,
            "latencyMs": latency_ms,
            "method": method,
            "provider": provider,
            "route": route,
            "status": status,
            "taskId": task_id,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        at = d.pop("at")

        entity_id = d.pop("entityId")

        entity_type = d.pop("entityType")

        def _parse_error(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        error = _parse_error(d.pop("error"))


        latency_ms = d.pop("latencyMs")

        method = d.pop("method")

        provider = d.pop("provider")

        route = d.pop("route")

        def _parse_status(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        status = _parse_status(d.pop("status"))


        task_id = d.pop("taskId")

        call_read = cls(
            at=at,
            entity_id=entity_id,
            entity_type=entity_type,
            error=error,
            latency_ms=latency_ms,
            method=method,
            provider=provider,
            route=route,
            status=status,
            task_id=task_id,
        )

        return call_read

