"""Commands of the care pathways: ``parcours pathways export-map|expire``."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Annotated

import typer

from parcours.cli_support import cli_session, console, err_console, fail
from parcours.errors import DomainError
from parcours.pathways import service
from parcours.pathways.pathway_map import SPECIALTY_NAMES

pathways_app = typer.Typer(
    help="Parcours de soins : carte sanitaire, références.", no_args_is_help=True
)

EXPORT_COLUMNS = (
    "specialty",
    "source",
    "source_level",
    "destination",
    "destination_level",
    "rule",
    "distance_km",
    "map_version",
    "referrals_12_months",
)


@pathways_app.command("export-map")
def export_map(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="fichier CSV (par défaut : la sortie)")
    ] = None,
    specialty: Annotated[
        str | None, typer.Option(help="une spécialité (code), par défaut toutes")
    ] = None,
) -> None:
    """Export the pathway map (who refers to whom, per specialty) with last year's volumes."""
    if specialty is not None and specialty not in SPECIALTY_NAMES:
        err_console.print(
            f"[red]Erreur[/red] : spécialité inconnue : {specialty} "
            f"(codes : {', '.join(sorted(SPECIALTY_NAMES))})"
        )
        raise typer.Exit(code=2)
    handle = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
    count = 0
    try:
        with cli_session() as db:
            writer = csv.DictWriter(handle, fieldnames=EXPORT_COLUMNS)
            writer.writeheader()
            for row in service.export_map_rows(db, specialty):
                writer.writerow(row)
                count += 1
    finally:
        if output:
            handle.close()
    if output:
        console.print(f"{count} liaisons écrites dans {output}")


@pathways_app.command("expire")
def expire() -> None:
    """Expire the referrals left unanswered past their deadline (for a scheduler)."""
    try:
        with cli_session() as db:
            total = 0
            while True:
                report = service.expire_overdue(db)
                total += report.expired
                if report.expired == 0:
                    break
    except DomainError as exc:
        fail(exc)
    console.print(f"{total} référence(s) expirée(s) sans réponse.")
