from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="BulkRetryRequest")



@_attrs_define
class BulkRetryRequest:
    """ Which dead tasks to send again; every filter given must match.

        Attributes:
            dead_after (None | str | Unset):
            dead_before (None | str | Unset):
            error_contains (None | str | Unset):
            kind (None | str | Unset):
            limit (int | Unset):  Default: 10000.
            provider (None | str | Unset):
     """

    dead_after: None | str | Unset = UNSET
    dead_before: None | str | Unset = UNSET
    error_contains: None | str | Unset = UNSET
    kind: None | str | Unset = UNSET
    limit: int | Unset = 10000
    provider: None | str | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        dead_after: None | str | Unset
        if isinstance(self.dead_after, Unset):
            dead_after = UNSET
        else:
            dead_after = self.dead_after

        dead_before: None | str | Unset
        if isinstance(self.dead_before, Unset):
            dead_before = UNSET
        else:
            dead_before = self.dead_before

        error_contains: None | str | Unset
        if isinstance(self.error_contains, Unset):
            error_contains = UNSET
        else:
            error_contains = self.error_contains

        kind: None | str | Unset
        if isinstance(self.kind, Unset):
            kind = UNSET
        else:
            kind = self.kind

        limit = self.limit

        provider: None | str | Unset
        if isinstance(self.provider, Unset):
            provider = UNSET
        else:
            provider = self.provider


        field_dict: dict[str, Any] = {}

        field_dict.update({
        })
        if dead_after is not UNSET:
            field_dict["deadAfter"] = dead_after
        if dead_before is not UNSET:
            field_dict["deadBefore"] = dead_before
        if error_contains is not UNSET:
            field_dict["errorContains"] = error_contains
        if kind is not UNSET:
            field_dict["kind"] = kind
        if limit is not UNSET:
            field_dict["limit"] = limit
        if provider is not UNSET:
            field_dict["provider"] = provider

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        def _parse_dead_after(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        dead_after = _parse_dead_after(d.pop("deadAfter", UNSET))


        def _parse_dead_before(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        dead_before = _parse_dead_before(d.pop("deadBefore", UNSET))


        def _parse_error_contains(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        error_contains = _parse_error_contains(d.pop("errorContains", UNSET))


        def _parse_kind(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        kind = _parse_kind(d.pop("kind", UNSET))


        limit = d.pop("limit", UNSET)

        def _parse_provider(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        provider = _parse_provider(d.pop("provider", UNSET))


        bulk_retry_request = cls(
            dead_after=dead_after,
            dead_before=dead_before,
            error_contains=error_contains,
            kind=kind,
            limit=limit,
            provider=provider,
        )

        return bulk_retry_request

