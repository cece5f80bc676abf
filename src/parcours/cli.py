"""The ``parcours`` command, composed from each context's commands."""

from __future__ import annotations

from typing import Annotated

import typer

from parcours.access.cli import audit_app, users_app
from parcours.cli_support import cli_session, console
from parcours.config import get_settings
from parcours.db import make_engine
from parcours.demo.cli import demo
from parcours.fhir.cli import fhir_app
from parcours.finance.cli import export_execution, import_budget
from parcours.indicators.cli import indicators_app
from parcours.pathways.cli import pathways_app
from parcours.patients.cli import mpi_app
from parcours.territory.cli import import_establishments
from parcours.workforce.cli import hr_app, import_professionals

app = typer.Typer(
    help="Parcours : système d'information régional du GST.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
db_app = typer.Typer(help="Base de données.", no_args_is_help=True)
import_app = typer.Typer(help="Imports de fichiers.", no_args_is_help=True)
export_app = typer.Typer(help="Exports de fichiers.", no_args_is_help=True)

app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(audit_app, name="audit")
app.add_typer(import_app, name="import")
app.add_typer(export_app, name="export")
app.add_typer(mpi_app, name="mpi")
app.add_typer(pathways_app, name="pathways")
app.add_typer(hr_app, name="hr")
app.add_typer(indicators_app, name="indicators")
app.add_typer(fhir_app, name="fhir")
import_app.command("establishments")(import_establishments)
import_app.command("professionals")(import_professionals)
import_app.command("budget")(import_budget)
export_app.command("execution")(export_execution)
app.command("demo")(demo)


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply the migrations, then load the reference data (regions, provinces, specialties)."""
    from parcours.migrations import upgrade
    from parcours.territory.service import ensure_reference_data

    settings = get_settings()
    engine = make_engine(settings.database_url)
    upgrade(engine, revision)
    engine.dispose()
    with cli_session() as db:
        ensure_reference_data(db)
    console.print(f"Base à jour : {make_engine(settings.database_url).url.render_as_string()}")


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="adresse d'écoute")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8000,
) -> None:
    """Serve the web application."""
    import uvicorn

    from parcours.web import collector
    from parcours.web.app import create_app

    application = create_app()
    collector.tune(get_settings().gc_young_threshold)
    console.print(f"Parcours sur http://{host}:{port}/")
    uvicorn.run(application, host=host, port=port, log_level="info", proxy_headers=False)


if __name__ == "__main__":  # pragma: no cover
    app()
