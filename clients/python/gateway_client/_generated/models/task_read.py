from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="TaskRead")



@_attrs_define
class TaskRead:
    """ 
        Attributes:
            action (str):
            attempts (int):
            created_at (str):
            customer_id (str):
            entity_id (str):
            entity_type (str):
            id (str):
            last_error (None | str):
            provider (str):
            run_after (str):
            status (str):
            updated_at (str):
            blocked_by (None | str | Unset):
            trace_id (None | str | Unset):
     """

    action: str
    attempts: int
    created_at: str
    customer_id: str
    entity_id: str
    entity_type: str
    id: str
    last_error: None | str
    provider: str
    run_after: str
    status: str
    updated_at: str
    blocked_by: None | str | Unset = UNSET
    trace_id: None | str | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        action = self.action

        attempts = self.attempts

        created_at = self.created_at

        customer_id = self.customer_id

        entity_id = self.entity_id

        entity_type = self.entity_type

        id = self.id

        last_error: None | str
        last_error = self.last_error

        provider = self.provider

        run_after = self.run_after

        status = self.status

        updated_at = self.updated_at

        blocked_by: None | str | Unset
        if isinstance(self.blocked_by, Unset):
            blocked_by = UNSET
        else:
            blocked_by = self.blocked_by

        trace_id: None | str | Unset
        if isinstance(self.trace_id, Unset):
            trace_id = UNSET
        else:
            trace_id = self.trace_id


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "action": action,
            "attempts": attempts,
            "createdAt": created_at,
            "customerId": customer_id,
            "entityId": entity_id,
            "entityType": entity_type,
            "id": id,
            "lastError": last_error,
            "provider": provider,
            "runAfter": run_after,
            "status": status,
            "updatedAt": updated_at,
        })
        if blocked_by is not UNSET:
            field_dict["blockedBy"] = blocked_by
        if trace_id is not UNSET:
            field_dict["traceId"] = trace_id

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        action = d.pop("action")

        attempts = d.pop("attempts")

        created_at = d.pop("createdAt")

        customer_id = d.pop("customerId")

        entity_id = d.pop("entityId")

        entity_type = d.pop("entityType")

        id = d.pop("id")

        def _parse_last_error(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        last_error = _parse_last_error(d.pop("lastError"))


        provider = d.pop("provider")

        run_after = d.pop("runAfter")

        status = d.pop("status")

        updated_at = d.pop("updatedAt")

        def _parse_blocked_by(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        blocked_by = _parse_blocked_by(d.pop("blockedBy", UNSET))


        def _parse_trace_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        trace_id = _parse_trace_id(d.pop("traceId", UNSET))


        task_read = cls(
            action=action,
            attempts=attempts,
            created_at=created_at,
            customer_id=customer_id,
            entity_id=entity_id,
            entity_type=entity_type,
            id=id,
            last_error=last_error,
            provider=provider,
            run_after=run_after,
            status=status,
            updated_at=updated_at,
            blocked_by=blocked_by,
            trace_id=trace_id,
        )

        return task_read

