"""Commands of the finance: ``parcours import budget FILE.csv`` and
``parcours export execution --format xlsx|csv [--year] [--output]``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from parcours.cli_support import cli_session, console, fail, import_csv, show_rejected
from parcours.errors import DomainError
from parcours.finance import export, service


def import_budget(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    report: Annotated[
        Path | None,
        typer.Option(help="fichier CSV des lignes rejetées (par défaut FILE.rejects.csv)"),
    ] = None,
) -> None:
    """Import budget allocations (year, establishment, line, amount[, kind, booked_on, reason,
    label]); new lines are opened, bad rows go to a report with their line and reason."""
    counts, rejected, report_path = import_csv(
        file,
        report,
        "Import du budget",
        lambda db: service.import_rows(
            db, service.system_finance("import"), service.read_csv(file)
        ),
    )
    console.print(
        f"Lignes ouvertes : {counts.get('created', 0)} · dotations sur des lignes existantes : "
        f"{counts.get('updated', 0)} · rejetées : {counts.get('rejected', 0)}"
    )
    show_rejected(rejected, report_path)


def export_execution(
    format: Annotated[
        Literal["xlsx", "csv"], typer.Option("--format", help="xlsx ou csv")
    ] = "xlsx",
    year: Annotated[int | None, typer.Option(help="exercice (par défaut l'année en cours)")] = None,
    month: Annotated[int | None, typer.Option(min=1, max=12, help="cumul jusqu'à ce mois")] = None,
    establishment: Annotated[
        str | None, typer.Option(help="code d'établissement, ou GST pour le siège")
    ] = None,
    output: Annotated[Path | None, typer.Option(help="fichier à écrire")] = None,
) -> None:
    """Write the execution table (the page's) for the Ministry of Economy and Finance."""
    chosen = year or service.today().year
    with cli_session() as db:
        try:
            report = service.execution(
                db,
                service.system_finance("export"),
                year=chosen,
                establishment=establishment,
                through_month=month,
            )
        except DomainError as exc:
            fail(exc)
            return
    path = output or Path(f"execution-{report.year}-{report.through_month:02d}.{format}")
    if format == "csv":
        path.write_text(export.execution_csv(report), encoding="utf-8")
    else:
        path.write_bytes(export.execution_xlsx(report))
    console.print(
        f"{path} : {len(report.rows)} lignes, crédits ouverts {report.total.allocated} DH, "
        f"payés {report.total.paid} DH"
    )
