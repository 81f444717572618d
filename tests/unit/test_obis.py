"""OBIS parsing and formatting, including the forms Zählerfreunde documents."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.core.obis import Medium, ObisCode, ObisError, parse
from providers.zaehlerfreunde.obis import ZAEHLERFREUNDE_ACCEPTED, is_accepted_by_zaehlerfreunde

_group = st.integers(min_value=0, max_value=255)
_letter_or_number = st.one_of(_group, st.sampled_from(["C", "F", "L", "P"]))
_suffix = st.builds(
    lambda letter, n: f"{letter}.{n:02d}",
    st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    st.integers(min_value=0, max_value=99),
)


@st.composite
def obis_codes(draw: st.DrawFn) -> ObisCode:
    has_ab = draw(st.booleans())
    return ObisCode(
        a=draw(st.integers(min_value=0, max_value=15)) if has_ab else None,
        b=draw(_group) if has_ab else None,
        c=draw(_letter_or_number),
        d=draw(_letter_or_number),
        e=draw(_group),
        f=draw(st.one_of(st.none(), _group)),
        suffix=draw(st.one_of(st.none(), _suffix)),
    )


@given(obis_codes())
def test_full_form_round_trips(code: ObisCode) -> None:
    """Formatting any code in its full form and parsing it back gives the same code."""
    assert parse(code.full) == code


@given(obis_codes())
def test_short_form_keeps_cde_and_suffix(code: ObisCode) -> None:
    """The short form parses back to the same C, D, E and suffix without A, B and F."""
    back = parse(code.short)
    assert (back.c, back.d, back.e, back.suffix) == (code.c, code.d, code.e, code.suffix)
    assert (back.a, back.b, back.f) == (None, None, None)


@given(obis_codes())
def test_normal_form_is_a_fixed_point(code: ObisCode) -> None:
    """The normal form always names A and B and is stable under re-parsing."""
    again = parse(code.normal)
    assert again.a is not None and again.b is not None
    assert again.normal == code.normal


@given(obis_codes(), st.sampled_from(["", " ", "\t", "  "]), st.sampled_from(["", " ", "\n"]))
def test_surrounding_whitespace_and_case_are_ignored(code: ObisCode, lead: str, trail: str) -> None:
    """Leading/trailing whitespace and lower-case letters parse to the same code."""
    assert parse(f"{lead}{code.full.lower()}{trail}") == code


@given(st.text(alphabet="0123456789.-:* ", max_size=20))
def test_parse_either_succeeds_or_raises_obis_error(text: str) -> None:
    """Arbitrary input never fails with anything but ObisError, and successes re-parse."""
    try:
        code = parse(text)
    except ObisError:
        return
    assert parse(code.full) == code


@pytest.mark.parametrize(
    ("text", "zaehlerfreunde", "medium"),
    [
        ("1-1:1.8.0", "1-1:1.8.0", Medium.ELECTRICITY),
        ("1.8.0", "1-1:1.8.0", Medium.ELECTRICITY),
        ("1-1:1.9.0", "1-1:1.9.0", Medium.ELECTRICITY),
        ("1.9.0", "1-1:1.9.0", Medium.ELECTRICITY),
        ("1-1:1.29.0", "1-1:1.29.0", Medium.ELECTRICITY),
        ("1.29.0", "1-1:1.29.0", Medium.ELECTRICITY),
        ("1-1:2.8.0", "1-1:2.8.0", Medium.ELECTRICITY),
        ("2.8.0", "1-1:2.8.0", Medium.ELECTRICITY),
        ("1-1:2.9.0", "1-1:2.9.0", Medium.ELECTRICITY),
        ("2.9.0", "1-1:2.9.0", Medium.ELECTRICITY),
        ("1-1:2.29.0", "1-1:2.29.0", Medium.ELECTRICITY),
        ("2.29.0", "1-1:2.29.0", Medium.ELECTRICITY),
        ("1-1:2.9.0 G.03", "1-1:2.9.0 G.03", Medium.ELECTRICITY),
        ("2.9.0 G.03", "1-1:2.9.0 G.03", Medium.ELECTRICITY),
        ("1-1:1.9.0 P.01", "1-1:1.9.0 P.01", Medium.ELECTRICITY),
        ("1.9.0 P.01", "1-1:1.9.0 P.01", Medium.ELECTRICITY),
        ("1-1:2.9.0 P.01", "1-1:2.9.0 P.01", Medium.ELECTRICITY),
        ("2.9.0 P.01", "1-1:2.9.0 P.01", Medium.ELECTRICITY),
        ("6-1:1.0.0", "6-1:1.0.0", Medium.HEAT),
        ("7-1:3.1.0", "7-1:3.1.0", Medium.GAS),
        ("8-1:1.0.0", "8-1:1.0.0", Medium.WATER),
    ],
)
def test_documented_codes_are_accepted(text: str, zaehlerfreunde: str, medium: Medium) -> None:
    """Every code in the NewReading description is accepted, in long and short form."""
    code = parse(text)
    assert code.normal == zaehlerfreunde
    assert code.medium is medium
    assert is_accepted_by_zaehlerfreunde(text)
    assert is_accepted_by_zaehlerfreunde(code)
    assert zaehlerfreunde in ZAEHLERFREUNDE_ACCEPTED


def test_accepted_set_is_exactly_the_documented_list() -> None:
    """The accepted set holds the twelve documented codes and nothing else."""
    assert len(ZAEHLERFREUNDE_ACCEPTED) == 12
    assert "1-1:1.8.0" in ZAEHLERFREUNDE_ACCEPTED
    assert "1.8.0" not in ZAEHLERFREUNDE_ACCEPTED


@pytest.mark.parametrize(
    "text",
    [
        "1-2:1.8.0",  # channel 2 is not documented
        "1-1:1.8.1",  # tariff register 1 is not documented
        "1-1:1.8.0*1",  # billing period is not documented
        "1-0:1.8.0*254",
        "1.0.0",  # short form reads as electricity; heat needs 6-1:
        "3.1.0",  # gas needs 7-1:
        "2.9.0 G.04",
        "1.8.0 P.01",
        "7-1:1.8.0",
        "C.1.0",
    ],
)
def test_undocumented_codes_are_not_accepted(text: str) -> None:
    """Valid OBIS codes outside the documented list are refused."""
    parse(text)
    assert not is_accepted_by_zaehlerfreunde(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("1.8", "not an OBIS code"),
        ("1.8.0.0", "not an OBIS code"),
        ("1-1.8.0", "not an OBIS code"),
        ("1:1.8.0", "not an OBIS code"),
        ("1-1:1.8.0*", "not an OBIS code"),
        ("1.8.0 G03", "not an OBIS code"),
        ("1.8.0 G.3", "not an OBIS code"),
        ("1.8.0G.03", "not an OBIS code"),
        ("1.８.0", "not an OBIS code"),
        ("16-1:1.8.0", "group A must be 0..15"),
        ("1-256:1.8.0", "group B must be 0..255"),
        ("1.256.0", "group D must be 0..255"),
        ("1.8.256", "group E must be 0..255"),
        ("1.8.0*300", "group F must be 0..255"),
        ("X.8.0", "C may be a letter only among C, F, L, P"),
        ("1.Z.0", "D may be a letter only among C, F, L, P"),
    ],
)
def test_bad_inputs_raise_precise_errors(text: str, message: str) -> None:
    """Malformed identifiers raise ObisError whose message says what is wrong."""
    with pytest.raises(ObisError, match=message):
        parse(text)
    assert not is_accepted_by_zaehlerfreunde(text)


@pytest.mark.parametrize(
    ("text", "zaehlerfreunde"),
    [
        ("1-0:1.8.0*255", "1-1:1.8.0"),
        ("1-0:1.8.0", "1-1:1.8.0"),
        ("1.8.0*255", "1-1:1.8.0"),
        ("1-1:1.8.0*255", "1-1:1.8.0"),
        ("1-0:2.8.0*255", "1-1:2.8.0"),
        ("1-0:1.29.0", "1-1:1.29.0"),
        ("6-0:1.0.0*255", "6-1:1.0.0"),
        ("7-0:3.1.0", "7-1:3.1.0"),
        ("8-0:1.0.0*255", "8-1:1.0.0"),
    ],
)
def test_channel_zero_and_unused_f_normalise_to_the_documented_form(text: str, zaehlerfreunde: str) -> None:
    """Channel 0 and F = 255, as meters write them, name the documented quantity and are accepted."""
    assert parse(text).normal == zaehlerfreunde
    assert is_accepted_by_zaehlerfreunde(text)


def test_obis_error_is_a_value_error() -> None:
    """Callers catching ValueError also catch ObisError."""
    with pytest.raises(ValueError):
        parse("nonsense")


def test_letters_and_forms() -> None:
    """Abstract letter groups are kept upper-case; full, short forms format as documented."""
    code = parse("0-0:c.1.0*255")
    assert (code.c, code.full, code.short, code.medium) == ("C", "0-0:C.1.0*255", "C.1.0", None)
    suffixed = parse("1-1:2.9.0   g.03")
    assert (suffixed.full, suffixed.short) == ("1-1:2.9.0 G.03", "2.9.0 G.03")
    assert parse("9-1:1.0.0").medium is Medium.WATER
    assert parse("5-1:1.0.0").medium is None


@pytest.mark.parametrize(
    ("text", "register", "direction"),
    [
        ("1-1:1.8.0", True, "in"),
        ("1-1:2.8.0", True, "out"),
        ("1-1:1.29.0", False, "in"),
        ("2.9.0 G.03", False, "out"),
        ("7-1:3.1.0", True, "in"),
        ("8-1:2.0.0", True, "in"),
    ],
)
def test_registers_and_directions(text: str, register: bool, direction: str) -> None:
    """Electricity's D = 8 and every other medium's codes are registers; only electricity's C = 2 is out."""
    code = parse(text)
    assert (code.register, code.direction) == (register, direction)
