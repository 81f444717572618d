"""Onboarding spreadsheets: CSV rows → the API's ``CustomerCreate`` bodies, every bad row named.

One row describes one customer and, optionally, one site, one meter at that site
and one more device (or a vehicle). Rows with the same ``customer_ref`` build one
customer; rows with the same ``site_ref`` (or ``meter_ref``/``device_ref``) the
same site (device). A record's cells are filled on its first row; later rows may
leave them blank or repeat them unchanged. Values are checked with the API's own
request structs and rules, so a file that passes here is what the API accepts.
Nothing here talks to the network.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin, get_type_hints

import msgspec

from gateway.core.domain import DeviceKind, Medium, Provider, SiteKind, SpaceCategory
from gateway.core.errors import InvalidError
from gateway.core.wire import field_of
from gateway.customers import schemas as s
from gateway.customers.rules import check_device_fields

CUSTOMER_COLUMNS = {"customer_ref": "externalRef", "customer_name": "name", "customer_email": "email",
                    "providers": "providers"}
SITE_COLUMNS = {
    "site_ref": "externalRef", "site_name": "name", "site_kind": "kind", "site_category": "category",
    "address_line1": "address.line1", "address_line2": "address.line2", "postcode": "address.postcode",
    "city": "address.city", "country": "address.country", "latitude": "coordinates.latitude",
    "longitude": "coordinates.longitude",
}
METER_COLUMNS = {"meter_ref": "externalRef", "meter_name": "name", "medium": "medium",
                 "meter_point_id": "meterPointId", "meter_number": "meterNumber", "is_main": "isMain"}
DEVICE_COLUMNS = {"device_ref": "externalRef", "device_kind": "kind", "device_name": "name", "brand": "brand",
                  "model": "model", "year": "year", "vin": "vin", "capacity": "capacity"}
"""CSV column → the API field it fills (a dotted path for nested objects)."""

_VEHICLE_COLUMNS = {c: f for c, f in DEVICE_COLUMNS.items() if c != "device_kind"}
COLUMNS = {**CUSTOMER_COLUMNS, **SITE_COLUMNS, **METER_COLUMNS, **DEVICE_COLUMNS}
REQUIRED_COLUMNS = ("customer_ref", "customer_name", "customer_email")
_INTEGERS = {"year"}
_NUMBERS = {"latitude", "longitude", "capacity"}
_BOOLEANS = {"is_main": {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}}
_HINTS = {
    "customer_email": "is not an email address",
    "meter_point_id": "is not an 18-digit GSRN/EAN, an 11-digit MaLo or a 33-character MeLo (DE…)",
    "vin": "is not a 17-character VIN (digits and capitals, no I, O or Q)",
    "country": "is not a two-letter country code such as NO or DE",
}
_ENUMS: dict[str, Sequence[str]] = {
    "site_kind": [k.value for k in SiteKind],
    "site_category": [c.value for c in SpaceCategory],
    "medium": [m.value for m in Medium],
    "device_kind": [k.value for k in DeviceKind if k is not DeviceKind.METER],
    "providers": [p.value for p in Provider],
}


class RowProblem(msgspec.Struct, frozen=True, order=True):
    """A cell (or a whole row, ``field`` empty) the gateway would refuse."""

    line: int
    field: str
    detail: str


class OnboardingCustomer(msgspec.Struct, kw_only=True):
    """One customer of the file as the API body, with the line each record starts on."""

    body: s.CustomerCreate
    line: int
    records: dict[str, tuple[int, str]]
    """Path of each record in ``body`` (``""``, ``sites[0]``, ``sites[0].devices[1]``,
    ``vehicles[0]``) → its first line and its columns (customer, site, meter or device)."""

    def line_of(self, path: str) -> int:
        return self.records[path][0]


class PlannedCall(msgspec.Struct, frozen=True, kw_only=True):
    """An upstream object a provider will get for one record of the file."""

    line: int
    provider: Provider
    call: str
    record: str


class ParsedFile(msgspec.Struct, kw_only=True):
    customers: list[OnboardingCustomer]
    problems: list[RowProblem]
    digest: str
    """SHA-256 of the file's bytes: re-running the same file reuses the same Idempotency-Keys."""

    @property
    def ok(self) -> bool:
        return not self.problems


