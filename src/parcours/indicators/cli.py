"""Commands of the indicators: ``parcours indicators refresh | export | list``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from parcours.access.rules import system_principal
from parcours.cli_support import cli_session, console, fail
from parcours.errors import DomainError
from parcours.indicators import service

indicators_app = typer.Typer(help="Indicateurs et tableaux de bord.", no_args_is_help=True)


@indicators_app.command("refresh")
def refresh(
    full: Annotated[bool, typer.Option("--full", help="tout recalculer depuis le début")] = False,
) -> None:
    """Add the facts that arrived since the last refresh to the aggregates (--full: rebuild)."""
    with cli_session() as db:
        service.ensure_shipped_indicators(db)
        out = service.refresh(db, full=full)
    facts = ", ".join(f"{k} : {v}" for k, v in out.facts.items())
    console.print(
        f"{'Reconstruction' if full else 'Mise à jour'} des agrégats en {out.seconds:.1f} s "
        f"({facts} ; séjours clos : {out.stays_closed})"
    )


@indicators_app.command("list")
def list_indicators() -> None:
    """The indicator definitions (code, name, numerator / denominator)."""
    with cli_session() as db:
        service.ensure_shipped_indicators(db)
        for info in service.list_indicators(db):
            d = info.d
            ratio = d.numerator + (f" / {d.denominator}" if d.denominator else "")
            console.print(f"[bold]{d.code}[/bold] {d.name} — {ratio} ({d.unit})")


@indicators_app.command("export")
def export(
    period: Annotated[str | None, typer.Option(help="AAAA-MM, AAAA-T1…T4 ou AAAA")] = None,
    fmt: Annotated[str, typer.Option("--format", help="adx, json (DHIS2) ou csv")] = "adx",
    output: Annotated[Path | None, typer.Option(help="fichier de sortie (défaut : écran)")] = None,
    data_set: Annotated[str, typer.Option(help="code du jeu de données")] = "PARCOURS_GST",
) -> None:
    """Export every indicator's values for the ministry (small cells left out)."""
    if fmt not in ("adx", "json", "csv"):
        console.print("[red]Format inconnu : adx, json ou csv.[/red]")
        raise typer.Exit(2)
    with cli_session() as db:
        try:
            chosen = service.parse_period(period)
            rows = service.export_rows(db, system_principal("export"), chosen)
        except DomainError as exc:
            fail(exc)
            return
    if fmt == "adx":
        text = service.to_adx(rows, chosen, data_set)
    elif fmt == "json":
        text = json.dumps(
            service.to_data_value_set(rows, chosen, data_set), ensure_ascii=False, indent=1
        )
    else:
        text = service.to_csv(rows)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        console.print(f"{len(rows)} valeurs ({chosen.key}) écrites dans {output}")
