from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast






T = TypeVar("T", bound="DismissalRead")



@_attrs_define
class DismissalRead:
    """ 
        Attributes:
            also_dismissed (list[str]):
            dismissed_at (str):
            dismissed_by (str):
            previous_status (str):
            reason (str):
            task_id (str):
     """

    also_dismissed: list[str]
    dismissed_at: str
    dismissed_by: str
    previous_status: str
    reason: str
    task_id: str





    def to_dict(self) -> dict[str, Any]:
        also_dismissed = self.also_dismissed



        dismissed_at = self.dismissed_at

        dismissed_by = self.dismissed_by

        previous_status = self.previous_status

        reason = self.reason

        task_id = self.task_id


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "alsoDismissed": also_dismissed,
            "dismissedAt": dismissed_at,
            "dismissedBy": dismissed_by,
            "previousStatus": previous_status,
            "reason": reason,
            "taskId": task_id,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        also_dismissed = cast(list[str], d.pop("alsoDismissed"))


        dismissed_at = d.pop("dismissedAt")

        dismissed_by = d.pop("dismissedBy")

        previous_status = d.pop("previousStatus")

        reason = d.pop("reason")

        task_id = d.pop("taskId")

        dismissal_read = cls(
            also_dismissed=also_dismissed,
            dismissed_at=dismissed_at,
            dismissed_by=dismissed_by,
            previous_status=previous_status,
            reason=reason,
            task_id=task_id,
        )

        return dismissal_read

