"""Importing professionals from CSV: good rows kept, bad rows reported, idempotent by INPE."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from parcours.cli import app
from parcours.config import get_settings
from parcours.errors import Invalid
from parcours.workforce import service
from parcours.workforce.models import Assignment, Professional
from tests.workforce.conftest import SYSTEM

HEADER = (
    "inpe,cin,family_name,given_name,sex,birth_date,category,specialty,grade,status,hired_on,"
    "establishment,service,share,start_on"
)
ROWS = [
    "100000001,K123456,El Idrissi,Mohamed,M,1975-03-02,specialist,cardiology,PES,tenured,"
    "2005-09-01,CHU-TNG,cardiology,100,2005-09-01",
    ",,Bakkali,Fatima Zahra,F,1990-11-20,midwife,,,contract,2018-01-15,CSR-TET-01,,100,",
    "100000003,,Riffi,Rachid,H,1988-07-07,nurse,,,,2012-02-01,,,,",
    # Bad rows: their line (the header is line 1) and the reason.
    "100000004,,,Anas,M,1980-01-01,nurse,,,,,,,,",
    "100000005,,Tazi,Hanane,X,1980-01-01,nurse,,,,,,,,",
    "100000006,,Lahlou,Said,M,1980-01-01,chirurgien,,,,,,,,",
    "100000007,,Sebti,Siham,F,1980-02-31,nurse,,,,,,,,",
    "100000008,,Kettani,Omar,M,1970-01-01,specialist,,,,,CHU-TNG,,100,",
    "100000009,,Naciri,Imane,F,1982-04-04,nurse,,,,,HP-XXX-99,,100,",
    "100000010,,Touzani,Hamza,M,1985-05-05,nurse,,,,,CHU-TNG,,abc,",
    "100000001,,Doublon,Karim,M,1980-01-01,nurse,,,,,,,,",
    "12345,,Chaoui,Souad,F,1979-01-01,nurse,,,,,,,,",
]
EXPECTED_REJECTS = {
    5: "le nom est obligatoire",
    6: "sexe inconnu : « X » (F ou M)",
    7: "catégorie inconnue : « chirurgien »",
    8: "date de naissance invalide : « 1980-02-31 »",
    9: "un médecin spécialiste a une spécialité",
    10: "Établissement introuvable : HP-XXX-99",
    11: "quotité invalide : « abc »",
    13: "INPE « 12345 » invalide : 9 chiffres attendus",
}


def _rows(text: str) -> list[tuple[int, dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text))
    return [(reader.line_num, row) for row in reader]


def test_good_rows_are_kept_and_each_bad_row_is_reported(db: Session, small_region: object) -> None:
    text = "\n".join([HEADER, *ROWS]) + "\n"
    report = service.ImportReport()
    for outcome in service.import_rows(db, SYSTEM, _rows(text)):
        report.add(outcome)
    assert report.counts == {"created": 3, "rejected": 8, "unchanged": 1}
    reasons = {r.line: r.message for r in report.rejected}
    assert set(reasons) == set(EXPECTED_REJECTS)
    for line, expected in EXPECTED_REJECTS.items():
        assert expected in reasons[line], (line, reasons[line])
    assert db.scalar(select(func.count()).select_from(Professional)) == 3
    assert db.scalar(select(func.count()).select_from(Assignment)) == 2
    # Imported twice: nobody is registered twice (by INPE); the one without INPE is new again.
    again = service.ImportReport()
    for outcome in service.import_rows(db, SYSTEM, _rows("\n".join([HEADER, *ROWS[:1]]))):
        again.add(outcome)
    assert again.counts == {"unchanged": 1}


def test_a_file_without_the_required_columns_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("nom,prenom\nX,Y\n", encoding="utf-8")
    with pytest.raises(Invalid) as refused:
        list(service.read_csv(path))
    assert refused.value.code == "missing_columns"


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "parcours.db"
    monkeypatch.setenv("PARCOURS_DATABASE_URL", f"sqlite:///{path}")
    get_settings.cache_clear()
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    establishments = tmp_path / "e.csv"
    establishments.write_text(
        "code,name,type,province,services\n"
        "CHU-TNG,CHU de Tanger,chu,TNG,cardiology:20\n"
        "CSR-TET-01,Centre de santé rural Oued Laou,csr_2,TET,general_medicine\n",
        encoding="utf-8",
    )
    assert runner.invoke(app, ["import", "establishments", str(establishments)]).exit_code == 0
    yield path
    get_settings.cache_clear()


def test_the_command_imports_with_a_report_of_the_rejected_rows(
    database: Path, tmp_path: Path
) -> None:
    source = tmp_path / "professionnels.csv"
    source.write_text("\n".join([HEADER, *ROWS]) + "\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["import", "professionals", str(source)])
    assert result.exit_code == 0, result.output
    assert "Créés : 3" in result.output
    assert "rejetés : 8" in result.output
    with (tmp_path / "professionnels.rejects.csv").open(encoding="utf-8") as handle:
        rejects = list(csv.DictReader(handle))
    assert [int(r["line"]) for r in rejects] == sorted(EXPECTED_REJECTS)
    assert "sexe inconnu" in rejects[1]["reason"]
