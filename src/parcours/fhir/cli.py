"""Commands of the FHIR façade: ``parcours fhir client add`` and ``parcours fhir load``."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from parcours.access.rules import Role, parse_scope, system_principal
from parcours.cli_support import cli_session, console, err_console, fail
from parcours.errors import DomainError
from parcours.fhir import service

fhir_app = typer.Typer(
    help="Façade FHIR R4 : clients systèmes et chargements.", no_args_is_help=True
)
client_app = typer.Typer(
    help="Systèmes autorisés (OAuth2 client credentials).", no_args_is_help=True
)
fhir_app.add_typer(client_app, name="client")


@client_app.command("add")
def add_client(
    client_id: Annotated[str, typer.Argument(help="identifiant du client, ex. sih-hp-che")],
    name: Annotated[str, typer.Option(help="nom du système")] = "",
    role: Annotated[Role, typer.Option(help="rôle dont le système a les droits")] = Role.CLINICIAN,
    scope: Annotated[
        str, typer.Option(help="périmètre : gst, province:TNG ou establishment:HP-CHE-01")
    ] = "gst",
    smart: Annotated[
        str, typer.Option(help="portées SMART, ex. 'system/Patient.read system/*.write'")
    ] = "system/*.read",
) -> None:
    """Register a system; its secret is shown once and only its hash is kept."""
    try:
        parsed = parse_scope(scope)
    except ValueError as exc:
        err_console.print(f"[red]Périmètre illisible[/red] : {exc}")
        raise typer.Exit(code=2) from exc
    with cli_session() as db:
        try:
            secret = service.add_client(
                db,
                system_principal("fhir"),
                client_id=client_id,
                name=name or client_id,
                role=role,
                scope=parsed,
                smart_scopes=smart,
            )
        except DomainError as exc:
            fail(exc)
            return
    console.print(f"Client [bold]{client_id}[/bold] enregistré ({role.label}, {scope}).")
    console.print(f"Secret (affiché une seule fois) : [bold]{secret}[/bold]")
    console.print("Jeton : POST /fhir/auth/token (grant_type=client_credentials).")


def _items(path: Path) -> tuple[int, Iterator[tuple[int, Any]]]:
    """The resources of an NDJSON file (one a line) or of a Bundle (its entries)."""
    text = path.read_text(encoding="utf-8")
    stripped = text.lstrip()
    if stripped.startswith("{") and "\n{" not in text.strip():
        body = json.loads(text)
        if body.get("resourceType") == "Bundle":
            entries = [e.get("resource") for e in body.get("entry", [])]
            return len(entries), iter(enumerate(entries, start=1))
        return 1, iter([(1, body)])
    lines = text.splitlines()

    def parsed() -> Iterator[tuple[int, Any]]:
        for n, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                yield n, json.loads(line)
            except json.JSONDecodeError as exc:
                yield n, {"__error__": f"JSON illisible : {exc.msg}"}

    return sum(1 for line in lines if line.strip()), parsed()


@fhir_app.command("load")
def load(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
) -> None:
    """Load FILE.ndjson or bundle.json through the façade's create path; rejected lines
    are listed with their reason."""
    total, items = _items(file)
    counts: Counter[str] = Counter()
    rejected: list[service.LoadOutcome] = []
    with (
        cli_session() as db,
        Progress(
            TextColumn("Chargement FHIR"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as progress,
    ):
        task = progress.add_task("load", total=total)
        for outcome in service.load_resources(db, service.system_caller(), items):
            counts[outcome.status] += 1
            if outcome.status == "rejected":
                rejected.append(outcome)
            progress.advance(task)
    console.print(
        f"Créées : {counts['created']} · déjà présentes : {counts['existing']} · "
        f"rejetées : {counts['rejected']}"
    )
    for r in rejected[:50]:
        console.print(f"  ligne {r.line} : {r.message}")
    if len(rejected) > 50:
        console.print(f"  … et {len(rejected) - 50} autres")
    if rejected:
        raise typer.Exit(code=1)
