"""The workforce's pure rules: assignments, rosters, the mobility workflow, norms, projection."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from parcours.access.rules import Principal, Role, Scope, ScopeKind
from parcours.territory.rules import EstablishmentType
from parcours.workforce import rules
from parcours.workforce.rules import (
    Category,
    DutyKind,
    MobilityAction,
    MobilitySnapshot,
    MobilityState,
    NormLine,
    Opinion,
    Period,
    Shift,
    Site,
    StepRefused,
)

D = date(2025, 10, 1)


def _codes(problems: list[rules.Problem]) -> list[str]:
    return [p.code for p in problems]


# --- assignments ---------------------------------------------------------------------


def test_overlapping_assignment_to_the_same_service_is_refused() -> None:
    held = [Period("HP-TET-01", "cardiology", 100, date(2020, 1, 1))]
    new = Period("HP-TET-01", "cardiology", 20, date(2025, 1, 1), date(2025, 6, 30))
    assert _codes(rules.check_assignment(new, held)) == ["overlapping_assignment"]


def test_shares_above_100_percent_are_refused_at_the_first_day_they_add_up() -> None:
    held = [
        Period("CHU-TNG", "cardiology", 60, date(2020, 1, 1)),
        Period("HP-TET-01", "cardiology", 30, date(2025, 3, 1), date(2025, 12, 31)),
    ]
    new = Period("HP-HOC-01", "cardiology", 20, date(2025, 1, 1))
    problems = rules.check_assignment(new, held)
    assert _codes(problems) == ["share_over_100"]
    assert "110 %" in problems[0].message
    assert "2025-03-01" in problems[0].message


def test_shares_that_fit_and_periods_that_follow_each_other_are_accepted() -> None:
    held = [
        Period("CHU-TNG", "cardiology", 60, date(2020, 1, 1)),
        Period("HP-TET-01", "cardiology", 40, date(2020, 1, 1), date(2024, 12, 31)),
    ]
    assert rules.check_assignment(Period("HP-TET-01", "cardiology", 40, D), held) == []
    # The end of the first and the start of the next are on different days: no overlap.
    assert not Period("A", "", 100, date(2024, 1, 1), date(2024, 12, 31)).overlaps(
        Period("A", "", 100, date(2025, 1, 1))
    )


@pytest.mark.parametrize(
    ("share", "end", "code"),
    [
        (0, None, "invalid_share"),
        (101, None, "invalid_share"),
        (50, date(2024, 1, 1), "invalid_period"),
    ],
)
def test_bad_shares_and_periods(share: int, end: date | None, code: str) -> None:
    assert _codes(rules.check_assignment(Period("A", "", share, D, end), [])) == [code]


def test_main_assignment_is_the_largest_share() -> None:
    periods = [Period("A", "", 30, date(2020, 1, 1)), Period("B", "", 70, date(2022, 1, 1))]
    main = rules.main_assignment(periods, D)
    assert main is not None
    assert main.establishment == "B"
    assert rules.main_assignment(periods, date(2019, 1, 1)) is None


# --- rosters -------------------------------------------------------------------------

ASSIGNED = [Period("HP-TET-01", "anaesthesia_icu", 100, date(2020, 1, 1))]


def _shift(
    day: int, hour: int, hours: int, kind: DutyKind = DutyKind.ON_SITE, where: str = "HP-TET-01"
) -> Shift:
    start = datetime(2025, 10, day, hour)  # noqa: DTZ001 - the rules work in local time
    return Shift(1, where, "anaesthesia_icu", kind, start, start + timedelta(hours=hours))


def test_a_night_on_site_is_detected_and_a_day_shift_is_not() -> None:
    assert _shift(3, 20, 12).is_night
    assert _shift(3, 8, 24).is_night
    assert not _shift(3, 8, 10).is_night
    assert _shift(3, 2, 3).is_night


def test_rest_after_a_night_on_call_is_required() -> None:
    night = _shift(3, 20, 12)  # 20:00 → 08:00 the next day
    too_soon = _shift(4, 14, 6)  # six hours after the end
    problems = rules.check_shift(too_soon, [night], ASSIGNED)
    assert _codes(problems) == ["rest_after_night"]
    assert rules.check_shift(_shift(4, 19, 6), [night], ASSIGNED) == []  # 11 hours later


def test_a_night_may_not_be_put_just_before_an_existing_duty() -> None:
    day_shift = _shift(4, 12, 8)
    night = _shift(3, 20, 12)  # ends at 08:00, four hours before
    assert _codes(rules.check_shift(night, [day_shift], ASSIGNED)) == ["rest_after_night"]


def test_an_astreinte_at_home_needs_no_rest_after_it() -> None:
    on_call = _shift(3, 20, 12, DutyKind.ON_CALL)
    assert rules.check_shift(_shift(4, 9, 8), [on_call], ASSIGNED) == []


def test_no_one_is_in_two_places_at_once() -> None:
    assigned_both = [*ASSIGNED, Period("CHU-TNG", "anaesthesia_icu", 50, date(2020, 1, 1))]
    here = _shift(5, 8, 12)
    there = _shift(5, 18, 12, where="CHU-TNG")
    problems = rules.check_shift(there, [here], assigned_both)
    assert "two_places_at_once" in _codes(problems)


def test_a_duty_is_taken_only_where_one_is_assigned() -> None:
    assert _codes(rules.check_shift(_shift(5, 8, 8, where="CHU-TNG"), [], ASSIGNED)) == [
        "not_assigned"
    ]


def test_duty_lengths() -> None:
    assert _codes(rules.check_shift(_shift(5, 8, 25), [], ASSIGNED)) == ["shift_too_long"]
    backwards = Shift(
        1, "HP-TET-01", "", DutyKind.ON_SITE, _shift(5, 8, 1).start, _shift(5, 7, 1).start
    )
    assert _codes(rules.check_shift(backwards, [], ASSIGNED)) == ["invalid_shift"]


# --- mobility ------------------------------------------------------------------------

NOW = datetime(2025, 11, 3, 9, tzinfo=UTC)


def _who(role: Role, scope: str = "gst") -> Principal:
    kind, _, values = scope.partition(":")
    return Principal(
        1,
        f"{role.value}.{scope}",
        role,
        Scope(ScopeKind(kind), frozenset(v for v in values.split(",") if v)),
    )


REGION_HR = _who(Role.HR_OFFICER)
RELEASING_HR = _who(Role.HR_OFFICER, "establishment:CHU-TNG")
RECEIVING_HR = _who(Role.HR_OFFICER, "establishment:HP-HOC-01")
OTHER_HR = _who(Role.HR_OFFICER, "establishment:HP-TET-01")
PROVINCE_HR = _who(Role.HR_OFFICER, "province:HOC")
ADMIN = _who(Role.REGIONAL_ADMIN)
CHU_ADMIN = _who(Role.ESTABLISHMENT_ADMIN, "establishment:CHU-TNG")


def _request(**changes: object) -> MobilitySnapshot:
    base = MobilitySnapshot(
        MobilityState.AWAITING_OPINIONS,
        "CHU-TNG",
        "TNG",
        "HP-HOC-01",
        "HOC",
        NOW - timedelta(days=2),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_the_whole_workflow_with_each_role_taking_its_step() -> None:
    snap = _request()
    step = rules.apply_step(
        snap, MobilityAction.RELEASING_OPINION, RELEASING_HR, NOW, opinion=Opinion.FAVOURABLE
    )
    assert step.snapshot.state is MobilityState.AWAITING_OPINIONS
    assert step.establishment == "CHU-TNG"
    assert step.snapshot.version == 2
    step = rules.apply_step(
        step.snapshot,
        MobilityAction.RECEIVING_OPINION,
        PROVINCE_HR,
        NOW,
        opinion=Opinion.UNFAVOURABLE,
    )
    assert step.snapshot.state is MobilityState.AWAITING_DECISION
    step = rules.apply_step(
        step.snapshot,
        MobilityAction.APPROVE,
        REGION_HR,
        NOW,
        effective_on=date(2025, 12, 1),
        today=NOW.date(),
    )
    assert step.snapshot.state is MobilityState.APPROVED
    assert step.snapshot.effective_on == date(2025, 12, 1)
    with pytest.raises(StepRefused) as early:
        rules.apply_step(
            step.snapshot, MobilityAction.TAKE_EFFECT, REGION_HR, NOW, today=NOW.date()
        )
    assert early.value.code == "not_yet"
    done = rules.apply_step(
        step.snapshot, MobilityAction.TAKE_EFFECT, REGION_HR, NOW, today=date(2025, 12, 1)
    )
    assert done.snapshot.state is MobilityState.EFFECTIVE
    assert not done.snapshot.state.is_open


@pytest.mark.parametrize(
    ("who", "action", "code"),
    [
        # An establishment cannot give the opinion of another.
        (OTHER_HR, MobilityAction.RELEASING_OPINION, "not_your_establishment"),
        (RECEIVING_HR, MobilityAction.RELEASING_OPINION, "not_your_establishment"),
        (RELEASING_HR, MobilityAction.RECEIVING_OPINION, "not_your_establishment"),
        # The GST-wide officer does not speak for an establishment.
        (REGION_HR, MobilityAction.RELEASING_OPINION, "not_your_establishment"),
        # An establishment administrator reads but does not write the workforce.
        (CHU_ADMIN, MobilityAction.RELEASING_OPINION, "not_your_establishment"),
        # Only the GST-wide HR decides; an establishment never approves, for itself or another.
        (RELEASING_HR, MobilityAction.APPROVE, "regional_decision"),
        (RECEIVING_HR, MobilityAction.APPROVE, "regional_decision"),
        (PROVINCE_HR, MobilityAction.REJECT, "regional_decision"),
        (ADMIN, MobilityAction.APPROVE, "regional_decision"),
    ],
)
def test_each_role_has_its_rights(who: Principal, action: MobilityAction, code: str) -> None:
    snap = _request(
        state=MobilityState.AWAITING_DECISION,
        releasing_opinion=Opinion.FAVOURABLE,
        receiving_opinion=Opinion.FAVOURABLE,
    )
    if action in (MobilityAction.RELEASING_OPINION, MobilityAction.RECEIVING_OPINION):
        snap = _request()
    with pytest.raises(StepRefused) as refused:
        rules.apply_step(snap, action, who, NOW, opinion=Opinion.FAVOURABLE)
    assert refused.value.code == code
    assert refused.value.status == 403


def test_the_region_waits_for_the_opinions_until_their_deadline() -> None:
    snap = _request()
    with pytest.raises(StepRefused) as refused:
        rules.apply_step(snap, MobilityAction.APPROVE, REGION_HR, NOW)
    assert refused.value.code == "opinions_pending"
    late = NOW + timedelta(days=rules.OPINION_DAYS)
    step = rules.apply_step(snap, MobilityAction.REJECT, REGION_HR, late)
    assert step.snapshot.state is MobilityState.REJECTED


def test_an_opinion_is_given_once_and_a_decided_request_is_not_withdrawn() -> None:
    snap = _request(releasing_opinion=Opinion.FAVOURABLE)
    with pytest.raises(StepRefused) as twice:
        rules.apply_step(
            snap, MobilityAction.RELEASING_OPINION, RELEASING_HR, NOW, opinion=Opinion.FAVOURABLE
        )
    assert twice.value.code == "opinion_given"
    with pytest.raises(StepRefused) as decided:
        rules.apply_step(
            _request(state=MobilityState.REJECTED), MobilityAction.WITHDRAW, REGION_HR, NOW
        )
    assert decided.value.code == "wrong_state"
    with pytest.raises(StepRefused) as past:
        rules.apply_step(
            _request(state=MobilityState.AWAITING_DECISION),
            MobilityAction.APPROVE,
            REGION_HR,
            NOW,
            effective_on=date(2025, 1, 1),
            today=NOW.date(),
        )
    assert past.value.code == "effective_in_past"


def test_inboxes_show_each_approver_what_waits_for_them() -> None:
    fresh = _request()
    assert rules.awaits(RELEASING_HR, fresh, NOW)
    assert rules.awaits(RECEIVING_HR, fresh, NOW)
    assert not rules.awaits(OTHER_HR, fresh, NOW)
    assert not rules.awaits(REGION_HR, fresh, NOW)
    ready = _request(state=MobilityState.AWAITING_DECISION)
    assert rules.awaits(REGION_HR, ready, NOW)
    assert not rules.awaits(RELEASING_HR, ready, NOW)
    assert rules.allowed_actions(REGION_HR, ready, NOW) == [
        MobilityAction.APPROVE,
        MobilityAction.REJECT,
        MobilityAction.WITHDRAW,
    ]


def test_every_step_is_timed_and_the_decision_delay_measured() -> None:
    submitted = datetime(2025, 10, 1, 9, tzinfo=UTC)
    delays = rules.step_delays(
        submitted,
        [
            (MobilityAction.SUBMIT, submitted),
            (MobilityAction.RELEASING_OPINION, submitted + timedelta(days=3)),
            (MobilityAction.RECEIVING_OPINION, submitted + timedelta(days=5, hours=12)),
            (MobilityAction.APPROVE, submitted + timedelta(days=12)),
            (MobilityAction.TAKE_EFFECT, submitted + timedelta(days=42)),
        ],
    )
    assert delays == rules.Delays(3.0, 5.5, 12.0, 30.0)
    stats = rules.delay_stats([12.0, 5.0, 40.0, 20.0])
    assert (stats.decided, stats.median_days, stats.p90_days, stats.within_target) == (
        4,
        16.0,
        40.0,
        0.75,
    )
    assert rules.delay_stats([]).median_days is None


# --- norms and gaps ------------------------------------------------------------------


def test_gaps_follow_the_services_offered_and_count_staff_without_norm_as_surplus() -> None:
    norms = [
        NormLine(EstablishmentType.PROVINCIAL_HOSPITAL, "anaesthesia_icu", Category.SPECIALIST, 2),
        NormLine(EstablishmentType.PROVINCIAL_HOSPITAL, "cardiology", Category.SPECIALIST, 2),
        NormLine(EstablishmentType.PROVINCIAL_HOSPITAL, "", Category.PHARMACIST, 1),
    ]
    site = Site(
        "HP-HOC-01", EstablishmentType.PROVINCIAL_HOSPITAL, "HOC", frozenset({"anaesthesia_icu"})
    )
    present = {
        ("HP-HOC-01", "anaesthesia_icu", Category.SPECIALIST): 0.5,
        ("HP-HOC-01", "anaesthesia_icu", Category.NURSE): 3.0,
    }
    lines = rules.gap_lines([site], norms, present)
    by_key = {(ln.service, ln.category): ln for ln in lines}
    assert ("cardiology", Category.SPECIALIST) not in by_key  # not offered there
    assert by_key[("anaesthesia_icu", Category.SPECIALIST)].gap == -1.5
    assert by_key[("", Category.PHARMACIST)].deficit == 1
    assert by_key[("anaesthesia_icu", Category.NURSE)].surplus == 3
    totals = rules.totals_by(lines, "establishment")["HP-HOC-01"]
    assert (
        totals.required,
        totals.present,
        totals.deficit,
        totals.surplus,
        totals.lines_below,
    ) == (3, 3.5, 2.5, 3, 2)


def test_default_norms_are_valid_and_cover_every_type() -> None:
    from parcours.territory.rules import SPECIALTY_CODES

    norms = rules.default_norms()
    assert rules.validate_norms(norms, SPECIALTY_CODES) == []
    assert {n.establishment_type for n in norms} == set(EstablishmentType)
    duplicate = [*norms[:1], norms[0]]
    assert _codes(rules.validate_norms(duplicate, SPECIALTY_CODES)) == ["duplicate_norm"]


def test_density_counts_physicians_nurses_and_midwives() -> None:
    assert rules.density(445, 100_000) == 44.5
    assert rules.density(1, 0) is None
    assert {c for c in Category if c.density_group} == rules.DENSITY_CATEGORIES
    assert Category.PHARMACIST.density_group is None


def test_projection_retires_at_63_and_adds_the_recruitments() -> None:
    stock = [("nurses", 1962)] * 10 + [("nurses", 1990)] * 90 + [("physicians", 1963)] * 5
    projection = rules.project(
        stock,
        start_year=2025,
        population=100_000,
        population_growth=0.0,
        hires_per_year={"nurses": 2.5, "physicians": 1.0},
    )
    years = {y.year: y for y in projection.years}
    assert years[2025].headcount == {"physicians": 5, "nurses": 100, "midwives": 0}
    # Born in 1962: 63 in 2025, gone in 2026; born in 1963: gone in 2027.
    assert years[2026].retirements["nurses"] == 10
    assert years[2026].headcount["nurses"] == 100 - 10 + 2
    assert years[2027].headcount["physicians"] == 5 + 1 - 5 + 1
    assert years[2030].headcount["nurses"] == 90 + 12  # 2.5 a year over five years, whole people
    assert projection.needed_in_last_year == round(445 - years[2030].total)


def test_retirement_date_and_age() -> None:
    assert rules.retirement_date(date(1960, 2, 29)) == date(2023, 2, 28)
    assert rules.age_on(date(1980, 10, 2), date(2025, 10, 1)) == 44


def test_professional_validation() -> None:
    problems = rules.validate_professional(
        inpe="12AB",
        family_name="",
        given_name="Salma",
        birth_date=date(2015, 1, 1),
        category=Category.SPECIALIST,
        specialty=None,
        hired_on=None,
        today=D,
        specialties=frozenset({"cardiology"}),
    )
    assert _codes(problems) == [
        "invalid_inpe",
        "missing_name",
        "invalid_birth_date",
        "missing_specialty",
    ]
