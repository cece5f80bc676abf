"""The reference facts the demo is built from, read from the territory package's data.

The plan is a function of the seed and of these files only, never of what a
database happens to hold, so that a seed means the same region everywhere.
The 2024 population of each province is derived exactly as
``territory.service.ensure_reference_data`` derives it (the 2014 share of the
region's 2024 census total); a test checks that both agree.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from parcours.demo.places import EXTRA_PLACES, TOWN_POPULATION
from parcours.territory.rules import EstablishmentType

REGION_CODE = "TTA"

# The `kind` column of tta_hospitals.csv → the registry's type.
HOSPITAL_KINDS: dict[str, EstablishmentType] = {
    "CHU": EstablishmentType.CHU,
    "hôpital régional": EstablishmentType.REGIONAL_HOSPITAL,
    "hôpital spécialisé": EstablishmentType.SPECIALISED_HOSPITAL,
    "hôpital provincial": EstablishmentType.PROVINCIAL_HOSPITAL,
    "hôpital préfectoral": EstablishmentType.PROVINCIAL_HOSPITAL,
    "hôpital de proximité": EstablishmentType.PROXIMITY_HOSPITAL,
}


@dataclass(frozen=True)
class ProvinceRef:
    code: str
    name: str
    kind: str  # province | préfecture
    chef_lieu: str
    population_2024: int
    latitude: float
    longitude: float


@dataclass(frozen=True)
class TownRef:
    name: str
    province: str
    latitude: float
    longitude: float
    urban: bool

    @property
    def point(self) -> tuple[float, float]:
        return (self.latitude, self.longitude)


@dataclass(frozen=True)
class HospitalRef:
    name: str
    town: str
    province: str
    type: EstablishmentType
    confidence: str


@dataclass(frozen=True)
class Reference:
    provinces: tuple[ProvinceRef, ...]
    towns: tuple[TownRef, ...]
    hospitals: tuple[HospitalRef, ...]

    @property
    def region_population(self) -> int:
        return sum(p.population_2024 for p in self.provinces)

    def province(self, code: str) -> ProvinceRef:
        return next(p for p in self.provinces if p.code == code)

    def town(self, province: str, name: str) -> TownRef:
        for town in self.towns:
            if town.province == province and town.name == name:
                return town
        raise KeyError(f"unknown town {name!r} in {province}")

    def urban_towns(self, province: str) -> list[TownRef]:
        return [t for t in self.towns if t.province == province and t.urban]


def _rows(name: str) -> list[dict[str, str]]:
    source = resources.files("parcours.territory") / "data" / name
    with source.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@lru_cache(maxsize=1)
def load_reference() -> Reference:
    regions = _rows("regions.csv")
    region_2024 = next(int(r["population_2024"]) for r in regions if r["code"] == REGION_CODE)
    province_rows = _rows("tta_provinces.csv")
    total_2014 = sum(int(p["population_2014"]) for p in province_rows)
    provinces = tuple(
        sorted(
            (
                ProvinceRef(
                    code=row["code"],
                    name=row["name"],
                    kind=row["kind"],
                    chef_lieu=row["chef_lieu"],
                    population_2024=round(int(row["population_2014"]) / total_2014 * region_2024),
                    latitude=float(row["lat"]),
                    longitude=float(row["lon"]),
                )
                for row in province_rows
            ),
            key=lambda p: p.code,
        )
    )
    chef_lieu = {p.code: p.chef_lieu for p in provinces}
    towns = [
        TownRef(
            name=row["town"],
            province=row["province"],
            latitude=float(row["lat"]),
            longitude=float(row["lon"]),
            urban=row["urban"] == "yes",
        )
        for row in _rows("tta_towns.csv")
    ]
    known = {(t.province, t.name) for t in towns}
    towns += [
        TownRef(p.name, p.province, p.latitude, p.longitude, urban=False)
        for p in EXTRA_PLACES
        if (p.province, p.name) not in known
    ]
    # Chef-lieu first, then the larger towns: the order in which towns receive centres.
    towns.sort(
        key=lambda t: (
            t.province,
            t.name != chef_lieu.get(t.province),
            -TOWN_POPULATION.get(t.name, 0),
            t.name,
        )
    )
    hospitals = tuple(
        HospitalRef(
            name=row["name"],
            town=row["town"],
            province=row["province"],
            type=HOSPITAL_KINDS[row["kind"]],
            confidence=row["confidence"],
        )
        for row in _rows("tta_hospitals.csv")
    )
    return Reference(provinces=provinces, towns=tuple(towns), hospitals=hospitals)
