"""Domain rules of the GST's finance: the budget's structure, the ledger's movements and what
each does to a line's balance, the transfer workflow, execution alerts, action and project
statuses.

Pure Python (no framework, no database) so that the public-accounting rules can be read and
tested alone: the service applies them under a row lock, in the transaction of the act.
Amounts are ``Decimal`` dirhams with two decimals, never floats.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from enum import StrEnum

from parcours.errors import Problem as Problem  # the rules' findings

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
# Numeric(16, 2): fourteen digits before the decimal point.
MAX_AMOUNT = Decimal("99999999999999.99")
NNBSP = "\u202f"  # the French thousands separator


def money(value: Decimal | int | str) -> Decimal:
    """An amount in dirhams with exactly two decimals; floats are refused (they are not exact)."""
    if isinstance(value, float):
        raise TypeError("amounts are Decimal, never float")
    try:
        amount = Decimal(value).quantize(CENT, rounding=ROUND_HALF_EVEN)
    except InvalidOperation as exc:
        raise ValueError(f"montant invalide : {value!r}") from exc
    if not amount.is_finite():
        raise ValueError(f"montant invalide : {value!r}")
    return amount


def parse_amount(text: str) -> Decimal:
    """An amount as typed in France or Morocco: ``1 234 567,89`` or ``1234567.89``."""
    cleaned = text.strip().replace("\u202f", "").replace("\xa0", "").replace(" ", "")
    if cleaned.count(",") == 1 and "." not in cleaned:
        cleaned = cleaned.replace(",", ".")
    if not cleaned:
        raise ValueError("montant manquant")
    return money(cleaned)


# --- the budget's structure ---------------------------------------------------------------


class Chapter(StrEnum):
    """The top-level budget lines (titres): what the Ministry of Finance reads first."""

    PERSONNEL = "personnel"
    OPERATING = "operating"
    INVESTMENT = "investment"

    @property
    def label(self) -> str:
        return CHAPTER_LABELS[self]


CHAPTER_LABELS: dict[Chapter, str] = {
    Chapter.PERSONNEL: "Personnel",
    Chapter.OPERATING: "Fonctionnement",
    Chapter.INVESTMENT: "Investissement",
}

# The sub-lines (articles) of each chapter, code → French label.
SUB_LINES: dict[str, tuple[Chapter, str]] = {
    "personnel.salaries": (Chapter.PERSONNEL, "Traitements et salaires"),
    "personnel.allowances": (Chapter.PERSONNEL, "Indemnités et gardes"),
    "personnel.contributions": (Chapter.PERSONNEL, "Cotisations sociales"),
    "operating.medicines": (Chapter.OPERATING, "Médicaments et dispositifs médicaux"),
    "operating.consumables": (Chapter.OPERATING, "Consommables et laboratoire"),
    "operating.maintenance": (Chapter.OPERATING, "Entretien et maintenance"),
    "operating.utilities": (Chapter.OPERATING, "Eau, électricité, fluides"),
    "operating.services": (Chapter.OPERATING, "Prestations et sous-traitance"),
    "investment.construction": (Chapter.INVESTMENT, "Constructions et aménagements"),
    "investment.equipment": (Chapter.INVESTMENT, "Équipements biomédicaux"),
    "investment.digital": (Chapter.INVESTMENT, "Systèmes d'information"),
}


SUB_LINE_LABELS: dict[str, str] = {code: label for code, (_chapter, label) in SUB_LINES.items()}


def chapter_of(line_code: str) -> Chapter:
    """The chapter of a line code: a known sub-line (``operating.medicines`` → operating) or
    a chapter itself (``operating``). Anything else is refused, so that an import cannot
    open lines the Ministry's nomenclature does not know."""
    known = SUB_LINES.get(line_code)
    if known is not None:
        return known[0]
    try:
        return Chapter(line_code)
    except ValueError as exc:
        raise ValueError(f"ligne budgétaire inconnue : {line_code}") from exc


def line_label(line_code: str) -> str:
    known = SUB_LINES.get(line_code)
    return known[1] if known else line_code


# --- the ledger --------------------------------------------------------------------------


class Measure(StrEnum):
    """The four running totals of a line that a movement may change."""

    ALLOCATED = "allocated"
    COMMITTED = "committed"
    ORDERED = "ordered"
    PAID = "paid"


class MovementKind(StrEnum):
    ALLOCATION = "allocation"
    AMENDMENT = "amendment"
    TRANSFER_IN = "transfer_in"
    TRANSFER_OUT = "transfer_out"
    COMMITMENT = "commitment"
    DECOMMITMENT = "decommitment"
    PAYMENT_ORDER = "payment_order"
    PAYMENT = "payment"
    COUNTER_ENTRY = "counter_entry"

    @property
    def label(self) -> str:
        return MOVEMENT_LABELS[self]


