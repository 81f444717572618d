from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.resource_lpc_payload_payload_type import ResourceLPCPayloadPayloadType
from typing import cast

if TYPE_CHECKING:
  from ..models.resource_lpc_target import ResourceLPCTarget





T = TypeVar("T", bound="ResourceLPCPayload")



@_attrs_define
class ResourceLPCPayload:
    """ 
        Attributes:
            payload_type (ResourceLPCPayloadPayloadType):
            targets (list[ResourceLPCTarget]):
     """

    payload_type: ResourceLPCPayloadPayloadType
    targets: list[ResourceLPCTarget]





    def to_dict(self) -> dict[str, Any]:
        from ..models.resource_lpc_target import ResourceLPCTarget # noqa: PLC0415
        payload_type = self.payload_type.value

        targets = []
        for targets_item_data in self.targets:
            targets_item = targets_item_data.to_dict()
            targets.append(targets_item)




        field_dict: dict[str, Any] = {}

        field_dict.update({
            "payloadType": payload_type,
            "targets": targets,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.resource_lpc_target import ResourceLPCTarget # noqa: PLC0415
        d = dict(src_dict)
        payload_type = ResourceLPCPayloadPayloadType(d.pop("payloadType"))




        targets = []
        _targets = d.pop("targets")
        for targets_item_data in (_targets):
            targets_item = ResourceLPCTarget.from_dict(targets_item_data)



            targets.append(targets_item)


        resource_lpc_payload = cls(
            payload_type=payload_type,
            targets=targets,
        )

        return resource_lpc_payload

