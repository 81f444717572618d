"""Reading ingest in isolation: timestamps, per-item checks, decoding, device rules, grouping."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.core.errors import InvalidError
from gateway.readings.delivery import device_arrays
from gateway.readings.ingest import (
    _CODES_LIMIT,
    MS_THRESHOLD,
    DeviceInfo,
    ItemChecker,
    ItemError,
    ReadingIn,
    decode_items,
    device_problem,
    epoch_seconds,
)

NOW = 1_700_000_000
plausible = st.integers(min_value=MS_THRESHOLD // 1000, max_value=4_102_444_800)
"""From March 1973 (the first millisecond value at the threshold) to 2100."""


@given(plausible)
def test_seconds_milliseconds_and_iso_agree(ts: int) -> None:
    """Epoch s, epoch ms and ISO 8601 with any offset name the same second."""
    offset = timezone(timedelta(hours=2))
    iso = datetime.fromtimestamp(ts, UTC).astimezone(offset).isoformat()
    assert epoch_seconds(ts) == epoch_seconds(ts * 1000) == epoch_seconds(iso) == ts


@given(plausible, st.integers(min_value=0, max_value=999))
def test_fractions_of_a_second_are_dropped(ts: int, ms: int) -> None:
    """Milliseconds and fractional seconds floor to the whole second."""
    assert epoch_seconds(ts * 1000 + ms) == ts
    assert epoch_seconds(ts + ms / 1000) == ts


def test_threshold_between_seconds_and_milliseconds() -> None:
    """Just below the threshold is seconds, at the threshold milliseconds."""
    assert epoch_seconds(MS_THRESHOLD - 1) == MS_THRESHOLD - 1
    assert epoch_seconds(MS_THRESHOLD) == MS_THRESHOLD // 1000


@pytest.mark.parametrize("value", ["2023-11-14T22:13:20", "yesterday", float("inf"), float("nan")])
def test_unusable_timestamps_raise(value: str | float) -> None:
    """ISO without offset, free text and non-finite numbers are refused."""
    with pytest.raises(ValueError):
        epoch_seconds(value)


def _check(**fields: object) -> ItemError | object:
    base: dict[str, object] = {"device_id": "d", "obis_code": "1.8.0", "timestamp": NOW, "value": 1.0}
    base.update(fields)
    return ItemChecker(now_s=NOW, future_tolerance_s=300).check(7, ReadingIn(**base))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"device_id": None}, "deviceId"),
        ({"device_external_ref": "m-1"}, "deviceId"),
        ({"obis_code": "1.8"}, "obisCode"),
        ({"timestamp": -5}, "timestamp"),
        ({"timestamp": NOW + 301}, "timestamp"),
        ({"value": float("nan")}, "value"),
        ({"value": float("-inf")}, "value"),
    ],
)
def test_each_rule_names_its_field(fields: dict[str, object], field: str) -> None:
    """Every per-item rule refuses with the field at fault and the item's index."""
    error = _check(**fields)
    assert isinstance(error, ItemError) and error.field == field and error.index == 7


def test_a_good_item_is_normalised() -> None:
    """A short OBIS code is normalised to A-B:C.D.E with its medium; the tolerance is inclusive."""
    checked = _check(obis_code=" 1.8.0 ", timestamp=NOW + 300)
    assert not isinstance(checked, ItemError)
    assert (checked.code, checked.medium, checked.ts) == ("1-1:1.8.0", "electricity", NOW + 300)


@given(
    st.one_of(st.integers(min_value=-10, max_value=MS_THRESHOLD * 2), st.floats(allow_nan=True),
              st.sampled_from(["2023-11-14T22:13:20Z", "2023-11-14T22:13:20", "soon"])),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([("d-1", None), (None, "m-1"), ("d-1", "m-1"), ("", None), ("d\x001", None)]),
    st.sampled_from(["1.8.0", "1-1:1.8.0", "1.8", "99.8.0"]),
)
def test_a_checker_with_warm_caches_decides_like_a_fresh_one(
        timestamp: int | float | str, value: float, device: tuple[str | None, str | None], code: str) -> None:
    """The common-case shortcut (after a code is cached) never decides differently."""
    item = ReadingIn(obis_code=code, timestamp=timestamp, value=value, device_id=device[0],
                     device_external_ref=device[1])
    warm = ItemChecker(now_s=NOW, future_tolerance_s=300, codes={})
    warm.check(0, ReadingIn(obis_code=code, timestamp=NOW, value=1.0, device_id="d-0"))
    fresh = ItemChecker(now_s=NOW, future_tolerance_s=300, codes={})
    assert warm.check(3, item) == fresh.check(3, item)


