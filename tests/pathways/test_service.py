"""The care pathway use cases on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from parcours.access.models import AuditEvent
from parcours.access.rules import Principal, Role, parse_scope
from parcours.errors import DomainError, Forbidden, Invalid
from parcours.pathways import service
from parcours.pathways.encounter import CensusRefused, DischargeMode
from parcours.pathways.models import Encounter, Referral, ReferralEvent
from parcours.pathways.referral import (
    Action,
    Priority,
    ReferralState,
    TransitionRefused,
    history_problems,
)
from parcours.pathways.referral import ReferralEvent as PureEvent
from parcours.pathways.referral import Side as PureSide
from parcours.pathways.schemas import (
    DischargeIn,
    EncounterIn,
    InboxPages,
    MapChangeIn,
    MapExceptionIn,
    ReferralIn,
    TransitionIn,
)
from tests.pathways.conftest import (
    CENTRE,
    CHU,
    PROVINCIAL,
    REGIONAL,
    Network,
    known_at,
    register,
)

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def refer(db: Session, net: Network, **values: Any) -> int:
    data: dict[str, Any] = {
        "person_id": net.person,
        "source": CENTRE,
        "specialty": "cardiology",
        "priority": "routine",
        "reason": "Souffle cardiaque à l'auscultation",
        "clinical_summary": "Dyspnée d'effort depuis 3 mois.",
    } | values
    return service.create_referral(db, net.nurse, ReferralIn(**data), now=T0).id


def act(
    db: Session, who: Principal, referral_id: int, action: Action, at: datetime, **values: Any
) -> Any:
    return service.transition(db, who, referral_id, TransitionIn(action=action, **values), now=at)


def stored_history(db: Session, referral_id: int) -> list[PureEvent]:
    db.expire_all()
    rows = db.scalars(
        select(ReferralEvent)
        .where(ReferralEvent.referral_id == referral_id)
        .order_by(ReferralEvent.version)
    ).all()
    db.commit()
    return [
        PureEvent(
            version=r.version,
            action=Action(r.action) if r.action else None,
            from_state=ReferralState(r.from_state) if r.from_state else None,
            to_state=ReferralState(r.to_state),
            at=r.at,
            by=r.by,
            side=PureSide(r.side),
            reason=r.reason,
        )
        for r in rows
    ]


def audit_actions(db: Session) -> list[str]:
    db.expire_all()
    actions = list(db.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
    db.commit()
    return actions


# --- the whole journey --------------------------------------------------------------------


def test_a_referral_goes_to_the_designated_hospital_and_comes_back(
    db: Session, network: Network
) -> None:
    referral_id = refer(db, network)
    out = service.get_referral(db, network.nurse, referral_id, now=T0)
    assert out.state == "sent"
    assert out.destination == PROVINCIAL  # the map: the province's level-2 hospital
    assert out.designated_destination == PROVINCIAL
    assert out.along_map is True
    assert out.map_version == 1
    assert out.answer_due_at == T0 + timedelta(days=15)
    assert out.person is not None
    assert out.person.person_id == network.person

    doc = network.cardiologist
    act(db, doc, referral_id, Action.ACCEPT, T0 + timedelta(hours=3))
    act(
        db,
        network.desk,
        referral_id,
        Action.SCHEDULE,
        T0 + timedelta(hours=4),
        appointment_at=T0 + timedelta(days=6),
    )
    act(db, network.desk, referral_id, Action.ARRIVE, T0 + timedelta(days=6, minutes=10))
    done = act(
        db,
        doc,
        referral_id,
        Action.COMPLETE,
        T0 + timedelta(days=6, hours=2),
        counter_referral="Insuffisance mitrale modérée ; traitement et contrôle dans 6 mois.",
    )
    assert done.state == "completed"
    assert [e.action for e in done.history] == [
        None,
        "send",
        "accept",
        "schedule",
        "arrive",
        "complete",
    ]
    assert history_problems(stored_history(db, referral_id)) == []

    arrival = db.scalars(select(Encounter).where(Encounter.referral_id == referral_id)).one()
    assert (arrival.establishment_code, arrival.kind) == (PROVINCIAL, "consultation")

    box = service.inbox(db, network.nurse, CENTRE, now=T0 + timedelta(days=7))
    assert [r.id for r in box.counter_referrals] == [referral_id]
    assert box.counter_referrals[0].counter_referral is not None
    assert box.outgoing == []

    line = service.timeline(db, network.nurse, network.person, now=T0 + timedelta(days=7))
    kinds = [(i.type, i.establishment) for i in line.items]
    assert kinds == [
        ("counter_referral", PROVINCIAL),
        ("encounter", PROVINCIAL),
        ("referral", CENTRE),
    ]
    actions = audit_actions(db)
    for expected in (
        "referral.create",
        "referral.accept",
        "referral.schedule",
        "referral.arrive",
        "referral.complete",
        "referral.read",
        "referral.inbox.read",
        "person.timeline.read",
    ):
        assert expected in actions


def test_the_admission_desk_sees_no_clinical_summary(db: Session, network: Network) -> None:
    referral_id = refer(db, network)
    desk_view = service.get_referral(db, network.desk, referral_id, now=T0)
    doctor_view = service.get_referral(db, network.cardiologist, referral_id, now=T0)
    assert desk_view.clinical_summary is None
    assert doctor_view.clinical_summary == "Dyspnée d'effort depuis 3 mois."
    assert "accept" not in desk_view.available_actions  # a clinical decision
    assert "receive" in desk_view.available_actions
    assert {"accept", "refuse", "redirect"} <= set(doctor_view.available_actions)


# --- refusals ---------------------------------------------------------------------------------


def test_a_transition_not_allowed_from_the_state_is_refused_with_409(
    db: Session, network: Network
) -> None:
    referral_id = refer(db, network)
    with pytest.raises(TransitionRefused) as refused:
        act(db, network.desk, referral_id, Action.ARRIVE, T0 + timedelta(hours=1))
    assert refused.value.status_code == 409
    assert refused.value.code == "not_allowed_from_state"
    # the referring nurse may not answer her own referral
    with pytest.raises(TransitionRefused) as side:
        act(db, network.nurse, referral_id, Action.ACCEPT, T0 + timedelta(hours=1))
    assert side.value.status_code == 403
    # a stale page: the version the user saw is not the current one
    with pytest.raises(TransitionRefused) as stale:
        act(
            db,
            network.cardiologist,
            referral_id,
            Action.ACCEPT,
            T0 + timedelta(hours=1),
            expected_version=1,
        )
    assert stale.value.code == "stale_version"
    # nothing of the refused attempts was stored
    assert len(stored_history(db, referral_id)) == 2


def test_refusing_needs_a_reason_and_closes_the_referral(db: Session, network: Network) -> None:
    referral_id = refer(db, network)
    with pytest.raises(TransitionRefused) as missing:
        act(db, network.cardiologist, referral_id, Action.REFUSE, T0 + timedelta(hours=1))
    assert missing.value.status_code == 422
    refused = act(
        db,
        network.cardiologist,
        referral_id,
        Action.REFUSE,
        T0 + timedelta(hours=1),
        reason="Cardiologue absent ce mois : adresser à Tétouan",
    )
    assert refused.state == "refused"
    assert refused.closing_reason == "Cardiologue absent ce mois : adresser à Tétouan"
    with pytest.raises(TransitionRefused) as closed:
        act(db, network.cardiologist, referral_id, Action.ACCEPT, T0 + timedelta(hours=2))
    assert closed.value.code == "terminal_state"


def test_people_outside_both_ends_can_neither_read_nor_act(db: Session, network: Network) -> None:
    referral_id = refer(db, network)
    with pytest.raises(Forbidden):
        service.get_referral(db, network.chu, referral_id, now=T0)
    with pytest.raises(TransitionRefused) as refused:
        act(db, network.chu, referral_id, Action.ACCEPT, T0 + timedelta(hours=1))
    assert refused.value.code == "outside_scope"
    analyst = Principal(3, "analyste", Role.ANALYST, parse_scope("gst"), "session")
    with pytest.raises(DomainError) as no_write:
        service.create_referral(
            db,
            analyst,
            ReferralIn(person_id=network.person, source=CENTRE, specialty="cardiology", reason="x"),
        )
    assert no_write.value.status_code == 403
    assert "referral.read" not in audit_actions(db)


def test_a_patient_is_referred_or_seen_only_where_they_are_known(
    db: Session, network: Network
) -> None:
    riffi = {"given_name": "Ahmed", "family_name": "Riffi", "birth_date": "1950-03-02"}
    stranger = register(db, CHU, cin="K123456", **riffi)
    with pytest.raises(Forbidden) as unknown:
        refer(db, network, person_id=stranger)
    assert unknown.value.code == "person_not_known_here"
    assert db.scalar(select(func.count()).select_from(Referral)) == 0
    db.rollback()
    # nor does the centre open a venue for him, which would show it his whole pathway
    with pytest.raises(Forbidden) as no_venue:
        service.record_encounter(
            db,
            network.nurse,
            EncounterIn(person_id=stranger, establishment=CENTRE, kind="consultation"),
            now=T0 - timedelta(hours=1),
        )
    assert no_venue.value.code == "person_not_known_here"
    db.rollback()
    assert db.scalar(select(func.count()).select_from(Encounter)) == 0
    # the centre's desk registers its own record of him (the MPI links it by the CIN):
    # now the centre sees him and may refer him
    assert register(db, CENTRE, cin="K 123456", **riffi) == stranger
    service.record_encounter(
        db,
        network.nurse,
        EncounterIn(person_id=stranger, establishment=CENTRE, kind="consultation"),
        now=T0 - timedelta(hours=1),
    )
    assert service.get_referral(db, network.nurse, refer(db, network, person_id=stranger))


def test_bad_input_is_refused_before_anything_is_written(db: Session, network: Network) -> None:
    with pytest.raises(Invalid) as unknown:
        refer(db, network, specialty="astrology")
    assert unknown.value.code == "unknown_specialty"
    with pytest.raises(DomainError) as nobody:
        refer(db, network, person_id="P99999999")
    assert nobody.value.status_code == 404
    with pytest.raises(DomainError) as nowhere:
        refer(db, network, destination="NOPE-01")
    assert nowhere.value.status_code == 404
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Referral)) == 0


# --- concurrency ------------------------------------------------------------------------------


def test_of_two_simultaneous_accepts_exactly_one_succeeds(
    db: Session, network: Network, session_factory: sessionmaker[Session]
) -> None:
    referral_id = refer(db, network)
    db.close()
    second = Principal(12, "cardio.2", Role.CLINICIAN, network.cardiologist.scope, "session")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []
    lock = threading.Lock()

    def accept(who: Principal) -> None:
        with session_factory() as session:
            barrier.wait()
            try:
                act(session, who, referral_id, Action.ACCEPT, T0 + timedelta(hours=1))
                result = "accepted"
            except TransitionRefused as exc:
                result = f"{exc.status_code}:{exc.code}"
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=accept, args=(p,)) for p in (network.cardiologist, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(outcomes) == 2
    assert outcomes.count("accepted") == 1
    # the loser is told with a 409: somebody acted first (PostgreSQL) or the referral
    # is no longer awaiting an answer (SQLite, where the write lock queued the second)
    assert set(outcomes) - {"accepted"} <= {"409:stale_version", "409:not_allowed_from_state"}
    with session_factory() as session:
        history = stored_history(session, referral_id)
        assert [e.action for e in history].count(Action.ACCEPT) == 1
        assert history_problems(history) == []


# --- deadlines ------------------------------------------------------------------------------


def test_an_unanswered_referral_expires_at_its_deadline_not_before(
    db: Session, network: Network
) -> None:
    referral_id = refer(db, network, priority="urgent")
    due = T0 + timedelta(hours=2)
    box = service.inbox(db, network.cardiologist, PROVINCIAL, now=due - timedelta(minutes=20))
    assert box.incoming[0].deadline_status == "due_soon"
    assert service.expire_overdue(db, now=due - timedelta(seconds=1)).expired == 0
    box = service.inbox(db, network.cardiologist, PROVINCIAL, now=due)
    assert box.overdue == 1
    assert box.incoming[0].deadline_status == "overdue"
    swept = service.expire_overdue(db, now=due)
    assert swept.ids == [referral_id]
    out = service.get_referral(db, network.nurse, referral_id, now=due)
    assert out.state == "expired"
    assert out.history[-1].side == "system"
    assert service.expire_overdue(db, now=due + timedelta(hours=1)).expired == 0
    with pytest.raises(TransitionRefused) as late:
        act(db, network.cardiologist, referral_id, Action.ACCEPT, due + timedelta(minutes=1))
    assert late.value.code == "terminal_state"


def test_an_answer_stops_the_clock(db: Session, network: Network) -> None:
    referral_id = refer(db, network, priority="urgent")
    act(db, network.cardiologist, referral_id, Action.ACCEPT, T0 + timedelta(hours=1))
    assert service.expire_overdue(db, now=T0 + timedelta(days=1)).expired == 0


# --- redirects ------------------------------------------------------------------------------


def test_a_redirect_keeps_the_chain_and_the_referring_end(db: Session, network: Network) -> None:
    referral_id = refer(db, network)
    parent = act(
        db,
        network.cardiologist,
        referral_id,
        Action.REDIRECT,
        T0 + timedelta(hours=2),
        destination=REGIONAL,
        reason="Échocardiographie indisponible",
    )
    assert parent.state == "redirected"
    assert parent.redirected_to == REGIONAL
    (child_id,) = parent.children
    child = service.get_referral(db, network.regional, child_id, now=T0 + timedelta(hours=2))
    assert child.state == "sent"
    assert (child.parent_id, child.root_id) == (referral_id, referral_id)
    assert child.chain == [PROVINCIAL, REGIONAL]
    assert child.source == CENTRE  # the report still goes back to the centre
    assert child.answer_due_at == T0 + timedelta(hours=2, days=15)
    assert child.designated_destination == PROVINCIAL  # the stamp follows the chain
    with pytest.raises(TransitionRefused) as loop:
        act(
            db,
            network.regional,
            child_id,
            Action.REDIRECT,
            T0 + timedelta(hours=3),
            destination=PROVINCIAL,
            reason="retour",
        )
    assert loop.value.code == "redirect_loop"
    box = service.inbox(db, network.regional, REGIONAL, now=T0 + timedelta(hours=3))
    assert [r.id for r in box.incoming] == [child_id]
    # the parent is still visible to the hospital that redirected it
    assert service.get_referral(db, network.cardiologist, referral_id).state == "redirected"


def test_inbox_lists_page_unanswered_first_then_answered_and_count_everything(
    db: Session, network: Network
) -> None:
    priorities = ["routine", "urgent", "priority", "routine", "urgent", "priority", "routine"]
    ids = [refer(db, network, priority=p) for p in priorities]
    for answered in ids[1::2]:
        act(db, network.cardiologist, answered, Action.ACCEPT, T0 + timedelta(minutes=30))
    at = T0 + timedelta(hours=1)
    rows = db.scalars(select(Referral).where(Referral.id.in_(ids))).all()
    db.commit()
    expected = [
        r.id
        for r in sorted(rows, key=lambda r: (r.state != "sent", r.answer_due_at.timestamp(), r.id))
    ]
    assert expected[:4] == sorted(set(ids) - set(ids[1::2]), key=expected.index)

    def page(n: int, **lists: int) -> Any:
        return service.inbox(
            db, network.cardiologist, PROVINCIAL, now=at, limit=3, pages=InboxPages(**lists)
        )

    incoming = [[r.id for r in page(1, incoming=n).incoming] for n in (1, 2, 3, 4)]
    assert incoming == [expected[0:3], expected[3:6], expected[6:7], []]
    first = page(1)
    assert (first.incoming_total, first.overdue, first.page_size) == (7, 0, 3)
    late = service.inbox(db, network.cardiologist, PROVINCIAL, now=T0 + timedelta(hours=2))
    assert late.overdue == 1  # the one urgent referral left unanswered
    # the centre's outgoing list: the latest event first, over pages
    outgoing = [
        r.id
        for n in (1, 2, 3)
        for r in service.inbox(
            db, network.nurse, CENTRE, now=at, limit=3, pages=InboxPages(outgoing=n)
        ).outgoing
    ]
    assert outgoing == [*ids[5::-2], *ids[6::-2]]
    assert page(1).incoming_total == len(page(1, incoming=2).incoming) + 4


def test_a_patient_arrived_without_counter_referral_is_flagged_a_month_later(
    db: Session, network: Network
) -> None:
    referral_id = refer(db, network)
    act(db, network.cardiologist, referral_id, Action.ACCEPT, T0 + timedelta(hours=3))
    act(
        db,
        network.desk,
        referral_id,
        Action.SCHEDULE,
        T0 + timedelta(hours=4),
        appointment_at=T0 + timedelta(days=2),
    )
    arrived = T0 + timedelta(days=2)
    act(db, network.desk, referral_id, Action.ARRIVE, arrived)

    def flag(at: datetime) -> str:
        box = service.inbox(db, network.cardiologist, PROVINCIAL, now=at)
        return next(r.deadline_status for r in box.incoming if r.id == referral_id)

    assert flag(arrived + timedelta(days=29)) == "none"
    assert flag(arrived + timedelta(days=30)) == "report_overdue"


# --- the map and its versions ------------------------------------------------------------------


def test_past_referrals_keep_the_map_version_they_followed(db: Session, network: Network) -> None:
    before = refer(db, network)
    change = MapChangeIn(
        reason="Pas de cardiologue à Chefchaouen jusqu'en juin",
        add=[MapExceptionIn(source=CENTRE, specialty="cardiology", destination=REGIONAL)],
    )
    version = service.amend_map(db, network.gst, change, now=T0 + timedelta(days=1))
    assert version.number == 2
    after = service.create_referral(
        db,
        network.nurse,
        ReferralIn(person_id=network.person, source=CENTRE, specialty="cardiology", reason="x"),
        now=T0 + timedelta(days=2),
    )
    assert (after.destination, after.map_version, after.along_map) == (REGIONAL, 2, True)
    old = service.get_referral(db, network.nurse, before)
    assert (old.destination, old.map_version, old.along_map) == (PROVINCIAL, 1, True)
    versions = service.list_map_versions(db, network.gst)
    assert [v.number for v in versions] == [2, 1]
    assert versions[0].exceptions[0].destination == REGIONAL
    assert "pathway_map.amend" in audit_actions(db)
    drawn = service.draw_map(
        db, network.gst, "cardiology", start=T0 - timedelta(days=1), end=T0 + timedelta(days=30)
    )
    assert drawn.bypass.outside_map == 0
    assert {(f.source, f.destination) for f in drawn.flows} == {
        (CENTRE, PROVINCIAL),
        (CENTRE, REGIONAL),
    }
    assert {(lf.from_level, lf.to_level, lf.referrals) for lf in drawn.levels} == {
        (1, 2, 1),
        (1, 3, 1),
    }
    centre_arrow = next(a for a in drawn.designated if a.source == CENTRE)
    assert (centre_arrow.destination, centre_arrow.rule) == (REGIONAL, "exception")


def test_only_the_regional_administration_changes_the_map(db: Session, network: Network) -> None:
    change = MapChangeIn(
        reason="essai",
        add=[MapExceptionIn(source=CENTRE, specialty="cardiology", destination=REGIONAL)],
    )
    with pytest.raises(Forbidden):
        service.amend_map(db, network.cardiologist, change)
    bad = MapChangeIn(
        reason="vers un centre",
        add=[MapExceptionIn(source=PROVINCIAL, specialty="cardiology", destination=CENTRE)],
    )
    with pytest.raises(Invalid) as invalid:
        service.amend_map(db, network.gst, bad)
    assert invalid.value.code == "map_exception_invalid"
    assert [v.number for v in service.list_map_versions(db, network.gst)] == [1]


def test_bypasses_count_referrals_outside_the_map_and_unreferred_arrivals_at_the_chu(
    db: Session, network: Network
) -> None:
    refer(db, network)  # along the map
    refer(db, network, destination=CHU)  # straight to the CHU: outside the map
    service.record_encounter(
        db,
        network.chu,
        EncounterIn(
            person_id=network.person,
            establishment=CHU,
            kind="emergency",
            specialty="cardiology",
            start_at=T0 + timedelta(hours=5),
        ),
        now=T0 + timedelta(hours=6),
    )
    drawn = service.draw_map(
        db, network.gst, "cardiology", start=T0 - timedelta(days=1), end=T0 + timedelta(days=1)
    )
    assert drawn.bypass.referrals == 2
    assert drawn.bypass.outside_map == 1
    assert drawn.bypass.outside_map_rate == 0.5
    assert drawn.bypass.arrivals == 1
    assert drawn.bypass.arrivals_without_referral == 1
    assert drawn.bypass.arrivals_without_referral_emergency == 1
    chu_flow = next(f for f in drawn.flows if f.destination == CHU)
    assert (chu_flow.referrals, chu_flow.outside_map) == (1, 1)


# --- routing and beds ----------------------------------------------------------------------------


def test_routing_passes_over_a_full_service_but_still_shows_it(
    db: Session, network: Network
) -> None:
    routine = service.route(db, network.nurse, CENTRE, "cardiology", Priority.ROUTINE)
    assert routine.designated == PROVINCIAL
    assert routine.proposals[0].code == PROVINCIAL
    assert routine.proposals[0].designated
    # the only cardiology bed of Chefchaouen is taken
    other = register(db, PROVINCIAL, given_name="Ahmed", family_name="Riffi", birth_date="1950")
    service.record_encounter(
        db,
        network.desk,
        EncounterIn(
            person_id=other, establishment=PROVINCIAL, kind="admission", specialty="cardiology"
        ),
    )
    urgent = service.route(db, network.nurse, CENTRE, "cardiology", Priority.URGENT)
    codes = [p.code for p in urgent.proposals]
    assert codes[-1] == PROVINCIAL  # full: sinks below every service with a free bed
    assert "full" in urgent.proposals[-1].flags
    assert urgent.proposals[-1].beds_available == 0
    assert urgent.proposals[0].beds_available
    assert urgent.proposals[0].beds_available > 0
    assert codes.index(REGIONAL) < codes.index(CHU)  # the nearer level before the CHU
    # an outpatient consultation does not need the bed: the map's answer stays first
    routine = service.route(db, network.nurse, CENTRE, "cardiology", Priority.ROUTINE)
    assert routine.proposals[0].code == PROVINCIAL
    assert any("lit" in reason for reason in routine.proposals[0].reasons)


def test_admissions_and_discharges_keep_the_census(db: Session, network: Network) -> None:
    def admit(person: str, **values: Any) -> int:
        return service.record_encounter(
            db,
            network.desk,
            EncounterIn(
                person_id=person,
                establishment=PROVINCIAL,
                kind="admission",
                specialty="cardiology",
                **values,
            ),
        ).id

    known_at(db, network.person, PROVINCIAL)
    first = admit(network.person)
    other = register(db, PROVINCIAL, given_name="Ahmed", family_name="Riffi", birth_date="1950")
    with pytest.raises(CensusRefused) as full:
        admit(other)
    assert full.value.status_code == 409
    assert full.value.code == "service_full"
    overflow = admit(other, overflow=True)
    beds = service.census(db, network.gst, establishment=PROVINCIAL, specialty="cardiology")
    assert (beds.declared, beds.occupied, beds.free) == (1, 2, 0)
    assert beds.rows[0].level == "saturated"
    out = service.discharge(
        db, network.desk, first, DischargeIn(mode=DischargeMode.HOME, diagnoses=[])
    )
    assert out.status == "finished"
    assert out.discharge_mode == "home"
    with pytest.raises(Invalid) as twice:
        service.discharge(db, network.desk, first, DischargeIn(mode=DischargeMode.HOME))
    assert twice.value.code == "already_discharged"
    with pytest.raises(Invalid):
        service.discharge(db, network.desk, overflow, DischargeIn(mode=DischargeMode.TRANSFER))
    service.discharge(
        db, network.desk, overflow, DischargeIn(mode=DischargeMode.TRANSFER, transfer_to=CHU)
    )
    beds = service.census(db, network.gst, establishment=PROVINCIAL, specialty="cardiology")
    assert beds.occupied == 0
    assert service.rebuild_census(db) == 0


def test_an_emergency_transfer_with_a_bed_request_opens_a_stay_on_arrival(
    db: Session, network: Network
) -> None:
    referral_id = refer(
        db,
        network,
        priority="urgent",
        destination=REGIONAL,
        bed_request=True,
        bed_service="cardiology",
    )
    act(db, network.regional, referral_id, Action.ACCEPT, T0 + timedelta(minutes=20))
    act(
        db,
        network.regional,
        referral_id,
        Action.SCHEDULE,
        T0 + timedelta(minutes=21),
        immediate=True,
    )
    act(db, network.regional, referral_id, Action.ARRIVE, T0 + timedelta(hours=1))
    stay = db.scalars(select(Encounter).where(Encounter.referral_id == referral_id)).one()
    assert (stay.kind, stay.status, stay.specialty) == ("admission", "in_progress", "cardiology")
    beds = service.census(db, network.gst, establishment=REGIONAL, specialty="cardiology")
    assert beds.occupied == 1


def test_diagnoses_are_checked_and_kept_with_their_labels(db: Session, network: Network) -> None:
    with pytest.raises(Invalid) as bad:
        service.record_encounter(
            db,
            network.nurse,
            EncounterIn(
                person_id=network.person,
                establishment=CENTRE,
                kind="consultation",
                diagnoses=["I10", "hypertension"],
            ),
        )
    assert bad.value.code == "invalid_encounter"
    out = service.record_encounter(
        db,
        network.nurse,
        EncounterIn(
            person_id=network.person,
            establishment=CENTRE,
            kind="consultation",
            specialty="general_medicine",
            diagnoses=["i10", "E11.9", "Z99.8"],
        ),
    )
    assert [(d.code, d.known) for d in out.diagnoses] == [
        ("I10", True),
        ("E11.9", True),
        ("Z99.8", False),
    ]
    assert out.diagnoses[0].label
    assert "hypertension" in out.diagnoses[0].label.lower()
    # an admission agent registers the visit but does not code diagnoses
    with pytest.raises(DomainError) as desk:
        service.record_encounter(
            db,
            network.desk,
            EncounterIn(
                person_id=network.person,
                establishment=PROVINCIAL,
                kind="consultation",
                diagnoses=["I10"],
            ),
        )
    assert desk.value.status_code == 403


# --- the timeline -------------------------------------------------------------------------------


def test_the_timeline_needs_the_scope_or_a_stated_reason(db: Session, network: Network) -> None:
    refer(db, network)
    outsider = Principal(
        5, "medecin.larache", Role.CLINICIAN, parse_scope("province:LAR"), "session"
    )
    with pytest.raises(Forbidden):
        service.timeline(db, outsider, network.person)
    line = service.timeline(
        db, outsider, network.person, reason="Patiente inconsciente aux urgences"
    )
    assert len(line.items) == 1
    actions = audit_actions(db)
    assert "person.timeline.read.emergency" in actions
    desk = Principal(6, "agent", Role.ADMISSION_AGENT, parse_scope("gst"), "session")
    with pytest.raises(DomainError) as clinical:
        service.timeline(db, desk, network.person)
    assert clinical.value.status_code == 403


def test_the_timeline_follows_the_persons_records_across_establishments(
    db: Session, network: Network
) -> None:
    # the same woman registered at the CHU under her CIN-less demographics links to her person
    again = register(db, CHU, local_id="CHU-778")
    assert again == network.person
    service.record_encounter(
        db,
        network.chu,
        EncounterIn(
            person_id=network.person,
            establishment=CHU,
            kind="consultation",
            specialty="cardiology",
            start_at=T0,
        ),
        now=T0 + timedelta(hours=1),
    )
    service.record_encounter(
        db,
        network.nurse,
        EncounterIn(
            person_id=network.person,
            establishment=CENTRE,
            kind="consultation",
            specialty="general_medicine",
            start_at=T0 - timedelta(days=3),
        ),
        now=T0,
    )
    line = service.timeline(db, network.nurse, network.person)
    assert [i.establishment for i in line.items] == [CHU, CENTRE]
    assert set(line.establishments) == {CENTRE, CHU}


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE referral_event SET reason = 'réécrit'",
        "DELETE FROM referral_event",
        "UPDATE pathway_map_exception SET destination = 'CHU-TNG-01'",
        "DELETE FROM pathway_map_version",
    ],
)
def test_histories_cannot_be_rewritten(db: Session, network: Network, statement: str) -> None:
    refer(db, network)
    service.amend_map(
        db,
        network.gst,
        MapChangeIn(
            reason="essai",
            add=[MapExceptionIn(source=CENTRE, specialty="cardiology", destination=REGIONAL)],
        ),
    )
    with pytest.raises(DBAPIError, match="append-only"):
        db.execute(text(statement))
    db.rollback()


def test_the_servers_sweep_expires_what_is_overdue(
    db: Session, network: Network, session_factory: sessionmaker[Session]
) -> None:
    from parcours.pathways import sweeper

    old = service.create_referral(
        db,
        network.nurse,
        ReferralIn(
            person_id=network.person,
            source=CENTRE,
            specialty="cardiology",
            priority="urgent",
            reason="x",
        ),
        now=datetime.now(UTC) - timedelta(hours=3),
    )
    fresh = refer(db, network)  # routine, sent at T0 + 15 days of deadline: long past too
    assert sweeper.sweep_once(session_factory) == 2
    assert service.get_referral(db, network.nurse, old.id).state == "expired"
    assert service.get_referral(db, network.nurse, fresh).state == "expired"
    assert sweeper.sweep_once(session_factory) == 0
