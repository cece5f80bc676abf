"""Indicator rules: the catalogue of measures, the expression language, periods, quantiles,
small-cell suppression and the reform's shipped definitions. Pure Python (no framework).

An indicator is data: a numerator and an optional denominator written in a
small expression language over a *fixed catalogue of measures* — never SQL.
Expressions are parsed with Python's ``ast`` and only a whitelist of node types
is accepted::

    median(response_delay)                        a quantile of a distribution
    count(referral_answered_in_time) / count(referral_due)
    count(referral_sent, priority="urgent")       one dimension filter at most
    sum(health_workers) * 10000 / sum(population)

Aggregates: ``count`` (how many facts), ``sum`` (their total in the measure's
unit), ``mean`` (sum / count), ``median``, ``p90`` and ``percentile(m, q)``
(distribution measures only, nearest rank). Arithmetic: ``+ - * /``, numbers,
parentheses. Anything else is refused with a French message naming the fault.

Values are kept in *cells*: measure × establishment × month × dimension
member, each holding how many facts (``n``) and their total (``total``, an
integer: seconds for durations, units for counts). Distribution measures also
keep a histogram per cell (``bucket`` ≥ 0): one-hour buckets below a week,
one-day buckets beyond. Histograms add up across establishments and months,
which sorted values would too but at a hundred times the rows; quantiles are
thus read at the bucket's lower bound (one hour, or one day past a week).
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

PILOT_START = date(2025, 10, 1)
SMALL_CELL = 5  # fewer persons than this in an output about persons: suppressed
TOTAL_ROW = -1  # ``bucket`` of the cell's count-and-total row
WEEK_HOURS = 168


class Source(StrEnum):
    """Where a measure's facts come from (one watermark per incremental source)."""

    REFERRAL_EVENTS = "referral_events"
    ENCOUNTERS = "encounters"
    MOBILITY_EVENTS = "mobility_events"
    WORKFORCE = "workforce"  # snapshot at the period's end
    FINANCE = "finance"  # cumulative to the period's end
    TERRITORY = "territory"  # the registry (beds, populations)


INCREMENTAL_SOURCES = (Source.REFERRAL_EVENTS, Source.ENCOUNTERS, Source.MOBILITY_EVENTS)


class Unit(StrEnum):
    HOURS = "hours"
    DAYS = "days"
    COUNT = "count"
    AMOUNT = "amount"  # dirhams

    @property
    def seconds(self) -> int:
        """Stored integer units per displayed unit (durations are kept in seconds)."""
        return {"hours": 3600, "days": 86400}.get(self.value, 1)


class Theme(StrEnum):
    PATHWAYS = "pathways"
    BEDS = "beds"
    WORKFORCE = "workforce"
    FINANCE = "finance"

    @property
    def label(self) -> str:
        return THEME_LABELS[self]


THEME_LABELS = {
    Theme.PATHWAYS: "Parcours de soins",
    Theme.BEDS: "Lits et séjours",
    Theme.WORKFORCE: "Ressources humaines",
    Theme.FINANCE: "Finances et programme d'action",
}


class Direction(StrEnum):
    HIGHER = "higher"
    LOWER = "lower"

    @property
    def label(self) -> str:
        return {"higher": "Plus haut est mieux", "lower": "Plus bas est mieux"}[self.value]


class Dimension(StrEnum):
    SPECIALTY = "specialty"
    PRIORITY = "priority"

    @property
    def label(self) -> str:
        return {"specialty": "Spécialité", "priority": "Priorité"}[self.value]


@dataclass(frozen=True)
class Measure:
    """One kind of fact the indicators may aggregate, and where it is attributed."""

    code: str
    label: str
    source: Source
    unit: Unit
    unit_of: str  # which establishment and month the fact is counted at
    distribution: bool = False
    dimensions: frozenset[Dimension] = frozenset()
    about_persons: bool = True

    @property
    def incremental(self) -> bool:
        return self.source in INCREMENTAL_SOURCES


_RD = frozenset({Dimension.SPECIALTY, Dimension.PRIORITY})
_SENT_AT_DEST = "l'établissement destinataire, au mois d'envoi de la référence"
_SENT_AT_SOURCE = "l'établissement qui réfère, au mois d'envoi de la référence"

