"""Encounters and the bed census."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from parcours.pathways.encounter import (
    CensusRefused,
    DischargeMode,
    EncounterKind,
    OccupancyLevel,
    ServiceCensus,
    admit,
    discharge,
    occupancy,
    occupancy_level,
    occupied_at,
    redeclare,
    total,
    validate_encounter,
)

T0 = datetime(2025, 10, 1, 8, 0, tzinfo=UTC)


def test_vocabulary() -> None:
    for kind in EncounterKind:
        assert kind.label
        assert kind.colour.startswith("#")
        assert kind.fhir_class in {"AMB", "EMER", "IMP"}
    for mode in DischargeMode:
        assert mode.label
        assert mode.colour.startswith("#")
    assert DischargeMode.AGAINST_ADVICE.label == "Sortie contre avis médical"
    assert DischargeMode.DEATH.fhir_code == "exp"
    assert EncounterKind.ADMISSION.occupies_bed
    assert not EncounterKind.CONSULTATION.occupies_bed


def test_admit_and_discharge_keep_the_census() -> None:
    c = ServiceCensus("HP-HOC", "cardiology", declared=2)
    assert (c.free, c.occupancy) == (2, 0.0)
    c = admit(admit(c))
    assert (c.occupied, c.free, c.occupancy) == (2, 0, 1.0)
    with pytest.raises(CensusRefused) as caught:
        admit(c)
    assert caught.value.code == "service_full"
    assert caught.value.status_code == 409
    assert "2 lits occupés sur 2" in caught.value.render()
    c = discharge(c)
    assert (c.occupied, c.free) == (1, 1)


def test_overflow_only_when_asked() -> None:
    c = ServiceCensus("HP-HOC", "cardiology", declared=1, occupied=1)
    over = admit(c, overflow=True)
    assert over.occupied == 2
    assert over.over_capacity
    assert over.free == 0
    assert over.occupancy == 2.0
    assert occupancy_level(over.occupancy) is OccupancyLevel.SATURATED


def test_a_service_without_beds() -> None:
    c = ServiceCensus("CSR-HOC-01", "general_medicine", declared=0)
    assert c.occupancy is None
    with pytest.raises(CensusRefused) as caught:
        admit(c)
    assert caught.value.code == "service_has_no_beds"
    with pytest.raises(CensusRefused) as empty:
        discharge(c)
    assert empty.value.code == "nothing_to_discharge"


def test_redeclaring_beds_keeps_the_patients() -> None:
    c = ServiceCensus("HP-HOC", "cardiology", declared=10, occupied=8)
    smaller = redeclare(c, 6)
    assert smaller.occupied == 8
    assert smaller.over_capacity
    with pytest.raises(CensusRefused):
        redeclare(c, -1)


def test_occupancy_levels() -> None:
    assert occupancy(0, 0) is None
    assert occupancy(17, 20) == pytest.approx(0.85)
    assert occupancy_level(None) is OccupancyLevel.UNKNOWN
    assert occupancy_level(0.5) is OccupancyLevel.NORMAL
    assert occupancy_level(0.85) is OccupancyLevel.HIGH
    assert occupancy_level(1.0) is OccupancyLevel.SATURATED
    for level in OccupancyLevel:
        assert level.label
        assert level.colour.startswith("#")


def test_occupied_at_counts_open_stays_at_an_instant() -> None:
    stays = [
        (T0, T0 + timedelta(days=3)),
        (T0 + timedelta(days=1), None),
        (T0 + timedelta(days=3), None),
    ]
    assert occupied_at(stays, T0 - timedelta(seconds=1)) == 0
    assert occupied_at(stays, T0) == 1
    assert occupied_at(stays, T0 + timedelta(days=2)) == 2
    # At the very instant of a discharge the bed is free; an admission takes it.
    assert occupied_at(stays, T0 + timedelta(days=3)) == 2


def test_total_over_services() -> None:
    t = total(
        [
            ServiceCensus("HP-HOC", "cardiology", 10, 9),
            ServiceCensus("HP-HOC", "general_surgery", 30, 12),
            ServiceCensus("HP-HOC", "paediatrics", 5, 7),  # over capacity: no negative free
        ]
    )
    assert (t.declared, t.occupied, t.free) == (45, 28, 19)
    assert t.occupancy == pytest.approx(28 / 45)


def test_validate_encounter() -> None:
    ok = validate_encounter(
        kind=EncounterKind.DISCHARGE,
        start=T0,
        end=T0 + timedelta(days=2),
        specialty="cardiology",
        discharge_mode=DischargeMode.HOME,
        diagnoses=["I21.9", "Z99.99"],
    )
    assert ok == []
    assert validate_encounter(kind=EncounterKind.CONSULTATION, start=T0, diagnoses=["J06.9"]) == []
    problems = validate_encounter(
        kind=EncounterKind.DISCHARGE,
        start=T0,
        end=T0 - timedelta(hours=1),
        discharge_mode=DischargeMode.TRANSFER,
        diagnoses=["XYZ"],
    )
    text = " | ".join(problems)
    assert "la fin précède le début" in text
    assert "service d'accueil" in text
    assert "transfert précise l'établissement" in text
    assert "n'est pas un code CIM-10 valide" in text
    assert validate_encounter(kind=EncounterKind.DISCHARGE, start=T0, specialty="cardiology")
    assert validate_encounter(
        kind=EncounterKind.EMERGENCY, start=T0, discharge_mode=DischargeMode.HOME
    ) == ["seule une sortie a un mode de sortie"]
    assert validate_encounter(kind=EncounterKind.ADMISSION, start=T0, specialty="spa") == [
        "service inconnu : spa"
    ]
    naive = T0.replace(tzinfo=None)
    assert validate_encounter(kind=EncounterKind.CONSULTATION, start=naive) == [
        "les dates doivent préciser leur fuseau horaire"
    ]
    assert validate_encounter(kind=EncounterKind.CONSULTATION, start=T0, end=naive) == [
        "les dates doivent préciser leur fuseau horaire"
    ]
