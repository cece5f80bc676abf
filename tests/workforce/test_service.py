"""The workforce's use cases on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from parcours.access.models import AuditEvent
from parcours.errors import Conflict, Forbidden, Invalid
from parcours.workforce import service
from parcours.workforce.models import Assignment, MobilityEvent
from parcours.workforce.rules import (
    Category,
    DutyKind,
    MobilityAction,
    MobilityState,
    Opinion,
)
from parcours.workforce.schemas import (
    AssignmentEnd,
    AssignmentIn,
    MobilityIn,
    MobilityStepIn,
    NormLineIn,
    NormVersionIn,
    ProfessionalIn,
    ProfessionalUpdate,
    ShiftIn,
)
from tests.workforce.conftest import (
    ANALYST,
    CHU_HR,
    HOC_HR,
    REGION_HR,
    SYSTEM,
    TET_HR,
    Staffed,
    register,
)


def _actions(db: Session, entity_id: str) -> list[str]:
    return list(
        db.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.entity_id == entity_id, AuditEvent.entity_type == "professional")
            .order_by(AuditEvent.id)
        )
    )


# --- registry ------------------------------------------------------------------------


def test_a_professional_is_registered_with_history_and_audit(db: Session, staffed: Staffed) -> None:
    pid = staffed.cardiologist_chu
    service.update_professional(
        db, CHU_HR, pid, ProfessionalUpdate(grade="Professeur agrégé", reason="promotion")
    )
    file = service.professional_file(db, REGION_HR, pid)
    assert file.inpe == "123456789"
    assert file.category is Category.SPECIALIST
    assert file.total_share == 100
    assert [a.establishment for a in file.assignments] == ["CHU-TNG"]
    assert [(v.version, v.change) for v in file.history] == [(1, "create"), (2, "update")]
    assert file.history[1].changes == {"grade": ["", "Professeur agrégé"]}
    assert file.history[1].reason == "promotion"
    assert file.retires_on == date(2043, 5, 17)
    assert _actions(db, str(pid)) == [
        "professional.create",
        "professional.update",
        "professional.read",
    ]


def test_registration_is_refused_when_wrong(db: Session, staffed: Staffed) -> None:
    with pytest.raises(Conflict) as taken:
        register(db, "Autre", Category.NURSE, "CHU-TNG", inpe="123456789")
    assert taken.value.code == "inpe_exists"
    with pytest.raises(Invalid) as bad:
        register(db, "Alaoui", Category.SPECIALIST, "CHU-TNG")  # a specialist without specialty
    assert bad.value.code == "missing_specialty"
    # An establishment registers only into itself, and only with an assignment.
    with pytest.raises(Forbidden):
        register(db, "Alaoui", Category.NURSE, "HP-TET-01", who=CHU_HR)
    with pytest.raises(Invalid) as unassigned:
        service.create_professional(
            db,
            CHU_HR,
            ProfessionalIn(family_name="X", given_name="Y", sex="male", category=Category.NURSE),
        )
    assert unassigned.value.code == "assignment_required"
    # The HR of another establishment may not change someone who does not work there.
    with pytest.raises(Forbidden):
        service.update_professional(
            db, TET_HR, staffed.cardiologist_chu, ProfessionalUpdate(grade="x")
        )
    with pytest.raises(Forbidden):
        service.professional_file(db, TET_HR, staffed.cardiologist_chu)


# --- assignments ---------------------------------------------------------------------


def test_overlapping_assignments_are_refused(db: Session, staffed: Staffed) -> None:
    pid = staffed.cardiologist_chu
    with pytest.raises(Conflict) as same:
        service.assign(
            db,
            REGION_HR,
            pid,
            AssignmentIn(
                establishment="CHU-TNG", service="cardiology", share=10, start_on=date(2024, 1, 1)
            ),
        )
    assert same.value.code == "overlapping_assignment"
    with pytest.raises(Conflict) as over:
        service.assign(
            db,
            REGION_HR,
            pid,
            AssignmentIn(
                establishment="HP-TET-01", service="cardiology", share=20, start_on=date(2025, 1, 1)
            ),
        )
    assert over.value.code == "share_over_100"
    assert "120 %" in over.value.render()
    # Making room first: the CHU assignment goes to 80 % through an end and a new period.
    chu = service.professional_file(db, REGION_HR, pid).assignments[0]
    service.end_assignment(
        db, REGION_HR, chu.id, AssignmentEnd(end_on=date(2024, 12, 31), reason="temps partagé")
    )
    service.assign(
        db,
        REGION_HR,
        pid,
        AssignmentIn(
            establishment="CHU-TNG", service="cardiology", share=80, start_on=date(2025, 1, 1)
        ),
    )
    shared = service.assign(
        db,
        REGION_HR,
        pid,
        AssignmentIn(
            establishment="HP-TET-01", service="cardiology", share=20, start_on=date(2025, 1, 1)
        ),
    )
    assert shared.active
    file = service.professional_file(db, REGION_HR, pid)
    assert file.total_share == 100
    ended = [a for a in file.assignments if a.end_on is not None]
    assert [(a.end_on, a.end_reason) for a in ended] == [(date(2024, 12, 31), "temps partagé")]
    assert len(file.assignments) == 3  # nothing deleted
    with pytest.raises(Invalid) as no_service:
        service.assign(
            db,
            REGION_HR,
            pid,
            AssignmentIn(
                establishment="HP-TET-01",
                service="neurosurgery",
                share=10,
                start_on=date(2030, 1, 1),
            ),
        )
    assert no_service.value.code == "no_such_service"


# --- rosters -------------------------------------------------------------------------


def _duty(
    pid: int,
    day: int,
    hour: int,
    hours: int,
    where: str = "CHU-TNG",
    kind: DutyKind = DutyKind.ON_SITE,
) -> ShiftIn:
    start = datetime(2025, 11, day, hour)  # noqa: DTZ001 - local time of the region
    return ShiftIn(
        professional_id=pid,
        establishment=where,
        service="cardiology",
        kind=kind,
        starts_at=start,
        ends_at=start + timedelta(hours=hours),
    )


def test_roster_rules_are_enforced(db: Session, staffed: Staffed) -> None:
    pid = staffed.cardiologist_chu
    night = service.add_shift(db, CHU_HR, _duty(pid, 3, 20, 12))
    assert night.is_night
    with pytest.raises(Conflict) as rest:
        service.add_shift(db, CHU_HR, _duty(pid, 4, 12, 8))
    assert rest.value.code == "rest_after_night"
    with pytest.raises(Conflict) as twice:
        service.add_shift(db, CHU_HR, _duty(pid, 4, 2, 4))
    assert twice.value.code == "two_places_at_once"
    with pytest.raises(Conflict) as elsewhere:
        service.add_shift(db, REGION_HR, _duty(pid, 10, 8, 8, where="HP-TET-01"))
    assert elsewhere.value.code == "not_assigned"
    with pytest.raises(Forbidden):
        service.add_shift(db, TET_HR, _duty(pid, 12, 8, 8))
    service.add_shift(db, CHU_HR, _duty(pid, 4, 19, 12, kind=DutyKind.ON_CALL))  # 11 h later
    roster = service.roster(db, CHU_HR, "CHU-TNG", "cardiology", "2025-11")
    assert [(s.kind, s.starts_at.isoformat()) for s in roster.shifts] == [
        (DutyKind.ON_SITE, "2025-11-03T19:00:00+00:00"),  # 20:00 in Morocco (UTC+1)
        (DutyKind.ON_CALL, "2025-11-04T18:00:00+00:00"),
    ]
    assert {p.id for p in roster.staff} == {staffed.cardiologist_chu, staffed.surgeon_chu}
    # A cancelled duty frees the slot, and stays recorded.
    cancelled = service.cancel_shift(db, CHU_HR, night.id, service.ShiftCancel(reason="malade"))
    assert cancelled.id == night.id
    service.add_shift(db, CHU_HR, _duty(pid, 4, 8, 8))


# --- mobility ------------------------------------------------------------------------


def _move(db: Session, staffed: Staffed, who=CHU_HR) -> int:  # type: ignore[no-untyped-def]
    out = service.submit_mobility(
        db,
        who,
        MobilityIn(
            professional_id=staffed.surgeon_chu,
            to_establishment="HP-HOC-01",
            to_service="general_surgery",
            motive="renfort du bloc d'Al Hoceïma",
        ),
    )
    return out.id


def _step(db: Session, who, request: int, action: MobilityAction, **kw: object):  # type: ignore[no-untyped-def]
    return service.mobility_step(db, who, request, MobilityStepIn(action=action, **kw))  # type: ignore[arg-type]


def test_the_mobility_workflow_with_each_roles_rights(db: Session, staffed: Staffed) -> None:
    before = service.gap_report(db, ANALYST, service="general_surgery")
    hoc = next(e for e in before.establishments if e.establishment == "HP-HOC-01")
    assert (hoc.required, hoc.present) == (2, 0)

    request = _move(db, staffed)
    with pytest.raises(Conflict) as twice:
        _move(db, staffed)
    assert twice.value.code == "request_open"
    # Nobody may give the opinion of another establishment, and the region does not speak for one.
    for who, action in (
        (TET_HR, MobilityAction.RELEASING_OPINION),
        (HOC_HR, MobilityAction.RELEASING_OPINION),
        (CHU_HR, MobilityAction.RECEIVING_OPINION),
        (REGION_HR, MobilityAction.RECEIVING_OPINION),
    ):
        with pytest.raises(Forbidden) as refused:
            _step(db, who, request, action, opinion=Opinion.FAVOURABLE)
        assert refused.value.code == "not_your_establishment"
    with pytest.raises(Conflict) as early:
        _step(db, REGION_HR, request, MobilityAction.APPROVE)
    assert early.value.code == "opinions_pending"
    with pytest.raises(Invalid):
        _step(db, CHU_HR, request, MobilityAction.RELEASING_OPINION, opinion=Opinion.UNFAVOURABLE)
    _step(
        db,
        CHU_HR,
        request,
        MobilityAction.RELEASING_OPINION,
        opinion=Opinion.FAVOURABLE,
        reason="remplacé en interne",
    )
    # The inboxes: the receiving establishment still owes its opinion; the region waits.
    assert [r.id for r in service.mobility_inbox(db, HOC_HR)] == [request]
    assert service.mobility_inbox(db, CHU_HR) == []
    assert service.mobility_inbox(db, REGION_HR) == []
    assert service.mobility_inbox(db, TET_HR, mine=False) == []  # not their scope at all
    out = _step(db, HOC_HR, request, MobilityAction.RECEIVING_OPINION, opinion=Opinion.FAVOURABLE)
    assert out.state is MobilityState.AWAITING_DECISION
    # An establishment never approves, neither for itself nor for another.
    for who in (CHU_HR, HOC_HR, TET_HR):
        with pytest.raises(Forbidden) as refused:
            _step(db, who, request, MobilityAction.APPROVE)
        assert refused.value.code == "regional_decision"
    assert [r.id for r in service.mobility_inbox(db, REGION_HR)] == [request]
    with pytest.raises(Conflict) as stale:
        _step(db, REGION_HR, request, MobilityAction.APPROVE, expected_version=1)
    assert stale.value.code == "stale_version"
    done = _step(
        db,
        REGION_HR,
        request,
        MobilityAction.APPROVE,
        reason="priorité régionale",
        expected_version=out.version,
    )
    assert done.state is MobilityState.EFFECTIVE  # effective today: moved at once
    assert [(e.action, e.actor) for e in done.events] == [
        (MobilityAction.SUBMIT, "rh.chu"),
        (MobilityAction.RELEASING_OPINION, "rh.chu"),
        (MobilityAction.RECEIVING_OPINION, "rh.hoc"),
        (MobilityAction.APPROVE, "rh.region"),
        (MobilityAction.TAKE_EFFECT, "rh.region"),
    ]
    assert done.events[1].reason == "remplacé en interne"
    assert done.events[3].reason == "priorité régionale"
    assert all(e.at >= done.submitted_at for e in done.events)
    assert done.decision_days is not None
    assert done.decision_days >= 0

    # The assignment moved: the old one ended the day before, the new one starts today.
    file = service.professional_file(db, REGION_HR, staffed.surgeon_chu)
    active = [a.establishment for a in file.assignments if a.active]
    assert active == ["HP-HOC-01"]
    assert [a.end_reason for a in file.assignments if a.end_on] == [f"mobilité n° {request}"]
    after = service.gap_report(db, ANALYST, service="general_surgery")
    hoc = next(e for e in after.establishments if e.establishment == "HP-HOC-01")
    assert (hoc.required, hoc.present, hoc.deficit) == (2, 1, 1)
    delays = service.mobility_delays(db, ANALYST)
    assert delays.decided == 1
    assert delays.within_target == 1.0
    # The steps are append-only in the database too.
    with pytest.raises(DBAPIError):
        db.execute(text("UPDATE workforce_mobility_event SET actor = 'x'"))
    db.rollback()
    assert db.scalar(select(func.count()).select_from(MobilityEvent)) == 5


def test_a_rejection_is_motivated_and_moves_nothing(db: Session, staffed: Staffed) -> None:
    request = _move(db, staffed, who=REGION_HR)
    _step(
        db,
        CHU_HR,
        request,
        MobilityAction.RELEASING_OPINION,
        opinion=Opinion.UNFAVOURABLE,
        reason="seul chirurgien",
    )
    _step(db, HOC_HR, request, MobilityAction.RECEIVING_OPINION, opinion=Opinion.FAVOURABLE)
    with pytest.raises(Invalid) as bare:
        _step(db, REGION_HR, request, MobilityAction.REJECT)
    assert bare.value.code == "reason_required"
    out = _step(db, REGION_HR, request, MobilityAction.REJECT, reason="besoin au CHU")
    assert out.state is MobilityState.REJECTED
    assert db.scalar(select(func.count()).select_from(Assignment)) == 4


def test_a_later_effective_date_is_applied_by_the_sweep(db: Session, staffed: Staffed) -> None:
    request = _move(db, staffed)
    _step(db, CHU_HR, request, MobilityAction.RELEASING_OPINION, opinion=Opinion.FAVOURABLE)
    _step(db, HOC_HR, request, MobilityAction.RECEIVING_OPINION, opinion=Opinion.FAVOURABLE)
    later = service.today() + timedelta(days=10)
    out = _step(db, REGION_HR, request, MobilityAction.APPROVE, effective_on=later)
    assert out.state is MobilityState.APPROVED
    assert service.apply_due_mobility(db, SYSTEM) == 0
    assert service.apply_due_mobility(db, SYSTEM, day=later) == 1
    assert service.get_mobility(db, REGION_HR, request).state is MobilityState.EFFECTIVE
    moved = db.scalars(
        select(Assignment).where(
            Assignment.establishment_code == "HP-HOC-01", Assignment.start_on == later
        )
    ).all()
    assert len(moved) == 1


# --- norms and gaps ------------------------------------------------------------------


def test_norms_are_versioned_and_past_gaps_are_reproducible(db: Session, staffed: Staffed) -> None:
    first = service.gap_report(db, ANALYST)
    assert first.norms_version == 1
    chu = next(e for e in first.establishments if e.establishment == "CHU-TNG")
    assert chu.required == 4  # cardiology 2 specialists + emergency 2 GPs
    v2 = service.amend_norms(
        db,
        REGION_HR,
        NormVersionIn(
            valid_from=service.today(),
            reason="normes 2025",
            changes=[
                NormLineIn(
                    establishment_type="chu",
                    service="cardiology",
                    category=Category.SPECIALIST,
                    required=5,
                ),
                NormLineIn(
                    establishment_type="chu",
                    service="emergency",
                    category=Category.GENERAL_PRACTITIONER,
                    required=0,
                ),
            ],
        ),
    )
    assert (v2.number, v2.based_on) == (2, 1)
    now = service.gap_report(db, ANALYST)
    assert now.norms_version == 2
    chu2 = next(e for e in now.establishments if e.establishment == "CHU-TNG")
    assert chu2.required == 5
    # The first computation, by its version, gives the same figures as before.
    again = service.gap_report(db, ANALYST, version=1)
    assert again.model_dump() == first.model_dump()
    # And a date before the new version picks the old one.
    assert service.gap_report(db, ANALYST, as_of=date(2024, 6, 1)).norms_version == 1
    versions = service.list_norm_versions(db, ANALYST)
    assert [(v.number, v.lines) for v in versions] == [(2, 5), (1, 6)]
    with pytest.raises(Forbidden):
        service.amend_norms(
            db,
            CHU_HR,
            NormVersionIn(
                valid_from=date(2026, 1, 1),
                reason="x",
                changes=[NormLineIn(establishment_type="chu", category=Category.NURSE, required=1)],
            ),
        )
    with pytest.raises(DBAPIError):
        db.execute(text("UPDATE workforce_norm_line SET required = 99"))
    db.rollback()


def test_overview_counts_distribution_density_and_projection(db: Session, staffed: Staffed) -> None:
    out = service.overview(db, ANALYST)
    assert out.professionals == 4
    assert out.assigned == 4
    assert out.by_category["specialist"] == 2
    assert out.by_province["TNG"]["specialist"] == 2
    region = out.density[-1]
    assert region.area == "TTA"
    assert (region.physicians, region.nurses, region.midwives) == (2, 1, 0)
    assert region.threshold == 44.5
    assert out.projection[0].year == service.today().year
    assert out.projection[-1].year == 2030
    assert out.needed_2030 > 0
