"""The adapters read every answer the provider documents allow, from the smallest to the fullest.

For every operation whose answer an adapter decodes (each provider's ``answers`` in the
suite's table, ``tests/contract/table.py``), answers are generated from the document's own
response schema (``../shared/providers``): the *minimal* one (only the
members the document requires, recursively), the *maximal* one (every member) and one with
every nullable member ``null``; each oneOf alternative is taken in turn. Each is decoded
with the adapter's wire struct, as the adapter decodes it. A required member the document
does not require fails the minimal answer; a member the struct does not know fails the
strict decode of the maximal one.

The structs are also held to the document's required sets exactly (an optional member the
document requires is refused too), which is what the emulators' minimal answer mode
relies on, and the Volue emulator's table of bodiless successes is held to the document.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import msgspec
import msgspec.inspect as mi
import pytest

from gateway.core.domain import Provider
from providers.lenient import decode_lenient
from providers.volue.emulator.app import BODILESS
from tests.contract.table import PROVIDERS, document

Doc = dict[str, Any]
Schema = dict[str, Any]


def _doc(name: str) -> Doc:
    return document(Provider(name))


# (document, method, path, status, the type the adapter decodes the answer as)
OPERATIONS: list[tuple[str, str, str, str, Any]] = [
    (entry.provider.value, method, path, status, type_)
    for entry in PROVIDERS.values() for method, path, status, type_ in entry.answers
]
NOTIFICATIONS: list[tuple[str, str, Any]] = [
    (entry.provider.value, *entry.notifications) for entry in PROVIDERS.values() if entry.notifications
]
"""What each provider posts to our webhook (its webhook document refers to these components)."""


def _ref(doc: Doc, ref: str) -> tuple[str, Schema]:
    name = ref.rsplit("/", 1)[-1]
    return name, doc["components"]["schemas"][name]


def _mapped(schema: Schema, name: str) -> list[Schema]:
    """The alternatives of a discriminated base schema (referred to by its own name), as refs."""
    mapping = schema.get("discriminator", {}).get("mapping", {})
    if not mapping or any(ref.rsplit("/", 1)[-1] == name for ref in mapping.values()):
        return []
    return [{"$ref": ref} for ref in mapping.values()]


def _response_schema(doc: Doc, method: str, path: str, status: str) -> Schema:
    response = doc["paths"][path][method]["responses"][status]
    schema: Schema = response["content"]["application/json"]["schema"]
    return schema


def _merged(doc: Doc, schema: Schema) -> Schema:
    """An object schema with its ``allOf`` parts folded in (properties, required, discriminator)."""
    if "$ref" in schema:
        return _merged(doc, _ref(doc, schema["$ref"])[1])
    if "allOf" not in schema:
        return schema
    out: Schema = {k: v for k, v in schema.items() if k != "allOf"}
    props = dict(out.get("properties", {}))
    required = list(out.get("required", []))
    for part in schema["allOf"]:
        sub = _merged(doc, part)
        props = {**sub.get("properties", {}), **props}
        required += [r for r in sub.get("required", []) if r not in required]
        if "discriminator" in sub:
            out.setdefault("discriminator", sub["discriminator"])
    out["properties"], out["required"] = props, required
    return out


class Generator:
    """Answers from a document's schemas: ``minimal``, ``maximal`` or ``nulls`` (every member,
    the nullable ones null); ``choice`` picks the oneOf alternative (modulo their number)."""

    def __init__(self, doc: Doc, mode: str, choice: int) -> None:
        self.doc, self.mode, self.choice = doc, mode, choice
        self.alternatives = 1

    def value(self, schema: Schema, name: str = "") -> Any:
        if "$ref" in schema:
            ref_name, target = _ref(self.doc, schema["$ref"])
            return self.value(target, ref_name)
        if "oneOf" in schema or "anyOf" in schema:
            options = schema.get("oneOf") or schema["anyOf"]
            self.alternatives = max(self.alternatives, len(options))
            return self.value(options[self.choice % len(options)])
        merged = _merged(self.doc, schema)
        options = _mapped(merged, name)
        if options:
            self.alternatives = max(self.alternatives, len(options))
            return self.value(options[self.choice % len(options)])
        if "enum" in merged:
            return merged["enum"][self.choice % len(merged["enum"])]
        kind = merged.get("type", "object" if "properties" in merged else None)
        if kind == "object":
            return self._object(merged, name)
        if kind == "array":
            return [self.value(merged.get("items", {}))]
        if kind == "integer":
            return 2
        if kind == "number":
            return 1.5
        if kind == "boolean":
            return True
        if kind == "string":
            return {"date-time": "2026-03-03T12:00:00+00:00", "date": "2026-03-03",
                    "uuid": str(uuid.UUID(int=7))}.get(merged.get("format", ""), "text")
        return "text"

    def _object(self, schema: Schema, name: str) -> dict[str, Any]:
        required = set(schema.get("required", []))
        tag = self._tag(schema, name)
        out: dict[str, Any] = {}
        for member, sub in schema.get("properties", {}).items():
            if self.mode == "minimal" and member not in required:
                continue
            if self.mode == "nulls" and sub.get("nullable"):
                out[member] = None
                continue
            out[member] = self.value(sub)
        if tag is not None:
            out[tag[0]] = tag[1]
        return out

    def _tag(self, schema: Schema, name: str) -> tuple[str, str] | None:
        """A discriminated alternative carries the mapping key that names it."""
        found = schema.get("discriminator")
        if not found or not name:
            return None
        for key, ref in found.get("mapping", {}).items():
            if ref.rsplit("/", 1)[-1] == name:
                return found["propertyName"], key
        return None


def _answers(doc: Doc, schema: Schema) -> Iterator[tuple[str, int, Any]]:
    for mode in ("minimal", "maximal", "nulls"):
        choice = 0
        while True:
            generator = Generator(doc, mode, choice)
            yield mode, choice, generator.value(schema)
            choice += 1
            if choice >= generator.alternatives:
                break


def _decode_all(doc: Doc, schema: Schema, type_: Any) -> int:
    count = 0
    for mode, choice, answer in _answers(doc, schema):
        body = msgspec.json.encode(answer)
        try:
            if mode == "minimal":
                decode_lenient(body, type_)
            else:
                msgspec.json.decode(body, type=type_)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            raise AssertionError(f"{mode} answer #{choice} does not decode: {exc}\n{body.decode()}") from None
        count += 1
    return count


@pytest.mark.parametrize(("doc_name", "method", "path", "status", "type_"), OPERATIONS,
                         ids=[f"{d}:{m.upper()} {p}" for d, m, p, _, _ in OPERATIONS])
def test_generated_answers_decode(doc_name: str, method: str, path: str, status: str, type_: Any) -> None:
    """The minimal, maximal and all-null answers the document allows decode with the adapter's struct."""
    doc = _doc(doc_name)
    assert _decode_all(doc, _response_schema(doc, method, path, status), type_) >= 3


