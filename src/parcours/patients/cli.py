"""Commands of the master patient index: ``parcours mpi load|train|dedupe|links``."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from parcours.cli_support import cli_session, console, err_console, fail
from parcours.errors import DomainError
from parcours.patients import service
from parcours.patients.records import CSV_COLUMNS

mpi_app = typer.Typer(help="Index patient régional (MPI).", no_args_is_help=True)


def _count_lines(file: Path) -> int:
    with file.open("rb") as handle:
        return max(sum(1 for _ in handle) - 1, 0)


@mpi_app.command("load")
def load(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    report: Annotated[
        Path | None,
        typer.Option(help="fichier CSV des lignes rejetées (par défaut FILE.rejects.csv)"),
    ] = None,
) -> None:
    """Load source records from a CSV (idempotent by record_id); bad rows go to a report."""
    report_path = report or file.with_suffix(".rejects.csv")
    total = _count_lines(file)
    counts: dict[str, int] = {}
    rejected: list[service.RowOutcome] = []
    try:
        handle = file.open(encoding="utf-8-sig", newline="")
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
    except UnicodeDecodeError as exc:
        err_console.print(
            "[red]Erreur[/red] : le fichier n'est pas en UTF-8 ; "
            "enregistrez-le au format « CSV UTF-8 »."
        )
        raise typer.Exit(code=2) from exc
    with handle:
        if list(header) != list(CSV_COLUMNS):
            err_console.print(
                "[red]Erreur[/red] : colonnes attendues, dans cet ordre : " + ",".join(CSV_COLUMNS)
            )
            raise typer.Exit(code=2)
        progress = Progress(
            TextColumn("Chargement des fiches"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
        )
        with cli_session() as db, progress:
            task = progress.add_task("load", total=total)
            try:
                for outcome in service.load_records(db, reader):
                    counts[outcome.status] = counts.get(outcome.status, 0) + 1
                    if outcome.status == "rejected":
                        rejected.append(outcome)
                    progress.advance(task)
            except UnicodeDecodeError as exc:
                err_console.print(
                    "[red]Erreur[/red] : le fichier n'est pas en UTF-8 ; "
                    "enregistrez-le au format « CSV UTF-8 »."
                )
                raise typer.Exit(code=2) from exc
            except DomainError as exc:
                fail(exc)
    with report_path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["line", "record_id", "reason"])
        writer.writerows((r.line, r.record_key, r.message) for r in rejected)
    console.print(
        f"Créées : {counts.get('created', 0)} · déjà chargées : {counts.get('unchanged', 0)} · "
        f"rejetées : {counts.get('rejected', 0)}"
    )
    for outcome in rejected[:20]:
        err_console.print(f"  ligne {outcome.line} : {outcome.message}")
    if rejected:
        err_console.print(f"Rapport des lignes rejetées : {report_path}")


@mpi_app.command("train")
def train() -> None:
    """Estimate the matching model's parameters from the loaded records."""
    with cli_session() as db:
        try:
            info = service.train(db)
        except DomainError as exc:
            fail(exc)
            return
    console.print(
        f"Modèle v{info.version} estimé sur {info.records} fiches "
        f"(probabilité a priori {info.prior:.2e}, foyers : {'oui' if info.households else 'non'})."
    )


@mpi_app.command("dedupe")
def dedupe() -> None:
    """Link every unlinked record to a person (new or existing)."""
    with cli_session() as db:
        try:
            report = service.dedupe(db)
        except DomainError as exc:
            fail(exc)
            return
    console.print(
        f"Lot {report.batch_id} : {report.newly_linked} fiches liées · "
        f"{report.new_persons} nouvelles personnes · {report.joined_existing} rattachées à une "
        f"personne existante · {report.reviews} paires à revoir."
    )


@mpi_app.command("links")
def links() -> None:
    """Write ``record_id,person_id`` for every loaded record as CSV on stdout."""
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["record_id", "person_id"])
    with cli_session() as db:
        for record_key, person in service.export_links(db):
            writer.writerow([record_key, person])
