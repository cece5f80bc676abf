"""``parcours mpi load|train|dedupe|links`` through Typer's CliRunner on a SQLite file."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from parcours.cli import app
from parcours.config import get_settings
from parcours.patients.records import CSV_COLUMNS
from parcours.patients.synthetic import generate

runner = CliRunner()


def _run(*args: str) -> Result:
    return runner.invoke(app, list(args))


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "parcours.db"
    monkeypatch.setenv("PARCOURS_DATABASE_URL", f"sqlite:///{path}")
    get_settings.cache_clear()
    result = _run("db", "upgrade")
    assert result.exit_code == 0, result.output
    yield path
    get_settings.cache_clear()


def _pairs(counter: Counter[object]) -> int:
    return sum(n * (n - 1) // 2 for n in counter.values())


def test_load_train_dedupe_links(database: Path, tmp_path: Path) -> None:
    data = generate(300, seed=5)
    source = tmp_path / "records.csv"
    with source.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(CSV_COLUMNS))
        writer.writeheader()
        for record in data.records:
            # establishments are validated against the registry, empty here: outside sources
            writer.writerow({**record.to_row(), "establishment": ""})
        writer.writerow({"record_id": "BAD1", "given_name": "Ali", "birth_date": "01-1970"})
        writer.writerow({"record_id": "BAD2", "given_name": "Ali", "establishment": "XX-1"})
        writer.writerow({"record_id": "", "given_name": "Ali"})
    total = len(data.records)

    loaded = _run("mpi", "load", str(source))
    assert loaded.exit_code == 0, loaded.output
    assert f"Créées : {total}" in loaded.output
    assert "rejetées : 3" in loaded.output
    with source.with_suffix(".rejects.csv").open(encoding="utf-8") as handle:
        rejects = list(csv.DictReader(handle))
    assert [(r["line"], r["record_id"]) for r in rejects] == [
        (str(total + 2), "BAD1"),
        (str(total + 3), "BAD2"),
        (str(total + 4), ""),
    ]
    assert "Date de naissance illisible" in rejects[0]["reason"]
    assert "Établissement inconnu : XX-1" in rejects[1]["reason"]
    assert "record_id manquant" in rejects[2]["reason"]

    again = _run("mpi", "load", str(source))
    assert again.exit_code == 0, again.output
    assert f"déjà chargées : {total}" in again.output

    trained = _run("mpi", "train")
    assert trained.exit_code == 0, trained.output
    assert f"estimé sur {total} fiches" in trained.output
    deduped = _run("mpi", "dedupe")
    assert deduped.exit_code == 0, deduped.output
    assert f"{total} fiches liées" in deduped.output

    exported = _run("mpi", "links")
    assert exported.exit_code == 0, exported.output
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert len(rows) == total
    links = {r["record_id"]: r["person_id"] for r in rows}
    truth = data.person_of
    correct = _pairs(Counter((links[i], truth[i]) for i in links))
    precision = correct / _pairs(Counter(links.values()))
    recall = correct / _pairs(Counter(truth[i] for i in links))
    assert precision > 0.97
    assert recall > 0.9


def test_load_refuses_a_file_with_other_columns(database: Path, tmp_path: Path) -> None:
    source = tmp_path / "wrong.csv"
    source.write_text("id,name\n1,Ali\n", encoding="utf-8")
    result = _run("mpi", "load", str(source))
    assert result.exit_code == 2
    assert "colonnes attendues" in result.output


def test_train_needs_records(database: Path) -> None:
    result = _run("mpi", "train")
    assert result.exit_code == 2
    assert "too_few_records" in result.output
