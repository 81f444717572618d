from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.sync_status import SyncStatus
from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="ProviderSync")



@_attrs_define
class ProviderSync:
    """ 
        Attributes:
            attempts (int):
            external_id (None | str):
            last_error (None | str):
            status (SyncStatus): Where an entity stands at one provider.
            synced_at (None | str):
            blocked_by (None | str | Unset):
            blocked_reason (None | str | Unset):
            circuit (None | str | Unset):
            next_attempt_at (None | str | Unset):
     """

    attempts: int
    external_id: None | str
    last_error: None | str
    status: SyncStatus
    synced_at: None | str
    blocked_by: None | str | Unset = UNSET
    blocked_reason: None | str | Unset = UNSET
    circuit: None | str | Unset = UNSET
    next_attempt_at: None | str | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        attempts = self.attempts

        external_id: None | str
        external_id = self.external_id

        last_error: None | str
        last_error = self.last_error

        status = self.status.value

        synced_at: None | str
        synced_at = self.synced_at

        blocked_by: None | str | Unset
        if isinstance(self.blocked_by, Unset):
            blocked_by = UNSET
        else:
            blocked_by = self.blocked_by

        blocked_reason: None | str | Unset
        if isinstance(self.blocked_reason, Unset):
            blocked_reason = UNSET
        else:
            blocked_reason = self.blocked_reason

        circuit: None | str | Unset
        if isinstance(self.circuit, Unset):
            circuit = UNSET
        else:
            circuit = self.circuit

        next_attempt_at: None | str | Unset
        if isinstance(self.next_attempt_at, Unset):
            next_attempt_at = UNSET
        else:
            next_attempt_at = self.next_attempt_at


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "attempts": attempts,
            "externalId": external_id,
            "lastError": last_error,
            "status": status,
            "syncedAt": synced_at,
        })
        if blocked_by is not UNSET:
            field_dict["blockedBy"] = blocked_by
        if blocked_reason is not UNSET:
            field_dict["blockedReason"] = blocked_reason
        if circuit is not UNSET:
            field_dict["circuit"] = circuit
        if next_attempt_at is not UNSET:
            field_dict["nextAttemptAt"] = next_attempt_at

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        attempts = d.pop("attempts")

        def _parse_external_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        external_id = _parse_external_id(d.pop("externalId"))


        def _parse_last_error(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        last_error = _parse_last_error(d.pop("lastError"))


        status = SyncStatus(d.pop("status"))




        def _parse_synced_at(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        synced_at = _parse_synced_at(d.pop("syncedAt"))


        def _parse_blocked_by(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        blocked_by = _parse_blocked_by(d.pop("blockedBy", UNSET))


        def _parse_blocked_reason(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        blocked_reason = _parse_blocked_reason(d.pop("blockedReason", UNSET))


        def _parse_circuit(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        circuit = _parse_circuit(d.pop("circuit", UNSET))


        def _parse_next_attempt_at(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        next_attempt_at = _parse_next_attempt_at(d.pop("nextAttemptAt", UNSET))


        provider_sync = cls(
            attempts=attempts,
            external_id=external_id,
            last_error=last_error,
            status=status,
            synced_at=synced_at,
            blocked_by=blocked_by,
            blocked_reason=blocked_reason,
            circuit=circuit,
            next_attempt_at=next_attempt_at,
        )

        return provider_sync