MEASURES: dict[str, Measure] = {
    m.code: m
    for m in (
        Measure("referral_sent", "Références envoyées", Source.REFERRAL_EVENTS, Unit.COUNT,
                _SENT_AT_SOURCE, dimensions=_RD),
        Measure("referral_received", "Références reçues", Source.REFERRAL_EVENTS, Unit.COUNT,
                _SENT_AT_DEST, dimensions=_RD),
        Measure("referral_judged", "Références jugeables au regard de la carte sanitaire",
                Source.REFERRAL_EVENTS, Unit.COUNT, _SENT_AT_SOURCE, dimensions=_RD),
        Measure("referral_along_map", "Références vers la destination désignée par la carte",
                Source.REFERRAL_EVENTS, Unit.COUNT, _SENT_AT_SOURCE, dimensions=_RD),
        Measure("response_delay", "Délai de réponse (envoi → acceptation, refus ou réorientation)",
                Source.REFERRAL_EVENTS, Unit.HOURS, _SENT_AT_DEST, True, _RD),
        Measure("referral_due", "Références à réponse attendue (répondues ou expirées)",
                Source.REFERRAL_EVENTS, Unit.COUNT, _SENT_AT_DEST, dimensions=_RD),
        Measure("referral_answered_in_time", "Références répondues dans le délai",
                Source.REFERRAL_EVENTS, Unit.COUNT, _SENT_AT_DEST, dimensions=_RD),
        Measure("appointment_delay", "Délai de rendez-vous (envoi → date du premier rendez-vous)",
                Source.REFERRAL_EVENTS, Unit.DAYS, _SENT_AT_DEST, True, _RD),
        Measure("referral_arrived", "Patients référés arrivés", Source.REFERRAL_EVENTS,
                Unit.COUNT, _SENT_AT_DEST, dimensions=_RD),
        Measure("counter_referral_returned", "Contre-références renvoyées",
                Source.REFERRAL_EVENTS, Unit.COUNT, _SENT_AT_DEST, dimensions=_RD),
        Measure("emergency_transfer_delay",
                "Délai de transfert urgent (envoi d'une référence urgente → arrivée du patient)",
                Source.REFERRAL_EVENTS, Unit.HOURS, _SENT_AT_DEST, True,
                frozenset({Dimension.SPECIALTY})),
        Measure("arrival", "Arrivées (urgences et hospitalisations)", Source.ENCOUNTERS,
                Unit.COUNT, "l'établissement d'arrivée, au mois d'arrivée",
                dimensions=frozenset({Dimension.SPECIALTY})),
        Measure("arrival_unreferred", "Arrivées sans référence", Source.ENCOUNTERS, Unit.COUNT,
                "l'établissement d'arrivée, au mois d'arrivée",
                dimensions=frozenset({Dimension.SPECIALTY})),
        Measure("length_of_stay", "Durée de séjour des hospitalisations terminées",
                Source.ENCOUNTERS, Unit.DAYS, "l'établissement, au mois de sortie", True,
                frozenset({Dimension.SPECIALTY})),
        Measure("bed_days", "Journées d'hospitalisation (lits occupés × jours)",
                Source.ENCOUNTERS, Unit.DAYS,
                "l'établissement, réparties sur chaque mois du séjour (séjours en cours inclus)",
                dimensions=frozenset({Dimension.SPECIALTY}), about_persons=False),
        Measure("bed_capacity", "Journées-lits disponibles (lits déclarés × jours)",
                Source.TERRITORY, Unit.DAYS, "l'établissement, sur la période",
                about_persons=False),
        Measure("mobility_decision_delay", "Délai de décision de mobilité (dépôt → décision)",
                Source.MOBILITY_EVENTS, Unit.DAYS,
                "l'établissement d'accueil, au mois de la décision", True),
        Measure("staff_required", "Effectif requis par les normes (ETP)", Source.WORKFORCE,
                Unit.COUNT, "l'établissement, à la fin de la période", about_persons=False),
        Measure("staff_present", "Effectif présent sur les postes des normes (ETP)",
                Source.WORKFORCE, Unit.COUNT, "l'établissement, à la fin de la période",
                about_persons=False),
        Measure("health_workers", "Médecins, infirmiers et sages-femmes en poste",
                Source.WORKFORCE, Unit.COUNT,
                "l'établissement de l'affectation principale, à la fin de la période",
                about_persons=False),
        Measure("population", "Population desservie", Source.TERRITORY, Unit.COUNT,
                "l'aire de desserte de l'établissement ; la population 2024 d'une province",
                about_persons=False),
        Measure("budget_allocated", "Crédits ouverts (cumul à la fin de la période)",
                Source.FINANCE, Unit.AMOUNT, "l'établissement (ou le siège), cumul de l'année",
                about_persons=False),
        Measure("budget_paid", "Paiements (cumul à la fin de la période)", Source.FINANCE,
                Unit.AMOUNT, "l'établissement (ou le siège), cumul de l'année",
                about_persons=False),
        Measure("actions_due", "Actions échues (échéance passée, non annulées)", Source.FINANCE,
                Unit.COUNT, "l'établissement (ou la région), à la fin de la période",
                about_persons=False),
        Measure("actions_done", "Actions échues réalisées", Source.FINANCE, Unit.COUNT,
                "l'établissement (ou la région), à la fin de la période", about_persons=False),
    )
}  # fmt: skip

