"""The pathway map: default designations by care level, exceptions, versions, bypasses."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest

from parcours.pathways.geo import haversine_km
from parcours.pathways.pathway_map import (
    ArrivalFact,
    DesignationRule,
    MapChangeInvalid,
    MapException,
    MapIndex,
    MapVersion,
    ReferralFact,
    amend_map,
    count_bypasses,
    designated_destination,
    is_along_map,
    map_edges,
    validate_exception,
)
from parcours.pathways.referral import Priority, new_referral
from parcours.territory.rules import EstablishmentType as T
from tests.pathways.region import BY_CODE, REGION, T0, TANGER, TETOUAN, V1, est

R = DesignationRule


def _v2() -> MapVersion:
    return amend_map(
        V1,
        author="admin.region",
        at=T0 + timedelta(days=30),
        reason="Fahs-Anjra sans hôpital : ses centres vont à l'hôpital préfectoral de Tanger",
        add=[
            MapException("CSR-FAN-01", None, "HR-TNG", "convention provinciale"),
            MapException("CSR-HOC-01", "cardiology", "HR-TET"),
        ],
    )


def test_haversine_tanger_tetouan() -> None:
    assert haversine_km(*TANGER, *TETOUAN) == pytest.approx(46.5, abs=1.0)
    assert haversine_km(*TANGER, *TANGER) == 0


@pytest.mark.parametrize(
    ("source", "specialty", "destination", "rule"),
    [
        # A health centre goes to a level-2 hospital of its province offering the specialty…
        ("CSR-HOC-01", "cardiology", "HP-HOC", R.LEVEL_2_PROVINCE),
        # …the nearest one when several do (Imzouren is nearer than Al Hoceïma).
        ("CSR-HOC-01", "general_surgery", "HPR-IMZ", R.LEVEL_2_PROVINCE),
        # A province without hospital: up to the nearest level 3 of the region.
        ("CSR-FAN-01", "general_surgery", "HR-TNG", R.LEVEL_3_REGION),
        # A level-2 hospital goes to the nearest regional hospital offering it.
        ("HP-HOC", "cardiology", "HR-TET", R.LEVEL_3_REGION),
        ("HP-LAR", "general_surgery", "HR-TNG", R.LEVEL_3_REGION),
        # Level 3 to the CHU.
        ("HR-TET", "cardiology", "CHU-TNG", R.LEVEL_4),
        # CHU-only specialties go straight to the CHU, from any level.
        ("CSR-HOC-01", "neurosurgery", "CHU-TNG", R.LEVEL_4),
        ("HP-HOC", "oncology", "CHU-TNG", R.LEVEL_4),
        # A CHU-level specialty the CHU lacks: the best level below that has it.
        ("HP-LAR", "burns", "HR-TNG", R.LEVEL_3_REGION),
        # Nothing above offers it: a peer of the same level.
        ("HR-TNG", "infectious_diseases", "HR-TET", R.PEER),
    ],
)
def test_default_designations(
    source: str, specialty: str, destination: str, rule: DesignationRule
) -> None:
    d = designated_destination(source, specialty, V1, REGION)
    assert d is not None
    assert (d.destination, d.rule) == (destination, rule)
    assert d.map_version == 1
    assert d.reason.startswith("désigné par la carte sanitaire (version 1)")


def test_reason_says_when_the_chu_lacks_a_chu_specialty() -> None:
    d = designated_destination("HP-LAR", "burns", V1, REGION)
    assert d is not None
    assert "aucun CHU" in d.reason
    assert "Grands brûlés" in d.reason


def test_nobody_designated() -> None:
    assert designated_destination("CHU-TNG", "cardiology", V1, REGION) is None
    assert designated_destination("CSR-HOC-01", "psychiatry", V1, REGION) is None
    assert designated_destination("NOWHERE", "cardiology", V1, REGION) is None


def test_closed_establishments_are_never_designated() -> None:
    # HP-OLD (closed) stands at Al Hoceïma with cardiology; HP-HOC is designated.
    d = designated_destination(BY_CODE["CSR-HOC-01"], "cardiology", V1, REGION)
    assert d is not None
    assert d.destination == "HP-HOC"


def test_ties_break_on_the_code_whatever_the_order() -> None:
    twins = [
        est("CSR-X", T.CSR_1, "TNG", None, {}),
        est("HP-B", T.PROVINCIAL_HOSPITAL, "TNG", None, {"cardiology": 5}),
        est("HP-A", T.PROVINCIAL_HOSPITAL, "TNG", None, {"cardiology": 5}),
        est("HP-C", T.PROXIMITY_HOSPITAL, "TNG", TANGER, {"cardiology": 5}),
    ]
    for seed in range(5):
        shuffled = twins[:]
        random.Random(seed).shuffle(shuffled)
        d = designated_destination("CSR-X", "cardiology", V1, shuffled)
        assert d is not None
        # Unknown coordinates on both ends: every distance is unknown, so the code decides.
        assert d.destination == "HP-A"


def test_exceptions_override_the_defaults() -> None:
    v2 = _v2()
    d = designated_destination("CSR-FAN-01", "general_surgery", v2, REGION)
    assert d is not None
    assert (d.destination, d.rule) == ("HR-TNG", R.EXCEPTION)
    assert "convention provinciale" in d.reason
    d = designated_destination("CSR-HOC-01", "cardiology", v2, REGION)
    assert d is not None
    assert (d.destination, d.rule, d.map_version) == ("HR-TET", R.EXCEPTION, 2)
    # The general exception does not hide a more specific default elsewhere.
    d = designated_destination("CSR-HOC-01", "general_surgery", v2, REGION)
    assert d is not None
    assert d.destination == "HPR-IMZ"


def test_an_exception_to_a_closed_establishment_is_ignored_and_said_so() -> None:
    v = amend_map(
        V1,
        author="a",
        at=T0,
        reason="r",
        add=[MapException("CSR-HOC-01", "cardiology", "HP-OLD")],
    )
    d = designated_destination("CSR-HOC-01", "cardiology", v, REGION)
    assert d is not None
    assert d.destination == "HP-HOC"
    assert "ignorée" in d.reason


def test_versions_are_never_rewritten() -> None:
    v2 = _v2()
    assert V1.exceptions == ()
    assert v2.number == 2
    v3 = amend_map(
        v2,
        author="admin.region",
        at=T0 + timedelta(days=60),
        reason="retour à la règle",
        remove=[("CSR-HOC-01", "cardiology")],
    )
    assert v3.number == 3
    assert [e.key for e in v3.exceptions] == [("CSR-FAN-01", None)]
    assert len(v2.exceptions) == 2


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"author": " "}, "map_author_required"),
        ({"reason": ""}, "map_reason_required"),
        ({"at": T0 - timedelta(days=1)}, "map_date_before_previous"),
        ({"add": [MapException("A", "astrology", "B")]}, "map_unknown_specialty"),
        ({"add": [MapException("A", None, "A")]}, "map_exception_to_itself"),
        (
            {"add": [MapException("A", None, "B"), MapException("A", None, "C")]},
            "map_duplicate_exception",
        ),
        ({"remove": [("A", None)]}, "map_nothing_to_remove"),
        ({}, "map_no_change"),
    ],
)
def test_map_changes_refused(kwargs: dict[str, Any], code: str) -> None:
    base: dict[str, Any] = {"author": "admin", "at": T0, "reason": "motif"}
    with pytest.raises(MapChangeInvalid) as caught:
        amend_map(V1, **{**base, **kwargs})
    assert caught.value.code == code
    assert caught.value.status_code == 422
    assert caught.value.render()


def test_validate_exception_against_the_registry() -> None:
    assert validate_exception(MapException("CSR-HOC-01", "cardiology", "HR-TET"), REGION) == []
    problems = validate_exception(MapException("CSR-HOC-01", "neurosurgery", "HP-OLD"), REGION)
    assert any("pas en service" in p for p in problems)
    assert any("n'offre pas" in p for p in problems)
    problems = validate_exception(MapException("HR-TET", "cardiology", "HP-HOC"), REGION)
    assert any("inférieur" in p for p in problems)
    problems = validate_exception(MapException("X", None, "Y"), REGION)
    assert len(problems) == 2


def test_the_map_version_a_referral_followed_is_kept() -> None:
    # Drafted under version 1, along the map: CSR-HOC-01 → HP-HOC for cardiology.
    d = designated_destination("CSR-HOC-01", "cardiology", V1, REGION)
    assert d is not None
    referral = new_referral(
        source="CSR-HOC-01",
        destination="HP-HOC",
        specialty="cardiology",
        priority=Priority.ROUTINE,
        now=T0,
        by="inf",
        map_version=V1.number,
        designated_destination=d.destination,
    ).snapshot
    v2 = _v2()  # now designates HR-TET for this pair
    versions = {1: V1, 2: v2}
    assert referral.map_version is not None
    followed = versions[referral.map_version]
    assert is_along_map("CSR-HOC-01", "HP-HOC", "cardiology", followed, REGION)
    assert not is_along_map("CSR-HOC-01", "HP-HOC", "cardiology", v2, REGION)
    assert referral.along_map is True  # the stamp does not move either
    fact = ReferralFact("CSR-HOC-01", "HP-HOC", "cardiology", referral.map_version)
    report = count_bypasses([fact], [], versions, REGION)
    assert report.outside_map == 0


def test_map_edges_of_a_specialty() -> None:
    edges = map_edges("cardiology", V1, REGION)
    pairs = {(e.source, e.destination) for e in edges}
    assert ("CSR-HOC-01", "HP-HOC") in pairs
    assert ("HP-HOC", "HR-TET") in pairs
    assert ("HR-TET", "CHU-TNG") in pairs
    assert ("HR-TNG", "CHU-TNG") in pairs
    assert all(e.source != "CHU-TNG" for e in edges)
    assert all(e.source != "HP-OLD" for e in edges)  # closed
    assert [e.source for e in edges] == sorted(e.source for e in edges)
    assert map_edges("cardiology", V1, list(reversed(REGION))) == edges


def test_bypass_counting_on_a_fixed_set() -> None:
    versions = {1: V1}
    referrals = [
        ReferralFact("CSR-HOC-01", "HP-HOC", "cardiology", 1),  # along
        ReferralFact("HP-HOC", "HR-TET", "cardiology", 1),  # along
        ReferralFact("CSR-HOC-01", "CHU-TNG", "cardiology", 1),  # skips two levels
        ReferralFact("CSR-HOC-01", "HR-TET", "cardiology", 1, redirected=True),  # a redirect
        ReferralFact("CSR-HOC-01", "HP-HOC", "cardiology", None),  # no version: unjudged
        ReferralFact("CSR-FAN-01", "CHU-TNG", "general_surgery", 1, "HR-TNG"),  # stamped
        ReferralFact("UNKNOWN", "HP-HOC", "cardiology", 1),  # source unknown: unjudged
    ]
    arrivals = [
        ArrivalFact("CHU-TNG", via_referral=True),
        ArrivalFact("CHU-TNG", via_referral=True),
        ArrivalFact("CHU-TNG", via_referral=True, emergency=True),
        ArrivalFact("CHU-TNG", via_referral=False, emergency=True),
        ArrivalFact("CHU-TNG", via_referral=False),
        ArrivalFact("HP-HOC", via_referral=False),  # not the CHU: not watched
        ArrivalFact("GHOST", via_referral=False),
    ]
    report = count_bypasses(referrals, arrivals, versions, MapIndex(REGION))
    assert report.referrals == 7
    assert report.redirects == 1
    assert report.unjudged == 2
    assert report.judged == 4
    assert report.outside_map == 2
    assert dict(report.outside_map_by_specialty) == {"cardiology": 1, "general_surgery": 1}
    assert report.outside_map_rate == pytest.approx(0.5)
    assert report.arrivals == 5
    assert report.arrivals_without_referral == 2
    assert report.arrivals_without_referral_emergency == 1
    assert dict(report.arrivals_without_referral_by_establishment) == {"CHU-TNG": 2}
    assert report.without_referral_rate == pytest.approx(0.4)
    # Watching level 2 too counts the provincial hospital's unreferred arrival.
    wider = count_bypasses([], arrivals, versions, REGION, watched_levels=frozenset({2, 4}))
    assert wider.arrivals_without_referral == 3
    empty = count_bypasses([], [], versions, REGION)
    assert empty.outside_map_rate is None
    assert empty.without_referral_rate is None
