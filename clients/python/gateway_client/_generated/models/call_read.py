from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

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
            request_body (None | str | Unset):
            request_body_truncated (bool | Unset):  Default: False.
            response_body (None | str | Unset):
            response_body_truncated (bool | Unset):  Default: False.
            trace_id (None | str | Unset):
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
    request_body: None | str | Unset = UNSET
    request_body_truncated: bool | Unset = False
    response_body: None | str | Unset = UNSET
    response_body_truncated: bool | Unset = False
    trace_id: None | str | Unset = UNSET





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

        request_body: None | str | Unset
        if isinstance(self.request_body, Unset):
            request_body = UNSET
        else:
            request_body = self.request_body

        request_body_truncated = self.request_body_truncated

        response_body: None | str | Unset
        if isinstance(self.response_body, Unset):
            response_body = UNSET
        else:
            response_body = self.response_body

        response_body_truncated = self.response_body_truncated

        trace_id: None | str | Unset
        if isinstance(self.trace_id, Unset):
            trace_id = UNSET
        else:
            trace_id = self.trace_id


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
        if request_body is not UNSET:
            field_dict["requestBody"] = request_body
        if request_body_truncated is not UNSET:
            field_dict["requestBodyTruncated"] = request_body_truncated
        if response_body is not UNSET:
            field_dict["responseBody"] = response_body
        if response_body_truncated is not UNSET:
            field_dict["responseBodyTruncated"] = response_body_truncated
        if trace_id is not UNSET:
            field_dict["traceId"] = trace_id

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

        def _parse_request_body(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        request_body = _parse_request_body(d.pop("requestBody", UNSET))


        request_body_truncated = d.pop("requestBodyTruncated", UNSET)

        def _parse_response_body(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        response_body = _parse_response_body(d.pop("responseBody", UNSET))


        response_body_truncated = d.pop("responseBodyTruncated", UNSET)

        def _parse_trace_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        trace_id = _parse_trace_id(d.pop("traceId", UNSET))


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
            request_body=request_body,
            request_body_truncated=request_body_truncated,
            response_body=response_body,
            response_body_truncated=response_body_truncated,
            trace_id=trace_id,
        )

        return call_read