AGGREGATES = ("count", "sum", "mean", "median", "p90", "percentile")
QUANTILES = {"median": 50.0, "p90": 90.0}


# --- the expression language ------------------------------------------------------------


class ExpressionError(ValueError):
    """A refused expression; ``message`` is French and names what is wrong."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Aggregate:
    function: str  # count | sum | mean | quantile
    measure: str
    dimension: Dimension | None = None
    member: str | None = None
    q: float | None = None  # percentile, for quantiles


@dataclass(frozen=True)
class Number:
    value: float


@dataclass(frozen=True)
class Binary:
    op: str  # + - * /
    left: Expr
    right: Expr


Expr = Aggregate | Number | Binary

_OPS: dict[type[ast.operator], str] = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}


def parse_expression(text: str) -> Expr:
    """Parse and check an expression; raise :class:`ExpressionError` on any fault."""
    text = (text or "").strip()
    if not text:
        raise ExpressionError("L'expression est vide.")
    if len(text) > 500:
        raise ExpressionError("L'expression dépasse 500 caractères.")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        column = exc.offset or 0
        raise ExpressionError(
            f"Syntaxe invalide près de la colonne {column} : « {text} »."
        ) from None
    return _convert(tree.body)


def _measure_list() -> str:
    return ", ".join(sorted(MEASURES))


def _convert(node: ast.expr) -> Expr:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        if isinstance(node.value, bool):
            raise ExpressionError("Valeur non permise : seuls les nombres le sont.")
        return Number(float(node.value))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _convert(node.operand)
        return Binary("*", Number(-1.0), inner)
    if isinstance(node, ast.BinOp):
        op = _OPS.get(type(node.op))
        if op is None:
            raise ExpressionError(
                "Opérateur non permis : seuls + - * / et les parenthèses sont acceptés."
            )
        return Binary(op, _convert(node.left), _convert(node.right))
    if isinstance(node, ast.Call):
        return _aggregate(node)
    if isinstance(node, ast.Name):
        raise ExpressionError(
            f"« {node.id} » doit être entouré d'une fonction : count({node.id}), "
            f"sum({node.id}), mean({node.id}), median({node.id}) ou p90({node.id})."
        )
    if isinstance(node, ast.Constant):
        raise ExpressionError(f"Valeur non permise : {node.value!r} (seuls les nombres le sont).")
    raise ExpressionError(
        f"Élément non permis dans une expression : {type(node).__name__} "
        "(fonctions permises : " + ", ".join(AGGREGATES) + ")."
    )


def _aggregate(node: ast.Call) -> Aggregate:
    if not isinstance(node.func, ast.Name) or node.func.id not in AGGREGATES:
        name = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
        raise ExpressionError(
            f"Fonction inconnue « {name} » : fonctions permises : " + ", ".join(AGGREGATES) + "."
        )
    function = node.func.id
    wanted = 2 if function == "percentile" else 1
    if len(node.args) != wanted or not isinstance(node.args[0], ast.Name):
        shape = "percentile(mesure, 75)" if function == "percentile" else f"{function}(mesure)"
        raise ExpressionError(f"« {function} » s'écrit {shape}.")
    code = node.args[0].id
    measure = MEASURES.get(code)
    if measure is None:
        raise ExpressionError(
            f"Mesure inconnue « {code} » : mesures disponibles : {_measure_list()}."
        )
    q: float | None = QUANTILES.get(function)
    if function == "percentile":
        arg = node.args[1]
        if not (
            isinstance(arg, ast.Constant)
            and isinstance(arg.value, int | float)
            and not isinstance(arg.value, bool)
        ):
            raise ExpressionError("Le rang d'un percentile est un nombre entre 0 et 100.")
        q = float(arg.value)
        if not 0 < q < 100:
            raise ExpressionError("Le rang d'un percentile est un nombre entre 0 et 100.")
    if q is not None and not measure.distribution:
        raise ExpressionError(
            f"« {function} » demande une mesure de délai ou de durée ; « {code} » n'en est pas une."
        )
    if function in ("count", "mean") and not measure.incremental:
        raise ExpressionError(
            f"« {function} » ne s'applique pas à la mesure « {code} » : écrivez sum({code})."
        )
    dimension: Dimension | None = None
    member: str | None = None
    if len(node.keywords) > 1:
        raise ExpressionError("Un seul filtre de dimension par fonction (specialty= ou priority=).")
    for kw in node.keywords:
        try:
            dimension = Dimension(kw.arg or "")
        except ValueError:
            raise ExpressionError(
                f"Dimension inconnue « {kw.arg} » : dimensions possibles : specialty, priority."
            ) from None
        if dimension not in measure.dimensions:
            raise ExpressionError(
                f"La mesure « {code} » ne se décline pas par « {dimension.value} »."
            )
        if not (isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str)):
            raise ExpressionError(
                f"Le filtre « {dimension.value} » prend un texte entre guillemets : "
                f'{dimension.value}="…".'
            )
        member = kw.value.value
    kind = "quantile" if q is not None else function
    return Aggregate(kind, code, dimension, member, q)


def aggregates_of(expr: Expr) -> list[Aggregate]:
    if isinstance(expr, Aggregate):
        return [expr]
    if isinstance(expr, Binary):
        return aggregates_of(expr.left) + aggregates_of(expr.right)
    return []


def measures_of(expr: Expr | None) -> set[str]:
    return {a.measure for a in aggregates_of(expr)} if expr is not None else set()


# --- what a cell holds, and evaluation ------------------------------------------------


@dataclass
class Tally:
    """The sum of cells an aggregate reads: how many facts, their total, their histogram."""

    n: int = 0
    total: float = 0.0  # seconds for durations; FTE, persons or dirhams for states
    histogram: dict[int, int] = field(default_factory=dict)

    def add(self, other: Tally) -> None:
        self.n += other.n
        self.total += other.total
        for bucket, count in other.histogram.items():
            self.histogram[bucket] = self.histogram.get(bucket, 0) + count


def bucket_of(seconds: int) -> int:
    """A duration's histogram bucket, named by its lower bound in hours.

    One-hour buckets below a week, one-day buckets beyond; a negative duration
    (clock skew between sites) counts in the first bucket.
    """
    hours = max(0, seconds) // 3600
    if hours < WEEK_HOURS:
        return int(hours)
    return int(WEEK_HOURS + 24 * ((hours - WEEK_HOURS) // 24))


def quantile_hours(histogram: Mapping[int, int], q: float) -> float | None:
    """Nearest-rank percentile ``q`` (0–100) of a histogram, at its bucket's lower bound."""
    n = sum(histogram.values())
    if n == 0:
        return None
    rank = max(1, math.ceil(q / 100 * n))
    seen = 0
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        if seen >= rank:
            return float(bucket)
    return float(max(histogram))  # pragma: no cover - rank ≤ n always lands above


