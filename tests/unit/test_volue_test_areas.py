"""The two Svalbard sandbox test areas decide eligibility."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from providers.volue.emulator.sandbox_areas import (
    AREA_1_WKT,
    AREA_2_WKT,
    TEST_AREAS,
    TestArea,
    area_containing,
    is_eligible,
    parse_wkt_polygon,
)

SHARED_DIR = Path(
    os.environ.get("GATEWAY_SHARED_DIR", Path(__file__).resolve().parents[2] / ".." / "shared")
)
SEED = SHARED_DIR / "seeds" / "002_10b7b080b56829c7.txt"


def test_polygons_are_the_seed_text_verbatim() -> None:
    """The kept WKT strings equal the PostGIS polygons published in the sandbox guide."""
    published = re.findall(r"POLYGON \(\(.*?\)\)", SEED.read_text(encoding="utf-8"))
    assert published == [AREA_1_WKT, AREA_2_WKT]


@pytest.mark.parametrize("area", TEST_AREAS, ids=lambda a: a.name)
def test_centre_point_is_inside(area: TestArea) -> None:
    """The published centre point of each area is eligible."""
    assert is_eligible(area.center_latitude, area.center_longitude)
    assert area_containing(area.center_latitude, area.center_longitude) is area


@pytest.mark.parametrize("area", TEST_AREAS, ids=lambda a: a.name)
def test_points_just_outside_are_not_eligible(area: TestArea) -> None:
    """A point about 10 m beyond the northernmost and westernmost vertex is not eligible."""
    north = max(area.ring, key=lambda p: p[1])
    west = min(area.ring, key=lambda p: p[0])
    assert not is_eligible(north[1] + 0.0001, north[0])
    assert not is_eligible(west[1], west[0] - 0.0005)
    assert is_eligible(north[1] - 0.0002, north[0])


def test_far_away_points_are_not_eligible() -> None:
    """Trondheim (the quickstart's example location) is outside both areas."""
    assert not is_eligible(63.1, 10.7)
    assert area_containing(0.0, 0.0) is None


def test_parse_refuses_other_geometries() -> None:
    """Only POLYGON text is accepted."""
    assert parse_wkt_polygon("POLYGON ((0 0, 1 0, 1 1, 0 0))") == ((0, 0), (1, 0), (1, 1), (0, 0))
    with pytest.raises(ValueError):
        parse_wkt_polygon("POINT (1 2)")
