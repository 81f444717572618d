from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast






T = TypeVar("T", bound="CircuitRead")



@_attrs_define
class CircuitRead:
    """ 
        Attributes:
            concurrency_limit (int | None):
            next_probe_at (None | str):
            provider (str):
            reason (None | str):
            since (None | str):
            source (str):
            state (str):
     """

    concurrency_limit: int | None
    next_probe_at: None | str
    provider: str
    reason: None | str
    since: None | str
    source: str
    state: str





    def to_dict(self) -> dict[str, Any]:
        concurrency_limit: int | None
        concurrency_limit = self.concurrency_limit

        next_probe_at: None | str
        next_probe_at = self.next_probe_at

        provider = self.provider

        reason: None | str
        reason = self.reason

        since: None | str
        since = self.since

        source = self.source

        state = self.state


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "concurrencyLimit": concurrency_limit,
            "nextProbeAt": next_probe_at,
            "provider": provider,
            "reason": reason,
            "since": since,
            "source": source,
            "state": state,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        def _parse_concurrency_limit(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        concurrency_limit = _parse_concurrency_limit(d.pop("concurrencyLimit"))


        def _parse_next_probe_at(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        next_probe_at = _parse_next_probe_at(d.pop("nextProbeAt"))


        provider = d.pop("provider")

        def _parse_reason(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        reason = _parse_reason(d.pop("reason"))


        def _parse_since(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        since = _parse_since(d.pop("since"))


        source = d.pop("source")

        state = d.pop("state")

        circuit_read = cls(
            concurrency_limit=concurrency_limit,
            next_probe_at=next_probe_at,
            provider=provider,
            reason=reason,
            since=since,
            source=source,
            state=state,
        )

        return circuit_read