Fetch = Callable[[Aggregate], Tally]


@dataclass(frozen=True)
class Evaluation:
    value: float | None
    persons: tuple[int, ...]  # the counts of persons behind the value (for suppression)


def evaluate(expr: Expr, fetch: Fetch) -> Evaluation:
    """The value of an expression over the cells ``fetch`` returns, None when undefined."""
    persons: list[int] = []

    def value(e: Expr) -> float | None:
        if isinstance(e, Number):
            return e.value
        if isinstance(e, Binary):
            left, right = value(e.left), value(e.right)
            if left is None or right is None:
                return None
            if e.op == "+":
                return left + right
            if e.op == "-":
                return left - right
            if e.op == "*":
                return left * right
            return left / right if right else None
        tally = fetch(e)
        measure = MEASURES[e.measure]
        if measure.about_persons:
            persons.append(tally.n)
        scale = measure.unit.seconds
        if e.function == "count":
            return float(tally.n)
        if e.function == "sum":
            return tally.total / scale
        if e.function == "mean":
            return tally.total / scale / tally.n if tally.n else None
        hours = quantile_hours(tally.histogram, e.q or 50.0)
        if hours is None:
            return None
        return hours * 3600 / scale

    return Evaluation(value(expr), tuple(persons))


def is_small_cell(persons: Iterable[int], threshold: int = SMALL_CELL) -> bool:
    """Whether an output about persons must be suppressed: any count of 1 to threshold − 1.

    Zero is shown (nobody is identified by an empty cell); complementary
    suppression (a hidden cell recomputed from its total and siblings) is not
    attempted: drill-down values are each suppressed on their own counts.
    """
    return any(0 < n < threshold for n in persons)


