"""Commands of the access context: ``parcours users …`` and ``parcours audit …``."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer

from parcours.access import audit, service
from parcours.access.rules import Role, parse_scope, system_principal
from parcours.cli_support import cli_session, console, err_console, fail
from parcours.errors import DomainError
from parcours.territory import service as territory

users_app = typer.Typer(help="Comptes utilisateurs et jetons d'API.", no_args_is_help=True)
audit_app = typer.Typer(help="Journal d'audit.", no_args_is_help=True)


@users_app.command("create")
def create_user(
    username: str,
    role: Annotated[Role, typer.Option(help="rôle de l'utilisateur")],
    scope: Annotated[
        str, typer.Option(help="gst, province:TNG,TET ou establishment:CODE1,CODE2")
    ] = "gst",
    full_name: Annotated[str, typer.Option(help="nom complet")] = "",
    password: Annotated[
        str | None,
        typer.Option(
            help="mot de passe (demandé s'il est absent; PARCOURS_PASSWORD sinon)",
            envvar="PARCOURS_PASSWORD",
        ),
    ] = None,
) -> None:
    """Create a user; the password is asked for when not given."""
    try:
        parsed = parse_scope(scope)
    except ValueError as exc:
        err_console.print(f"[red]Périmètre invalide[/red] : {exc}")
        raise typer.Exit(code=2) from exc
    if password is None:
        password = getpass.getpass("Mot de passe : ")
    with cli_session() as db:
        try:
            service.create_user(
                db,
                system_principal("cli"),
                username=username,
                password=password,
                role=role,
                scope=parsed,
                full_name=full_name,
                province_of=territory.province_of_establishments(db),
                province_codes={p.code for p in territory.list_provinces(db)},
            )
        except DomainError as exc:
            fail(exc)
    console.print(f"Utilisateur [bold]{username}[/bold] créé ({role.label}, {parsed.describe()}).")


@users_app.command("token")
def issue_token(
    username: str,
    label: Annotated[str, typer.Option(help="à quoi sert ce jeton")] = "",
    days: Annotated[int, typer.Option(help="durée de validité en jours")] = 365,
) -> None:
    """Print a new API token for USERNAME (shown once, stored hashed)."""
    with cli_session() as db:
        try:
            raw = service.issue_token(
                db,
                system_principal("cli"),
                username,
                label=label,
                days=days,
                province_of=territory.province_of_establishments(db),
            )
        except DomainError as exc:
            fail(exc)
    typer.echo(raw)


@audit_app.command("verify")
def verify() -> None:
    """Check the audit trail's hash chain; exit 1 when a row was changed or removed."""
    with cli_session() as db:
        report = audit.verify(db)
    if report.ok:
        console.print(
            f"[green]Journal d'audit intact[/green] : {report.checked} événements vérifiés."
        )
        return
    err_console.print(
        f"[red]Journal d'audit altéré[/red] : {len(report.breaks)} anomalie(s) "
        f"sur {report.checked} événements."
    )
    for brk in report.breaks:
        err_console.print(f"  événement {brk.event_id} : {brk.reason}")
    raise typer.Exit(code=1)
