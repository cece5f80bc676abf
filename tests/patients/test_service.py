"""MPI use cases on a real database (SQLite and PostgreSQL): registration decisions,
links and their history, the review queue, search, scope and audit, batch paths."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from parcours.access.models import AuditEvent
from parcours.access.rules import Principal, Role, parse_scope
from parcours.db import utcnow
from parcours.errors import Conflict, Forbidden, Invalid, NotFound
from parcours.patients import service
from parcours.patients.fellegi_sunter import Model
from parcours.patients.models import (
    PatientLinkEvent,
    PatientModel,
    PatientPerson,
    PatientRecordLink,
    PatientReview,
)
from parcours.patients.schemas import RecordIn
from parcours.patients.synthetic import generate


def principal(
    role: Role = Role.ADMISSION_AGENT, scope: str = "gst", username: str = "agent"
) -> Principal:
    return Principal(7, username, role, parse_scope(scope), "session")


GST_AGENT = principal()


def install_model(db: Session, model: Model) -> None:
    db.add(
        PatientModel(
            version=1, params=model.to_dict(), trained_at=utcnow(), trained_by="test", records=1
        )
    )
    db.commit()


@pytest.fixture
def mpi(db: Session, small_region: dict[str, str], model: Model) -> Session:
    """The six establishments of ``small_region`` and a model trained on synthetic data."""
    install_model(db, model)
    return db


def record(**values: Any) -> RecordIn:
    base: dict[str, Any] = {
        "establishment": "CHU-TNG",
        "given_name": "Mohammed",
        "family_name": "Elamrani",
        "sex": "M",
        "birth_date": "1985-03-12",
        "phone": "0612345678",
        "address": "Hay Nakhil rue 5",
        "commune": "Tanger",
    }
    base.update(values)
    return RecordIn(**base)


def audit_actions(db: Session) -> list[str]:
    db.expire_all()
    actions = list(db.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
    db.commit()
    return actions


# --- registration decisions -------------------------------------------------------------


def test_a_variant_spelling_at_a_second_establishment_links(mpi: Session) -> None:
    first = service.register_record(mpi, GST_AGENT, record(local_id="A1"))
    assert first.decision == "new"
    second = service.register_record(
        mpi,
        GST_AGENT,
        record(
            establishment="HP-TET-01",
            local_id="B7",
            given_name="Mohamed",
            family_name="El Amrani",
            phone="06 12 34 56 78",
            address="",
        ),
    )
    assert second.decision == "link"
    assert second.person_id == first.person_id
    assert second.candidates[0].person_id == first.person_id
    assert {f.field for f in second.candidates[0].fields} >= {"given", "family", "birth_date"}
    person = service.get_person(mpi, GST_AGENT, first.person_id)
    assert {r.establishment for r in person.records} == {"CHU-TNG", "HP-TET-01"}
    link = person.history[-1]
    assert (link.action, link.actor, link.record_key) == ("link", "system:mpi", second.record_key)
    assert link.score is not None
    assert link.score > 0.95


def test_a_namesake_with_another_birth_date_is_another_person(mpi: Session) -> None:
    first = service.register_record(mpi, GST_AGENT, record(local_id="A1"))
    other = service.register_record(
        mpi,
        GST_AGENT,
        record(
            establishment="HP-TET-01", local_id="B1", birth_date="1990-07-01", phone="", address=""
        ),
    )
    assert other.decision == "new"
    assert other.person_id != first.person_id


def test_a_borderline_pair_goes_to_review_and_the_record_gets_a_person_at_once(
    mpi: Session,
) -> None:
    first = service.register_record(mpi, GST_AGENT, record(local_id="A1"))
    borderline = service.register_record(
        mpi,
        GST_AGENT,
        record(
            establishment="HP-TET-01",
            local_id="B1",
            given_name="Mohamed",
            family_name="Amrani",
            birth_date="1985-04-12",
            phone="",
            address="",
            commune="",
        ),
    )
    assert borderline.decision == "review"
    assert borderline.person_id != first.person_id
    page = service.list_reviews(mpi, GST_AGENT)
    assert page.total == 1
    review = page.items[0]
    assert review.record.record_key == borderline.record_key
    assert review.candidate_person_id == first.person_id
    assert review.candidate.record_key == first.record_key
    assert 0.3 <= review.probability < 0.95
    assert {f.field for f in review.fields} >= {"given", "family", "birth_date"}
    # both sides of the pair show the open review on their page
    assert service.get_person(mpi, GST_AGENT, first.person_id).open_reviews == 1
    assert service.get_person(mpi, GST_AGENT, borderline.person_id).open_reviews == 1


def test_twins_are_not_linked(mpi: Session) -> None:
    first = service.register_record(mpi, GST_AGENT, record(local_id="A1"))
    twin = service.register_record(mpi, GST_AGENT, record(local_id="A2", given_name="Youssef"))
    assert twin.decision == "new"
    assert twin.person_id != first.person_id


def test_the_same_cin_links_whatever_the_spelling(mpi: Session) -> None:
    first = service.register_record(mpi, GST_AGENT, record(local_id="A1", cin="K123456"))
    second = service.register_record(
        mpi,
        GST_AGENT,
        record(
            establishment="DR-HOC-01",
            local_id="Z9",
            cin="k 0123456",
            given_name="Mhamed",
            family_name="Lamrani",
            birth_date="1985",
            phone="",
            address="",
            commune="",
        ),
    )
    assert (second.decision, second.person_id) == ("link", first.person_id)


def test_registration_refuses_bad_input_and_duplicates(mpi: Session) -> None:
    with pytest.raises(Invalid) as unknown:
        service.register_record(mpi, GST_AGENT, record(establishment="NOPE"))
    assert unknown.value.code == "unknown_establishment"
    with pytest.raises(Invalid) as bad_date:
        service.register_record(mpi, GST_AGENT, record(birth_date="12 mars"))
    assert bad_date.value.code == "invalid_birth_date"
    with pytest.raises(Invalid):
        service.register_record(
            mpi, GST_AGENT, record(given_name="", family_name="", birth_date="", phone="")
        )
    service.register_record(mpi, GST_AGENT, record(local_id="A1", record_id="X1"))
    with pytest.raises(Conflict) as same_ipp:
        service.register_record(mpi, GST_AGENT, record(local_id="A1"))
    assert same_ipp.value.code == "local_id_exists"
    with pytest.raises(Conflict) as same_key:
        service.register_record(mpi, GST_AGENT, record(local_id="A2", record_id="X1"))
    assert same_key.value.code == "record_exists"


def test_registration_needs_the_establishment_in_scope(mpi: Session) -> None:
    agent = principal(scope="establishment:CSU-TNG-01")
    with pytest.raises(Forbidden) as out:
        service.register_record(mpi, agent, record())
    assert out.value.code == "out_of_scope"
    with pytest.raises(Forbidden) as no_write:
        service.register_record(mpi, principal(Role.ANALYST), record())
    assert no_write.value.code == "permission_denied"
    done = service.register_record(mpi, agent, record(establishment="CSU-TNG-01"))
    assert done.decision == "new"


# --- links, unlinks, undo ---------------------------------------------------------------------


def _two_linked(db: Session) -> tuple[str, str, str]:
    first = service.register_record(db, GST_AGENT, record(local_id="A1"))
    second = service.register_record(
        db, GST_AGENT, record(establishment="HP-TET-01", local_id="B1", given_name="Mohamed")
    )
    assert second.person_id == first.person_id
    return first.person_id, first.record_key, second.record_key


def test_unlink_restores_the_previous_state_and_the_history_shows_both(mpi: Session) -> None:
    person, first_key, second_key = _two_linked(mpi)
    unlinked = service.unlink_record(mpi, GST_AGENT, second_key, "homonyme, pas la même personne")
    assert (unlinked.action, unlinked.person_id) == ("unlink", person)
    after = service.get_person(mpi, GST_AGENT, person)
    assert [r.record_key for r in after.records] == [first_key]
    moved = [e for e in after.history if e.record_key == second_key]
    assert [e.action for e in moved] == ["link", "unlink"]
    assert moved[-1].reason == "homonyme, pas la même personne"
    # the record now has a person of its own
    links = dict(service.export_links(mpi))
    assert links[second_key] not in ("", person)
    # undoing the unlink puts it back, and the history keeps every step
    restored = service.undo_event(mpi, GST_AGENT, unlinked.id, "erreur de manipulation")
    assert (restored.action, restored.person_id, restored.undoes_event_id) == (
        "link",
        person,
        unlinked.id,
    )
    again = service.get_person(mpi, GST_AGENT, person)
    assert sorted(r.record_key for r in again.records) == sorted([first_key, second_key])
    steps = [(e.action, e.person_id) for e in again.history if e.record_key == second_key]
    own = links[second_key]
    assert steps == [
        ("link", person),
        ("unlink", person),
        ("link", own),
        ("unlink", own),
        ("link", person),
    ]
    mpi.expire_all()
    lonely = mpi.scalars(
        select(PatientPerson).where(PatientPerson.public_id == links[second_key])
    ).one()
    assert lonely.status == "empty"
    mpi.commit()
    with pytest.raises(Conflict):
        service.undo_event(mpi, GST_AGENT, unlinked.id, "deux fois")


def test_undo_of_an_automatic_link(mpi: Session) -> None:
    person, _, second_key = _two_linked(mpi)
    link_event = service.get_person(mpi, GST_AGENT, person).history[-1]
    assert link_event.record_key == second_key
    undone = service.undo_event(mpi, GST_AGENT, link_event.id, "pas le même patient")
    assert undone.person_id != person
    assert undone.undoes_event_id == link_event.id
    assert [r.record_key for r in service.get_person(mpi, GST_AGENT, person).records] != [
        second_key
    ]
    # a manual link puts it back; linking twice is a conflict
    back = service.link_record(mpi, GST_AGENT, second_key, person, "même CIN vérifiée")
    assert (back.action, back.rule, back.person_id) == ("link", "manual", person)
    with pytest.raises(Conflict):
        service.link_record(mpi, GST_AGENT, second_key, person, "encore")
    with pytest.raises(NotFound):
        service.link_record(mpi, GST_AGENT, second_key, "P99999999", "inconnue")


def test_the_projection_is_the_latest_link_event_of_each_record(mpi: Session) -> None:
    _person, _, second_key = _two_linked(mpi)
    event = service.unlink_record(mpi, GST_AGENT, second_key, "test de projection")
    service.undo_event(mpi, GST_AGENT, event.id, "retour")
    mpi.expire_all()
    latest: dict[int, int] = {}
    for e in mpi.scalars(select(PatientLinkEvent).order_by(PatientLinkEvent.id)):
        if e.action == "link":
            latest[e.record_id] = e.person_id
    projection = {x.record_id: x.person_id for x in mpi.scalars(select(PatientRecordLink))}
    mpi.commit()
    assert projection == latest


# --- the review queue -------------------------------------------------------------------------


def _borderline(db: Session, **extra: Any) -> tuple[str, str]:
    first = service.register_record(db, GST_AGENT, record(local_id="A1"))
    values: dict[str, Any] = {
        "establishment": "HP-TET-01",
        "local_id": "B1",
        "given_name": "Mohamed",
        "family_name": "Amrani",
        "birth_date": "1985-04-12",
        "phone": "",
        "address": "",
        "commune": "",
    }
    values.update(extra)
    second = service.register_record(db, GST_AGENT, record(**values))
    assert second.decision == "review"
    return first.person_id, second.record_key


def test_review_link_moves_the_record_and_can_be_undone(mpi: Session) -> None:
    person, key = _borderline(mpi)
    review = service.list_reviews(mpi, GST_AGENT).items[0]
    decided = service.decide_review(mpi, GST_AGENT, review.id, "link", "même personne (CIN vue)")
    assert decided.status == "linked"
    assert decided.decided_by == "agent"
    assert decided.record.person_id == person
    assert service.list_reviews(mpi, GST_AGENT).total == 0
    history = service.get_person(mpi, GST_AGENT, person).history
    assert history[-1].rule == "review"
    with pytest.raises(Conflict):
        service.decide_review(mpi, GST_AGENT, review.id, "keep_apart", "trop tard")
    service.undo_event(mpi, GST_AGENT, history[-1].id, "erreur")
    assert key not in [r.record_key for r in service.get_person(mpi, GST_AGENT, person).records]


def test_a_kept_apart_pair_is_not_queued_again(mpi: Session) -> None:
    person, _key = _borderline(mpi)
    review = service.list_reviews(mpi, GST_AGENT).items[0]
    kept = service.decide_review(mpi, GST_AGENT, review.id, "keep_apart", "deux frères")
    assert kept.status == "kept_apart"
    assert service.list_reviews(mpi, GST_AGENT, status="kept_apart").total == 1
    own_person = kept.record.person_id
    # the same person comes back at a third desk: linked to its own person, and the pair
    # the reviewer kept apart is not queued again
    third = service.register_record(
        mpi,
        GST_AGENT,
        record(
            establishment="CSU-TNG-01",
            local_id="C1",
            given_name="Mohamed",
            family_name="Amrani",
            birth_date="1985-04-12",
            phone="",
            address="",
            commune="",
        ),
    )
    assert third.person_id == own_person
    assert third.person_id != person
    assert service.list_reviews(mpi, GST_AGENT).total == 0


def test_reviews_are_scoped(mpi: Session) -> None:
    _borderline(mpi)
    review_id = service.list_reviews(mpi, GST_AGENT).items[0].id
    outside = principal(scope="establishment:DR-HOC-01")
    assert service.list_reviews(mpi, outside).total == 0
    with pytest.raises(Forbidden):
        service.get_review(mpi, outside, review_id)
    inside = principal(scope="province:TET")  # the reviewed record is at HP-TET-01
    assert service.list_reviews(mpi, inside).total == 1
    assert service.get_review(mpi, inside, review_id).id == review_id


# --- search ---------------------------------------------------------------------------------


def test_search_by_a_variant_finds_the_person(mpi: Session) -> None:
    target = service.register_record(mpi, GST_AGENT, record(local_id="A1", cin="K123456"))
    service.register_record(
        mpi,
        GST_AGENT,
        record(
            local_id="A2",
            given_name="Fatima Zahra",
            family_name="Bennani",
            sex="F",
            birth_date="1990",
        ),
    )
    found = service.search_persons(mpi, GST_AGENT, q="mhamed el amrani")
    assert [p.person_id for p in found.items][:1] == [target.person_id]
    assert found.items[0].display_name == "Mohammed Elamrani"
    assert found.items[0].establishments == ["CHU-TNG"]
    assert service.search_persons(mpi, GST_AGENT, q="elamrani mohamed").items[0].person_id == (
        target.person_id
    )
    assert service.search_persons(mpi, GST_AGENT, q="amrani").total >= 1
    assert service.search_persons(mpi, GST_AGENT, q="fatimazahra bennani").total == 1
    assert service.search_persons(mpi, GST_AGENT, cin="k-123456").items[0].person_id == (
        target.person_id
    )
    assert service.search_persons(mpi, GST_AGENT, cin="K999999").total == 0
    by_year = service.search_persons(mpi, GST_AGENT, birth_date="1990-05-04")
    assert by_year.total == 1  # the year-only record of 1990 agrees with any date in it
    assert service.search_persons(mpi, GST_AGENT, birth_date="1985-03").total == 1
    combined = service.search_persons(mpi, GST_AGENT, q="mohamed amrani", birth_date="1990")
    assert combined.total == 0
    with pytest.raises(Invalid):
        service.search_persons(mpi, GST_AGENT)


def test_search_by_a_range_of_birth_dates_meets_the_partly_known(mpi: Session) -> None:
    day = service.register_record(mpi, GST_AGENT, record(local_id="D1"))  # 1985-03-12
    year = service.register_record(
        mpi,
        GST_AGENT,
        record(
            local_id="Y1", given_name="Fatima", family_name="Bennani", sex="F", birth_date="1990"
        ),
    )
    month = service.register_record(
        mpi,
        GST_AGENT,
        record(local_id="M1", given_name="Said", family_name="Tahiri", birth_date="1990-06"),
    )

    def born(start: date | None, before: date | None) -> set[str]:
        found = service.search_persons(mpi, GST_AGENT, born_from=start, born_before=before)
        return {p.person_id for p in found.items}

    assert born(date(1985, 3, 12), date(1985, 3, 13)) == {day.person_id}
    assert born(date(1985, 3, 13), None) == {year.person_id, month.person_id}
    # the month of June 1990 meets a range from its middle; the year 1990 meets July
    assert born(date(1990, 6, 20), date(1990, 7, 1)) == {year.person_id, month.person_id}
    assert born(date(1990, 7, 1), None) == {year.person_id}
    assert born(None, date(1990, 1, 1)) == {day.person_id}
    assert born(date(1991, 1, 1), None) == set()
    with_name = service.search_persons(
        mpi, GST_AGENT, q="bennani", born_from=date(1989, 1, 1), born_before=date(1991, 1, 1)
    )
    assert [p.person_id for p in with_name.items] == [year.person_id]


def test_search_is_regional_and_audited_without_the_values(mpi: Session) -> None:
    service.register_record(mpi, GST_AGENT, record(local_id="A1"))
    far = principal(scope="establishment:DR-HOC-01", username="far")
    assert service.search_persons(mpi, far, q="mohamed elamrani").total == 1
    mpi.expire_all()
    event = mpi.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "person.search")
        .order_by(AuditEvent.id.desc())
    ).first()
    mpi.commit()
    assert event is not None
    assert event.details == {"criteria": ["q"]}
    assert "elamrani" not in str(event.details).lower()


# --- scope and audit of the person page ---------------------------------------------------------


def test_person_read_is_scoped_with_break_the_glass(mpi: Session) -> None:
    registered = service.register_record(mpi, GST_AGENT, record(local_id="A1"))
    far = principal(Role.CLINICIAN, scope="establishment:DR-HOC-01", username="far")
    with pytest.raises(Forbidden) as out:
        service.get_person(mpi, far, registered.person_id)
    assert out.value.code == "out_of_scope"
    seen = service.get_person(mpi, far, registered.person_id, reason="urgence vitale, transfert")
    assert seen.person_id == registered.person_id
    near = principal(Role.CLINICIAN, scope="province:TNG", username="near")
    service.get_person(mpi, near, registered.person_id)
    mpi.expire_all()
    reads = [
        (e.action, e.actor, e.reason)
        for e in mpi.scalars(
            select(AuditEvent)
            .where(AuditEvent.entity_id == registered.person_id)
            .order_by(AuditEvent.id)
        )
    ]
    mpi.commit()
    assert reads == [
        ("person.read.emergency", "far", "urgence vitale, transfert"),
        ("person.read", "near", None),
    ]
    for role in (Role.ANALYST, Role.REGIONAL_ADMIN):
        with pytest.raises(Forbidden) as denied:
            service.get_person(mpi, principal(role), registered.person_id, reason="curiosité")
        assert denied.value.code == "permission_denied"
        with pytest.raises(Forbidden):
            service.search_persons(mpi, principal(role), q="mohamed")


def test_every_write_is_audited(mpi: Session) -> None:
    _person, _, second_key = _two_linked(mpi)
    event = service.unlink_record(mpi, GST_AGENT, second_key, "vérification")
    service.undo_event(mpi, GST_AGENT, event.id, "retour")
    actions = audit_actions(mpi)
    assert actions.count("patient.register") == 2
    assert "patient.unlink" in actions
    assert "patient.undo" in actions


# --- batch: load, train, dedupe, links ----------------------------------------------------------


def test_load_reports_bad_rows_with_line_and_reason_and_keeps_the_good_ones(mpi: Session) -> None:
    rows = [
        {
            "record_id": "L1",
            "establishment": "CHU-TNG",
            "local_id": "1",
            "given_name": "Ali",
            "family_name": "Tazi",
            "birth_date": "1970",
        },
        {
            "record_id": "L2",
            "establishment": "NOPE",
            "local_id": "2",
            "given_name": "Ali",
            "family_name": "Tazi",
        },
        {
            "record_id": "L3",
            "given_name": "Ali",
            "family_name": "Tazi",
            "birth_date": "mars 1970",
        },
        {"record_id": "", "given_name": "Sans", "family_name": "Identifiant"},
        {"record_id": "L5", "sex": "X", "family_name": "Tazi"},
        {"record_id": "L6", "address": "rue 5", "commune": "Tétouan"},
        {"record_id": "L1", "given_name": "Ali", "family_name": "Tazi"},
        {
            "record_id": "L8",
            "establishment": "",
            "given_name": "سعيد",
            "family_name": "",
            "birth_date": "1950-05",
        },
    ]
    outcomes = list(service.load_records(mpi, rows))
    by_line = {o.line: o for o in outcomes}
    assert [o.status for o in outcomes] == [
        "created",
        "rejected",
        "rejected",
        "rejected",
        "rejected",
        "rejected",
        "rejected",
        "created",
    ]
    assert "NOPE" in by_line[3].message
    assert "Date de naissance" in by_line[4].message
    assert "record_id" in by_line[5].message
    assert "Sexe" in by_line[6].message
    assert "nom" in by_line[7].message
    assert "double" in by_line[8].message
    # idempotent: loading again changes nothing
    again = list(service.load_records(mpi, rows[:1]))
    assert again[0].status == "unchanged"
    assert dict(service.export_links(mpi)) == {"L1": "", "L8": ""}


def _pairs(counter: Counter[Any]) -> int:
    return sum(n * (n - 1) // 2 for n in counter.values())


def test_train_dedupe_and_links_on_synthetic_data(mpi: Session) -> None:
    data = generate(400, seed=11)
    rows = [{**r.to_row(), "establishment": ""} for r in data.records]
    outcomes = Counter(o.status for o in service.load_records(mpi, rows))
    assert outcomes == {"created": len(rows)}
    info = service.train(mpi)
    assert (info.version, info.records) == (2, len(rows))
    report = service.dedupe(mpi)
    assert report.newly_linked == len(rows)
    links = dict(service.export_links(mpi))
    assert all(links.values())
    truth = data.person_of
    ids = list(links)
    true_positive = _pairs(Counter((links[i], truth[i]) for i in ids))
    precision = true_positive / _pairs(Counter(links[i] for i in ids))
    recall = true_positive / _pairs(Counter(truth[i] for i in ids))
    assert precision > 0.97
    assert recall > 0.9
    # a second dedupe has nothing left to do; a new record joins its person in real time
    assert service.dedupe(mpi).newly_linked == 0
    mpi.expire_all()
    assert mpi.scalar(select(func.count()).select_from(PatientReview)) == report.reviews
    assert audit_actions(mpi).count("patient.dedupe") == 1
