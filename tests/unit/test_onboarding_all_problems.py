"""The onboarding check names every problem of a file in one pass, in words rather than validator text."""

from __future__ import annotations

from gateway.ops.onboarding import parse_csv, readable
from tests.unit.test_onboarding_csv import HEADER, customer, meter, row, site


def test_every_bad_cell_of_a_record_is_named_at_once() -> None:
    """Three bad cells of one site and a bad row elsewhere: all four problems in the first pass."""
    lines = [
        HEADER,
        row(**customer("c-1"), **site("s-1", latitude="95", longitude="200", country="Norway"),
            **meter("m-1")),
        row(**customer("c-2"), **site("s-2"), **meter("m-2", medium="steam")),
        "c-3,Too,many@example.com," + "," * 40,
    ]
    parsed = parse_csv(("\n".join(lines) + "\n").encode())
    found = {(p.line, p.field): p.detail for p in parsed.problems}
    assert set(found) == {(2, "latitude"), (2, "longitude"), (2, "country"), (3, "medium"), (4, "")}, found
    assert found[(2, "latitude")] == "'95' must be at most 90.0"
    assert found[(2, "longitude")] == "'200' must be at most 180.0"
    assert "Expected" not in " ".join(found.values())


def test_validator_messages_read_as_sentences() -> None:
    """Bounds, lengths and types in msgspec's words become sentences about the value."""
    assert readable("Expected `float` >= -90.0", "-91") == "'-91' must be at least -90.0"
    assert readable("Expected `int` > 0", "0") == "'0' must be more than 0"
    assert readable("Expected `str` of length <= 100", "x" * 3) == "'xxx' is longer than 100 characters"
    assert readable("Expected `str` of length >= 1", "") == "'' must not be empty"
    assert readable("Expected `array` of length <= 10") == "the value has more than 10 items"
    assert readable("Expected `int`, got `str`", "a") == "'a' is not a whole number"
    assert readable("Something else", "v") == "Something else (value 'v')"