class _Record:
    """The merged cells of one customer, site or device over the rows that name it."""

    def __init__(self, line: int, owner: tuple[str, ...], group: str) -> None:
        self.line = line
        self.owner = owner
        self.group = group
        self.cells: dict[str, str] = {}
        self.cell_lines: dict[str, int] = {}


class _Collector:
    def __init__(self) -> None:
        self.problems: list[RowProblem] = []
        self.customers: dict[str, _Record] = {}
        self.sites: dict[str, _Record] = {}
        self.devices: dict[str, _Record] = {}

    def problem(self, line: int, field: str, detail: str) -> None:
        self.problems.append(RowProblem(line=line, field=field, detail=detail))

    def merge(self, table: dict[str, _Record], ref: str, *, line: int, cells: dict[str, str],
              columns: Iterable[str], owner: tuple[str, ...], group: str, ref_column: str) -> None:
        record = table.get(ref)
        if record is None:
            record = table[ref] = _Record(line, owner, group)
        elif record.group != group:
            self.problem(line, ref_column, f"{ref!r} is already the {record.group} on line {record.line}")
            return
        elif record.owner != owner:
            self.problem(line, ref_column, f"{ref!r} already belongs to {_owner_text(record)} "
                                           f"(line {record.line})")
            return
        for column in columns:
            value = cells.get(column, "")
            if not value:
                continue
            known = record.cells.get(column)
            if known is None:
                record.cells[column] = value
                record.cell_lines[column] = line
            elif known != value:
                self.problem(line, column, f"{value!r} differs from {known!r} on line "
                                           f"{record.cell_lines[column]}; a record's cells must agree")


def _owner_text(record: _Record) -> str:
    if record.group == "site":
        return f"customer {record.owner[0]!r}"
    return f"site {record.owner[1]!r}" if record.owner[1] else f"customer {record.owner[0]!r}"


def parse_csv(data: bytes) -> ParsedFile:
    """Read and check a whole onboarding file; every problem is reported, not just the first."""
    digest = hashlib.sha256(data).hexdigest()
    collector = _Collector()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        collector.problem(1 + data[: exc.start].count(b"\n"), "", "the file is not UTF-8 text")
        return ParsedFile(customers=[], problems=collector.problems, digest=digest)
    rows = list(_rows(text, collector))
    if any(problem.line == 1 for problem in collector.problems):  # no usable header: no rows to read
        return ParsedFile(customers=[], problems=collector.problems, digest=digest)
    for line, cells in rows:
        _collect_row(collector, line, cells)
    customers = _build(collector)
    if collector.problems:
        customers = []
    return ParsedFile(customers=customers, problems=sorted(collector.problems), digest=digest)


def _rows(text: str, collector: _Collector) -> Iterator[tuple[int, dict[str, str]]]:
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [name.strip().lower() for name in next(reader, [])]
    if not any(header):
        collector.problem(1, "", "the file is empty; the first line names the columns")
        return
    for name in header:
        if name not in COLUMNS:
            collector.problem(1, name, f"unknown column {name!r}")
    for name in REQUIRED_COLUMNS:
        if name not in header:
            collector.problem(1, name, f"the column {name!r} is missing")
    if len(set(header)) != len(header):
        twice = sorted({name for name in header if header.count(name) > 1})
        collector.problem(1, twice[0], f"the column {twice[0]!r} appears twice")
    if collector.problems:
        return
    line = reader.line_num + 1
    for values in reader:
        start, line = line, reader.line_num + 1
        if not any(value.strip() for value in values):
            continue
        if len(values) > len(header):
            collector.problem(start, "", f"{len(values)} cells but the header names {len(header)} columns")
            continue
        yield start, {name: value.strip() for name, value in zip(header, values, strict=False)}


