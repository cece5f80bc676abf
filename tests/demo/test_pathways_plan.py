"""The demo's care activity as planned, without a database: volumes, coherence, determinism."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import cache
from itertools import count, pairwise

import pytest

from parcours.demo.pathways_plan import (
    OUTSIDE_MAP,
    PAPER_PACE,
    PILOT_START,
    SETTLED_PACE,
    SETTLING_DAYS,
    WINDOW_START,
    ActivityPlan,
    RecordRef,
    plan_activity,
    reform_pace,
)
from parcours.demo.patients_plan import plan_patients
from parcours.demo.pipeline import step_rng
from parcours.demo.steps.territory import _ref
from parcours.demo.territory_plan import plan_territory
from parcours.pathways import bulk, icd10
from parcours.pathways.encounter import DischargeMode, EncounterKind
from parcours.pathways.pathway_map import Establishment, MapIndex, initial_map
from parcours.pathways.referral import (
    DEFAULT_ANSWER_DEADLINES,
    Action,
    ReferralSnapshot,
    ReferralState,
    history_problems,
)
from parcours.pathways.service import MAP_EPOCH, SYSTEM_ACTOR

UNTIL = datetime(2026, 12, 2, tzinfo=UTC)
VERSION = initial_map("system", MAP_EPOCH)
FOCUS = ("CSR2-CHE-001", "CHU-TNG-01")


@cache
def region() -> tuple[Establishment, ...]:
    plan = plan_territory(step_rng(2025, "territory"))
    return tuple(
        Establishment(
            code=e.code,
            type=e.type,
            province=e.province,
            latitude=e.latitude,
            longitude=e.longitude,
            services={s.specialty: s.beds for s in e.services},
            region="TTA",
            name=e.name,
        )
        for e in plan.establishments
    )


@cache
def records(persons: int) -> tuple[RecordRef, ...]:
    refs = {e.code: _ref(e) for e in plan_territory(step_rng(2025, "territory")).establishments}
    plan = plan_patients(refs, persons, seed=5)  # type: ignore[arg-type]
    return tuple(
        RecordRef(
            record_id=i,
            establishment=r.record.establishment,
            person=r.true_person,
            sex=r.record.sex or None,
            birth_year=int(r.record.birth_date[:4]) if r.record.birth_date[:4].isdigit() else None,
        )
        for i, r in enumerate(plan.registrations, start=1)
    )


@cache
def planned(persons: int = 600, seed: int = 1, scale: float = 0.2) -> ActivityPlan:
    return plan_activity(
        region(),
        records(persons),
        version=VERSION,
        seed=seed,
        until=UNTIL,
        scale=scale,
        focus=FOCUS,
    )


def played(plan: ActivityPlan) -> list[tuple[object, list[bulk.Played]]]:
    index = MapIndex(region())
    ids = count(1)
    return [
        (r, bulk.play(r, ids, index, VERSION, DEFAULT_ANSWER_DEADLINES)) for r in plan.referrals
    ]


def test_volumes_follow_the_scale() -> None:
    small, large = planned(600, scale=0.2), planned(600, scale=0.4)
    # 30,000 encounters and 3,000 referrals at scale 1
    assert 0.85 * 6_000 < small.total_encounters < 1.1 * 6_000
    assert 0.85 * 600 < len(small.referrals) < 1.1 * 600
    assert 0.85 * 12_000 < large.total_encounters < 1.1 * 12_000
    assert 0.85 * 1_200 < len(large.referrals) < 1.1 * 1_200
    explicit = plan_activity(
        region(),
        records(600),
        version=VERSION,
        seed=1,
        until=UNTIL,
        encounters=4_000,
        referrals=900,
    )
    assert 0.9 * 4_000 < explicit.total_encounters < 1.05 * 4_000
    assert 0.9 * 900 < len(explicit.referrals) < 1.05 * 900


def test_the_plan_is_the_same_for_a_seed_and_changes_with_it() -> None:
    first = planned(300, seed=4, scale=0.1)
    planned.cache_clear()
    again = planned(300, seed=4, scale=0.1)
    other = planned(300, seed=5, scale=0.1)
    assert first.encounters == again.encounters
    assert first.referrals == again.referrals
    assert first.encounters != other.encounters


def test_every_planned_history_is_one_the_machine_allows() -> None:
    plan = planned()
    for _, rows in played(plan):
        for row in rows:
            assert history_problems(list(row.events)) == []
        # a redirect's child follows its parent
        for parent, child in pairwise(rows):
            assert child.snapshot.parent_id == parent.snapshot.id
            assert child.snapshot.chain[:-1] == parent.snapshot.chain
    expiries = [
        s for r in plan.referrals for s in r.steps if s.action is Action.EXPIRE
    ]  # recorded by the same actor as the service's sweep
    assert expiries
    assert {s.by for s in expiries} == {SYSTEM_ACTOR}


def finals(plan: ActivityPlan) -> list[ReferralSnapshot]:
    return [rows[-1].snapshot for _, rows in played(plan)]


def test_the_fates_have_the_shares_of_a_region() -> None:
    plan = planned(600, scale=0.4)
    rows = played(plan)
    roots = [r[0].snapshot for _, r in rows]
    judged = [s for s in roots if s.designated_destination is not None]
    outside = sum(1 for s in judged if s.destination != s.designated_destination)
    # OUTSIDE_MAP (12 %) of about 1,200 referrals: within three standard deviations (±3 pts)
    assert 0.09 <= outside / len(judged) <= 0.15, OUTSIDE_MAP
    n = len(rows)
    states = Counter(rows_[0].snapshot.state for _, rows_ in rows)
    assert 0.05 < states[ReferralState.REFUSED] / n < 0.11
    assert 0.02 < states[ReferralState.REDIRECTED] / n < 0.07
    expired = sum(
        1 for _, rows_ in rows if any(s.snapshot.state is ReferralState.EXPIRED for s in rows_)
    )
    assert 0.03 < expired / n < 0.08
    assert 0 < states[ReferralState.CANCELLED] / n < 0.06
    completed = sum(1 for _, r in rows if r[-1].snapshot.state is ReferralState.COMPLETED)
    arrived = sum(1 for _, r in rows if r[-1].snapshot.arrived_at is not None)
    assert completed / arrived > 0.7  # most come back with their counter-referral
    # answers: urgent ones within hours, routine ones within days; a few late
    answers: dict[str, list[timedelta]] = defaultdict(list)
    late = 0
    for s in roots:
        if s.answered_at and s.sent_at:
            answers[s.priority.value].append(s.answered_at - s.sent_at)
            late += s.answer_due_at is not None and s.answered_at > s.answer_due_at
    median = {p: sorted(v)[len(v) // 2] for p, v in answers.items()}
    assert median["urgent"] < timedelta(hours=2)
    assert timedelta(days=1) < median["routine"] < timedelta(days=7)
    assert 0 < late < 0.08 * n
    specialties = Counter(r.specialty for r in plan.referrals)
    leaders = {s for s, _ in specialties.most_common(7)}
    assert {"cardiology", "obstetrics_gynaecology", "paediatrics", "general_surgery"} <= leaders


def test_the_end_leaves_live_work() -> None:
    plan = planned()
    last = finals(plan)
    waiting = [s for s in last if s.state.awaits_answer]
    assert any(s.answer_due_at and s.answer_due_at <= UNTIL for s in waiting)  # overdue
    soon = [
        s
        for s in waiting
        if s.answer_due_at and timedelta(0) < s.answer_due_at - UNTIL < timedelta(days=3)
    ]
    assert soon
    coming = [
        s
        for s in last
        if s.state is ReferralState.APPOINTMENT_SCHEDULED
        and s.appointment_at
        and s.appointment_at > UNTIL
    ]
    assert len(coming) >= 3
    assert sum(plan.open_stays().values()) > 0
    # the focus establishments have their inboxes filled
    for code in FOCUS:
        live = [s for s in last if code in (s.source, s.destination) and not s.state.is_terminal]
        assert len(live) >= 3, code


def test_the_census_at_the_end_is_plausible_at_scale_1() -> None:
    plan = plan_activity(region(), records(3_000), version=VERSION, seed=2, until=UNTIL)
    beds = {(e.code, s): n for e in region() for s, n in e.services.items() if n > 0}
    open_ = plan.open_stays()
    rates = [open_.get(k, 0) / n for k, n in beds.items() if k[1] != "deliveries"]
    in_range = sum(0.5 <= r <= 0.95 for r in rates) / len(rates)
    assert in_range > 0.6
    assert 0 < sum(r >= 1.0 for r in rates) < 0.15 * len(rates)  # a few saturated
    persons = len({r.person for r in records(3_000)})
    assert sum(open_.values()) <= 0.9 * persons
    assert 25_000 < plan.total_encounters < 34_000
    assert 2_500 < len(plan.referrals) < 3_400


def test_a_person_is_never_in_two_places_at_once() -> None:
    plan = planned()
    far = datetime(9999, 1, 1, tzinfo=UTC)
    times: dict[str, list[tuple[datetime, datetime, str]]] = defaultdict(list)
    for e in plan.encounters:
        end = e.end_at or (far if e.kind is EncounterKind.ADMISSION else e.start_at)
        times[e.person].append((e.start_at, end, e.kind.value))
        assert WINDOW_START <= e.start_at <= UNTIL
        assert e.end_at is None or e.end_at <= UNTIL
    for r in plan.referrals:
        assert all(r.created_at <= s.at <= UNTIL for s in r.steps)
        if r.bed_request and r.arrived:
            arrive = next(s.at for s in r.steps if s.action is Action.ARRIVE)
            times[r.person].append((arrive, r.stay_end or far, "admission"))
    for person, items in times.items():
        stays = sorted(i for i in items if i[2] == "admission")
        for a, b in pairwise(stays):
            assert b[0] >= a[1], person  # one stay after the other
        for start, _, _ in items:  # nothing after the start of a stay still open
            for s_start, s_end, _ in stays:
                if s_end == far:
                    assert start <= s_start, person
    deaths = [e for e in plan.encounters if e.discharge_mode is DischargeMode.DEATH]
    for d in deaths:
        assert d.end_at is not None
        later = [e for e in plan.encounters if e.person == d.person and e.start_at > d.end_at]
        assert later == []


def test_diagnoses_fit_the_person_and_the_setting() -> None:
    plan = planned()
    who: dict[str, RecordRef] = {}
    for r in records(600):  # the planner reads a person's first birth year (records disagree)
        if r.person not in who or (who[r.person].birth_year is None and r.birth_year):
            who[r.person] = r
    for e in plan.encounters:
        assert e.diagnoses
        assert all(code in icd10.COMPACT_LIST for code in e.diagnoses)
        person = who[e.person]
        age = UNTIL.year - (person.birth_year or 1990)
        if e.specialty in ("deliveries", "obstetrics_gynaecology") or e.diagnoses[0][0] == "O":
            assert person.sex == "F", e
            assert age >= 14, e
        if e.specialty == "paediatrics":
            assert age < 16, e
    kinds = Counter((e.kind, e.establishment.split("-")[0]) for e in plan.encounters)
    centres = sum(
        n
        for (k, p), n in kinds.items()
        if k is EncounterKind.CONSULTATION and p[:2] in ("CS", "DR")
    )
    consultations = sum(n for (k, _), n in kinds.items() if k is EncounterKind.CONSULTATION)
    assert centres / consultations > 0.7  # consultations mostly at health centres
    assert all(
        not p.startswith(("CS", "DR"))
        for (k, p), _ in kinds.items()
        if k is EncounterKind.EMERGENCY
    )
    # arrivals at the CHU without referral, emergencies among them
    chu = [e for e in plan.encounters if e.establishment.startswith("CHU-")]
    assert any(e.kind is EncounterKind.EMERGENCY for e in chu)
    assert any(e.kind is EncounterKind.CONSULTATION for e in chu)


def test_the_showcase_has_a_pathway_across_levels() -> None:
    plan = planned()
    show = [r for r in plan.referrals if r.person == "SHOW-ELAMRANI"]
    completed = [r for r in show if r.steps[-1].action is Action.COMPLETE]
    assert len(completed) == 2
    first, second = sorted(completed, key=lambda r: r.created_at)
    assert first.source.startswith("CSU2-TNG")
    assert second.source == first.destination  # referred on by the hospital it was sent to
    levels = {e.code: e.care_level for e in region()}
    assert levels[second.destination] > levels[first.destination] > levels[first.source]
    live = [r for r in show if r.steps[-1].action is Action.SCHEDULE]
    assert live
    assert live[0].steps[-1].payload.appointment_at is not None
    assert live[0].steps[-1].payload.appointment_at > UNTIL
    visits = [e for e in plan.encounters if e.person == "SHOW-ELAMRANI"]
    assert len(visits) >= 6


def test_the_window_is_checked() -> None:
    with pytest.raises(ValueError, match="two months"):
        plan_activity(region(), records(300), version=VERSION, seed=1, until=WINDOW_START)


def test_the_plan_imports_no_database_code() -> None:
    code = (
        "import sys, parcours.demo.pathways_plan; sys.exit(1 if 'sqlalchemy' in sys.modules else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], check=False)  # noqa: S603 - fixed code
    assert done.returncode == 0


def test_answers_are_slower_on_paper_before_the_pilot_and_faster_once_settled() -> None:
    plan = planned(600, scale=0.4)
    roots = [r[0].snapshot for _, r in played(plan)]
    settled = PILOT_START + timedelta(days=SETTLING_DAYS)

    def median_hours(keep: Callable[[datetime], bool]) -> float:
        delays = sorted(
            (s.answered_at - s.sent_at).total_seconds() / 3600
            for s in roots
            if s.answered_at and s.sent_at and s.priority.value == "routine" and keep(s.sent_at)
        )
        assert len(delays) > 30
        return delays[len(delays) // 2]

    before = median_hours(lambda at: at < PILOT_START)
    after = median_hours(lambda at: at >= settled)
    assert after < 0.7 * before
    assert reform_pace(PILOT_START - timedelta(days=1)) == PAPER_PACE
    assert reform_pace(settled + timedelta(days=30)) == SETTLED_PACE
