"""Bulk writes for the batch paths: identifiers reserved up front, rows copied in.

Shared by the contexts that load in bulk: the master patient index (a million
source records means some ten million rows: records, blocking keys, persons,
events, projection) and the care pathways (the demo's history and the
benchmark: encounters, diagnoses, referrals and their events). Row-by-row ORM
inserts would take hours; here identifiers are reserved in one statement (so
that child rows can be written without reading anything back) and rows go in
by ``COPY`` on PostgreSQL and ``executemany`` on SQLite. The caller's
transaction holds it all: nothing here commits.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.orm import Session

from parcours.db import lock_for_update

CHUNK = 20_000


def reserve_ids(session: Session, table: Table, count: int) -> list[int]:
    """``count`` fresh primary keys for ``table``, inside the caller's transaction.

    PostgreSQL hands them out from the column's sequence (safe under concurrency);
    SQLite continues after the largest id, which the transaction's write lock
    (``BEGIN IMMEDIATE``) keeps to itself until commit.
    """
    if count <= 0:
        return []
    if lock_for_update(session):
        rows = session.execute(
            text(
                "SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"
            ),
            {"table": table.name, "n": count},
        ).scalars()
        return [int(x) for x in rows]
    start = int(session.scalar(select(func.coalesce(func.max(table.c.id), 0))) or 0) + 1
    return list(range(start, start + count))


def bulk_insert(
    session: Session, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert rows (tuples in ``columns`` order) in the session's transaction."""
    if not rows:
        return
    if lock_for_update(session):
        json_columns = {
            i for i, name in enumerate(columns) if table.c[name].type.__class__.__name__ == "JSON"
        }
        raw = session.connection().connection.driver_connection
        assert raw is not None
        names = ", ".join(f'"{c}"' for c in columns)
        with (
            raw.cursor() as cursor,
            cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy,
        ):
            for row in rows:
                if json_columns:
                    row = [json.dumps(v) if i in json_columns else v for i, v in enumerate(row)]
                copy.write_row(row)
        return
    statement = insert(table)
    for start in range(0, len(rows), CHUNK):
        part = rows[start : start + CHUNK]
        session.execute(statement, [dict(zip(columns, row, strict=True)) for row in part])


def key_lock_id(key: str) -> int:
    """A signed 64-bit number for a blocking key, as PostgreSQL's advisory locks want."""
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def lock_keys(session: Session, keys: Sequence[str]) -> None:
    """Serialise registrations that share a blocking key (PostgreSQL; SQLite's
    ``BEGIN IMMEDIATE`` already serialises every writer).

    Locks are taken in one global order, so two registrations never wait on
    each other crosswise; they are released at commit.
    """
    if not lock_for_update(session):
        return
    for lock_id in sorted({key_lock_id(k) for k in keys}):
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_id})
