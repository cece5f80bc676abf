"""The bulk loader on a real database (SQLite and PostgreSQL): what it stores is what the
use cases would have left — histories the machine allows, arrivals, the census, the audit."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from parcours.access.models import AuditEvent
from parcours.db import make_session_factory
from parcours.demo import pipeline
from parcours.demo.pathways_plan import RecordRef, plan_activity
from parcours.demo.steps import STEPS
from parcours.demo.steps.pathways import make_step
from parcours.pathways import bulk, network, pathway_map, service
from parcours.pathways.encounter import DischargeMode, EncounterKind
from parcours.pathways.models import BedCensus, Encounter, EncounterDiagnosis, Referral
from parcours.pathways.models import ReferralEvent as EventRow
from parcours.pathways.referral import (
    Action,
    Payload,
    Priority,
    ReferralEvent,
    ReferralState,
    Side,
    history_problems,
)
from parcours.patients import service as patients
from tests.pathways.conftest import CENTRE, CHU, PROVINCIAL, REGIONAL, URBAN, Network, register

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
H = timedelta(hours=1)
D = timedelta(days=1)


def record_of(db: Session, person: str) -> int:
    records = patients.person_records(db, person)
    db.commit()
    return records.record_ids[0]


def stored_histories(db: Session) -> dict[int, list[ReferralEvent]]:
    db.expire_all()
    out: dict[int, list[ReferralEvent]] = {}
    for r in db.scalars(select(EventRow).order_by(EventRow.referral_id, EventRow.version)):
        out.setdefault(r.referral_id, []).append(
            ReferralEvent(
                version=r.version,
                action=Action(r.action) if r.action else None,
                from_state=ReferralState(r.from_state) if r.from_state else None,
                to_state=ReferralState(r.to_state),
                at=r.at,
                by=r.by,
                side=Side(r.side),
                reason=r.reason,
                destination=r.destination,
            )
        )
    db.commit()
    return out


def open_stays(db: Session) -> dict[tuple[str, str], int]:
    counts = bulk.open_stays_by_service(db)
    db.commit()
    return counts


def census(db: Session) -> dict[tuple[str, str], int]:
    rows = {(c.establishment_code, c.specialty): c.occupied for c in db.scalars(select(BedCensus))}
    db.commit()
    return {k: v for k, v in rows.items() if v}


def journey(record: int) -> bulk.ReferralScript:
    """Centre → provincial hospital, a bed asked, the stay closed, the report back."""
    doctor, desk = "medecin.hp-che-01", "accueil.hp-che-01"
    return bulk.ReferralScript(
        record_id=record,
        source=CENTRE,
        destination=PROVINCIAL,
        specialty="cardiology",
        priority=Priority.PRIORITY,
        created_at=T0,
        by="infirmier.csr-che-01",
        reason="Dyspnée d'effort",
        bed_request=True,
        steps=(
            bulk.Step(Action.SEND, T0, Side.REFERRING, "infirmier.csr-che-01"),
            bulk.Step(Action.RECEIVE, T0 + H, Side.RECEIVING, desk),
            bulk.Step(Action.ACCEPT, T0 + 3 * H, Side.RECEIVING, doctor),
            bulk.Step(
                Action.SCHEDULE,
                T0 + 4 * H,
                Side.RECEIVING,
                desk,
                Payload(appointment_at=T0 + 2 * D),
            ),
            bulk.Step(Action.ARRIVE, T0 + 2 * D, Side.RECEIVING, desk),
            bulk.Step(
                Action.COMPLETE,
                T0 + 6 * D,
                Side.RECEIVING,
                doctor,
                Payload(counter_referral="Insuffisance cardiaque compensée ; suivi au centre."),
            ),
        ),
        arrival_diagnoses=("I50.9",),
        stay_end=T0 + 5 * D,
        stay_discharge_mode=DischargeMode.HOME,
    )


def redirected(record: int) -> bulk.ReferralScript:
    """The provincial hospital redirects to the regional one, which accepts: a bed, still taken."""
    return bulk.ReferralScript(
        record_id=record,
        source=CENTRE,
        destination=PROVINCIAL,
        specialty="cardiology",
        priority=Priority.URGENT,
        created_at=T0 + 10 * D,
        by="infirmier.csr-che-01",
        reason="Douleur thoracique",
        bed_request=True,
        steps=(
            bulk.Step(Action.SEND, T0 + 10 * D, Side.REFERRING, "infirmier.csr-che-01"),
            bulk.Step(
                Action.REDIRECT,
                T0 + 10 * D + H,
                Side.RECEIVING,
                "medecin.hp-che-01",
                Payload(reason="Pas de lit de cardiologie", destination=REGIONAL),
            ),
            bulk.Step(Action.ACCEPT, T0 + 10 * D + 2 * H, Side.RECEIVING, "medecin.hr-tet-01"),
            bulk.Step(
                Action.SCHEDULE,
                T0 + 10 * D + 2 * H,
                Side.RECEIVING,
                "accueil.hr-tet-01",
                Payload(immediate=True),
            ),
            bulk.Step(Action.ARRIVE, T0 + 10 * D + 5 * H, Side.RECEIVING, "accueil.hr-tet-01"),
        ),
        arrival_diagnoses=("I21.9",),
    )


def test_scripts_are_played_by_the_machine_and_stored_with_their_arrivals(
    db: Session, network: Network
) -> None:
    record = record_of(db, network.person)
    consultation = bulk.NewEncounter(
        record_id=record,
        establishment=CENTRE,
        kind=EncounterKind.CONSULTATION,
        start_at=T0 - timedelta(minutes=30),
        by="infirmier.csr-che-01",
        specialty="general_medicine",
        diagnoses=("I10", "r06.0"),
    )
    report = bulk.load(db, [consultation], [journey(record)], referral_batch=1)
    assert (report.referrals, report.redirects, report.arrivals) == (1, 0, 1)
    assert report.encounters == 2
    assert report.diagnoses == 3
    histories = stored_histories(db)
    assert len(histories) == 1
    (history,) = histories.values()
    assert history_problems(history) == []
    assert [e.action for e in history] == [
        None,
        Action.SEND,
        Action.RECEIVE,
        Action.ACCEPT,
        Action.SCHEDULE,
        Action.ARRIVE,
        Action.COMPLETE,
    ]
    row = db.scalars(select(Referral)).one()
    # stamped as create_referral stamps it: the current version and its designation
    version = service.current_map(db)
    net = network_of(db)
    designation = pathway_map.designated_destination(CENTRE, "cardiology", version, net.index)
    assert designation is not None
    assert (row.map_version, row.designated_destination) == (1, designation.destination)
    assert row.answer_due_at == T0 + timedelta(hours=72)
    assert row.state == "completed"
    assert row.version == 7
    stay = db.scalars(select(Encounter).where(Encounter.referral_id == row.id)).one()
    assert (stay.establishment_code, stay.kind, stay.specialty) == (
        PROVINCIAL,
        "admission",
        "cardiology",
    )
    assert (stay.status, stay.end_at, stay.discharge_mode) == ("finished", T0 + 5 * D, "home")
    assert stay.version == 2  # admitted, then discharged
    codes = db.scalars(
        select(EncounterDiagnosis.code)
        .join(Encounter, Encounter.id == EncounterDiagnosis.encounter_id)
        .order_by(Encounter.start_at, EncounterDiagnosis.rank)
    ).all()
    assert list(codes) == ["I10", "R06.0", "I50.9"]  # normalised as the form does
    db.commit()

    out = service.get_referral(db, network.cardiologist, row.id, now=T0 + 7 * D)
    assert out.counter_referral == "Insuffisance cardiaque compensée ; suivi au centre."
    assert out.person is not None
    assert out.person.person_id == network.person
    line = service.timeline(db, network.nurse, network.person, now=T0 + 7 * D)
    assert [(i.type, i.establishment) for i in line.items] == [
        ("counter_referral", PROVINCIAL),
        ("encounter", PROVINCIAL),
        ("referral", CENTRE),
        ("encounter", CENTRE),
    ]


def network_of(db: Session) -> network.Network:
    net = network.load(db)
    db.commit()
    return net


def test_a_redirect_keeps_the_chain_and_the_open_stay_is_in_the_census(
    db: Session, network: Network
) -> None:
    record = record_of(db, network.person)
    other = record_of(db, register(db, URBAN, given_name="Ahmed", family_name="Bouzidi"))
    in_bed = bulk.NewEncounter(
        record_id=other,
        establishment=CHU,
        kind=EncounterKind.ADMISSION,
        start_at=T0,
        by="accueil.chu-tng-01",
        specialty="cardiology",
        diagnoses=("I50.0",),
    )
    report = bulk.load(db, [in_bed], [redirected(record)])
    assert (report.referrals, report.redirects, report.open_stays) == (2, 1, 2)
    parent = db.scalars(select(Referral).where(Referral.parent_id.is_(None))).one()
    child = db.scalars(select(Referral).where(Referral.parent_id.is_not(None))).one()
    assert (parent.state, parent.redirected_to) == ("redirected", REGIONAL)
    assert (child.parent_id, child.root_id, child.chain) == (
        parent.id,
        parent.id,
        f"{PROVINCIAL}>{REGIONAL}",
    )
    assert child.designated_destination == parent.designated_destination
    assert child.created_by == "medecin.hp-che-01"
    assert child.answer_due_at == T0 + 10 * D + 3 * H  # a fresh urgent deadline from the redirect
    histories = stored_histories(db)
    assert all(history_problems(h) == [] for h in histories.values())
    assert histories[child.id][0].action is Action.REDIRECT
    db.commit()

    seen = service.get_referral(db, network.regional, child.id, now=T0 + 11 * D)
    assert seen.chain == [PROVINCIAL, REGIONAL]
    assert seen.state == "patient_arrived"
    assert seen.source == CENTRE
    assert service.get_referral(db, network.cardiologist, parent.id).children == [child.id]

    # the stay opened by the arrival and the admission without an end are the census
    assert open_stays(db) == {(REGIONAL, "cardiology"): 1, (CHU, "cardiology"): 1}
    assert census(db) == open_stays(db)
    assert report.census == 2
    beds = service.census(db, network.gst, establishment=REGIONAL, specialty="cardiology")
    assert (beds.occupied, beds.free) == (1, 2)


def test_a_script_the_machine_refuses_stores_nothing(db: Session, network: Network) -> None:
    record = record_of(db, network.person)
    good = journey(record)
    bad = bulk.ReferralScript(
        record_id=record,
        source=CENTRE,
        destination=PROVINCIAL,
        specialty="cardiology",
        priority=Priority.ROUTINE,
        created_at=T0,
        by="x",
        reason="r",
        steps=(
            bulk.Step(Action.SEND, T0, Side.REFERRING, "x"),
            bulk.Step(Action.ARRIVE, T0 + H, Side.RECEIVING, "y"),  # never accepted
        ),
    )
    with pytest.raises(bulk.ScriptRefused, match="not_allowed_from_state"):
        bulk.load(db, [], [good, bad])
    assert bulk.activity_counts(db) == {"encounters": 0, "referrals": 0}
    # nor an expiry before the deadline, nor an encounter in a service the place lacks
    early = bulk.ReferralScript(
        **{
            **bad.__dict__,
            "steps": (
                bulk.Step(Action.SEND, T0, Side.REFERRING, "x"),
                bulk.Step(Action.EXPIRE, T0 + D, Side.SYSTEM, "system:pathways"),
            ),
        }
    )
    with pytest.raises(bulk.ScriptRefused, match="not_yet_due"):
        bulk.load(db, [], [early])
    lacking = bulk.NewEncounter(
        record_id=record,
        establishment=CENTRE,
        kind=EncounterKind.ADMISSION,
        start_at=T0,
        by="x",
        specialty="cardiology",
    )
    with pytest.raises(bulk.ScriptRefused, match="n'offre pas"):
        bulk.load(db, [lacking], [])
    assert bulk.activity_counts(db) == {"encounters": 0, "referrals": 0}


def test_each_batch_is_audited_with_its_counts(db: Session, network: Network) -> None:
    record = record_of(db, network.person)
    visits = [
        bulk.NewEncounter(
            record_id=record,
            establishment=CENTRE,
            kind=EncounterKind.CONSULTATION,
            start_at=T0 - k * D,
            by="x",
            specialty="general_medicine",
            diagnoses=("J06.9",),
        )
        for k in range(1, 6)
    ]
    bulk.load(db, visits, [journey(record)], encounter_batch=2, actor="test:bulk")
    entries = db.scalars(
        select(AuditEvent).where(AuditEvent.action == bulk.AUDIT_ACTION).order_by(AuditEvent.id)
    ).all()
    assert [e.actor for e in entries] == ["test:bulk"] * 4  # 1 referral batch, 3 encounter ones
    assert entries[0].details is not None
    assert entries[0].details["referrals"] == 1
    assert [e.details["encounters"] for e in entries[1:] if e.details] == [2, 2, 1]


def test_an_admission_over_the_beds_is_in_overflow(db: Session, network: Network) -> None:
    persons = [network.person] + [
        register(db, CENTRE, given_name=name, family_name="Amrani", birth_date="1970")
        for name in ("Said", "Karima")
    ]
    stays = [
        bulk.NewEncounter(
            record_id=record_of(db, p),
            establishment=PROVINCIAL,
            kind=EncounterKind.ADMISSION,
            start_at=T0 + k * H,
            by="x",
            specialty="cardiology",  # one declared bed
        )
        for k, p in enumerate(persons)
    ]
    report = bulk.load(db, stays, [])
    assert report.overflow == 2
    flags = db.scalars(select(Encounter.overflow).order_by(Encounter.start_at)).all()
    assert list(flags) == [False, True, True]
    assert census(db) == {(PROVINCIAL, "cardiology"): 3}


def test_a_planned_year_loads_with_valid_histories_and_its_census(
    db: Session, network: Network
) -> None:
    people = [network.person] + [
        register(
            db,
            CENTRE if k % 2 else URBAN,
            given_name=f"Prénom{k}",
            family_name=f"Famille{k}",
            sex="F" if k % 3 else "M",
            birth_date=str(1950 + 2 * k),
        )
        for k in range(1, 25)
    ]
    net = network_of(db)
    refs = []
    for p in people:
        records = patients.person_records(db, p)
        refs += [RecordRef(r, e, p, "F", 1970) for r, e in records.records]
    db.commit()
    until = datetime(2026, 6, 1, tzinfo=UTC)
    plan = plan_activity(
        net.index.by_code.values(),
        refs,
        version=service.current_map(db),
        seed=3,
        until=until,
        encounters=300,
        referrals=40,
        focus=[PROVINCIAL],
    )
    report = bulk.load(db, plan.encounters, plan.referrals)
    assert report.encounters == plan.total_encounters
    assert report.referrals >= len(plan.referrals)
    histories = stored_histories(db)
    assert len(histories) == report.referrals
    assert all(history_problems(h) == [] for h in histories.values())
    assert census(db) == open_stays(db) == dict(plan.open_stays())
    by_state = Counter(db.scalars(select(Referral.state)))
    db.commit()
    assert by_state["completed"] > 0
    # live work at the end: the focus hospital has something to answer
    box = service.inbox(db, network.cardiologist, PROVINCIAL, now=until)
    assert box.incoming_total > 0


def test_the_demo_step_builds_once(engine: Engine) -> None:
    until = datetime(2026, 12, 2, tzinfo=UTC)
    # the pathways step at a fixed day, after the steps it builds on (later ones left out)
    before = STEPS[: [s.name for s in STEPS].index("pathways")]
    steps = (*before, make_step(until))
    factory = make_session_factory(engine)
    with factory() as db:
        run = pipeline.run(db, steps, seed=11, scale=0.05)
    outcome = {o.name: o for o in run.outcomes}["pathways"]
    assert outcome.status == "built"
    with factory() as db:
        stored = bulk.activity_counts(db)
        assert stored["referrals"] == outcome.counts["références"]
        assert stored["encounters"] == sum(
            outcome.counts[k] for k in ("consultations", "urgences", "hospitalisations")
        )
        assert census(db) == open_stays(db)
        assert sum(census(db).values()) == outcome.counts["lits occupés"] > 0
        assert all(history_problems(h) == [] for h in stored_histories(db).values())
        again = pipeline.run(db, steps, seed=11, scale=0.05)
        assert {o.status for o in again.outcomes} == {"already_built"}
        assert bulk.activity_counts(db) == stored
        entries = db.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "pathways.load")
        )
        assert entries
        assert entries >= 2
