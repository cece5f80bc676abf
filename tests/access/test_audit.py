"""The audit trail: append-only in the database, and a hash chain that detects tampering.

The attacks are played the way someone with database administrator rights would:
first the triggers are bypassed (SQLite: DROP TRIGGER; PostgreSQL: replica mode,
which skips ordinary triggers), then a row is changed or removed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from parcours.access import audit
from parcours.access.models import AuditEvent, AuditHead
from parcours.access.rules import Principal, Role, Scope, ScopeKind, system_principal

ALICE = Principal(7, "alice", Role.REGIONAL_ADMIN, Scope(ScopeKind.GST), "session", "10.0.0.1")


def _append(db: Session, count: int, actor: Principal = ALICE) -> list[int]:
    ids = []
    for n in range(count):
        event = audit.record(
            db,
            actor,
            "establishment.update",
            "establishment",
            f"HP-{n:03d}",
            reason="correction du nom",
            details={"fields": ["name"], "n": n},
        )
        db.commit()
        ids.append(event.id)
    return ids


@contextmanager
def _as_db_admin(engine: Engine) -> Iterator[Connection]:
    """A connection on which the append-only triggers no longer fire."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS audit_event_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS audit_event_no_delete"))
        yield conn


def test_record_chains_each_event_to_the_previous_one(db: Session) -> None:
    first, second = _append(db, 2)
    events = db.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [e.id for e in events] == [first, second]
    assert events[0].prev_hash == "0" * 64
    assert events[1].prev_hash == events[0].hash
    head = db.get(AuditHead, 1)
    assert head is not None
    assert (head.last_event_id, head.last_hash) == (second, events[1].hash)
    assert (events[0].actor, events[0].actor_id, events[0].channel, events[0].ip) == (
        "alice",
        7,
        "session",
        "10.0.0.1",
    )
    report = audit.verify(db)
    assert report.ok
    assert report.checked == 2


def test_an_empty_trail_verifies(db: Session) -> None:
    report = audit.verify(db)
    assert report.ok
    assert report.checked == 0


def test_a_rolled_back_act_leaves_no_audit_row(db: Session) -> None:
    _append(db, 1)
    audit.record(db, ALICE, "establishment.update", "establishment", "HP-X")
    db.rollback()
    assert db.scalar(select(func.count()).select_from(AuditEvent)) == 1
    assert audit.verify(db).ok


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_event SET actor = 'mallory'",
        "DELETE FROM audit_event",
        "DELETE FROM audit_event WHERE id = 1",
    ],
)
def test_the_database_refuses_update_and_delete(
    engine: Engine, db: Session, statement: str
) -> None:
    _append(db, 2)
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text(statement))
    assert db.scalar(select(func.count()).select_from(AuditEvent)) == 2
    assert db.scalars(select(AuditEvent.actor)).all() == ["alice", "alice"]
    assert audit.verify(db).ok


def test_emptying_the_whole_trail_is_refused(engine: Engine, db: Session) -> None:
    # PostgreSQL's TRUNCATE skips row triggers, hence its own statement trigger; SQLite's
    # equivalent is an unqualified DELETE, whose truncate optimisation the trigger disables.
    statement = (
        "TRUNCATE audit_event" if engine.dialect.name == "postgresql" else "DELETE FROM audit_event"
    )
    _append(db, 1)
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text(statement))
    assert db.scalar(select(func.count()).select_from(AuditEvent)) == 1


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("actor", "'mallory'"),
        ("reason", "'rien à signaler'"),
        ("outcome", "'failure'"),
        ("entity_id", "'HP-999'"),
    ],
)
def test_a_changed_row_is_detected(engine: Engine, db: Session, column: str, value: str) -> None:
    ids = _append(db, 4)
    with _as_db_admin(engine) as conn:
        conn.execute(
            text(f"UPDATE audit_event SET {column} = {value} WHERE id = :id"), {"id": ids[1]}
        )
    db.expire_all()
    report = audit.verify(db)
    assert not report.ok
    assert [b.event_id for b in report.breaks] == [ids[1]]


