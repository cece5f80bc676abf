"""The sketch of the region keeps demo points on land and in their province."""

from __future__ import annotations

import random

import pytest

from parcours.demo.geography import PROVINCE_BOXES, REGION_BOX, jitter, on_land, placeable
from parcours.demo.places import HOSPITAL_SITES, RURAL_COMMUNES
from parcours.demo.reference import load_reference


@pytest.mark.parametrize(
    ("where", "lat", "lon"),
    [
        ("the Strait off Tanger", 35.80, -5.80),
        ("the Atlantic off Asilah", 35.47, -6.08),
        ("the Atlantic off Larache", 35.20, -6.20),
        ("the Atlantic off Cap Spartel", 35.78, -5.95),
        ("Ceuta", 35.89, -5.31),
        ("the Mediterranean off Martil", 35.62, -5.24),
        ("the Mediterranean off Oued Laou", 35.47, -5.07),
        ("the Mediterranean off El Jebha", 35.25, -4.66),
        ("the bay of Al Hoceïma", 35.23, -3.88),
        ("the Rif south of the region", 34.40, -4.50),
    ],
)
def test_points_outside_the_region_are_refused(where: str, lat: float, lon: float) -> None:
    assert not on_land(lat, lon), where


@pytest.mark.parametrize(
    ("where", "lat", "lon"),
    [
        ("Tanger, Beni Makada", 35.74, -5.83),
        ("between Tétouan and Chefchaouen", 35.35, -5.30),
        ("Ksar El Kébir", 35.00, -5.90),
        ("Targuist", 34.94, -4.32),
        ("Ouezzane", 34.80, -5.58),
    ],
)
def test_points_inland_are_kept(where: str, lat: float, lon: float) -> None:
    assert on_land(lat, lon), where


def test_every_town_and_anchor_is_placeable_in_its_province() -> None:
    ref = load_reference()
    for town in ref.towns:
        assert placeable(town.province, town.latitude, town.longitude), town
    for province, communes in RURAL_COMMUNES.items():
        for commune in communes:
            ref.town(province, commune.anchor)  # raises when the anchor is unknown
    for province, sites in HOSPITAL_SITES.items():
        for site in sites:
            ref.town(province, site.town)


def test_every_province_has_a_box_inside_the_region_extent() -> None:
    assert set(PROVINCE_BOXES) == {p.code for p in load_reference().provinces}
    for box in PROVINCE_BOXES.values():
        assert REGION_BOX.south - 0.1 <= box.south < box.north <= REGION_BOX.north + 0.1


def test_jitter_stays_on_land_near_a_coastal_town() -> None:
    rng = random.Random(7)
    asilah = load_reference().town("TNG", "Asilah").point
    for _ in range(200):
        lat, lon = jitter(rng, "TNG", asilah, 5.0)
        assert placeable("TNG", lat, lon)
