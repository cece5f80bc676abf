"""The ``parcours`` command, run through Typer's CliRunner on a SQLite file database."""

from __future__ import annotations

import csv
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient
from typer.testing import CliRunner, Result

from parcours.cli import app
from parcours.config import get_settings
from parcours.db import make_engine
from parcours.migrations import alembic_config
from parcours.web.app import create_app
from tests.conftest import PASSWORD

runner = CliRunner()

HEADER = (
    "code,name,type,province,town,latitude,longitude,catchment_population,status,opened_on,services"
)
GOOD = [
    "HP-LAR-01,Hôpital Lalla Meryem,provincial_hospital,LAR,Larache,35.19,-6.15,500000,open,,"
    "emergency:20;paediatrics:15",
    "CSU-LAR-01,Centre de santé urbain Larache 1,csu_1,LAR,Larache,35.2,-6.16,,open,,"
    "general_medicine",
    "CSR-OUZ-01,Centre de santé rural Zoumi,csr_2,OUZ,Zoumi,34.8,-5.35,,open,,deliveries:4",
]
BAD = {
    5: ("BAD-TYPE-01,Clinique,hopital,LAR,,,,,,,", "type inconnu : « hopital »"),
    6: ("BAD-NAME-01,,csu_1,LAR,,,,,,,", "le nom est obligatoire"),
    7: ("BAD-LAT-01,Centre,csu_1,LAR,,abc,-6.1,,,,", "latitude invalide : « abc »"),
    8: ("BAD-PROV-01,Centre,csu_1,RAB,,,,,,,", "province inconnue : RAB"),
    9: ("BAD-SPEC-01,Centre,csu_1,LAR,,,,,,,astrology", "spécialité inconnue : astrology"),
    10: (
        "BAD-BEDS-01,Hôpital,provincial_hospital,LAR,,,,,,,emergency:beaucoup",
        "nombre de lits invalide pour emergency : « beaucoup »",
    ),
}


