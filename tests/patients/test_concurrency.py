"""Two desks registering the same person at the same moment end with one person.

Each thread has its own session (its own connection) and they start together
behind a barrier, several rounds over, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from parcours.patients import service
from parcours.patients.fellegi_sunter import Model
from parcours.patients.models import PatientRecordLink
from parcours.patients.schemas import RecordIn, Registration
from tests.patients.test_service import GST_AGENT, install_model


def _desk(
    factory: sessionmaker[Session],
    barrier: threading.Barrier,
    values: dict[str, Any],
    results: list[Registration],
    errors: list[BaseException],
) -> None:
    try:
        with factory() as session:
            data = RecordIn(sex="F" if values["given_name"][0] in "FK" else "M", **values)
            barrier.wait(timeout=10)
            results.append(service.register_record(session, GST_AGENT, data))
    except BaseException as exc:  # the test's assertion reports it
        errors.append(exc)


PEOPLE = [
    ("Mohammed", "Elamrani", "1985-03-12", "Mohamed", "El Amrani"),
    ("Fatima Zahra", "Bennani", "1992-11-02", "Fatimazahra", "Benani"),
    ("Youssef", "Ait Ouali", "1978-06-30", "Yousef", "Aitouali"),
    ("Khadija", "Echchaoui", "2001-01-19", "Khadidja", "Chaoui"),
]


def test_concurrent_registrations_of_one_person_end_with_one_person(
    session_factory: sessionmaker[Session],
    db: Session,
    small_region: dict[str, str],
    model: Model,
) -> None:
    install_model(db, model)
    for round_, (given, family, born, given_2, family_2) in enumerate(PEOPLE):
        barrier = threading.Barrier(2)
        results: list[Registration] = []
        errors: list[BaseException] = []

        common = {"birth_date": born, "phone": "0661234567", "commune": "Tanger"}
        threads = [
            threading.Thread(
                target=_desk,
                args=(
                    session_factory,
                    barrier,
                    {
                        "establishment": "CHU-TNG",
                        "local_id": f"C{round_}",
                        "given_name": given,
                        "family_name": family,
                        **common,
                    },
                    results,
                    errors,
                ),
            ),
            threading.Thread(
                target=_desk,
                args=(
                    session_factory,
                    barrier,
                    {
                        "establishment": "HP-TET-01",
                        "local_id": f"T{round_}",
                        "given_name": given_2,
                        "family_name": family_2,
                        **common,
                    },
                    results,
                    errors,
                ),
            ),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not errors, errors
        assert len(results) == 2
        assert sorted(r.decision for r in results) == ["link", "new"]
        assert results[0].person_id == results[1].person_id
    db.expire_all()
    persons = db.scalar(select(func.count(func.distinct(PatientRecordLink.person_id))))
    db.commit()
    assert persons == len(PEOPLE)
