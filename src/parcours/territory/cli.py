"""Commands of the territory context: ``parcours import establishments``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from parcours.access.rules import system_principal
from parcours.cli_support import console, import_csv, show_rejected
from parcours.territory import service


def import_establishments(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    report: Annotated[
        Path | None,
        typer.Option(help="fichier CSV des lignes rejetées (par défaut FILE.rejects.csv)"),
    ] = None,
) -> None:
    """Import establishments from a CSV, idempotent by code; bad rows go to a report."""
    counts, rejected, report_path = import_csv(
        file,
        report,
        "Import des établissements",
        lambda db: service.import_rows(db, system_principal("import"), service.read_csv(file)),
    )
    console.print(
        f"Créés : {counts.get('created', 0)} · mis à jour : {counts.get('updated', 0)} · "
        f"inchangés : {counts.get('unchanged', 0)} · rejetés : {counts.get('rejected', 0)}"
    )
    show_rejected(rejected, report_path)
