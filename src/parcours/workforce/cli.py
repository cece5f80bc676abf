"""Commands of the workforce: ``parcours import professionals`` and ``parcours hr …``."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from parcours.cli_support import cli_session, console, err_console, fail
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
    report_path = report or file.with_suffix(".rejects.csv")
    content = file.read_bytes()
    try:
        total = max(len(content.decode("utf-8-sig").splitlines()) - 1, 0)
    except UnicodeDecodeError as exc:
        line = content[: exc.start].count(b"\n") + 1
        err_console.print(
            f"[red]Erreur[/red] : le fichier n'est pas en UTF-8 (ligne {line}) ; "
            "enregistrez-le au format « CSV UTF-8 »."
        )
        raise typer.Exit(code=2) from exc
    outcome = service.ImportReport()
    with cli_session() as db:
        try:
            rows = service.read_csv(file)
            progress = Progress(
                TextColumn("Import des professionnels"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=err_console,
            )
            with progress:
                task = progress.add_task("import", total=total)
                for row_outcome in service.import_rows(db, service.system_hr("import"), rows):
                    outcome.add(row_outcome)
                    progress.advance(task)
        except DomainError as exc:
            fail(exc)
    with report_path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["line", "reason"])
        writer.writerows((r.line, r.message) for r in outcome.rejected)
    counts = outcome.counts
    console.print(
        f"Créés : {counts.get('created', 0)} · déjà connus (INPE) : "
        f"{counts.get('unchanged', 0)} · rejetés : {counts.get('rejected', 0)}"
    )
    for rejected in outcome.rejected[:20]:
        err_console.print(f"  ligne {rejected.line} : {rejected.message}")
    if outcome.rejected:
        err_console.print(f"Rapport des lignes rejetées : {report_path}")


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
