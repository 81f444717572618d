from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.circuits_read_circuits import CircuitsReadCircuits





T = TypeVar("T", bound="CircuitsRead")



@_attrs_define
class CircuitsRead:
    """ 
        Attributes:
            circuits (CircuitsReadCircuits):
     """

    circuits: CircuitsReadCircuits





    def to_dict(self) -> dict[str, Any]:
        from ..models.circuits_read_circuits import CircuitsReadCircuits # noqa: PLC0415
        circuits = self.circuits.to_dict()


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "circuits": circuits,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.circuits_read_circuits import CircuitsReadCircuits # noqa: PLC0415
        d = dict(src_dict)
        circuits = CircuitsReadCircuits.from_dict(d.pop("circuits"))




        circuits_read = cls(
            circuits=circuits,
        )

        return circuits_read

