"""``parcours import budget`` (good rows kept, each bad row reported with its line and reason)
and ``parcours export execution`` (the table as XLSX or CSV, the same totals)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from parcours.cli import app
from parcours.config import get_settings
from parcours.finance import service
from tests.finance.conftest import SYSTEM

HEADER = "year,establishment,line,amount,kind,booked_on,reason"
ROWS = [
    "2026,CHU-TNG,personnel.salaries,1 250 000 000,allocation,,Loi de finances 2026",
    '2026,CHU-TNG,operating.medicines,"310000000,50",,,',
    "2026,GST,investment.digital,45000000.00,,,Siège",
    "2026,CHU-TNG,operating.medicines,-10000000,amendment,2026-07-01,Collectif budgétaire",
    # Bad rows: their line (the header is line 1) and the reason.
    "2026,CHU-XXX,operating.medicines,1000,,,",
    "2026,CHU-TNG,operating.caviar,1000,,,",
    "2026,CHU-TNG,operating.maintenance,douze,,,",
    "2026,CHU-TNG,operating.maintenance,1000,commitment,,",
    "2026,CHU-TNG,operating.maintenance,1000,,2025-12-31,",
    "2026,CHU-TNG,operating.medicines,-400000000,amendment,,coupe",
]
EXPECTED_REJECTS = {
    6: "Établissement introuvable : CHU-XXX",
    7: "Ligne budgétaire inconnue : operating.caviar",
    8: "montant invalide",
    9: "allocation ou amendment",
    10: "n'est pas dans l'exercice 2026",
    11: "Crédit insuffisant",
}


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "parcours.db"
    monkeypatch.setenv("PARCOURS_DATABASE_URL", f"sqlite:///{path}")
    get_settings.cache_clear()
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    establishments = tmp_path / "e.csv"
    establishments.write_text(
        "code,name,type,province,services\nCHU-TNG,CHU de Tanger,chu,TNG,cardiology:20\n",
        encoding="utf-8",
    )
    assert runner.invoke(app, ["import", "establishments", str(establishments)]).exit_code == 0
    yield path
    get_settings.cache_clear()


def test_import_then_export(database: Path, tmp_path: Path) -> None:
    source = tmp_path / "budget.csv"
    # The last bad row commits more cuts than credit: make it fail on commitments.
    rows = [*ROWS]
    source.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["import", "budget", str(source)])
    assert result.exit_code == 0, result.output
    assert "Lignes ouvertes : 3" in result.output, result.output
    assert "rejetées : 6" in result.output
    with (tmp_path / "budget.rejects.csv").open(encoding="utf-8") as handle:
        rejects = {int(r["line"]): r["reason"] for r in csv.DictReader(handle)}
    assert set(rejects) == set(EXPECTED_REJECTS)
    for line, expected in EXPECTED_REJECTS.items():
        assert expected in rejects[line], (line, rejects[line])

    out = tmp_path / "execution.xlsx"
    result = CliRunner().invoke(
        app, ["export", "execution", "--format", "xlsx", "--year", "2026", "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    sheet = load_workbook(out).active
    assert sheet is not None
    header = [c.value for c in sheet[1]]
    total = [c.value for c in sheet[sheet.max_row]]
    allocated = Decimal(str(total[header.index("credits_ouverts")])).quantize(Decimal("0.01"))
    assert allocated == Decimal("1595000000.50")
    out_csv = tmp_path / "execution.csv"
    result = CliRunner().invoke(
        app, ["export", "execution", "--format", "csv", "--year", "2026", "--output", str(out_csv)]
    )
    assert result.exit_code == 0, result.output
    lines = list(
        csv.DictReader(
            io.StringIO(out_csv.read_text(encoding="utf-8").lstrip("\ufeff")), delimiter=";"
        )
    )
    assert lines[-1]["credits_ouverts"] == "1595000000.50"
    assert {r["etablissement"] for r in lines[:-1]} == {"CHU-TNG", "GST"}


def test_import_rows_on_both_databases(db: Session, small_region: dict[str, str]) -> None:
    rows = [
        (
            2,
            {
                "year": "2026",
                "establishment": "HP-HOC-01",
                "line": "operating.utilities",
                "amount": "12,50",
            },
        ),
        (
            3,
            {
                "year": "2026",
                "establishment": "HP-HOC-01",
                "line": "operating.utilities",
                "amount": "7,50",
            },
        ),
        (4, {"year": "x", "establishment": "", "line": "operating.utilities", "amount": "1"}),
    ]
    outcomes = list(service.import_rows(db, SYSTEM, rows))
    assert [o.status for o in outcomes] == ["created", "updated", "rejected"]
    (line,) = service.list_lines(db, SYSTEM, year=2026, establishment="HP-HOC-01")
    assert line.allocated == Decimal("20.00")
