"""``parcours demo``: build the demo region in the configured database."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from sqlalchemy.exc import OperationalError, ProgrammingError

from parcours.access.rules import system_principal
from parcours.cli_support import cli_session, console, err_console, fail
from parcours.demo import pipeline
from parcours.demo.steps import STEPS
from parcours.demo.steps.users import PLAN_KEY as USERS_PLAN
from parcours.demo.users_plan import DEMO_PASSWORD, UserPlan
from parcours.errors import DomainError
from parcours.territory import service as territory

COUNT_LABELS = {
    "created": "créés",
    "skipped": "déjà présents",
    "chu": "CHU",
    "hospital": "hôpitaux",
    "health_centre": "centres de santé",
    "persons": "personnes",
    "records": "enregistrements",
    "loaded": "chargés en masse",
    "rejected": "rejetés",
    "reviews_batch": "paires à revoir (lot)",
    "desk_link": "rattachés à l'accueil",
    "desk_review": "à revoir à l'accueil",
    "desk_new": "nouvelles personnes à l'accueil",
}


class RichReporter:
    """One progress bar per step."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: TaskID | None = None

    def start(self, label: str, total: int) -> None:
        self.task = self.progress.add_task(label, total=total)

    def advance(self, amount: int = 1) -> None:
        if self.task is not None:
            self.progress.advance(self.task, amount)


def _users_table(plans: list[UserPlan]) -> Table:
    table = Table(title=f"Comptes de démonstration (mot de passe : {DEMO_PASSWORD})")
    table.add_column("Identifiant", style="bold", no_wrap=True)
    table.add_column("Rôle")
    table.add_column("Périmètre")
    for plan in plans:
        table.add_row(plan.username, plan.role.label, plan.scope.describe())
    return table


def demo(
    seed: Annotated[
        int, typer.Option(help="graine : la même graine construit la même région")
    ] = 2025,
    scale: Annotated[
        float,
        typer.Option(help="multiplie le volume de personnes et d'événements (> 0)"),
    ] = 1.0,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="ajouter la démo à une base qui contient déjà d'autres données "
            "(rien n'est supprimé ni modifié ; les codes déjà pris sont laissés tels quels)",
        ),
    ] = False,
) -> None:
    """Build the demo region of the GST Tanger-Tétouan-Al Hoceïma (idempotent)."""
    if not scale > 0:
        err_console.print(f"[red]Échelle invalide[/red] : {scale} (elle doit être > 0).")
        raise typer.Exit(code=2)
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
    )
    with cli_session() as db:
        try:
            with progress:
                result = pipeline.run(
                    db,
                    STEPS,
                    seed=seed,
                    scale=scale,
                    force=force,
                    reporter=RichReporter(progress),
                )
            summary = territory.summary(db, system_principal("demo"))
        except DomainError as exc:
            fail(exc)
            return
        except (OperationalError, ProgrammingError) as exc:
            err_console.print(
                "[red]Base de données non prête[/red] : lancez d'abord « parcours db upgrade ».\n"
                f"({type(exc).__name__}: {str(exc.orig).strip()})"
            )
            raise typer.Exit(code=2) from exc
    if result.already_built:
        first = result.outcomes[0] if result.outcomes else None
        when = f", le {first.at:%d/%m/%Y à %H:%M} UTC" if first and first.at else ""
        built_seed = f"graine {first.seed}" if first and first.seed is not None else "graine ?"
        console.print(f"Démo déjà construite ({built_seed}{when}) : rien à faire.")
        if first and first.seed is not None and first.seed != seed:
            console.print(
                f"[yellow]La graine demandée ({seed}) n'est pas celle de la base ; "
                "la démo existante est conservée (rien n'est jamais effacé : pour une "
                "autre graine, pointez PARCOURS_DATABASE_URL vers une base neuve).[/yellow]"
            )
    else:
        for outcome in result.outcomes:
            state = "construit" if outcome.status == "built" else "déjà construit"
            details = ", ".join(f"{v} {COUNT_LABELS.get(k, k)}" for k, v in outcome.counts.items())
            console.print(f"  {outcome.label} : {state} ({details})")
    by_category = summary.by_category
    console.print(
        f"{summary.gst} : {by_category.get('chu', 0)} CHU · "
        f"{by_category.get('hospital', 0)} hôpitaux · "
        f"{by_category.get('health_centre', 0)} centres de santé · "
        f"{summary.beds} lits"
    )
    plans = result.context.results.get(USERS_PLAN)
    if plans:
        console.print(_users_table(plans))