@given(st.sampled_from(["1.8.0", "1-1:1.8.0", "2.9.0 G.03", "1-1:2.9.0 g.03", "7-1:3.1.0", "8-1:1.0.0"]))
def test_forms_of_a_code_normalise_alike(text: str) -> None:
    """Every written form of a code normalises to one string, which normalises to itself."""
    checker = ItemChecker(now_s=NOW, future_tolerance_s=0)
    code, medium = checker.code(text)
    assert checker.code(code) == (code, medium)


def test_the_code_cache_stops_growing_at_its_limit() -> None:
    """Past the limit a new spelling is still parsed and decided, but no longer kept."""
    full: dict[str, tuple[str, str | None] | str] = {f"x{n}": "kept" for n in range(_CODES_LIMIT)}
    checker = ItemChecker(now_s=NOW, future_tolerance_s=0, codes=full)
    assert checker.code("1.8.0") == ("1-1:1.8.0", "electricity")
    with pytest.raises(ValueError):
        checker.code("1.8")
    assert len(full) == _CODES_LIMIT and "1.8.0" not in full


def _meter(medium: str | None = "electricity", providers: tuple[str, ...] = ("zaehlerfreunde",),
           kind: str = "meter") -> DeviceInfo:
    return DeviceInfo("d", "m-1", kind, medium, "c", list(providers))


def test_device_rules() -> None:
    """Non-meters, medium mismatches, mediumless codes and codes Zählerfreunde lacks are refused."""
    assert device_problem(_meter(), "electricity", "1-1:1.8.0") is None
    assert device_problem(_meter(kind="charger"), "electricity", "1-1:1.8.0")[0] == "deviceId"  # type: ignore[index]
    assert device_problem(_meter("gas"), "electricity", "1-1:1.8.0")[0] == "obisCode"  # type: ignore[index]
    assert device_problem(_meter(), None, "0-0:1.8.0")[0] == "obisCode"  # type: ignore[index]
    assert device_problem(_meter(), "electricity", "1-1:15.8.0")[0] == "obisCode"  # type: ignore[index]
    assert device_problem(_meter(providers=("volue",)), "electricity", "1-1:15.8.0") is None


def test_decode_fast_and_per_item_paths() -> None:
    """A clean body decodes in one pass; a bad item costs only itself; envelopes are checked."""
    good = {"deviceId": "d", "obisCode": "1.8.0", "timestamp": NOW, "value": 1}
    items, errors = decode_items(json.dumps({"readings": [good, good]}).encode())
    assert len(items) == 2 and errors == []
    mixed = {"readings": [good, {**good, "value": "x"}, {**good, "x": 1}]}
    items, errors = decode_items(json.dumps(mixed).encode())
    assert items[0] is not None and items[1] is None and items[2] is None
    assert [(e.index, e.field) for e in errors] == [(1, "value"), (2, "x")]
    items, errors = decode_items(
        b'{"readings": [{"deviceId": "d", "obisCode": "1.8.0", "timestamp": 1, "value": NaN}]}')
    assert items[0] is not None and errors == []
    for body in (b"", b"[]", b'{"readings": 1}', b'{"readings": [], "x": 1}', b"{nope"):
        with pytest.raises(InvalidError):
            decode_items(body)


def test_device_arrays_group_by_device_in_first_seen_order() -> None:
    """One array entry per device, readings in the order given."""
    arrays = device_arrays([("b", "1-1:1.8.0", 10, 1.0), ("a", "1-1:1.8.0", 10, 2.0),
                            ("b", "1-1:2.8.0", 11, 3.0)])
    assert [(a.external_device_id, a.readings) for a in arrays] == [
        ("b", [("1-1:1.8.0", 10, 1.0), ("1-1:2.8.0", 11, 3.0)]), ("a", [("1-1:1.8.0", 10, 2.0)])]
