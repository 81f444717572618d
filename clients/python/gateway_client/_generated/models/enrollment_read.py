from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset







T = TypeVar("T", bound="EnrollmentRead")



@_attrs_define
class EnrollmentRead:
    """ 
        Attributes:
            enabled (bool):
            reporting (bool):
            site_id (str):
     """

    enabled: bool
    reporting: bool
    site_id: str





    def to_dict(self) -> dict[str, Any]:
        enabled = self.enabled

        reporting = self.reporting

        site_id = self.site_id


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "enabled": enabled,
            "reporting": reporting,
            "siteId": site_id,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        enabled = d.pop("enabled")

        reporting = d.pop("reporting")

        site_id = d.pop("siteId")

        enrollment_read = cls(
            enabled=enabled,
            reporting=reporting,
            site_id=site_id,
        )

        return enrollment_read

