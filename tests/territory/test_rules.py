"""The registry's vocabulary and validation, as pure rules (no database)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from parcours.territory.rules import (
    CARE_LEVEL_LABELS,
    CODE_PATTERN,
    SPECIALTIES,
    SPECIALTY_CODES,
    TYPES,
    Category,
    EstablishmentType,
    ServiceLine,
    Status,
    can_move,
    diff,
    normalise_code,
    search_key,
    validate_establishment,
)


def test_every_type_has_label_category_level_and_colour() -> None:
    assert set(TYPES) == set(EstablishmentType)
    for type_ in EstablishmentType:
        info = type_.info
        assert info.label
        assert info.short
        assert info.colour.startswith("#")
        assert len(info.colour) == 7
        assert info.care_level in CARE_LEVEL_LABELS
    assert len({t.info.colour for t in EstablishmentType}) == len(EstablishmentType)


def test_the_chu_is_not_a_hospital_category() -> None:
    assert [t for t in EstablishmentType if t.category is Category.CHU] == [EstablishmentType.CHU]
    assert EstablishmentType.CHU.care_level == 4
    hospitals = {t for t in EstablishmentType if t.category is Category.HOSPITAL}
    assert hospitals == {
        EstablishmentType.REGIONAL_HOSPITAL,
        EstablishmentType.SPECIALISED_HOSPITAL,
        EstablishmentType.PROVINCIAL_HOSPITAL,
        EstablishmentType.PROXIMITY_HOSPITAL,
    }
    assert EstablishmentType.REGIONAL_HOSPITAL.care_level == 3
    assert EstablishmentType.PROVINCIAL_HOSPITAL.care_level == 2
    assert EstablishmentType.PROXIMITY_HOSPITAL.care_level == 2
    for type_ in EstablishmentType:
        if type_.category is Category.HEALTH_CENTRE:
            assert type_.care_level == 1
    assert Category.CHU.label == "CHU"


def test_status_moves_forward_and_a_closed_establishment_may_reopen() -> None:
    assert can_move(Status.PLANNED, Status.UNDER_CONSTRUCTION)
    assert can_move(Status.UNDER_CONSTRUCTION, Status.OPEN)
    assert can_move(Status.OPEN, Status.CLOSED)
    assert can_move(Status.CLOSED, Status.OPEN)
    for status in Status:
        assert can_move(status, status)
    assert not can_move(Status.OPEN, Status.PLANNED)
    assert not can_move(Status.OPEN, Status.UNDER_CONSTRUCTION)
    assert not can_move(Status.UNDER_CONSTRUCTION, Status.PLANNED)
    assert not can_move(Status.CLOSED, Status.PLANNED)
    assert Status.OPEN.label == "En service"


def test_specialties_are_a_closed_list_of_unique_codes() -> None:
    assert len(SPECIALTY_CODES) == len(SPECIALTIES)
    assert {"general_medicine", "cardiology", "emergency"} <= SPECIALTY_CODES
    assert not next(s for s in SPECIALTIES if s.code == "general_medicine").hospital_only
    assert next(s for s in SPECIALTIES if s.code == "cardiology").hospital_only


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Hôpital Mohammed V d'Al Hoceïma", "hopital mohammed v d al hoceima"),
        ("  CENTRE   de Santé—Urbain ", "centre de sante urbain"),
        ("Ksar El Kébir", "ksar el kebir"),
        ("%_", ""),
    ],
)
def test_search_key_is_accent_and_case_free(text: str, key: str) -> None:
    assert search_key(text) == key


def test_code_rules() -> None:
    assert normalise_code("  hp-tng-01 ") == "HP-TNG-01"
    for good in ("CHU-TNG", "HP-TET-01", "A1B"):
        assert CODE_PATTERN.match(good), good
    for bad in ("AB", "-HP", "HP-", "hp-tng", "HP TNG", "HP_TNG", "X" * 41):
        assert not CODE_PATTERN.match(bad), bad


def _valid(**overrides: Any) -> dict[str, Any]:
    return {
        "code": "HP-TET-02",
        "name": "Hôpital de Martil",
        "type_": EstablishmentType.PROXIMITY_HOSPITAL,
        "latitude": 35.6,
        "longitude": -5.27,
        "catchment_population": 50000,
        "status": Status.OPEN,
        "opened_on": date(2010, 1, 1),
        "closed_on": None,
        "services": [ServiceLine("emergency", 10), ServiceLine("paediatrics", 12)],
    } | overrides


def test_a_valid_establishment_has_no_problem() -> None:
    assert validate_establishment(**_valid()) == []
    assert validate_establishment(**_valid(latitude=None, longitude=None, services=[])) == []
    # Level-2 centres may keep a few beds (deliveries).
    assert (
        validate_establishment(
            **_valid(type_=EstablishmentType.CSR_2, services=[ServiceLine("deliveries", 4)])
        )
        == []
    )


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"code": "hp tet"}, "code « hp tet » invalide"),
        ({"name": "  "}, "le nom est obligatoire"),
        ({"latitude": None}, "latitude et longitude vont ensemble"),
        ({"latitude": 91.0}, "latitude hors limites : 91.0"),
        ({"longitude": -181.0}, "longitude hors limites : -181.0"),
        ({"catchment_population": -1}, "population desservie ne peut être négative"),
        ({"status": Status.CLOSED}, "un établissement fermé a une date de fermeture"),
        (
            {"status": Status.CLOSED, "closed_on": date(2000, 1, 1)},
            "la date de fermeture précède la date d'ouverture",
        ),
        ({"services": [ServiceLine("astrology", 0)]}, "spécialité inconnue : astrology"),
        (
            {"services": [ServiceLine("emergency", 1), ServiceLine("emergency", 2)]},
            "spécialité en double : emergency",
        ),
        ({"services": [ServiceLine("emergency", -3)]}, "nombre de lits négatif pour emergency"),
        (
            {
                "type_": EstablishmentType.CSU_1,
                "services": [ServiceLine("general_medicine", 2)],
            },
            "un centre de santé urbain niveau 1 n'a pas de lits d'hospitalisation",
        ),
    ],
)
def test_each_problem_is_named_in_french(overrides: dict[str, Any], fragment: str) -> None:
    problems = validate_establishment(**_valid(**overrides))
    assert any(fragment in p for p in problems), problems


def test_all_problems_are_listed_at_once() -> None:
    problems = validate_establishment(
        **_valid(code="x", name="", latitude=100.0, services=[ServiceLine("nope", 0)])
    )
    assert len(problems) == 4


def test_diff_names_exactly_the_changed_fields() -> None:
    before = {"name": "A", "town": "T", "services": {"x": 1}}
    after = {"name": "B", "town": "T", "services": {"x": 2}, "phone": "05"}
    assert diff(before, after) == {
        "name": ("A", "B"),
        "phone": (None, "05"),
        "services": ({"x": 1}, {"x": 2}),
    }
    assert diff(before, dict(before)) == {}
