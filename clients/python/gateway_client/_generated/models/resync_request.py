from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.entity_type import EntityType
from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="ResyncRequest")



@_attrs_define
class ResyncRequest:
    """ 
        Attributes:
            entity_id (str):
            entity_type (EntityType):
            cascade (bool | None | Unset):
     """

    entity_id: str
    entity_type: EntityType
    cascade: bool | None | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        entity_id = self.entity_id

        entity_type = self.entity_type.value

        cascade: bool | None | Unset
        if isinstance(self.cascade, Unset):
            cascade = UNSET
        else:
            cascade = self.cascade


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "entityId": entity_id,
            "entityType": entity_type,
        })
        if cascade is not UNSET:
            field_dict["cascade"] = cascade

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        entity_id = d.pop("entityId")

        entity_type = EntityType(d.pop("entityType"))




        def _parse_cascade(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        cascade = _parse_cascade(d.pop("cascade", UNSET))


        resync_request = cls(
            entity_id=entity_id,
            entity_type=entity_type,
            cascade=cascade,
        )

        return resync_request