# --- definitions ------------------------------------------------------------------------


@dataclass(frozen=True)
class Definition:
    code: str
    name: str
    definition: str
    numerator: str
    denominator: str | None
    unit: str  # as shown: "%", "heures", "jours", "pour 10 000", "ratio"
    scale: float  # what the ratio is multiplied by (100 for a percentage)
    direction: Direction
    theme: Theme
    target: float | None = None
    dimensions: tuple[Dimension, ...] = ()


@dataclass(frozen=True)
class Checked:
    definition: Definition
    numerator: Expr
    denominator: Expr | None

    @property
    def measures(self) -> set[str]:
        return measures_of(self.numerator) | measures_of(self.denominator)

    @property
    def about_persons(self) -> bool:
        return any(MEASURES[m].about_persons for m in self.measures)


CODE_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


def check_definition(d: Definition) -> Checked:
    """Parse both expressions and check the whole definition; French messages on faults."""
    if not d.code or len(d.code) > 40 or set(d.code) - CODE_CHARS:
        raise ExpressionError("Code invalide : 1 à 40 caractères parmi A–Z, 0–9, « _ » et « - ».")
    if not d.name.strip():
        raise ExpressionError("Le nom de l'indicateur est obligatoire.")
    try:
        numerator = parse_expression(d.numerator)
    except ExpressionError as exc:
        raise ExpressionError(f"Numérateur : {exc.message}") from None
    denominator = None
    if d.denominator is not None and d.denominator.strip():
        try:
            denominator = parse_expression(d.denominator)
        except ExpressionError as exc:
            raise ExpressionError(f"Dénominateur : {exc.message}") from None
    if d.scale <= 0:
        raise ExpressionError("Le facteur d'échelle doit être positif.")
    found = aggregates_of(numerator) + (aggregates_of(denominator) if denominator else [])
    used = [MEASURES[a.measure] for a in found]
    for dim in d.dimensions:
        refusing = [m.code for m in used if dim not in m.dimensions]
        if refusing:
            raise ExpressionError(
                f"La dimension « {dim.value} » n'existe pas pour : {', '.join(sorted(refusing))}."
            )
    return Checked(d, numerator, denominator)


def indicator_value(checked: Checked, fetch: Fetch) -> tuple[float | None, tuple[int, ...]]:
    """Numerator / denominator × scale, and the person counts it rests on."""
    num = evaluate(checked.numerator, fetch)
    persons = num.persons
    if checked.denominator is None:
        value = num.value
    else:
        den = evaluate(checked.denominator, fetch)
        persons += den.persons
        value = num.value / den.value if num.value is not None and den.value else None
    if value is not None:
        value *= checked.definition.scale
    return value, persons


