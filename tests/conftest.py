"""Fixtures shared by every test: a clean, migrated database on SQLite and PostgreSQL.

Every test that asks for ``engine`` (or anything built on it) runs twice, once
per database. The schema is migrated once per run with Alembic — the same path
production takes — and each test starts from empty tables: on SQLite by copying
a migrated template file, on PostgreSQL by truncating every table.

PostgreSQL is the local server at 127.0.0.1:5432 (``PARCOURS_TEST_PG_URL``
overrides it). Without a server the PostgreSQL half is skipped with the reason,
except in CI (``CI=true``), where a missing server is a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from parcours.access import service as access
from parcours.access.rules import Role, Scope, ScopeKind, system_principal
from parcours.db import Base, make_engine, make_session_factory
from parcours.migrations import upgrade
from parcours.territory import service as territory
from parcours.territory.schemas import EstablishmentIn
from parcours.web.app import create_app

PG_URL = os.environ.get("PARCOURS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() == "true"
PASSWORD = "mot-de-passe-solide"


def _pg_available() -> str | None:
    """None when the server answers, else why not."""
    try:
        dsn = PG_URL.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(dsn, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return f"PostgreSQL unreachable at {PG_URL}: {exc}".strip()


def _schema_name() -> str:
    """One schema per test process, so parallel workers (and parallel runs) never collide."""
    return f"parcours_test_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{os.getpid()}"


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashing() -> Iterator[None]:
    """Argon2id at a test cost: the production one (64 MiB, 3 passes) takes ~0.15 s a
    hash and dominated every test that creates a user and signs in.

    Hashes made before the swap (the unknown-user dummy) keep the production
    parameters, which tests/access/test_passwords.py checks.
    """
    from argon2 import PasswordHasher

    from parcours.access import passwords

    original = passwords._HASHER
    passwords._HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    passwords._HASHER = original


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_engine() -> Iterator[Engine]:
    reason = _pg_available()
    if reason:
        if IN_CI:
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)
    schema = _schema_name()
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    engine = make_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
    upgrade(engine)
    yield engine
    engine.dispose()
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


def _truncate_all(engine: Engine) -> None:
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        # The audit table refuses TRUNCATE through a trigger; replica mode is how a
        # superuser (the test harness) bypasses it.
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> Iterator[Engine]:
    if request.param == "sqlite":
        path = tmp_path / "parcours.db"
        shutil.copy(sqlite_template, path)
        sqlite_engine = make_engine(f"sqlite:///{path}")
        yield sqlite_engine
        sqlite_engine.dispose()
    else:
        pg: Engine = request.getfixturevalue("pg_engine")
        _truncate_all(pg)
        yield pg


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    factory = make_session_factory(engine)
    with factory() as session:
        territory.ensure_reference_data(session)
    return factory


@pytest.fixture
def db(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as session:
        yield session


@pytest.fixture
def small_region(db: Session) -> dict[str, str]:
    """A CHU, two hospitals and three centres in two provinces, for API and page tests."""
    system = system_principal("test")
    rows = [
        (
            "CHU-TNG",
            "CHU Mohammed VI de Tanger",
            "chu",
            "TNG",
            35.73,
            -5.85,
            [("cardiology", 60), ("emergency", 40), ("neurosurgery", 30)],
        ),
        (
            "HP-TET-01",
            "Hôpital régional Saniat Rmel",
            "regional_hospital",
            "TET",
            35.57,
            -5.37,
            [("cardiology", 20), ("paediatrics", 30)],
        ),
        (
            "HP-HOC-01",
            "Hôpital Mohammed V d'Al Hoceïma",
            "provincial_hospital",
            "HOC",
            35.25,
            -3.93,
            [("general_surgery", 25), ("obstetrics_gynaecology", 20)],
        ),
        (
            "CSU-TNG-01",
            "Centre de santé urbain Tanger Medina",
            "csu_1",
            "TNG",
            35.78,
            -5.81,
            [("general_medicine", 0), ("vaccination", 0)],
        ),
        (
            "CSR-TET-01",
            "Centre de santé rural Oued Laou",
            "csr_2",
            "TET",
            35.45,
            -5.09,
            [("general_medicine", 0), ("deliveries", 4)],
        ),
        (
            "DR-HOC-01",
            "Dispensaire rural Beni Bouayach",
            "rural_dispensary",
            "HOC",
            35.10,
            -3.83,
            [("general_medicine", 0)],
        ),
    ]
    for code, name, type_, province, lat, lon, services in rows:
        territory.create_establishment(
            db,
            system,
            EstablishmentIn(
                code=code,
                name=name,
                type=type_,
                province=province,
                latitude=lat,
                longitude=lon,
                catchment_population=20000,
                services=[{"specialty": s, "beds": b} for s, b in services],  # type: ignore[misc]
            ),
        )
    return {row[0]: row[3] for row in rows}


MakeUser = Callable[..., str]


@pytest.fixture
def make_user(db: Session) -> MakeUser:
    """Create a user with a role and scope; returns the username (password: PASSWORD)."""

    def _make(username: str, role: Role = Role.REGIONAL_ADMIN, scope: str = "gst") -> str:
        kind, _, values = scope.partition(":")
        parsed = Scope(ScopeKind(kind), frozenset(v for v in values.split(",") if v))
        access.create_user(
            db,
            system_principal("test"),
            username=username,
            password=PASSWORD,
            role=role,
            scope=parsed,
            province_of=territory.province_of_establishments(db),
            province_codes={p.code for p in territory.list_provinces(db)},
        )
        return username

    return _make


@pytest.fixture
def app_client(engine: Engine, session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    with TestClient(create_app(engine), base_url="http://testserver") as client:
        yield client


def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Sign in through the login form like a browser; returns the session's CSRF token."""
    page = client.get("/login")
    assert page.status_code == 200
    form_token = client.cookies.get("parcours_login_csrf")
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": form_token or ""},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    me = client.get("/api/v1/me")
    assert me.status_code == 200
    return str(me.json()["csrf_token"])