@pytest.mark.parametrize(("doc_name", "component", "type_"), NOTIFICATIONS, ids=[n[0] for n in NOTIFICATIONS])
def test_generated_notifications_decode(doc_name: str, component: str, type_: Any) -> None:
    """Every webhook notification the document allows, each payload type in turn, decodes."""
    doc = _doc(doc_name)
    assert _decode_all(doc, {"$ref": f"#/components/schemas/{component}"}, type_) >= 3 * 5


# --- the structs' required members are the document's ------------------------------------


def _unwrap(info: mi.Type) -> list[mi.Type]:
    """The struct, list or dict types a field's type stands for (None/UNSET left out)."""
    if isinstance(info, mi.Metadata):
        return _unwrap(info.type)
    if isinstance(info, mi.UnionType):
        return [t for member in info.types for t in _unwrap(member)]
    if isinstance(info, mi.StructType | mi.ListType | mi.DictType):
        return [info]
    return []


def _mismatches(doc: Doc, schema: Schema, info: mi.Type, where: str, seen: set[str]) -> list[str]:
    found: list[str] = []
    if "$ref" in schema:
        name, target = _ref(doc, schema["$ref"])
        return _mismatches(doc, {**target, "x-name": name}, info, where, seen)
    options = schema.get("oneOf") or schema.get("anyOf") or _mapped(_merged(doc, schema),
                                                                  schema.get("x-name", ""))
    for part in _unwrap(info):
        if isinstance(part, mi.ListType) and "items" in _merged(doc, schema):
            found += _mismatches(doc, _merged(doc, schema)["items"], part.item_type, f"{where}[]", seen)
        elif isinstance(part, mi.StructType) and options:
            for option in options:
                target_name = _ref(doc, option["$ref"])[0] if "$ref" in option else ""
                merged = _merged(doc, option)
                tag = Generator(doc, "maximal", 0)._tag(merged, target_name)
                if tag is None or part.tag == tag[1]:
                    found += _mismatches(doc, option, part, where, seen)
        elif isinstance(part, mi.StructType):
            key = f"{part.cls.__qualname__}@{schema.get('x-name', where)}"
            if key in seen:
                continue
            seen.add(key)
            merged = _merged(doc, schema)
            required = set(merged.get("required", []))
            properties = merged.get("properties", {})
            for field in part.fields:
                if field.encode_name not in properties:
                    continue
                if field.required != (field.encode_name in required):
                    state = "required" if field.required else "optional"
                    found.append(f"{where}.{field.encode_name} is {state} in {part.cls.__name__}")
                found += _mismatches(doc, properties[field.encode_name], field.type,
                                     f"{where}.{field.encode_name}", seen)
    return found


def test_structs_require_exactly_what_the_documents_require() -> None:
    """Each answer struct requires exactly the members its document requires, recursively."""
    problems: list[str] = []
    for doc_name, method, path, status, type_ in OPERATIONS:
        doc = _doc(doc_name)
        where = f"{doc_name}:{method.upper()} {path}"
        problems += _mismatches(doc, _response_schema(doc, method, path, status), mi.type_info(type_),
                                where, set())
    for doc_name, component, type_ in NOTIFICATIONS:
        problems += _mismatches(_doc(doc_name), {"$ref": f"#/components/schemas/{component}"},
                                mi.type_info(type_), component, set())
    assert problems == []


def _bodiless(response: Schema) -> bool:
    content = response.get("content")
    return not content or all("schema" not in media for media in content.values())


def test_volue_emulator_bodiless_table_is_the_documents() -> None:
    """Every Volue operation whose document allows a bodiless success is in the emulator's
    minimal-mode table, with one of those statuses, and nothing else is."""
    doc = _doc("volue")
    allowed: dict[str, set[int]] = {}
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            statuses = {int(code) for code, response in operation["responses"].items()
                        if code.startswith("2") and _bodiless(response)}
            if statuses:
                allowed[f"{method.upper()} {path}"] = statuses
    assert {key: status for key, status in BODILESS.items() if status not in allowed.get(key, ())} == {}
    assert sorted(set(allowed) - set(BODILESS)) == []