# --- periods ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """A month ``2025-10``, a quarter ``2025-T4`` or a year ``2025``."""

    kind: str  # month | quarter | year
    year: int
    index: int  # month 1–12, quarter 1–4, 1 for a year

    @property
    def key(self) -> str:
        if self.kind == "month":
            return f"{self.year}-{self.index:02d}"
        if self.kind == "quarter":
            return f"{self.year}-T{self.index}"
        return str(self.year)

    @property
    def months(self) -> list[int]:
        """The months covered, as ``yyyymm`` integers (what cells are keyed by)."""
        if self.kind == "month":
            return [self.year * 100 + self.index]
        if self.kind == "quarter":
            first = 3 * (self.index - 1) + 1
            return [self.year * 100 + m for m in range(first, first + 3)]
        return [self.year * 100 + m for m in range(1, 13)]

    @property
    def start(self) -> date:
        first = self.months[0]
        return date(first // 100, first % 100, 1)

    @property
    def end(self) -> date:
        """The first day after the period."""
        last = self.months[-1]
        y, m = divmod(last, 100)
        return date(y + (m == 12), m % 12 + 1, 1)

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def previous(self) -> Period:
        if self.kind == "year":
            return Period("year", self.year - 1, 1)
        span = 12 if self.kind == "month" else 4
        if self.index == 1:
            return Period(self.kind, self.year - 1, span)
        return Period(self.kind, self.year, self.index - 1)


def parse_period(text: str) -> Period:
    """Read ``2025-10``, ``2025-T4`` (or ``2025-Q4``) or ``2025``; ValueError in French."""
    text = text.strip().upper()
    try:
        if len(text) == 4:
            return Period("year", int(text), 1)
        year_text, _, rest = text.partition("-")
        year = int(year_text)
        if rest[:1] in ("T", "Q"):
            quarter = int(rest[1:])
            if 1 <= quarter <= 4:
                return Period("quarter", year, quarter)
        else:
            month = int(rest)
            if 1 <= month <= 12:
                return Period("month", year, month)
    except ValueError:
        pass
    raise ValueError(f"Période invalide « {text} » : AAAA, AAAA-T1…T4 ou AAAA-MM.")


def month_of(day: date) -> int:
    return day.year * 100 + day.month


def months_between(start: int, end: int) -> list[int]:
    """``yyyymm`` months from start to end inclusive."""
    out = []
    y, m = divmod(start, 100)
    while y * 100 + m <= end:
        out.append(y * 100 + m)
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def series(last: Period, count: int) -> list[Period]:
    """``count`` consecutive periods ending at ``last``, oldest first."""
    out = [last]
    while len(out) < count:
        out.append(out[-1].previous())
    return out[::-1]


def before_after(
    last_month: int, pivot: date = PILOT_START, cap: int = 12
) -> tuple[list[int], list[int]]:
    """Equal windows of months on each side of the pilot's start.

    After: from the pivot's month to ``last_month`` (at most ``cap`` months);
    before: as many months just before the pivot. Empty when ``last_month`` is
    before the pivot.
    """
    pivot_month = month_of(pivot)
    after = months_between(pivot_month, last_month)[:cap]
    if not after:
        return [], []
    y, m = divmod(pivot_month, 100)
    before: list[int] = []
    for _ in after:
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
        before.append(y * 100 + m)
    return before[::-1], after


def overlap_seconds_by_month(
    start_ts: float, end_ts: float, month_bounds: Sequence[tuple[int, float, float]]
) -> dict[int, int]:
    """Seconds of ``[start, end)`` falling in each month, given (month, start, end) bounds."""
    out: dict[int, int] = {}
    for month, lo, hi in month_bounds:
        seconds = min(end_ts, hi) - max(start_ts, lo)
        if seconds > 0:
            out[month] = int(seconds)
    return out


# --- the reform's indicators, shipped ----------------------------------------------------

_P, _B, _W, _F = Theme.PATHWAYS, Theme.BEDS, Theme.WORKFORCE, Theme.FINANCE
_L, _H = Direction.LOWER, Direction.HIGHER
_SP = (Dimension.SPECIALTY,)
_SPP = (Dimension.SPECIALTY, Dimension.PRIORITY)

SHIPPED: tuple[Definition, ...] = (
    Definition("REF_DELAI_MED", "Délai de réponse aux références (médiane)",
               "Temps entre l'envoi d'une référence et la réponse de l'établissement destinataire "
               "(acceptation, refus ou réorientation) : médiane, en heures. Compté à "
               "l'établissement destinataire, au mois d'envoi.",
               "median(response_delay)", None, "heures", 1.0, _L, _P, 48.0, _SPP),
    Definition("REF_DELAI_P90", "Délai de réponse aux références (90e centile)",
               "Temps entre l'envoi d'une référence et la réponse : 90 % des références ont eu "
               "leur réponse en moins de ce temps (heures).",
               "p90(response_delay)", None, "heures", 1.0, _L, _P, None, _SPP),
    Definition("REF_DELAI_RDV", "Délai d'obtention du rendez-vous (médiane)",
               "Temps entre l'envoi de la référence et la date du premier rendez-vous fixé par "
               "l'établissement destinataire : médiane, en jours.",
               "median(appointment_delay)", None, "jours", 1.0, _L, _P, None, _SPP),
    Definition("REF_DANS_DELAI", "Références répondues dans leur délai",
               "Part des références dont la réponse est arrivée avant l'échéance fixée selon la "
               "priorité, parmi celles qui attendaient une réponse (répondues ou expirées).",
               "count(referral_answered_in_time)", "count(referral_due)", "%", 100.0, _H, _P,
               90.0, _SPP),
    Definition("CONTRE_REF", "Taux de retour des contre-références",
               "Part des patients référés arrivés à destination pour lesquels la "
               "contre-référence a été renvoyée à l'établissement d'origine.",
               "count(counter_referral_returned)", "count(referral_arrived)", "%", 100.0, _H, _P,
               80.0, _SPP),
    Definition("CONFORMITE_CARTE", "Conformité des références à la carte sanitaire",
               "Part des références envoyées vers la destination que la carte sanitaire désigne, "
               "parmi celles que la carte permet de juger (hors réorientations).",
               "count(referral_along_map)", "count(referral_judged)", "%", 100.0, _H, _P, 85.0,
               _SPP),
    Definition("CONTOURNEMENT", "Taux de contournement (arrivées sans référence)",
               "Part des arrivées (urgences et hospitalisations) sans référence ; au CHU, "
               "c'est le contournement de la pyramide des soins.",
               "count(arrival_unreferred)", "count(arrival)", "%", 100.0, _L, _P, None, _SP),
    Definition("TRANSFERT_URGENT", "Délai de transfert des urgences (médiane)",
               "Temps entre l'envoi d'une référence urgente et l'arrivée du patient à "
               "l'établissement destinataire : médiane, en heures.",
               "median(emergency_transfer_delay)", None, "heures", 1.0, _L, _P, 6.0, _SP),
    Definition("TAUX_OCCUPATION", "Taux d'occupation des lits",
               "Journées d'hospitalisation (séjours terminés et en cours) rapportées aux "
               "journées-lits disponibles (lits déclarés au registre × jours de la période).",
               "sum(bed_days)", "sum(bed_capacity)", "%", 100.0, _H, _B, 85.0, ()),
    Definition("DMS", "Durée moyenne de séjour",
               "Moyenne des durées des hospitalisations terminées dans la période, en jours.",
               "mean(length_of_stay)", None, "jours", 1.0, _L, _B, None, _SP),
    Definition("MOBILITE_DELAI", "Délai de décision de mobilité (médiane)",
               "Temps entre le dépôt d'une demande de mobilité et la décision régionale "
               "(approbation ou rejet) : médiane, en jours.",
               "median(mobility_decision_delay)", None, "jours", 1.0, _L, _W, 30.0, ()),
    Definition("COUVERTURE_NORMES", "Couverture des normes de personnel",
               "Équivalents temps plein présents sur les postes prévus par les normes, "
               "rapportés à l'effectif requis, à la fin de la période.",
               "sum(staff_present)", "sum(staff_required)", "%", 100.0, _H, _W, 100.0, ()),
    Definition("DENSITE", "Densité de personnel de santé pour 10 000 habitants",
               "Médecins, infirmiers et sages-femmes en poste (affectation principale) pour "
               "10 000 habitants desservis ; seuil de l'OMS : 44,5.",
               "sum(health_workers)", "sum(population)", "pour 10 000", 10000.0, _H, _W, 44.5,
               ()),
    Definition("EXEC_BUDGET", "Taux d'exécution budgétaire",
               "Paiements rapportés aux crédits ouverts, cumulés depuis le début de l'année "
               "jusqu'à la fin de la période.",
               "sum(budget_paid)", "sum(budget_allocated)", "%", 100.0, _H, _F, None, ()),
    Definition("PROGRAMME_ACTION", "Réalisation du programme d'action transitoire",
               "Actions réalisées parmi les actions échues (échéance passée à la fin de la "
               "période, hors actions annulées).",
               "sum(actions_done)", "sum(actions_due)", "%", 100.0, _H, _F, 100.0, ()),
)  # fmt: skip

HEADLINE = "REF_DELAI_MED"  # the before/after comparison the dashboard opens on