MOVEMENT_LABELS: dict[MovementKind, str] = {
    MovementKind.ALLOCATION: "Dotation initiale",
    MovementKind.AMENDMENT: "Modification budgétaire",
    MovementKind.TRANSFER_IN: "Virement reçu",
    MovementKind.TRANSFER_OUT: "Virement émis",
    MovementKind.COMMITMENT: "Engagement",
    MovementKind.DECOMMITMENT: "Dégagement",
    MovementKind.PAYMENT_ORDER: "Ordonnancement",
    MovementKind.PAYMENT: "Paiement",
    MovementKind.COUNTER_ENTRY: "Contre-passation",
}

# What a movement of each kind does: the total it changes and the sign of the change.
# An amendment carries its own sign (a budget may be cut); a counter-entry reverses the
# movement it corrects.
EFFECTS: dict[MovementKind, tuple[Measure, int]] = {
    MovementKind.ALLOCATION: (Measure.ALLOCATED, 1),
    MovementKind.AMENDMENT: (Measure.ALLOCATED, 1),
    MovementKind.TRANSFER_IN: (Measure.ALLOCATED, 1),
    MovementKind.TRANSFER_OUT: (Measure.ALLOCATED, -1),
    MovementKind.COMMITMENT: (Measure.COMMITTED, 1),
    MovementKind.DECOMMITMENT: (Measure.COMMITTED, -1),
    MovementKind.PAYMENT_ORDER: (Measure.ORDERED, 1),
    MovementKind.PAYMENT: (Measure.PAID, 1),
}

# The kinds a user records directly (the transfers go through their workflow, the
# counter-entry through the correction of a movement).
DIRECT_KINDS = frozenset(
    {
        MovementKind.ALLOCATION,
        MovementKind.AMENDMENT,
        MovementKind.COMMITMENT,
        MovementKind.DECOMMITMENT,
        MovementKind.PAYMENT_ORDER,
        MovementKind.PAYMENT,
    }
)


@dataclass(frozen=True)
class Balance:
    """A line's running totals. Available credit is what is allocated and not yet committed."""

    allocated: Decimal = ZERO
    committed: Decimal = ZERO
    ordered: Decimal = ZERO
    paid: Decimal = ZERO

    @property
    def available(self) -> Decimal:
        return self.allocated - self.committed

    def plus(self, measure: Measure, delta: Decimal) -> Balance:
        values = {
            "allocated": self.allocated,
            "committed": self.committed,
            "ordered": self.ordered,
            "paid": self.paid,
        }
        values[measure.value] += delta
        return Balance(**values)


def _fmt(amount: Decimal) -> str:
    """An amount in French notation for a message: 1 234 567,89 DH."""
    sign = "-" if amount < 0 else ""
    whole, _, cents = f"{abs(amount):.2f}".partition(".")
    groups: list[str] = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    return sign + NNBSP.join(groups) + f",{cents} DH"


def format_amount(amount: Decimal) -> str:
    return _fmt(amount)


def effect(kind: MovementKind, amount: Decimal) -> tuple[Measure, Decimal]:
    """The total a direct movement changes and by how much (signed)."""
    measure, sign = EFFECTS[kind]
    return measure, amount * sign


def check_amount(kind: MovementKind, amount: Decimal) -> list[Problem]:
    if kind is MovementKind.AMENDMENT:
        if amount == 0:
            return [Problem("zero_amount", "Le montant d'une modification ne peut être nul.")]
    elif amount <= 0:
        return [Problem("non_positive_amount", "Le montant doit être strictement positif.")]
    if abs(amount) > MAX_AMOUNT:
        return [Problem("amount_too_large", "Montant hors limites.")]
    return []


def check_balance(after: Balance) -> list[Problem]:
    """The invariants of a line after a movement: the chain allocated ≥ committed ≥ ordered ≥
    paid ≥ 0. A movement that would break one is refused, with the figures in the message."""
    problems: list[Problem] = []
    if after.committed > after.allocated:
        problems.append(
            Problem(
                "credit_exceeded",
                f"Crédit insuffisant : les engagements ({_fmt(after.committed)}) dépasseraient "
                f"les crédits ouverts ({_fmt(after.allocated)}) de "
                f"{_fmt(after.committed - after.allocated)}.",
            )
        )
    if after.ordered > after.committed:
        problems.append(
            Problem(
                "order_exceeds_commitments",
                f"Les ordonnancements ({_fmt(after.ordered)}) dépasseraient les engagements "
                f"({_fmt(after.committed)}).",
            )
        )
    if after.paid > after.ordered:
        problems.append(
            Problem(
                "payment_exceeds_orders",
                f"Les paiements ({_fmt(after.paid)}) dépasseraient les ordonnancements "
                f"({_fmt(after.ordered)}).",
            )
        )
    if after.allocated < 0 or after.committed < 0 or after.ordered < 0 or after.paid < 0:
        problems.append(Problem("negative_total", "Un total de la ligne deviendrait négatif."))
    return problems


