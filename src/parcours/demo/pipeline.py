"""The demo is built by a pipeline of named steps, run in order.

Each step is a plain function of a :class:`DemoContext`. Its random numbers
come from a generator derived from the seed *and the step's name*, so adding
a step, or changing what one step draws, never changes what another produces.
A step writes only through the contexts' use cases (the audit trail and the
histories are real) and reports its progress to a :class:`Reporter`.

A step that completes leaves a ``demo.step`` entry in the audit trail, in the
same transaction as its last write. That entry is how a later run knows the
step is done: it is skipped (its ``recall`` reloads what later steps need) and
only the steps added since run. Nothing is ever deleted or rewritten: a
database that already holds data the demo did not make is refused, unless
``force`` is given, in which case the demo is added beside it and every code
or username already taken is left alone.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

from parcours.access import audit
from parcours.access.rules import Principal, system_principal
from parcours.demo.establishments import EstablishmentRef
from parcours.errors import Conflict, Invalid
from parcours.territory import service as territory

MARKER_ACTION = "demo.step"
MARKER_ENTITY = "demo_step"


class Reporter(Protocol):
    """Where a step tells how far it has got (a Rich progress bar on the command line)."""

    def start(self, label: str, total: int) -> None: ...

    def advance(self, amount: int = 1) -> None: ...


class SilentReporter:
    def start(self, label: str, total: int) -> None:
        pass

    def advance(self, amount: int = 1) -> None:
        pass


@dataclass
class DemoContext:
    session: Session
    seed: int
    scale: float
    principal: Principal
    reporter: Reporter = field(default_factory=SilentReporter)
    force: bool = False
    step: str = ""
    rng: random.Random = field(default_factory=random.Random)
    # Filled by the territory step (or recalled from the database), in code order.
    establishments: dict[str, EstablishmentRef] = field(default_factory=dict)
    # What a step hands to later ones in the same run (plans, generated ids…).
    results: dict[str, Any] = field(default_factory=dict)

    def scaled(self, volume: int) -> int:
        """A volume of people or events at this run's scale (at least 1)."""
        return max(1, round(volume * self.scale))


Counts = dict[str, int]


@dataclass(frozen=True)
class Step:
    name: str
    label: str  # French, shown beside the progress bar
    build: Callable[[DemoContext], Counts]
    # Reload from the database what later steps need, when this step was built before.
    recall: Callable[[DemoContext], None] | None = None
    # Why building now would mix the demo with other data (None when it is safe).
    guard: Callable[[DemoContext], str | None] | None = None


@dataclass(frozen=True)
class StepOutcome:
    name: str
    label: str
    status: str  # built | already_built
    counts: Counts
    seed: int | None
    at: datetime | None = None


def step_rng(seed: int, step: str) -> random.Random:
    """A generator that depends on the seed and the step's name only."""
    digest = hashlib.sha256(f"parcours-demo:{seed}:{step}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


@dataclass(frozen=True)
class Marker:
    seed: int | None
    scale: float | None
    counts: Counts
    at: datetime


def find_marker(session: Session, step: str) -> Marker | None:
    _, events = audit.list_events(session, entity_type=MARKER_ENTITY, entity_id=step, limit=1)
    for event in events:
        if event.action == MARKER_ACTION:
            details = event.details or {}
            return Marker(
                seed=details.get("seed"),
                scale=details.get("scale"),
                counts=dict(details.get("counts") or {}),
                at=event.occurred_at,
            )
    return None


def _mark(ctx: DemoContext, step: Step, counts: Counts) -> None:
    audit.record(
        ctx.session,
        ctx.principal,
        MARKER_ACTION,
        MARKER_ENTITY,
        step.name,
        details={"seed": ctx.seed, "scale": ctx.scale, "counts": counts},
    )
    ctx.session.commit()


@dataclass(frozen=True)
class DemoRun:
    outcomes: list[StepOutcome]
    context: DemoContext

    @property
    def already_built(self) -> bool:
        return all(o.status == "already_built" for o in self.outcomes)


def run(
    session: Session,
    steps: Sequence[Step],
    *,
    seed: int,
    scale: float = 1.0,
    force: bool = False,
    reporter: Reporter | None = None,
) -> DemoRun:
    """Build what is missing of the demo; a second run finds every step done and writes nothing."""
    if not scale > 0:
        raise Invalid("L'échelle doit être strictement positive (reçu : {scale}).", scale=scale)
    territory.ensure_reference_data(session)
    ctx = DemoContext(
        session=session,
        seed=seed,
        scale=scale,
        principal=system_principal("demo"),
        reporter=reporter or SilentReporter(),
        force=force,
    )
    outcomes: list[StepOutcome] = []
    for step in steps:
        ctx.step = step.name
        ctx.rng = step_rng(seed, step.name)
        marker = find_marker(session, step.name)
        if marker is not None:
            if step.recall is not None:
                step.recall(ctx)
            outcomes.append(
                StepOutcome(
                    step.name, step.label, "already_built", marker.counts, marker.seed, marker.at
                )
            )
            continue
        reason = step.guard(ctx) if step.guard is not None else None
        if reason and not force:
            raise Conflict(
                "Démo non construite : {reason}. Relancez avec --force pour l'ajouter "
                "à côté des données existantes (rien n'est supprimé ni modifié).",
                code="demo_refused",
                reason=reason,
            )
        counts = step.build(ctx)
        _mark(ctx, step, counts)
        outcomes.append(StepOutcome(step.name, step.label, "built", counts, seed))
    return DemoRun(outcomes, ctx)
