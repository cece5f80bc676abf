"""What every context's commands share: the engine from the settings, a console."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

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
