"""Commands of the workforce: ``parcours import professionals`` and ``parcours hr …``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from parcours.cli_support import cli_session, console, fail, import_csv, show_rejected
from parcours.errors import DomainError
from parcours.workforce import service

hr_app = typer.Typer(help="Ressources humaines du GST.", no_args_is_help=True)


def import_professionals(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    report: Annotated[
        Path | None,
        typer.Option(help="fichier CSV des lignes rejetées (par défaut FILE.rejects.csv)"),
    ] = None,
) -> None:
    """Import professionals from a CSV (idempotent by INPE); bad rows go to a report."""
    counts, rejected, report_path = import_csv(
        file,
        report,
        "Import des professionnels",
        lambda db: service.import_rows(db, service.system_hr("import"), service.read_csv(file)),
    )
    console.print(
        f"Créés : {counts.get('created', 0)} · déjà connus (INPE) : "
        f"{counts.get('unchanged', 0)} · rejetés : {counts.get('rejected', 0)}"
    )
    show_rejected(rejected, report_path)


@hr_app.command("apply-mobility")
def apply_mobility() -> None:
    """Make the approved mobility requests whose effective date has come take effect."""
    with cli_session() as db:
        try:
            done = service.apply_due_mobility(db, service.system_hr("scheduler"))
        except DomainError as exc:
            fail(exc)
            return
    console.print(f"Mobilités prises d'effet : {done}")