def _collect_row(collector: _Collector, line: int, cells: dict[str, str]) -> None:
    customer = cells.get("customer_ref", "")
    if not customer:
        collector.problem(line, "customer_ref", "every row needs the customer's customer_ref")
        return
    collector.merge(collector.customers, customer, line=line, cells=cells, columns=CUSTOMER_COLUMNS,
                    owner=(), group="customer", ref_column="customer_ref")
    site = cells.get("site_ref", "")
    if any(cells.get(c) for c in SITE_COLUMNS) and not site:
        collector.problem(line, "site_ref", "site columns are filled but site_ref is empty")
    elif site:
        collector.merge(collector.sites, site, line=line, cells=cells, columns=SITE_COLUMNS,
                        owner=(customer,), group="site", ref_column="site_ref")
    for columns, group in ((METER_COLUMNS, "meter"), (DEVICE_COLUMNS, "device")):
        ref_column = f"{group}_ref"
        ref = cells.get(ref_column, "")
        if not any(cells.get(c) for c in columns):
            continue
        if not ref:
            collector.problem(line, ref_column, f"{group} columns are filled but {ref_column} is empty")
            continue
        vehicle = group == "device" and cells.get("device_kind", "").lower() == DeviceKind.VEHICLE.value
        if not site and not vehicle:
            collector.problem(line, "site_ref", f"the {group} {ref!r} needs a site: fill site_ref")
            continue
        collector.merge(collector.devices, ref, line=line, cells=cells, columns=columns,
                        owner=(customer, "" if vehicle else site), group=group, ref_column=ref_column)


def _build(collector: _Collector) -> list[OnboardingCustomer]:
    sites_of: dict[str, list[str]] = {}
    for ref, record in collector.sites.items():
        sites_of.setdefault(record.owner[0], []).append(ref)
    devices_of: dict[tuple[str, ...], list[str]] = {}
    for ref, record in collector.devices.items():
        devices_of.setdefault(record.owner, []).append(ref)
    built: list[OnboardingCustomer] = []
    for ref, record in collector.customers.items():
        before = len(collector.problems)
        body: dict[str, Any] = _fields(collector, record, CUSTOMER_COLUMNS, s.CustomerCreate)
        paths: dict[str, tuple[int, str]] = {"": (record.line, "customer")}
        body["sites"] = []
        for i, site_ref in enumerate(sites_of.get(ref, [])):
            site_record = collector.sites[site_ref]
            site = _fields(collector, site_record, SITE_COLUMNS, s.SiteCreate)
            paths[f"sites[{i}]"] = (site_record.line, "site")
            site["devices"] = []
            for j, device_ref in enumerate(devices_of.get((ref, site_ref), [])):
                device_record = collector.devices[device_ref]
                paths[f"sites[{i}].devices[{j}]"] = (device_record.line, device_record.group)
                site["devices"].append(_device(collector, device_record))
            body["sites"].append(site)
        body["vehicles"] = []
        for k, device_ref in enumerate(devices_of.get((ref, ""), [])):
            device_record = collector.devices[device_ref]
            paths[f"vehicles[{k}]"] = (device_record.line, device_record.group)
            body["vehicles"].append(_device(collector, device_record))
        if len(collector.problems) > before:
            continue
        try:
            built.append(OnboardingCustomer(body=msgspec.convert(body, s.CustomerCreate), line=record.line,
                                            records=paths))
        except msgspec.ValidationError as exc:
            detail, path = field_of(exc)
            collector.problem(*locate(paths, path or ""), detail)
    return built


def _device(collector: _Collector, record: _Record) -> dict[str, Any]:
    if record.group == "meter":
        fields = _fields(collector, record, METER_COLUMNS, s.DeviceCreate, kind=DeviceKind.METER.value)
        return fields
    kind = record.cells.get("device_kind", "").lower()
    if kind == DeviceKind.METER.value:
        collector.problem(record.line, "device_kind", "meters go in the meter columns (meter_ref, medium, …)")
        return {}
    if kind == DeviceKind.VEHICLE.value:
        return _fields(collector, record, _VEHICLE_COLUMNS, s.VehicleCreate)
    return _fields(collector, record, DEVICE_COLUMNS, s.DeviceCreate)


