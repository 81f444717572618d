"""Decoding what a provider sends when it carries fields its published contract does not name.

The wire structs forbid unknown fields, so the emulators refuse requests that
stray from a provider's OpenAPI and the contract tests notice at once. What a
provider *sends* (responses, webhook notifications) is another matter: a real
provider may add a field before it publishes it, and refusing every answer for
that would stop the sync. :func:`decode_lenient` decodes strictly first; only a
body that fails because of unknown fields is decoded again with those fields
removed (wherever they sit: nested structs, lists, tagged unions), and the
removed paths are returned so that the caller can log them. Every other
mismatch (a missing field, a wrong type, an unknown enum value) still fails.
"""

from __future__ import annotations

import logging
import re
from typing import Any, TypeVar

import msgspec
import msgspec.inspect as mi

log = logging.getLogger("providers.lenient")
T = TypeVar("T")

_UNKNOWN = "Object contains unknown field"
_ITEMS = (mi.ListType, mi.SetType, mi.FrozenSetType, mi.VarTupleType)


def decode_lenient(content: bytes, type_: type[T]) -> tuple[T, list[str]]:
    """``content`` as ``type_``, and the JSON paths of the unknown fields that were dropped.

    Raises ``msgspec.DecodeError`` / ``msgspec.ValidationError`` as a strict decode does
    for anything but unknown fields.
    """
    try:
        return msgspec.json.decode(content, type=type_), []
    except msgspec.ValidationError as exc:
        if not str(exc).startswith(_UNKNOWN):
            raise
    dropped: list[str] = []
    cleaned = _strip(msgspec.json.decode(content), _info(type_), "$", dropped)
    return msgspec.json.decode(msgspec.json.encode(cleaned), type=type_), dropped


_REPORTED: set[tuple[str, tuple[str, ...]]] = set()
_REPORTS_KEPT = 1000


def log_unknown_fields(source: str, dropped: list[str]) -> None:
    """Warn once per process about each (source, set of dropped fields): the provider's
    contract has moved, and the wire structs should follow it."""
    key = (source, tuple(sorted({_generic(path) for path in dropped})))
    if key in _REPORTED or len(_REPORTED) >= _REPORTS_KEPT:
        return
    _REPORTED.add(key)
    log.warning("%s sent fields its contract does not name; they were ignored: %s",
                source, ", ".join(key[1]))


def _generic(path: str) -> str:
    """``$.items[3].x`` → ``$.items[].x``: one report for a field however many items carry it."""
    return re.sub(r"\[\d+\]", "[]", path)


_INFOS: dict[Any, mi.Type] = {}


def _info(type_: Any) -> mi.Type:
    found = _INFOS.get(type_)
    if found is None:
        found = _INFOS[type_] = mi.type_info(type_)
    return found


def _strip(value: Any, info: mi.Type, path: str, dropped: list[str]) -> Any:
    """``value`` without the object keys ``info`` does not name (appending their paths)."""
    if isinstance(info, mi.Metadata):
        return _strip(value, info.type, path, dropped)
    if isinstance(info, mi.StructType) and isinstance(value, dict):
        fields = {f.encode_name: f for f in info.fields}
        kept: dict[str, Any] = {}
        for key, item in value.items():
            found = fields.get(key)
            if found is not None:
                kept[key] = _strip(item, found.type, f"{path}.{key}", dropped)
            elif key == info.tag_field:
                kept[key] = item
            else:
                dropped.append(f"{path}.{key}")
        return kept
    if isinstance(info, _ITEMS) and isinstance(value, list):
        return [_strip(item, info.item_type, f"{path}[{i}]", dropped) for i, item in enumerate(value)]
    if isinstance(info, (mi.DictType, mi.FrozenDictType)) and isinstance(value, dict):
        return {key: _strip(item, info.value_type, f"{path}.{key}", dropped) for key, item in value.items()}
    if isinstance(info, mi.UnionType):
        member = _member_for(value, info)
        return value if member is None else _strip(value, member, path, dropped)
    return value


def _member_for(value: Any, union: mi.UnionType) -> mi.Type | None:
    """The member of a union that ``value`` decodes as, where that matters: for an object, the
    struct its tag names or else the one untagged object type (msgspec allows one); for an
    array, the one array type."""
    if isinstance(value, list):
        return next((t for t in union.types if isinstance(t, _ITEMS)), None)
    if not isinstance(value, dict):
        return None
    untagged: list[mi.Type] = []
    for member in union.types:
        if isinstance(member, mi.StructType) and member.tag_field is not None:
            if value.get(member.tag_field) == member.tag:
                return member
        elif isinstance(member, (mi.StructType, mi.DictType, mi.FrozenDictType)):
            untagged.append(member)
    return untagged[0] if untagged else None