def _run(*args: str, env: dict[str, str] | None = None) -> Result:
    return runner.invoke(app, list(args), env=env)


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A migrated SQLite file named by PARCOURS_DATABASE_URL, as an operator would set it."""
    path = tmp_path / "parcours.db"
    monkeypatch.setenv("PARCOURS_DATABASE_URL", f"sqlite:///{path}")
    get_settings.cache_clear()
    result = _run("db", "upgrade")
    assert result.exit_code == 0, result.output
    assert "Base à jour" in result.output
    yield path
    get_settings.cache_clear()


def _csv(tmp_path: Path, lines: list[str], name: str = "etablissements.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _counts(output: str) -> str:
    line = next(line for line in output.splitlines() if line.startswith("Créés"))
    return line.strip()


# --- db -----------------------------------------------------------------------


def test_db_upgrade_is_idempotent(database: Path) -> None:
    result = _run("db", "upgrade")
    assert result.exit_code == 0, result.output
    with sqlite3.connect(database) as conn:
        assert conn.execute("SELECT count(*) FROM province").fetchone() == (8,)
        head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == (head,)


# --- import -------------------------------------------------------------------


def test_import_keeps_good_rows_and_reports_the_rest(database: Path, tmp_path: Path) -> None:
    source = _csv(tmp_path, [HEADER, *GOOD, *(row for row, _ in BAD.values())])
    result = _run("import", "establishments", str(source))
    assert result.exit_code == 0, result.output
    assert _counts(result.output) == "Créés : 3 · mis à jour : 0 · inchangés : 0 · rejetés : 6"
    assert "ligne 5 : " in result.output

    report = tmp_path / "etablissements.rejects.csv"
    assert f"Rapport des lignes rejetées : {report}" in result.output.replace("\n", "")
    with report.open(encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["line", "reason"]
    assert [int(line) for line, _ in rows[1:]] == sorted(BAD)
    for line, reason in rows[1:]:
        assert BAD[int(line)][1] in reason, (line, reason)

    with sqlite3.connect(database) as conn:
        codes = [c for (c,) in conn.execute("SELECT code FROM establishment ORDER BY code")]
        assert codes == ["CSR-OUZ-01", "CSU-LAR-01", "HP-LAR-01"]
        actors = {a for (a,) in conn.execute("SELECT DISTINCT actor FROM audit_event")}
        assert actors == {"system:import"}

    again = _run("import", "establishments", str(source))
    assert again.exit_code == 0, again.output
    assert _counts(again.output) == "Créés : 0 · mis à jour : 0 · inchangés : 3 · rejetés : 6"

    changed = _csv(
        tmp_path, [HEADER, GOOD[0].replace("emergency:20", "emergency:30")], "changed.csv"
    )
    third = _run("import", "establishments", str(changed), "--report", str(tmp_path / "r.csv"))
    assert third.exit_code == 0, third.output
    assert _counts(third.output) == "Créés : 0 · mis à jour : 1 · inchangés : 0 · rejetés : 0"
    assert (tmp_path / "r.csv").read_text(encoding="utf-8").strip() == "line,reason"


def test_import_with_missing_columns_is_a_clear_error(database: Path, tmp_path: Path) -> None:
    source = _csv(tmp_path, ["code,nom,type", "X-1,Y,csu_1"])
    result = _run("import", "establishments", str(source))
    assert result.exit_code == 2
    assert "missing_columns" in result.output
    assert "Colonnes manquantes : name, province" in result.output
    with sqlite3.connect(database) as conn:
        assert conn.execute("SELECT count(*) FROM establishment").fetchone() == (0,)


def test_import_of_a_missing_file_is_refused(database: Path, tmp_path: Path) -> None:
    result = _run("import", "establishments", str(tmp_path / "absent.csv"))
    assert result.exit_code == 2


# --- users --------------------------------------------------------------------


def test_users_create_and_token(database: Path) -> None:
    result = _run(
        "users",
        "create",
        "Nadia",
        "--role",
        "clinician",
        "--scope",
        "province:TNG,TET",
        "--full-name",
        "Nadia El Idrissi",
        env={"PARCOURS_PASSWORD": PASSWORD},
    )
    assert result.exit_code == 0, result.output
    assert "Utilisateur Nadia créé (Clinicien, Province(s) : TET, TNG)" in result.output
    with sqlite3.connect(database) as conn:
        row = conn.execute(
            "SELECT username, role, scope_kind, full_name, password_hash FROM app_user"
        ).fetchone()
        assert row[:4] == ("nadia", "clinician", "province", "Nadia El Idrissi")
        assert row[4].startswith("$argon2id$")
        scope = [c for (c,) in conn.execute("SELECT code FROM user_scope_item ORDER BY code")]
        assert scope == ["TET", "TNG"]

    token = _run("users", "token", "nadia", "--label", "SIH", "--days", "30")
    assert token.exit_code == 0, token.output
    raw = token.stdout.strip()
    assert raw.startswith("pcr_")
    assert len(raw.splitlines()) == 1

    engine = make_engine(f"sqlite:///{database}")
    try:
        with TestClient(create_app(engine)) as client:
            me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"})
            assert me.status_code == 200
            assert (me.json()["username"], me.json()["channel"]) == ("nadia", "token")
            assert client.get("/api/v1/me").status_code == 401
    finally:
        engine.dispose()


def test_users_create_accepts_lower_case_scope_codes(database: Path) -> None:
    result = _run(
        "users",
        "create",
        "karim",
        "--role",
        "analyst",
        "--scope",
        "province:hoc",
        "--password",
        PASSWORD,
    )
    assert result.exit_code == 0, result.output
    with sqlite3.connect(database) as conn:
        assert conn.execute("SELECT code FROM user_scope_item").fetchone() == ("HOC",)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--role", "clinician", "--scope", "region:TTA"], "Périmètre invalide"),
        (["--role", "clinician", "--scope", "province:"], "Périmètre invalide"),
        (["--role", "clinician", "--scope", "province:XXX"], "unknown_scope_codes"),
        (["--role", "superuser"], "superuser"),
        (["--role", "clinician", "--password", "court"], "password_too_short"),
    ],
)
def test_users_create_refuses_bad_input(database: Path, args: list[str], fragment: str) -> None:
    result = _run("users", "create", "someone", *args, env={"PARCOURS_PASSWORD": PASSWORD})
    assert result.exit_code == 2
    assert fragment in result.output
    with sqlite3.connect(database) as conn:
        assert conn.execute("SELECT count(*) FROM app_user").fetchone() == (0,)


def test_users_create_twice_and_token_for_nobody(database: Path) -> None:
    args = ["users", "create", "nadia", "--role", "analyst", "--password", PASSWORD]
    assert _run(*args).exit_code == 0
    again = _run(*args)
    assert again.exit_code == 2
    assert "username_taken" in again.output
    nobody = _run("users", "token", "nobody")
    assert nobody.exit_code == 2
    assert "user_not_found" in nobody.output


# --- audit --------------------------------------------------------------------


def test_audit_verify_detects_a_tampered_row(database: Path) -> None:
    for name in ("nadia", "karim", "amina"):
        result = _run("users", "create", name, "--role", "analyst", "--password", PASSWORD)
        assert result.exit_code == 0, result.output

    intact = _run("audit", "verify")
    assert intact.exit_code == 0, intact.output
    assert "Journal d'audit intact : 3 événements vérifiés." in intact.output

    with sqlite3.connect(database) as conn:
        # The append-only trigger stops an ordinary UPDATE ...
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("UPDATE audit_event SET actor = 'mallory' WHERE id = 2")
        # ... so the attacker, owning the file, drops it first.
        conn.execute("DROP TRIGGER audit_event_no_update")
        conn.execute("UPDATE audit_event SET actor = 'mallory' WHERE id = 2")

    tampered = _run("audit", "verify")
    assert tampered.exit_code == 1
    assert "Journal d'audit altéré : 1 anomalie(s) sur 3 événements." in tampered.output
    assert "événement 2 : le contenu ne correspond plus à son empreinte" in tampered.output


def test_audit_verify_detects_a_removed_newest_row(database: Path) -> None:
    for name in ("nadia", "karim"):
        assert (
            _run("users", "create", name, "--role", "analyst", "--password", PASSWORD).exit_code
            == 0
        )
    assert _run("audit", "verify").exit_code == 0
    with sqlite3.connect(database) as conn:
        conn.execute("DROP TRIGGER audit_event_no_delete")
        conn.execute("DELETE FROM audit_event WHERE id = 2")
    result = _run("audit", "verify")
    assert result.exit_code == 1
    assert "tête enregistrée" in result.output


def test_import_of_a_non_utf8_file_is_a_clear_error(database: Path, tmp_path: Path) -> None:
    """A spreadsheet saved as Windows-1252 must not end in a traceback."""
    source = tmp_path / "latin1.csv"
    source.write_bytes(
        (HEADER + "\nHP-LAR-09,Hôpital de Ksar El Kébir,provincial_hospital,LAR,,,,,,,\n").encode(
            "cp1252"
        )
    )
    result = _run("import", "establishments", str(source))
    assert result.exit_code == 2, result.output
    assert "n'est pas en UTF-8 (ligne 2)" in result.output
    assert "Traceback" not in result.output