def test_a_changed_details_payload_is_detected(engine: Engine, db: Session) -> None:
    ids = _append(db, 3)
    with _as_db_admin(engine) as conn:
        conn.execute(text("UPDATE audit_event SET details = NULL WHERE id = :id"), {"id": ids[0]})
    report = audit.verify(db)
    assert [b.event_id for b in report.breaks] == [ids[0]]


def test_a_forged_row_with_a_recomputed_hash_breaks_the_next_link(
    engine: Engine, db: Session
) -> None:
    ids = _append(db, 3)
    forged = db.get(AuditEvent, ids[1])
    assert forged is not None
    fields = audit._fields(forged) | {"actor": "mallory"}
    new_hash = audit.audit_digest(forged.prev_hash, fields)
    db.rollback()  # end the read transaction (on SQLite it holds the write lock)
    with _as_db_admin(engine) as conn:
        conn.execute(
            text("UPDATE audit_event SET actor = 'mallory', hash = :h WHERE id = :id"),
            {"h": new_hash, "id": ids[1]},
        )
    db.expire_all()
    report = audit.verify(db)
    assert [b.event_id for b in report.breaks] == [ids[2]]


def test_a_removed_middle_row_is_detected(engine: Engine, db: Session) -> None:
    ids = _append(db, 4)
    with _as_db_admin(engine) as conn:
        conn.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": ids[1]})
    report = audit.verify(db)
    assert report.checked == 3
    assert [b.event_id for b in report.breaks] == [ids[2]]


def test_a_removed_newest_row_is_detected_by_the_head(engine: Engine, db: Session) -> None:
    ids = _append(db, 4)
    with _as_db_admin(engine) as conn:
        conn.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": ids[-1]})
    report = audit.verify(db)
    assert report.checked == 3
    assert [b.event_id for b in report.breaks] == [ids[-1]]
    assert "tête" in report.breaks[0].reason


def test_an_emptied_trail_is_detected(engine: Engine, db: Session) -> None:
    _append(db, 2)
    with _as_db_admin(engine) as conn:
        conn.execute(text("DELETE FROM audit_event"))
    assert not audit.verify(db).ok


def test_a_removed_head_is_detected(engine: Engine, db: Session) -> None:
    _append(db, 2)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_head"))
    db.expire_all()
    report = audit.verify(db)
    assert not report.ok
    assert "tête" in report.breaks[0].reason


def test_list_events_filters_and_pages(db: Session) -> None:
    _append(db, 3)
    audit.record(db, system_principal("cli"), "user.create", "user", "nadia")
    db.commit()
    total, events = audit.list_events(db, limit=2)
    assert total == 4
    assert [e.action for e in events] == ["user.create", "establishment.update"]  # newest first
    total, events = audit.list_events(db, entity_type="establishment", entity_id="HP-001")
    assert total == 1
    assert events[0].details == {"fields": ["name"], "n": 1}
    total, _ = audit.list_events(db, actor="system:cli")
    assert total == 1
    total, events = audit.list_events(db, limit=2, offset=3)
    assert (total, len(events)) == (4, 1)


@pytest.mark.parametrize("first_event_exists", [False, True])
def test_concurrent_writers_keep_one_chain(
    session_factory: sessionmaker[Session], first_event_exists: bool
) -> None:
    """Two writers at once (the first case races for the very first link too)."""
    if first_event_exists:
        with session_factory() as db:
            _append(db, 1)
    per_thread = 15
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def writer(name: str) -> None:
        try:
            actor = Principal(1, name, Role.CLINICIAN, Scope(ScopeKind.GST))
            with session_factory() as db:
                barrier.wait()
                _append(db, per_thread, actor)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(f"w{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    with session_factory() as db:
        report = audit.verify(db)
        assert report.ok, report.breaks
        assert report.checked == 2 * per_thread + int(first_event_exists)
        actors = db.scalars(select(AuditEvent.actor)).all()
        assert actors.count("w0") == actors.count("w1") == per_thread