def can_counter(kind: MovementKind, already_corrected: bool) -> list[Problem]:
    if kind is MovementKind.COUNTER_ENTRY:
        return [Problem("counter_of_counter", "Une contre-passation ne se contre-passe pas.")]
    if kind in (MovementKind.TRANSFER_IN, MovementKind.TRANSFER_OUT):
        return [
            Problem(
                "counter_of_transfer",
                "Un virement se corrige par un virement en sens inverse, pas par une "
                "contre-passation.",
            )
        ]
    if already_corrected:
        return [Problem("already_corrected", "Ce mouvement a déjà été contre-passé.")]
    return []


# --- transfers between lines (virements de crédits) ---------------------------------------


class TransferState(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"

    @property
    def label(self) -> str:
        return {
            "requested": "Demandé",
            "approved": "Approuvé",
            "rejected": "Rejeté",
        }[self]


def check_transfer_request(
    from_line: int, to_line: int, same_year: bool, amount: Decimal, reason: str
) -> list[Problem]:
    problems: list[Problem] = []
    if from_line == to_line:
        problems.append(Problem("same_line", "Un virement relie deux lignes différentes."))
    if not same_year:
        problems.append(Problem("other_year", "Un virement relie deux lignes du même exercice."))
    problems += check_amount(MovementKind.TRANSFER_OUT, amount)
    if len(reason.strip()) < 3:
        problems.append(Problem("reason_required", "Le motif du virement est obligatoire."))
    return problems


def check_transfer_decision(
    state: TransferState, requested_by: str, decided_by: str, reason: str
) -> list[Problem]:
    """Only a requested transfer is decided, by someone other than who asked, with a reason."""
    problems: list[Problem] = []
    if state is not TransferState.REQUESTED:
        problems.append(Problem("already_decided", f"Ce virement est déjà {state.label.lower()}."))
    if requested_by == decided_by:
        problems.append(
            Problem(
                "four_eyes",
                "Un virement est approuvé ou rejeté par une autre personne que son demandeur.",
            )
        )
    if len(reason.strip()) < 3:
        problems.append(Problem("reason_required", "Le motif de la décision est obligatoire."))
    return problems


# --- execution ---------------------------------------------------------------------------

# A line is "about to overrun" when its commitments reach this share of its credits.
NEAR_OVERRUN_SHARE = Decimal("0.95")
# A line is "under-executed" when its payments lag the share of the year gone by more than
# this many points (paid / allocated < elapsed − lag), once this share of the year is gone.
UNDER_EXECUTION_LAG = Decimal("0.25")
UNDER_EXECUTION_FROM = Decimal("0.25")


class AlertKind(StrEnum):
    UNDER_EXECUTED = "under_executed"
    NEAR_OVERRUN = "near_overrun"

    @property
    def label(self) -> str:
        return {
            "under_executed": "Sous-exécution",
            "near_overrun": "Proche du dépassement",
        }[self]


def rate(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    """A ratio with four decimals (0.1234 = 12.34 %); None without a denominator."""
    if denominator <= 0:
        return None
    return (numerator / denominator).quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN)


def year_elapsed(year: int, as_of: date) -> Decimal:
    """The share of the fiscal year (the calendar year) gone on ``as_of``, 0 to 1."""
    if as_of.year < year:
        return Decimal(0)
    if as_of.year > year:
        return Decimal(1)
    start = date(year, 1, 1)
    days = (date(year + 1, 1, 1) - start).days
    return (Decimal((as_of - start).days + 1) / Decimal(days)).quantize(Decimal("0.0001"))


def execution_alerts(balance: Balance, elapsed: Decimal) -> list[AlertKind]:
    alerts: list[AlertKind] = []
    if balance.allocated <= 0:
        return alerts
    if balance.committed >= balance.allocated * NEAR_OVERRUN_SHARE:
        alerts.append(AlertKind.NEAR_OVERRUN)
    paid_rate = balance.paid / balance.allocated
    if elapsed >= UNDER_EXECUTION_FROM and paid_rate < elapsed - UNDER_EXECUTION_LAG:
        alerts.append(AlertKind.UNDER_EXECUTED)
    return alerts


# --- transitional action programmes ------------------------------------------------------


class ActionStatus(StrEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return {
            "planned": "Programmée",
            "in_progress": "En cours",
            "done": "Réalisée",
            "cancelled": "Annulée",
        }[self]


ACTION_TRANSITIONS: dict[ActionStatus, frozenset[ActionStatus]] = {
    ActionStatus.PLANNED: frozenset(
        {ActionStatus.IN_PROGRESS, ActionStatus.DONE, ActionStatus.CANCELLED}
    ),
    ActionStatus.IN_PROGRESS: frozenset({ActionStatus.DONE, ActionStatus.CANCELLED}),
    ActionStatus.DONE: frozenset({ActionStatus.IN_PROGRESS}),
    ActionStatus.CANCELLED: frozenset(),
}


def check_action_change(
    current: ActionStatus, target: ActionStatus, progress: int, note: str
) -> list[Problem]:
    problems: list[Problem] = []
    if target is not current and target not in ACTION_TRANSITIONS[current]:
        problems.append(
            Problem(
                "status_transition",
                f"Passage de « {current.label} » à « {target.label} » non autorisé.",
            )
        )
    if not 0 <= progress <= 100:
        problems.append(Problem("progress_range", "L'avancement est compris entre 0 et 100 %."))
    if target is ActionStatus.DONE and progress != 100:
        problems.append(Problem("done_is_complete", "Une action réalisée est avancée à 100 %."))
    if len(note.strip()) < 3:
        problems.append(Problem("reason_required", "Un commentaire est obligatoire."))
    return problems


def is_late(status: ActionStatus, deadline: date, as_of: date) -> bool:
    """An action is late when its deadline is past and it is neither done nor cancelled."""
    return status in (ActionStatus.PLANNED, ActionStatus.IN_PROGRESS) and deadline < as_of


def completion(
    actions: list[tuple[ActionStatus, date]], period_end: date
) -> tuple[int, int, Decimal | None]:
    """(done, due, rate) of a programme at ``period_end``: done actions over the actions due
    (deadline ≤ period end, not cancelled) — the agreed programme-completion indicator."""
    due = [
        s for s, deadline in actions if deadline <= period_end and s is not ActionStatus.CANCELLED
    ]
    done = sum(1 for s in due if s is ActionStatus.DONE)
    return done, len(due), rate(Decimal(done), Decimal(len(due)))


# --- reform projects ---------------------------------------------------------------------


class ProjectKind(StrEnum):
    CONSTRUCTION = "construction"
    EXTENSION = "extension"
    RENOVATION = "renovation"
    DIGITAL = "digital"
    WORKFORCE = "workforce"
    FACULTY = "faculty"

    @property
    def label(self) -> str:
        return {
            "construction": "Construction",
            "extension": "Extension",
            "renovation": "Mise à niveau",
            "digital": "Digitalisation",
            "workforce": "Ressources humaines",
            "faculty": "Faculté de médecine",
        }[self]

    @property
    def is_infrastructure(self) -> bool:
        return self in (ProjectKind.CONSTRUCTION, ProjectKind.EXTENSION, ProjectKind.RENOVATION)


class ProjectStatus(StrEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DELIVERED = "delivered"
    SUSPENDED = "suspended"

    @property
    def label(self) -> str:
        return {
            "planned": "Programmé",
            "in_progress": "En cours",
            "delivered": "Livré",
            "suspended": "Suspendu",
        }[self]


PROJECT_TRANSITIONS: dict[ProjectStatus, frozenset[ProjectStatus]] = {
    ProjectStatus.PLANNED: frozenset({ProjectStatus.IN_PROGRESS, ProjectStatus.SUSPENDED}),
    ProjectStatus.IN_PROGRESS: frozenset({ProjectStatus.DELIVERED, ProjectStatus.SUSPENDED}),
    ProjectStatus.SUSPENDED: frozenset({ProjectStatus.IN_PROGRESS}),
    ProjectStatus.DELIVERED: frozenset(),
}


def check_project_change(
    current: ProjectStatus, target: ProjectStatus, physical: int, note: str
) -> list[Problem]:
    problems: list[Problem] = []
    if target is not current and target not in PROJECT_TRANSITIONS[current]:
        problems.append(
            Problem(
                "status_transition",
                f"Passage de « {current.label} » à « {target.label} » non autorisé.",
            )
        )
    if not 0 <= physical <= 100:
        problems.append(Problem("progress_range", "L'avancement est compris entre 0 et 100 %."))
    if target is ProjectStatus.DELIVERED and physical != 100:
        problems.append(
            Problem("delivered_is_complete", "Un projet livré est avancé physiquement à 100 %.")
        )
    if len(note.strip()) < 3:
        problems.append(Problem("reason_required", "Un commentaire est obligatoire."))
    return problems


def delay_days(planned_end: date, forecast_end: date | None) -> int:
    """How many days the forecast end lies after the planned one (0 when on time)."""
    if forecast_end is None:
        return 0
    return max(0, (forecast_end - planned_end).days)
