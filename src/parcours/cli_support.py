"""What every context's commands share: the engine from the settings, a console."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from rich.console import Console
from sqlalchemy.orm import Session

from parcours.config import get_settings
from parcours.db import make_engine, make_session_factory
from parcours.errors import DomainError

console = Console()
err_console = Console(stderr=True)


@contextmanager
def cli_session() -> Iterator[Session]:
    engine = make_engine(get_settings().database_url)
    factory = make_session_factory(engine)
    session = factory()
    try:
        yield session
    finally:
        session.rollback()
        session.close()
        engine.dispose()


def fail(exc: DomainError) -> None:
    import typer

    err_console.print(f"[red]Erreur[/red] ({exc.code}) : {exc.render()}")
    raise typer.Exit(code=2)


class _Rejected(Protocol):
    @property
    def line(self) -> int: ...

    @property
    def message(self) -> str: ...


class _Outcome(_Rejected, Protocol):
    @property
    def status(self) -> str: ...


def import_csv(
    file: Path,
    report: Path | None,
    label: str,
    run: Callable[[Session], Iterable[_Outcome]],
) -> tuple[dict[str, int], list[_Outcome], Path]:
    """What every ``parcours import …`` does around its use case.

    Refuses a file that is not UTF-8 (with the line), shows a progress bar over the
    data lines, writes the rejected rows with their line and reason to ``report``
    (``FILE.rejects.csv`` by default) and prints the first twenty. Returns the counts
    by status, the rejected outcomes and the report's path.
    """
    import csv

    import typer
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

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
    counts: dict[str, int] = {}
    rejected: list[_Outcome] = []
    with cli_session() as db:
        try:
            progress = Progress(
                TextColumn(label),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=err_console,
            )
            with progress:
                task = progress.add_task("import", total=total)
                for outcome in run(db):
                    counts[outcome.status] = counts.get(outcome.status, 0) + 1
                    if outcome.status == "rejected":
                        rejected.append(outcome)
                    progress.advance(task)
        except DomainError as exc:
            fail(exc)
    with report_path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["line", "reason"])
        writer.writerows((r.line, r.message) for r in rejected)
    return counts, rejected, report_path


def show_rejected(rejected: Sequence[_Rejected], report_path: Path) -> None:
    for row in rejected[:20]:
        err_console.print(f"  ligne {row.line} : {row.message}")
    if rejected:
        err_console.print(f"Rapport des lignes rejetées : {report_path}")
