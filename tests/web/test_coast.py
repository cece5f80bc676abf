"""The coast sketch the maps draw: the sea where it is, every demo establishment on land."""

from __future__ import annotations

import pytest

from parcours.demo.geography import REGION_OUTLINE
from parcours.demo.pipeline import step_rng
from parcours.demo.reference import load_reference
from parcours.demo.territory_plan import plan_territory
from parcours.web.coast import COAST, LAND, on_land


@pytest.mark.parametrize(
    ("where", "lat", "lon"),
    [
        ("the Strait off Tanger", 35.82, -5.80),
        ("the Atlantic off Asilah", 35.47, -6.10),
        ("the Atlantic off Larache", 35.20, -6.22),
        ("Ceuta, Spanish", 35.89, -5.31),
        ("the Mediterranean off Martil", 35.62, -5.22),
        ("the Mediterranean off El Jebha", 35.26, -4.66),
        ("the bay of Al Hoceïma", 35.22, -3.87),
    ],
)
def test_the_sea_is_not_land(where: str, lat: float, lon: float) -> None:
    assert not on_land(lat, lon), where


@pytest.mark.parametrize(
    ("where", "lat", "lon"),
    [
        ("Tanger, Beni Makada", 35.74, -5.83),
        ("Chefchaouen", 35.17, -5.26),
        ("Ouezzane", 34.80, -5.58),
        ("Targuist", 34.94, -4.32),
        ("south of the maps", 34.30, -5.00),
    ],
)
def test_inland_is_land(where: str, lat: float, lon: float) -> None:
    assert on_land(lat, lon), where


def test_the_coast_runs_west_to_east_and_the_land_closes_it() -> None:
    assert COAST[0][1] < -6.2  # the Atlantic, south of Larache
    assert COAST[-1][1] > -3.8  # east of Al Hoceïma
    assert LAND[1 : 1 + len(COAST)] == COAST


def test_every_town_of_the_reference_is_on_land() -> None:
    for town in load_reference().towns:
        assert on_land(town.latitude, town.longitude), town


def test_the_demo_land_sketch_lies_on_land() -> None:
    """The demo places establishments inside its own outline; if the outline lies on land
    here, whatever the seed, no demo establishment can be drawn in the sea."""
    in_sea = []
    following = REGION_OUTLINE[1:] + REGION_OUTLINE[:1]
    for i, (a, b) in enumerate(zip(REGION_OUTLINE, following, strict=True)):
        for step in range(21):
            t = step / 20
            lat, lon = a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t
            if not on_land(lat, lon):
                in_sea.append((i, round(lat, 4), round(lon, 4)))
    assert not in_sea


@pytest.mark.parametrize("seed", [7, 1, 42])
def test_every_demo_establishment_is_on_land(seed: int) -> None:
    plan = plan_territory(step_rng(seed, "territory"))
    assert len(plan.establishments) == 318
    in_sea = [(e.code, e.point) for e in plan.establishments if not on_land(*e.point)]
    assert not in_sea