def _fields(collector: _Collector, record: _Record, columns: dict[str, str], struct: type,
            **fixed: Any) -> dict[str, Any]:
    """The record's cells as an API body (nested by the dotted field paths), checked with ``struct``."""
    body: dict[str, Any] = dict(fixed)
    unreadable = False
    for column, path in columns.items():
        raw = record.cells.get(column)
        if raw is None:
            continue
        line = record.cell_lines[column]
        try:
            value = _cell_value(column, raw)
        except ValueError as exc:
            collector.problem(line, column, str(exc))
            unreadable = True
            continue
        *parents, name = path.split(".")
        target = body
        for parent in parents:
            target = target.setdefault(parent, {})
        target[name] = value
    if unreadable:
        return body
    # msgspec stops at the first bad field: each field is checked on its own first, so every
    # bad cell of the record is named in one pass; then the whole (required fields, rules
    # across fields).
    bad = _field_errors(body, struct)
    for path, detail in bad:
        column = _column_of(columns, path)
        line = record.cell_lines.get(column, record.line)
        collector.problem(line, column, _explain(column, record, detail))
    if bad:
        return body
    try:
        checked: Any = msgspec.convert(body, struct)
        if isinstance(checked, s.DeviceCreate):
            check_device_fields(checked.kind, {"medium": checked.medium, "meter_number": checked.meter_number,
                                               "meter_point_id": checked.meter_point_id})
    except msgspec.ValidationError as exc:
        detail, field = field_of(exc)
        column = _column_of(columns, field)
        collector.problem(record.cell_lines.get(column, record.line), column,
                          _explain(column, record, detail))
    except InvalidError as exc:
        column = _column_of(columns, exc.field)
        collector.problem(record.cell_lines.get(column, record.line), column, exc.detail)
    return body


def _struct_in(kind: Any) -> type | None:
    """The one Struct type ``kind`` (maybe annotated, optional or unset) holds, if any."""
    if get_origin(kind) is Annotated:
        kind = get_args(kind)[0]
    members = get_args(kind) if get_origin(kind) in (Union, UnionType) else (kind,)
    structs = [m for m in members if isinstance(m, type) and issubclass(m, msgspec.Struct)]
    return structs[0] if len(structs) == 1 else None


def _field_errors(value: dict[str, Any], struct: type, prefix: str = "") -> list[tuple[str, str]]:
    """Each field of ``value`` checked alone against its type in ``struct`` (nested objects
    field by field): ``(API field path, msgspec's message)`` of every one refused."""
    hints = get_type_hints(struct, include_extras=True)
    errors: list[tuple[str, str]] = []
    for wire, attr in zip(struct.__struct_encode_fields__, struct.__struct_fields__, strict=True):  # type: ignore[attr-defined]
        if wire not in value:
            continue
        nested = _struct_in(hints[attr])
        if nested is not None and isinstance(value[wire], dict):
            errors.extend(_field_errors(value[wire], nested, f"{prefix}{wire}."))
            continue
        try:
            msgspec.convert(value[wire], hints[attr])
        except msgspec.ValidationError as exc:
            errors.append((f"{prefix}{wire}", field_of(exc)[0]))
    return errors


def _cell_value(column: str, raw: str) -> Any:
    if column in _BOOLEANS:
        value = _BOOLEANS[column].get(raw.lower())
        if value is None:
            raise ValueError(f"{raw!r} is not yes/no (true/false, 1/0)")
        return value
    if column in _INTEGERS:
        if not re.fullmatch(r"[+-]?\d+", raw):
            raise ValueError(f"{raw!r} is not a whole number")
        return int(raw)
    if column in _NUMBERS:
        try:
            number = float(raw.replace(",", ".") if raw.count(",") == 1 and "." not in raw else raw)
        except ValueError:
            raise ValueError(f"{raw!r} is not a number") from None
        if not math.isfinite(number):
            raise ValueError(f"{raw!r} is not a finite number")
        return number
    if column == "providers":
        return [p.lower() for p in re.split(r"[;,| ]+", raw) if p]
    if column in ("site_kind", "medium", "device_kind"):
        return raw.lower()
    if column == "site_category":
        return raw.upper()
    return raw


