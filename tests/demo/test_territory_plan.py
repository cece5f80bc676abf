"""The demo region's plan, checked without a database."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from parcours.demo.apportion import apportion
from parcours.demo.capacity import BED_RANGES
from parcours.demo.geography import REGION_BOX, placeable
from parcours.demo.places import URBAN_SHARE
from parcours.demo.reference import load_reference
from parcours.demo.territory_plan import TerritoryPlan, plan_territory
from parcours.territory.rules import (
    CODE_PATTERN,
    Category,
    EstablishmentType,
    ServiceLine,
    Status,
    validate_establishment,
)

T = EstablishmentType
SEEDS = (2025, 1, 99)


@pytest.fixture(scope="module", params=SEEDS)
def plan(request: pytest.FixtureRequest) -> TerritoryPlan:
    return plan_territory(random.Random(request.param))


def test_exactly_one_chu_22_hospitals_295_health_centres(plan: TerritoryPlan) -> None:
    assert plan.count_by("category") == {"chu": 1, "hospital": 22, "health_centre": 295}


def test_type_mix(plan: TerritoryPlan) -> None:
    by_type = plan.count_by("type")
    assert by_type["regional_hospital"] == 2
    assert by_type["specialised_hospital"] == 2
    assert by_type["provincial_hospital"] == 6
    assert by_type["proximity_hospital"] == 12
    urban = by_type["csu_1"] + by_type["csu_2"]
    rural = by_type["csr_1"] + by_type["csr_2"] + by_type["rural_dispensary"]
    assert urban + rural == 295
    # Rural centres outnumber urban ones (they serve fewer people over more ground),
    # CSU1 outnumber CSU2, CSR1 outnumber CSR2 and dispensaries.
    assert 100 <= urban <= 150 < rural
    assert by_type["csu_1"] > by_type["csu_2"] > 0
    assert by_type["csr_1"] > by_type["rural_dispensary"] > 0
    assert by_type["csr_1"] > by_type["csr_2"] > 0


def _free_apportionment(total: int) -> dict[str, int]:
    ref = load_reference()
    return apportion({p.code: p.population_2024 for p in ref.provinces}, total)


def test_provinces_in_proportion_to_population(plan: TerritoryPlan) -> None:
    hospitals = Counter(e.province for e in plan.establishments if e.category is Category.HOSPITAL)
    centres = Counter(
        e.province for e in plan.establishments if e.category is Category.HEALTH_CENTRE
    )
    for province, expected in _free_apportionment(22).items():
        assert abs(hospitals[province] - expected) <= 1, province
    assert dict(centres) == _free_apportionment(295)


def test_every_province_has_a_level_2_hospital(plan: TerritoryPlan) -> None:
    provinces = {p.code for p in load_reference().provinces}
    with_level_2 = {e.province for e in plan.establishments if e.type.care_level == 2}
    assert with_level_2 == provinces


def test_real_hospitals_keep_their_name_town_and_category(plan: TerritoryPlan) -> None:
    by_name = {e.name: e for e in plan.establishments}
    for hospital in load_reference().hospitals:
        planned = by_name[hospital.name]
        assert (planned.town, planned.province, planned.type) == (
            hospital.town,
            hospital.province,
            hospital.type,
        )
        assert planned.real
    assert by_name["Hôpital Al Kortobi"].type is T.PROVINCIAL_HOSPITAL
    assert by_name["Hôpital Duc de Tovar"].type is T.SPECIALISED_HOSPITAL
    invented = [e for e in plan.establishments if e.category is Category.HOSPITAL and not e.real]
    assert len(invented) == 8
    assert all(e.name.startswith("Hôpital de proximité d") for e in invented)
    fahs_anjra = [e for e in plan.establishments if e.province == "FAN" and e.type.care_level > 1]
    assert [e.type for e in fahs_anjra] == [T.PROXIMITY_HOSPITAL]


def test_every_point_is_on_land_inside_its_province_and_the_region(plan: TerritoryPlan) -> None:
    for e in plan.establishments:
        assert REGION_BOX.contains(e.latitude, e.longitude), e.code
        assert placeable(e.province, e.latitude, e.longitude), e.code


def test_urban_centres_stand_in_towns_rural_ones_in_communes(plan: TerritoryPlan) -> None:
    ref = load_reference()
    towns = {(t.province, t.name): t for t in ref.towns}
    for e in plan.establishments:
        if e.type in (T.CSU_1, T.CSU_2):
            assert e.name.startswith("Centre de santé urbain ")
            assert towns[(e.province, e.town)].urban
        elif e.type in (T.CSR_1, T.CSR_2):
            assert e.name.startswith("Centre de santé rural ")
        elif e.type is T.RURAL_DISPENSARY:
            assert e.name.startswith("Dispensaire rural ")
    assert not [e for e in plan.establishments if e.province == "FAN" and e.type is T.CSU_1]


def test_codes_are_unique_valid_and_read_well(plan: TerritoryPlan) -> None:
    codes = [e.code for e in plan.establishments]
    assert len(set(codes)) == len(codes)
    assert all(CODE_PATTERN.match(c) for c in codes)
    assert "CHU-TNG-01" in codes
    assert {"HR-TNG-01", "HR-TET-01", "HS-TNG-01", "HP-HOC-01", "HPR-HOC-02"} <= set(codes)
    assert "CSU1-TNG-015" in codes
    assert "CSR2-CHE-001" in codes
    for e in plan.establishments:
        prefix, province, number = e.code.split("-")
        assert prefix == e.type.info.short.upper()
        assert province == e.province
        assert len(number) == (3 if e.category is Category.HEALTH_CENTRE else 2)


def test_names_are_unique(plan: TerritoryPlan) -> None:
    names = [e.name for e in plan.establishments]
    assert len(set(names)) == len(names)


def test_every_establishment_passes_the_registry_rules(plan: TerritoryPlan) -> None:
    for e in plan.establishments:
        problems = validate_establishment(
            code=e.code,
            name=e.name,
            type_=e.type,
            latitude=e.latitude,
            longitude=e.longitude,
            catchment_population=e.catchment_population,
            status=Status.OPEN,
            opened_on=None,
            closed_on=None,
            services=[ServiceLine(s.specialty, s.beds) for s in e.services],
        )
        assert problems == [], (e.code, problems)


def test_beds_and_services_by_level(plan: TerritoryPlan) -> None:
    for e in plan.establishments:
        specialties = {s.specialty for s in e.services}
        if e.type in BED_RANGES:
            low, high = BED_RANGES[e.type]
            assert low <= e.beds <= high, (e.code, e.beds)
            assert {"radiology", "laboratory"} <= specialties
        elif e.type in (T.CSU_2, T.CSR_2):
            beds = {s.specialty: s.beds for s in e.services if s.beds}
            assert set(beds) == {"deliveries"}
            assert 3 <= beds["deliveries"] <= 10
        else:
            assert e.beds == 0
        if e.category is Category.HEALTH_CENTRE:
            assert {"general_medicine", "vaccination"} <= specialties
    chu = plan.get("CHU-TNG-01")
    assert {"neurosurgery", "cardiac_surgery", "oncology", "burns"} <= {
        s.specialty for s in chu.services if s.beds
    }
    assert 700 <= chu.beds <= 800
    ben_karrich = next(e for e in plan.establishments if e.name == "Hôpital Ben Karrich")
    assert {"pulmonology", "tuberculosis"} <= {s.specialty for s in ben_karrich.services}


def test_catchment_splits_each_province_over_its_centres(plan: TerritoryPlan) -> None:
    ref = load_reference()
    region = ref.region_population
    for province in ref.provinces:
        centres = [
            e
            for e in plan.establishments
            if e.province == province.code and e.category is Category.HEALTH_CENTRE
        ]
        assert sum(e.catchment_population for e in centres) == province.population_2024
        urban = [e.catchment_population for e in centres if e.type in (T.CSU_1, T.CSU_2)]
        rural = [e.catchment_population for e in centres if e.type not in (T.CSU_1, T.CSU_2)]
        if urban and rural and URBAN_SHARE[province.code] > 0.25:
            assert sum(urban) / len(urban) > sum(rural) / len(rural), province.code
        provincial = [
            e
            for e in plan.establishments
            if e.province == province.code and e.type is T.PROVINCIAL_HOSPITAL
        ]
        for e in provincial:
            assert e.catchment_population == province.population_2024
    for e in plan.establishments:
        if e.type in (T.CHU, T.REGIONAL_HOSPITAL, T.SPECIALISED_HOSPITAL):
            assert e.catchment_population == region
        if e.type is T.PROXIMITY_HOSPITAL:
            assert 0 < e.catchment_population <= ref.province(e.province).population_2024


def test_same_seed_same_plan_other_seed_other_plan_same_codes() -> None:
    a, b, c = (plan_territory(random.Random(s)) for s in (2025, 2025, 2026))
    assert a == b
    assert a != c
    assert [e.point for e in a.establishments] != [e.point for e in c.establishments]
    # The set of codes is fixed by the reference, not by the seed.
    assert {e.code for e in a.establishments} == {e.code for e in c.establishments}


def test_scaled_up_plan_keeps_codes_unique() -> None:
    big = plan_territory(random.Random(1), health_centres=3000)
    codes = [e.code for e in big.establishments]
    assert len(codes) == 3023
    assert len(set(codes)) == len(codes)
    assert all(CODE_PATTERN.match(c) for c in codes)
    assert len({e.name for e in big.establishments}) == len(codes)
