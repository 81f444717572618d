"""Compact reading storage and read-back for the Zählerfreunde emulator.

A device's readings live in one ``dict[int, float]`` whose key packs the epoch
second and the index of the OBIS code (``timestamp << CODE_BITS | index``): one
small int and one float per reading, no per-reading objects beyond that.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from providers.zaehlerfreunde.obis import ZAEHLERFREUNDE_ACCEPTED, Medium, ObisError, parse
from providers.zaehlerfreunde.schemas import Direction, Measurement, Resolution

CODE_BITS = 5
CODE_MASK = (1 << CODE_BITS) - 1
RESOLUTION_S: dict[Resolution, int] = {"15_MIN": 900, "1_HOUR": 3600, "1_DAY": 86400}
_RAW_CACHE_LIMIT = 4096


@dataclass(frozen=True, slots=True)
class CodeInfo:
    """What a stored OBIS code measures."""

    label: str
    measurement: Measurement
    direction: Direction
    unit: str


def _info(label: str) -> CodeInfo:
    code = parse(label)
    cumulative = code.medium is not Medium.ELECTRICITY or code.d == 8
    direction: Direction = "OUT" if code.medium is Medium.ELECTRICITY and code.c == 2 else "IN"
    unit = "m³" if code.medium in (Medium.GAS, Medium.WATER) else "kWh"
    return CodeInfo(label, "METER_READING" if cumulative else "ENERGY", direction, unit)


CODES: tuple[CodeInfo, ...] = tuple(_info(label) for label in sorted(ZAEHLERFREUNDE_ACCEPTED))
if len(CODES) > CODE_MASK + 1:
    raise RuntimeError("CODE_BITS is too small for the accepted OBIS codes")
_INDEX_BY_LABEL = {info.label: i for i, info in enumerate(CODES)}


class ObisIndex:
    """Maps the OBIS text a client sends to the index of the accepted code it names."""

    def __init__(self) -> None:
        self.known: dict[str, int] = {}

    def learn(self, raw: str) -> int:
        """Return the index of ``raw``; raise ``ValueError`` saying why it is refused."""
        found = self.known.get(raw)
        if found is not None:
            return found
        try:
            code = parse(raw)
        except ObisError as exc:
            raise ValueError(str(exc)) from None
        label = code.normal
        index = _INDEX_BY_LABEL.get(label)
        # Only the written forms the document lists: "1-1:1.8.0 oder 1.8.0" (no channel 0,
        # no F); the gateway normalises what meters write before sending.
        if index is None or code.full not in (label, parse(label).short):
            raise ValueError(f"{raw!r} is not among the accepted OBIS codes")
        if len(self.known) < _RAW_CACHE_LIMIT:
            self.known[raw] = index
        return index


def iso(ts: float) -> str:
    """Epoch seconds as an ISO 8601 UTC timestamp with a ``Z``."""
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def directions(store: dict[int, float]) -> list[Direction]:
    """The directions a device has measured so far (``IN`` when it has no readings)."""
    found = {CODES[i].direction for i in {key & CODE_MASK for key in store}}
    return [d for d in ("IN", "OUT") if d in found] or ["IN"]


@dataclass(frozen=True, slots=True)
class Bucket:
    """One aggregated value of one OBIS code."""

    label: str
    start_s: int
    value: float
    unit: str
    direction: Direction


def aggregate(
    store: dict[int, float],
    *,
    start_s: int,
    end_s: int,
    resolution: Resolution,
    measurement: Measurement,
) -> list[Bucket]:
    """Readings in ``[start_s, end_s)`` per OBIS code and resolution bucket.

    METER_READING: the latest register value in each bucket. ENERGY: the sum of
    the energy and load-profile values in each bucket. POWER: that energy divided
    by the bucket length in hours (kW).
    """
    width = RESOLUTION_S[resolution]
    wanted = "METER_READING" if measurement == "METER_READING" else "ENERGY"
    latest: defaultdict[tuple[int, int], tuple[int, float]] = defaultdict(lambda: (-1, 0.0))
    sums: defaultdict[tuple[int, int], float] = defaultdict(float)
    for key, value in _in_range(store, start_s, end_s):
        index = key & CODE_MASK
        if CODES[index].measurement != wanted:
            continue
        ts = key >> CODE_BITS
        slot = (index, ts - ts % width)
        if wanted == "ENERGY":
            sums[slot] += value
        elif ts > latest[slot][0]:
            latest[slot] = (ts, value)
    if wanted == "METER_READING":
        values = {slot: value for slot, (_, value) in latest.items()}
    else:
        values = dict(sums)
    hours = width / 3600
    buckets = []
    for (index, bucket_start), value in sorted(values.items()):
        info = CODES[index]
        if measurement == "POWER":
            buckets.append(Bucket(info.label, bucket_start, value / hours, "kW", info.direction))
        else:
            buckets.append(Bucket(info.label, bucket_start, value, info.unit, info.direction))
    return buckets


def _in_range(store: dict[int, float], start_s: int, end_s: int) -> Iterable[tuple[int, float]]:
    low, high = start_s << CODE_BITS, end_s << CODE_BITS
    return ((k, v) for k, v in store.items() if low <= k < high)
