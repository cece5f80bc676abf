"""``parcours demo`` as ``make demo`` runs it: twice in a row, on a migrated SQLite file."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from parcours.cli import app
from parcours.config import get_settings


@pytest.fixture
def sqlite_url(
    tmp_path: Path, sqlite_template: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    path = tmp_path / "demo.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    monkeypatch.setenv("PARCOURS_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_demo_twice(sqlite_url: str) -> None:
    runner = CliRunner()
    first = runner.invoke(app, ["demo", "--seed", "7"], env={"COLUMNS": "160"})
    assert first.exit_code == 0, first.output
    assert "1 CHU · 22 hôpitaux · 295 centres de santé" in first.output
    for username in ("admin.region", "infirmier.babberred", "analyste.ministere"):
        assert username in first.output
    assert "parcours-demo" in first.output

    second = runner.invoke(app, ["demo", "--seed", "7"], env={"COLUMNS": "160"})
    assert second.exit_code == 0, second.output
    assert "déjà construite (graine 7" in second.output
    assert "1 CHU · 22 hôpitaux · 295 centres de santé" in second.output


def test_scale_must_be_positive(sqlite_url: str) -> None:
    result = CliRunner().invoke(app, ["demo", "--scale", "0"])
    assert result.exit_code == 2
    assert "Échelle invalide" in result.output


def test_unmigrated_database_is_explained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARCOURS_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["demo"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "parcours db upgrade" in result.output
