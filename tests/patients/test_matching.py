"""Scenarios of the admission desk, scored by a model trained on synthetic data."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parcours.patients.compare import FIELD_INDEX, compare
from parcours.patients.fellegi_sunter import Decision, Model, Rule, Thresholds
from parcours.patients.matching import best_by_person, decide_for_person, match, record_keys
from parcours.patients.records import SourceRecord, features
from parcours.patients.synthetic import FAMILY_NAMES, FEMALE_NAMES, MALE_NAMES

MOHAMED = SourceRecord(
    record_id="a",
    given_name="Mohamed",
    family_name="El Amrani",
    sex="M",
    birth_date="1980-03-05",
    commune="Tanger",
)


def one(model: Model, a: SourceRecord, b: SourceRecord, **kwargs: object) -> object:
    result = match(a, [b], model, Thresholds(**kwargs))  # type: ignore[arg-type]
    assert result.best is not None
    return result.best


def test_spelling_variants_with_the_same_birth_date_are_linked(model: Model) -> None:
    other = replace(MOHAMED, record_id="b", given_name="Mhammed", family_name="ELAMRANI")
    best = one(model, MOHAMED, other)
    assert best.decision is Decision.LINK  # type: ignore[attr-defined]


def test_a_year_only_birth_date_agrees_with_a_full_date_of_that_year(model: Model) -> None:
    old = SourceRecord(
        record_id="a",
        given_name="Abdelkader",
        family_name="Bakkali",
        sex="M",
        birth_date="1948",
        commune="Chefchaouen",
        phone="0612345678",
    )
    full = replace(old, record_id="b", birth_date="1948-05-20", given_name="Abdel Kader")
    levels, _ = compare(features(old), features(full))
    assert levels["birth_date"] == 5
    assert one(model, old, full).decision is Decision.LINK  # type: ignore[attr-defined]
    written_01_01 = replace(full, birth_date="1948-01-01")
    assert compare(features(written_01_01), features(full))[0]["birth_date"] == 5
    other_year = replace(full, birth_date="1961-05-20")
    assert one(model, old, other_year).decision is not Decision.LINK  # type: ignore[attr-defined]


def test_swapped_given_and_family_names_still_match(model: Model) -> None:
    swapped = replace(MOHAMED, record_id="b", given_name="Elamrani", family_name="Mohammed")
    levels, is_swapped = compare(features(MOHAMED), features(swapped))
    assert is_swapped
    assert levels["given"] >= 5
    assert levels["family"] >= 5
    best = one(model, MOHAMED, swapped)
    assert best.decision is Decision.LINK  # type: ignore[attr-defined]
    assert best.explanation.swapped  # type: ignore[attr-defined]


def test_arabic_script_matches_the_latin_spelling(model: Model) -> None:
    arabic = SourceRecord(
        record_id="b",
        given_name_ar="محمد",
        family_name_ar="العمراني",
        sex="ذكر",
        birth_date="1980-03-05",
        commune="طنجة",
    )
    levels, _ = compare(features(MOHAMED), features(arabic))
    assert levels["given"] == 5
    assert levels["family"] >= 5
    assert one(model, MOHAMED, arabic).decision is Decision.LINK  # type: ignore[attr-defined]
    # the keys of both spellings meet in the index
    assert set(record_keys(MOHAMED)) & set(record_keys(arabic))


def test_two_men_with_the_most_common_name_and_other_birth_dates_are_not_linked(
    model: Model,
) -> None:
    namesake = replace(MOHAMED, record_id="b", birth_date="1975-11-20")
    best = one(model, MOHAMED, namesake)
    assert best.decision is Decision.NEW  # type: ignore[attr-defined]
    year_only_namesake = replace(MOHAMED, record_id="c", birth_date="1962")
    assert one(model, MOHAMED, year_only_namesake).decision is Decision.NEW  # type: ignore[attr-defined]


def test_twins_are_not_linked(model: Model) -> None:
    household = {
        "family_name": "Tazi",
        "birth_date": "2012-09-14",
        "amo_number": "123456789",
        "phone": "0661234567",
        "address": "Hay Al Amal rue 12 n° 4",
        "commune": "Tétouan",
    }
    hassan = SourceRecord(record_id="a", given_name="Hassan", sex="M", **household)
    houssine = SourceRecord(record_id="b", given_name="Houssine", sex="M", **household)
    fatima = SourceRecord(record_id="c", given_name="Fatima", sex="F", **household)
    for twin in (houssine, fatima):
        best = one(model, hassan, twin)
        assert best.decision is Decision.NEW  # type: ignore[attr-defined]
        assert best.rule is Rule.TWINS  # type: ignore[attr-defined]


def test_a_parent_and_a_child_sharing_the_household_are_not_linked(model: Model) -> None:
    father = SourceRecord(
        record_id="a",
        given_name="Rachid",
        family_name="Ouazzani",
        sex="M",
        birth_date="1970-02-11",
        amo_number="987654321",
        phone="0677123456",
        commune="Larache",
    )
    son = replace(father, record_id="b", given_name="Rayan", birth_date="2001-07-30")
    assert one(model, father, son).decision is Decision.NEW  # type: ignore[attr-defined]


def test_same_cin_with_agreeing_names_links_whatever_the_rest(model: Model) -> None:
    a = replace(MOHAMED, cin="K123456")
    b = replace(MOHAMED, record_id="b", cin="k 123456", birth_date="1981-01-01", commune="")
    best = one(model, a, b)
    assert best.decision is Decision.LINK
    assert best.rule is Rule.CIN


def test_two_valid_cins_that_differ_are_never_an_automatic_link(model: Model) -> None:
    a = replace(MOHAMED, cin="K123456", phone="0612345678")
    b = replace(a, record_id="b", cin="LC987654")
    best = one(model, a, b)
    assert best.decision is not Decision.LINK  # type: ignore[attr-defined]
    cin = next(f for f in best.explanation.fields if f.field == "cin")  # type: ignore[attr-defined]
    assert cin.bits < -5


def test_same_amo_same_given_name_and_compatible_date_links_by_rule(model: Model) -> None:
    a = replace(MOHAMED, amo_number="555666777", birth_date="1980")
    b = replace(MOHAMED, record_id="b", amo_number="555 666 777", family_name="Amrani")
    best = one(model, a, b)
    assert best.decision is Decision.LINK
    assert best.rule is Rule.AMO


def test_agreeing_on_mohamed_weighs_less_than_agreeing_on_a_rare_name(model: Model) -> None:
    rare = replace(MOHAMED, given_name="Zakaria")
    common_pair = match(MOHAMED, [replace(MOHAMED, record_id="b")], model).best
    rare_pair = match(rare, [replace(rare, record_id="b")], model).best
    assert common_pair is not None
    assert rare_pair is not None
    given = FIELD_INDEX["given"]
    common_bits = common_pair.explanation.fields[given].bits
    rare_bits = rare_pair.explanation.fields[given].bits
    assert common_bits + 1.0 < rare_bits
    assert common_pair.weight < rare_pair.weight


def test_thresholds_route_to_link_review_or_new(model: Model) -> None:
    candidate = replace(MOHAMED, record_id="b", birth_date="1980", sex="")
    p = one(model, MOHAMED, candidate).probability  # type: ignore[attr-defined]
    assert 0.0 < p < 1.0
    assert one(model, MOHAMED, candidate, upper=p * 0.99, lower=p * 0.5).decision is Decision.LINK  # type: ignore[attr-defined]
    middle = min(p * 1.001, (1 + p) / 2)
    assert one(model, MOHAMED, candidate, upper=middle, lower=p * 0.99).decision is Decision.REVIEW  # type: ignore[attr-defined]
    assert one(model, MOHAMED, candidate, upper=middle, lower=middle).decision is Decision.NEW  # type: ignore[attr-defined]


def test_the_explanation_adds_up_to_the_weight(model: Model) -> None:
    best = one(model, MOHAMED, replace(MOHAMED, record_id="b", given_name="Mohammed"))
    explanation = best.explanation  # type: ignore[attr-defined]
    total = explanation.prior_bits + sum(f.bits for f in explanation.fields) + explanation.swap_bits
    assert abs(total - explanation.weight) < 0.05
    assert {f.field for f in explanation.fields} >= {"given", "family", "birth_date", "cin"}


def test_the_result_is_decided_for_the_person(model: Model) -> None:
    candidates = [
        replace(MOHAMED, record_id="b", given_name="Mohammed"),
        replace(MOHAMED, record_id="c", given_name="Muhammad"),
        replace(MOHAMED, record_id="d", birth_date="1950-10-10", given_name="Driss"),
    ]
    result = match(MOHAMED, candidates, model)
    assert result.decision is Decision.LINK
    assert decide_for_person(result, {"b": "P1", "c": "P1"}) is Decision.LINK
    assert decide_for_person(result, {"b": "P1", "c": "P2"}) is Decision.REVIEW
    ranked = best_by_person(result, {"b": "P1", "c": "P1", "d": "P3"})
    assert next(person for person, _ in ranked) == "P1"
    assert match(MOHAMED, [MOHAMED], model).decision is Decision.NEW  # itself is ignored


given_names = st.sampled_from([n.canonical for n in (*MALE_NAMES, *FEMALE_NAMES)])
family_names = st.sampled_from([n.canonical for n in FAMILY_NAMES])
full_dates = st.dates(min_value=date(1925, 1, 2), max_value=date(2024, 12, 31)).filter(
    lambda d: (d.month, d.day) != (1, 1)
)


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(given_names, family_names, full_dates, st.sampled_from(["M", "F", ""]))
def test_a_record_always_matches_its_own_copy(
    model: Model, given_name: str, family_name: str, born: object, sex: str
) -> None:
    record = SourceRecord(
        record_id="x",
        given_name=given_name,
        family_name=family_name,
        birth_date=born.isoformat(),  # type: ignore[attr-defined]
        sex=sex,
    )
    best = match(record, [replace(record, record_id="y")], model).best
    assert best is not None
    assert best.decision is Decision.LINK
    assert best.probability >= Thresholds().upper


def test_namesakes_with_a_rare_name_and_other_birth_dates_are_left_to_a_person(
    model: Model,
) -> None:
    cousin = SourceRecord(
        record_id="a",
        given_name="Younes",
        family_name="Ghazouani",
        sex="M",
        birth_date="1991-06-23",
    )
    other = replace(cousin, record_id="b", birth_date="1993-02-11")
    assert one(model, cousin, other).decision is not Decision.LINK  # type: ignore[attr-defined]


def test_the_untrained_model_links_duplicates_but_not_namesakes() -> None:
    """Before the first training, registrations are matched with the prior model: it
    must already keep apart two men with the same name born two years apart (a flat
    chance-agreement prior once made agreeing on sex alone worth ten bits)."""
    priors = Model.from_priors()
    assert priors.bits()[FIELD_INDEX["sex"], 2] < 1.5
    duplicate = replace(MOHAMED, record_id="b", given_name="Mohammed")
    assert one(priors, MOHAMED, duplicate).decision is Decision.LINK  # type: ignore[attr-defined]
    namesake = replace(MOHAMED, record_id="c", birth_date="1982-07-19")
    assert one(priors, MOHAMED, namesake).decision is Decision.NEW  # type: ignore[attr-defined]
    undated = replace(MOHAMED, record_id="d", birth_date="")
    assert one(priors, MOHAMED, undated).decision is Decision.REVIEW  # type: ignore[attr-defined]


def test_a_model_with_non_finite_statistics_stores_as_json() -> None:
    import json

    model = Model.from_priors()
    model.notes["household_share"] = float("nan")
    model.notes["by_round"] = [float("inf"), 0.5]
    stored = json.dumps(model.to_dict(), allow_nan=False)  # as PostgreSQL's JSON demands
    again = Model.from_dict(json.loads(stored))
    assert again.notes["household_share"] is None
    assert again.notes["by_round"] == [None, 0.5]
