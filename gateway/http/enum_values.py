"""Bad enum values answered with the values that are accepted.

msgspec says ``Invalid enum value 'castle'`` and where; :func:`with_valid_values` looks up
the enum at that field path of the request's type and adds ``; one of: residential, …``.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
from msgspec import inspect

_SEGMENT = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _values(info: inspect.Type) -> list[str] | None:
    if isinstance(info, inspect.EnumType):
        return [str(member.value) for member in info.cls]
    if isinstance(info, inspect.LiteralType):
        return [str(value) for value in info.values]
    if isinstance(info, inspect.UnionType):
        found = [values for member in info.types if (values := _values(member))]
        return found[0] if len(found) == 1 else None
    return None


def _step(info: inspect.Type, name: str | None) -> inspect.Type | None:
    """The type one path segment (a field name, or None for a list index) below ``info``."""
    if isinstance(info, inspect.UnionType):
        below = [found for member in info.types if (found := _step(member, name)) is not None]
        return below[0] if len(below) == 1 else None
    if name is None:
        if isinstance(info, (inspect.ListType, inspect.SetType, inspect.FrozenSetType, inspect.VarTupleType)):
            return info.item_type
        return None
    if isinstance(info, (inspect.StructType, inspect.DataclassType, inspect.TypedDictType)):
        for field in info.fields:
            if field.encode_name == name:
                return field.type
    if isinstance(info, inspect.DictType):
        return info.value_type
    return None


def valid_values(type_: Any, path: str | None) -> list[str] | None:
    """The values the enum (or literal) at ``path`` (``sites[0].kind``) of ``type_`` accepts."""
    info: inspect.Type | None = inspect.type_info(type_)
    for name, _index in _SEGMENT.findall(path or ""):
        if info is None:
            return None
        info = _step(info, name or None)
    return _values(info) if info is not None else None


def with_valid_values(message: str, type_: Any, path: str | None) -> str:
    """``message`` with the accepted values appended when it refuses an enum value."""
    if not message.startswith("Invalid enum value"):
        return message
    try:
        values = valid_values(type_, path)
    except (TypeError, ValueError, msgspec.MsgspecError):
        return message
    return f"{message}; one of: {', '.join(values)}" if values else message