def _column_of(columns: dict[str, str], path: str | None) -> str:
    """The CSV column that fills API field ``path`` (the first column when the path is unknown)."""
    path = re.sub(r"\[\d+\]", "", path or "")
    for column, field in columns.items():
        if field == path:
            return column
    for column, field in columns.items():
        if path and field.startswith(path + "."):
            return column
    return next(iter(columns))


_BOUNDS = {">=": "at least", "<=": "at most", ">": "more than", "<": "less than"}
_BOUND = re.compile(r"Expected `(?P<kind>int|float|number)` (?P<op>>=|<=|>|<) (?P<limit>\S+)$")
_LENGTH = re.compile(r"Expected `(?P<kind>str|array|object)` of length (?P<op>>=|<=) (?P<limit>\d+)$")
_TYPE = re.compile(r"Expected `(?P<want>[^`]+)`, got `(?P<got>[^`]+)`$")
_KINDS = {"str": "text", "int": "a whole number", "float": "a number", "bool": "yes or no",
          "array": "a list", "object": "an object", "null": "empty"}


def readable(detail: str, raw: str | None = None) -> str:
    """msgspec's validation message as a sentence about the value (``Expected `float` <= 90.0``
    becomes ``'95' must be at most 90.0``); other messages are returned as they are."""
    value = f"{raw!r}" if raw is not None else "the value"
    if match := _BOUND.match(detail):
        limit = match["limit"]
        return f"{value} must be {_BOUNDS[match['op']]} {limit}"
    if match := _LENGTH.match(detail):
        unit = {"str": "character", "array": "item", "object": "entry"}[match["kind"]]
        limit = int(match["limit"])
        many = f"{limit} {unit}{'s' if limit != 1 else ''}"
        if match["op"] == "<=":
            verb = "is longer than" if unit == "character" else "has more than"
            return f"{value} {verb} {many}"
        return f"{value} must not be empty" if limit == 1 else f"{value} needs at least {many}"
    if match := _TYPE.match(detail):
        wanted = " or ".join(_KINDS.get(kind.strip(), kind.strip()) for kind in match["want"].split("|"))
        return f"{value} is not {wanted}"
    if detail.startswith("Expected `str` matching regex"):
        return f"{value} is not in the accepted form ({detail.removeprefix('Expected `str` ')})"
    return f"{detail} (value {value})" if raw is not None else detail


def _explain(column: str, record: _Record, detail: str) -> str:
    raw = record.cells.get(column)
    if detail.startswith("Object missing required field"):
        return f"{column} is required"
    if column in _HINTS and raw is not None and "regex" in detail:
        return f"{raw!r} {_HINTS[column]}"
    if column in _ENUMS and raw is not None and "enum" in detail.lower():
        return f"{raw!r} is not one of: {', '.join(_ENUMS[column])}"
    return readable(detail, raw)


_GROUP_COLUMNS = {"customer": CUSTOMER_COLUMNS, "site": SITE_COLUMNS, "meter": METER_COLUMNS,
                  "device": DEVICE_COLUMNS}


def locate(records: dict[str, tuple[int, str]], path: str) -> tuple[int, str]:
    """The line and CSV column behind an API field path of a customer's body, such as
    ``sites[0].devices[1].externalRef`` (as named in a problem or a batch item error);
    ``records`` is :attr:`OnboardingCustomer.records`."""
    prefix = path
    while prefix not in records:
        cut = max(prefix.rfind("."), prefix.rfind("["))
        prefix = prefix[:cut] if cut > 0 else ""
    line, group = records[prefix]
    rest = path[len(prefix):].lstrip(".")
    if group == "customer" and rest.startswith(("sites", "vehicles")):
        return line, "site_ref" if rest.startswith("sites") else "device_ref"
    return line, _column_of(_GROUP_COLUMNS[group], rest)
