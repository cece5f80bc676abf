"""The Alembic migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from parcours.db import make_engine
from parcours.migrations import alembic_config, current, include_object, upgrade
from parcours.tables import Base
from tests.conftest import PG_URL, _pg_available

TABLES = {t.name for t in Base.metadata.sorted_tables}


def _differences(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": include_object})
        diffs: list[Any] = compare_metadata(context, Base.metadata)
    return diffs


def _downgrade(engine: Engine, revision: str = "base") -> None:
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def _audit_is_append_only(engine: Engine) -> bool:
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO audit_event (occurred_at, actor, channel, action, entity_type, "
                "outcome, prev_hash, hash) VALUES (CURRENT_TIMESTAMP, 'x', 'cli', 'a', 'b', "
                "'success', '', '')"
            )
        )
    try:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_event"))
    except DBAPIError as exc:
        return "append-only" in str(exc)
    return False


def _head() -> str | None:
    from alembic.script import ScriptDirectory

    from parcours.migrations import alembic_config

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def _round_trip(engine: Engine) -> None:
    assert _tables(engine) == set()
    upgrade(engine)
    assert current(engine) == _head()
    assert _tables(engine) == TABLES
    assert _differences(engine) == []
    assert _audit_is_append_only(engine)

    _downgrade(engine)
    assert current(engine) is None
    assert _tables(engine) == set()

    upgrade(engine)
    assert _tables(engine) == TABLES
    assert _differences(engine) == []
    assert _audit_is_append_only(engine)


def test_sqlite_upgrade_matches_the_models_and_downgrades(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        _round_trip(engine)
        with engine.connect() as conn:
            triggers = {
                name
                for (name,) in conn.execute(
                    text("SELECT name FROM sqlite_master WHERE type = 'trigger'")
                )
            }
        histories = ("referral_event", "pathway_map_version", "pathway_map_exception")
        histories += (  # migration 0005: the workforce's histories
            "workforce_mobility_event",
            "workforce_professional_version",
            "workforce_norm_version",
            "workforce_norm_line",
        )
        histories += (  # migration 0006: the finance ledger and histories
            "finance_movement",
            "finance_action_event",
            "finance_project_event",
        )
        assert triggers == {
            f"{table}_no_{verb}"
            for table in ("audit_event", *histories)
            for verb in ("update", "delete")
        }
    finally:
        engine.dispose()


@pytest.fixture
def empty_pg_schema() -> Iterator[Engine]:
    reason = _pg_available()
    if reason:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)
    schema = f"parcours_migrations_{os.getpid()}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
    yield engine
    engine.dispose()
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


@pytest.mark.postgres
def test_postgresql_upgrade_matches_the_models_and_downgrades(empty_pg_schema: Engine) -> None:
    _round_trip(empty_pg_schema)
    with empty_pg_schema.connect() as conn:
        triggers = {
            name
            for (name,) in conn.execute(
                text(
                    "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal "
                    "AND tgrelid = 'audit_event'::regclass"
                )
            )
        }
    assert triggers == {"audit_event_append_only", "audit_event_no_truncate"}
