"""Routing proposals: the designated destination first, full services sink, reasons shown."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from parcours.pathways.pathway_map import MapException, amend_map
from parcours.pathways.referral import Priority
from parcours.pathways.routing import (
    LevelFit,
    LiveFacts,
    ProposalFlag,
    RoutingResult,
    format_beds,
    format_distance,
    format_wait,
    median_duration,
    propose,
)
from tests.pathways.region import BY_CODE, REGION, T0, V1

F = ProposalFlag
SOURCE = BY_CODE["CSR-HOC-01"]
DAY = timedelta(days=1)


def codes(result: RoutingResult) -> list[str]:
    return [p.code for p in result.proposals]


def live(**beds_and_wait: tuple[int | None, float | None]) -> dict[str, LiveFacts]:
    return {
        code.replace("_", "-"): LiveFacts(beds, None if days is None else days * DAY)
        for code, (beds, days) in beds_and_wait.items()
    }


BASE = live(HP_HOC=(3, 6), HR_TET=(4, 10), HR_TNG=(8, 12), CHU_TNG=(2, 30))


def test_designated_first_then_alternatives_by_level_distance_beds() -> None:
    result = propose(SOURCE, "cardiology", Priority.ROUTINE, V1, REGION, BASE)
    assert result.designation is not None
    assert result.designation.destination == "HP-HOC"
    assert result.map_version == 1
    # HR-TET is nearer (Tétouan) than the two Tanger hospitals; between those,
    # same distance band: more free beds first.
    assert codes(result) == ["HP-HOC", "HR-TET", "HR-TNG", "CHU-TNG"]
    first = result.proposals[0]
    assert first.rank == 1
    assert first.designated
    assert F.DESIGNATED in first.flags
    assert first.level_fit is LevelFit.EXPECTED
    assert first.reasons[0].startswith("désigné par la carte sanitaire (version 1)")
    assert "3 lits disponibles" in first.reasons
    assert "délai d'attente médian 6 j" in first.reasons
    assert any(r.startswith("à ") and r.endswith(" km") for r in first.reasons)
    others = result.proposals[1:]
    assert all(F.OUTSIDE_MAP in p.flags and not p.designated for p in others)
    assert all(p.level_fit is LevelFit.HIGHER for p in others)
    assert [p.rank for p in result.proposals] == [1, 2, 3, 4]
    # Closed establishments and the source itself are never proposed.
    assert "HP-OLD" not in codes(result)
    assert "CSR-HOC-01" not in codes(result)


def test_a_full_designated_service_sinks_but_stays_flagged() -> None:
    facts = {**BASE, **live(HP_HOC=(0, 6))}
    result = propose(SOURCE, "cardiology", Priority.URGENT, V1, REGION, facts)
    assert codes(result) == ["HR-TET", "HR-TNG", "CHU-TNG", "HP-HOC"]
    last = result.proposals[-1]
    assert last.designated
    assert last.flags == {F.DESIGNATED, F.FULL}
    assert last.full
    assert "service complet : 0 lit disponible" in last.reasons
    assert last.reasons[0].startswith("désigné par la carte sanitaire")


def test_a_full_alternative_ranks_below_every_service_with_beds() -> None:
    facts = {**BASE, **live(HR_TET=(0, 1))}
    result = propose(SOURCE, "cardiology", Priority.ROUTINE, V1, REGION, facts)
    assert codes(result) == ["HP-HOC", "HR-TNG", "CHU-TNG", "HR-TET"]
    with_beds = [p for p in result.proposals if not p.full]
    full = [p for p in result.proposals if p.full]
    assert max(p.rank for p in with_beds) < min(p.rank for p in full)


def test_for_a_consultation_fullness_is_shown_but_does_not_sink() -> None:
    facts = {**BASE, **live(HP_HOC=(0, 6))}
    result = propose(SOURCE, "cardiology", Priority.ROUTINE, V1, REGION, facts, needs_bed=False)
    assert codes(result)[0] == "HP-HOC"
    assert F.FULL in result.proposals[0].flags


def test_unknown_beds_do_not_demote_the_designated_destination() -> None:
    result = propose(SOURCE, "cardiology", Priority.ROUTINE, V1, REGION, {})
    assert codes(result)[0] == "HP-HOC"
    assert "lits disponibles : non renseigné" in result.proposals[0].reasons
    assert "délai d'attente médian : non renseigné" in result.proposals[0].reasons


def test_a_designated_establishment_lacking_the_service_goes_last_flagged() -> None:
    v2 = amend_map(
        V1,
        author="admin",
        at=T0,
        reason="essai",
        add=[MapException("CSR-HOC-01", "cardiology", "HPR-IMZ")],
    )
    result = propose(SOURCE, "cardiology", Priority.ROUTINE, v2, REGION, BASE)
    assert codes(result)[-1] == "HPR-IMZ"
    last = result.proposals[-1]
    assert last.flags == {F.DESIGNATED, F.LACKS_SERVICE}
    assert "n'offre pas ce service au registre des établissements" in last.reasons
    assert codes(result)[0] == "HP-HOC"  # the best real option comes first


def test_waiting_time_breaks_ties_for_routine_but_not_for_urgent() -> None:
    # The two Tanger hospitals: same place, same beds; the CHU's consultations wait longer.
    facts = {**BASE, **live(HR_TNG=(5, 1), CHU_TNG=(5, 30))}
    routine = propose(SOURCE, "cardiology", Priority.ROUTINE, V1, REGION, facts)
    assert codes(routine).index("HR-TNG") < codes(routine).index("CHU-TNG")
    urgent = propose(SOURCE, "cardiology", Priority.URGENT, V1, REGION, facts)
    # Urgent: the wait is not ranked on; same beds, same distance: the code decides.
    assert codes(urgent).index("CHU-TNG") < codes(urgent).index("HR-TNG")


def test_order_is_deterministic_whatever_the_input_order() -> None:
    facts = {**BASE, **live(HR_TNG=(5, 12), CHU_TNG=(5, 12))}
    expected = codes(propose(SOURCE, "cardiology", Priority.ROUTINE, V1, REGION, facts))
    assert expected.index("CHU-TNG") < expected.index("HR-TNG")  # full tie: by code
    for seed in range(5):
        shuffled = list(REGION)
        random.Random(seed).shuffle(shuffled)
        again = propose(SOURCE, "cardiology", Priority.ROUTINE, V1, shuffled, facts)
        assert codes(again) == expected


def test_same_level_alternatives_and_limit() -> None:
    source = BY_CODE["HP-HOC"]
    result = propose(source, "general_surgery", Priority.PRIORITY, V1, REGION, {}, limit=10)
    by_code = {p.code: p for p in result.proposals}
    assert result.designation is not None
    assert result.designation.destination == "HR-TET"
    assert codes(result)[0] == "HR-TET"
    assert by_code["HPR-IMZ"].level_fit is LevelFit.SAME_AS_SOURCE
    assert by_code["CHU-TNG"].level_fit is LevelFit.HIGHER
    assert by_code["HR-TNG"].level_fit is LevelFit.EXPECTED
    assert codes(result)[-1] in {"HPR-IMZ", "HP-LAR", "HP-CHE"}  # peers come last
    assert (
        len(
            propose(source, "general_surgery", Priority.PRIORITY, V1, REGION, {}, limit=2).proposals
        )
        == 2
    )


def test_no_designation_still_proposes_by_level() -> None:
    source = BY_CODE["CHU-TNG"]
    result = propose(source, "cardiology", Priority.ROUTINE, V1, REGION, {})
    assert result.designation is None
    assert result.proposals == ()  # nothing at level 4 besides itself


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "distance inconnue (coordonnées manquantes)"),
        (0.3, "à moins de 1 km"),
        (42.4, "à 42 km"),
        (141.6, "à 142 km"),
    ],
)
def test_format_distance(value: float | None, text: str) -> None:
    assert format_distance(value) == text


def test_format_beds_and_wait() -> None:
    assert format_beds(0) == "service complet : 0 lit disponible"
    assert format_beds(1) == "1 lit disponible"
    assert format_beds(12) == "12 lits disponibles"
    assert format_wait(6 * DAY) == "délai d'attente médian 6 j"
    assert format_wait(timedelta(hours=5)) == "délai d'attente médian 5 h"


def test_median_duration() -> None:
    assert median_duration([]) is None
    assert median_duration([3 * DAY, DAY, 10 * DAY]) == 3 * DAY
    assert median_duration([DAY, 2 * DAY, 4 * DAY, 30 * DAY]) == 3 * DAY


def test_a_source_missing_from_the_list_is_still_routed() -> None:
    region_without_source = [e for e in REGION if e.code != "CSR-HOC-01"]
    result = propose(SOURCE, "cardiology", Priority.ROUTINE, V1, region_without_source, BASE)
    assert codes(result)[0] == "HP-HOC"
