"""The demo's finance, planned from a seed without touching a database.

The GST of Tanger–Tétouan–Al Hoceïma receives one regional budget, of the order of four
billion dirhams a year (estimate: the pilot's personnel of about 7,000 plus the running
and investment of a CHU, 22 hospitals and 295 health centres). Personnel is the biggest
chapter; the CHU is the biggest establishment (its beds, weighted for a university
hospital); the headquarters' lines carry the primary-care network and the regional
investment. What is executed follows each chapter's rhythm: salaries committed, ordered
and paid every month; purchases of the running budget committed through the year and
paid one to three months later; investment committed in a few large contracts and paid
slowly (hence under-executed lines). A few running lines are driven close to their
credit, so that the alerts show.

Also planned here: the transitional action programme (about 40 actions, some late) and
the region's reform projects (new hospitals under construction with their planned beds,
an extension, renovations, the unified information system).

Everything is drawn from one ``random.Random`` and plain values: the same seed, scale and
date give the same plan.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal

from parcours.finance.rules import ActionStatus, Chapter, MovementKind, ProjectKind, ProjectStatus

THOUSAND = Decimal(1000)
CENT = Decimal("0.01")

# The GST's budget by year (dirhams), and how it splits between chapters.
YEAR_TOTALS: dict[int, Decimal] = {2025: Decimal(3_900_000_000), 2026: Decimal(4_300_000_000)}
CHAPTER_SHARES: dict[Chapter, Decimal] = {
    Chapter.PERSONNEL: Decimal("0.58"),
    Chapter.OPERATING: Decimal("0.27"),
    Chapter.INVESTMENT: Decimal("0.15"),
}
# What the headquarters' lines (primary care, regional functions, regional investment) hold
# of each chapter; the rest goes to the hospitals by their weight.
HQ_SHARES: dict[Chapter, Decimal] = {
    Chapter.PERSONNEL: Decimal("0.34"),
    Chapter.OPERATING: Decimal("0.22"),
    Chapter.INVESTMENT: Decimal("0.40"),
}
SUB_LINE_SHARES: dict[str, Decimal] = {
    "personnel.salaries": Decimal("0.82"),
    "personnel.allowances": Decimal("0.08"),
    "personnel.contributions": Decimal("0.10"),
    "operating.medicines": Decimal("0.42"),
    "operating.consumables": Decimal("0.18"),
    "operating.maintenance": Decimal("0.12"),
    "operating.utilities": Decimal("0.10"),
    "operating.services": Decimal("0.18"),
    "investment.construction": Decimal("0.55"),
    "investment.equipment": Decimal("0.30"),
    "investment.digital": Decimal("0.15"),
}
CHU_WEIGHT = Decimal("1.6")  # a university hospital costs more per bed


@dataclass(frozen=True)
class Unit:
    """A budget holder: an establishment (code) or the headquarters (None), with its weight."""

    code: str | None
    weight: Decimal


@dataclass(frozen=True)
class LinePlan:
    year: int
    establishment: str | None
    code: str
    allocation: Decimal


@dataclass(frozen=True)
class MovementPlan:
    line: int  # index in BudgetPlan.lines
    kind: MovementKind
    amount: Decimal
    day: date
    reason: str
    reference: str


@dataclass(frozen=True)
class TransferPlan:
    from_line: int
    to_line: int
    amount: Decimal
    reason: str
    decision: bool | None  # None: still awaiting approval
    decision_reason: str


@dataclass(frozen=True)
class ActionPlan:
    title: str
    owner: str
    establishment: str | None
    deadline: date
    status: ActionStatus
    progress: int
    completed_on: date | None
    milestones: list[tuple[str, date, bool]]
    indicators: list[tuple[str, str, str]]
    funding_lines: list[str]


@dataclass(frozen=True)
class NewEstablishment:
    code: str
    name: str
    province: str
    town: str
    latitude: float
    longitude: float
    type: str  # EstablishmentType value
    services: list[tuple[str, int]]
    planned_opening_on: date


@dataclass(frozen=True)
class ProjectPlan:
    code: str
    title: str
    kind: ProjectKind
    establishment: str | None
    beds: int
    budget: Decimal
    planned_start: date
    planned_end: date
    forecast_end: date
    status: ProjectStatus
    physical: int
    spent_share: Decimal
    note: str
    delivered_on: date | None = None


@dataclass
class BudgetPlan:
    lines: list[LinePlan] = field(default_factory=list)
    movements: list[MovementPlan] = field(default_factory=list)
    transfers: list[TransferPlan] = field(default_factory=list)
    # References of commitments recorded by mistake, to be corrected by a counter-entry.
    mistakes: list[str] = field(default_factory=list)
    actions: list[ActionPlan] = field(default_factory=list)
    new_establishments: list[NewEstablishment] = field(default_factory=list)
    projects: list[ProjectPlan] = field(default_factory=list)


def _round_thousands(amount: Decimal) -> Decimal:
    return (amount / THOUSAND).quantize(Decimal(1), rounding=ROUND_DOWN) * THOUSAND


def _cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_DOWN)


def allocations(units: list[Unit], year: int) -> list[LinePlan]:
    """Every unit's sub-lines for the year, in thousands of dirhams."""
    total = YEAR_TOTALS[year]
    hospitals = [u for u in units if u.code is not None]
    weights = sum((u.weight for u in hospitals), Decimal(0)) or Decimal(1)
    lines: list[LinePlan] = []
    for unit in units:
        for code, share in SUB_LINE_SHARES.items():
            chapter = Chapter(code.partition(".")[0])
            pot = total * CHAPTER_SHARES[chapter] * share
            if unit.code is None:
                amount = pot * HQ_SHARES[chapter]
            else:
                amount = pot * (1 - HQ_SHARES[chapter]) * unit.weight / weights
            lines.append(LinePlan(year, unit.code, code, _round_thousands(amount)))
    return lines


def _split(total: Decimal, parts: int, rng: random.Random) -> list[Decimal]:
    """``total`` in ``parts`` uneven amounts (cents) whose sum never exceeds it."""
    weights = [rng.lognormvariate(0, 0.8) for _ in range(parts)]
    scale = sum(weights)
    return [_cents(total * Decimal(repr(w / scale))) for w in weights]


def _day_between(start: date, end: date, rng: random.Random) -> date:
    span = max((end - start).days, 0)
    return start + timedelta(days=rng.randint(0, span))


def _execute(
    plan: BudgetPlan, index: int, line: LinePlan, until: date, rng: random.Random, scale: float
) -> None:
    """The line's commitments, payment orders and payments up to ``until``."""
    year_end = date(line.year, 12, 31)
    window_end = min(until, date(line.year, 12, 20))
    chapter = Chapter(line.code.partition(".")[0])
    unit = line.establishment or "GST"
    tag = f"{line.year}-{unit}-{line.code.partition('.')[2][:4].upper()}"

    def add(kind: MovementKind, amount: Decimal, day: date, reason: str, ref: str) -> None:
        if amount > 0 and day <= until and day <= year_end:
            plan.movements.append(MovementPlan(index, kind, amount, day, reason, ref))

    if chapter is Chapter.PERSONNEL:
        months = until.month if until.year == line.year else 12
        # A margin is kept for the year-end allowances and promotions.
        monthly = _cents(line.allocation * Decimal("0.93") / 12)
        for month in range(1, months + 1):
            ref = f"PAIE-{tag}-{month:02d}"
            add(MovementKind.COMMITMENT, monthly, date(line.year, month, 2), "Paie du mois", ref)
            add(MovementKind.PAYMENT_ORDER, monthly, date(line.year, month, 20), "Paie", ref)
            add(MovementKind.PAYMENT, monthly, date(line.year, month, 26), "Virement paie", ref)
        return
    elapsed = Decimal((window_end - date(line.year, 1, 1)).days + 1) / Decimal(365)
    if chapter is Chapter.OPERATING:
        count = max(1, round(rng.randint(25, 70) * scale))
        # Most lines commit a little ahead of time; a few are driven close to their credit.
        target = (
            Decimal(repr(rng.uniform(0.96, 0.99)))
            if rng.random() < 0.08
            else min(Decimal("0.94"), elapsed * Decimal(repr(rng.uniform(0.85, 1.05))))
        )
        lags = ((5, 30), (7, 35))
        label = "Bon de commande"
    else:
        count = max(1, round(rng.randint(3, 12) * scale))
        target = elapsed * Decimal(repr(rng.uniform(0.55, 1.0)))
        lags = ((25, 110), (15, 60))
        label = "Marché"
    amounts = _split(line.allocation * target, count, rng)
    for number, amount in enumerate(amounts, start=1):
        ref = f"{'BC' if chapter is Chapter.OPERATING else 'MAR'}-{tag}-{number:03d}"
        committed_on = _day_between(date(line.year, 1, 5), window_end, rng)
        add(MovementKind.COMMITMENT, amount, committed_on, f"{label} n° {number}", ref)
        kept = amount
        if rng.random() < 0.05:
            released = _cents(amount * Decimal(repr(rng.uniform(0.05, 0.3))))
            add(
                MovementKind.DECOMMITMENT,
                released,
                committed_on + timedelta(days=rng.randint(1, 5)),
                "Reliquat libéré",
                ref,
            )
            kept = amount - released
        ordered_on = committed_on + timedelta(days=rng.randint(*lags[0]))
        add(MovementKind.PAYMENT_ORDER, kept, ordered_on, "Service fait", ref)
        if ordered_on <= until:
            paid_on = ordered_on + timedelta(days=rng.randint(*lags[1]))
            add(MovementKind.PAYMENT, kept, paid_on, "Paiement au fournisseur", ref)


def plan_budget(units: list[Unit], *, today: date, seed: int, scale: float = 1.0) -> BudgetPlan:
    """The 2025 and 2026 budgets with their execution to ``today``, some transfers and a
    few commitments recorded by mistake (corrected later by counter-entries)."""
    rng = random.Random(seed)
    plan = BudgetPlan()
    for year in sorted(YEAR_TOTALS):
        if year > today.year:
            continue
        until = min(today, date(year, 12, 31))
        first = len(plan.lines)
        for line in allocations(units, year):
            index = len(plan.lines)
            plan.lines.append(line)
            plan.movements.append(
                MovementPlan(
                    index,
                    MovementKind.ALLOCATION,
                    line.allocation,
                    date(year, 1, 1),
                    f"Budget {year} du GST (dotation initiale)",
                    f"LF-{year}",
                )
            )
        # The summer's amending budget: more for medicines in the biggest hospitals.
        medicines = sorted(
            (
                i
                for i in range(first, len(plan.lines))
                if plan.lines[i].code == "operating.medicines"
            ),
            key=lambda i: -plan.lines[i].allocation,
        )[:4]
        if until >= date(year, 7, 15):
            for i in medicines:
                plan.movements.append(
                    MovementPlan(
                        i,
                        MovementKind.AMENDMENT,
                        _round_thousands(plan.lines[i].allocation * Decimal("0.06")),
                        date(year, 7, 15),
                        "Budget modificatif : hausse des prix des anticancéreux",
                        f"BM-{year}-01",
                    )
                )
        for index in range(first, len(plan.lines)):
            _execute(plan, index, plan.lines[index], until, rng, scale)
        if year == today.year:
            _current_year_acts(plan, first, until, rng)
    return plan


def _current_year_acts(plan: BudgetPlan, first: int, until: date, rng: random.Random) -> None:
    """Transfers of this year (approved, rejected, waiting) and two mistaken commitments."""
    by = {
        (plan.lines[i].establishment, plan.lines[i].code): i for i in range(first, len(plan.lines))
    }
    hospitals = sorted(
        {e for i in range(first, len(plan.lines)) if (e := plan.lines[i].establishment)}
    )
    chosen = rng.sample(hospitals, k=min(5, len(hospitals)))
    wishes = [
        ("personnel.allowances", "operating.medicines", "Renfort du stock de médicaments", True),
        ("investment.equipment", "operating.maintenance", "Réparation du scanner", True),
        ("personnel.contributions", "operating.consumables", "Réactifs de laboratoire", True),
        ("investment.digital", "operating.services", "Sous-traitance du nettoyage", False),
        (
            "investment.construction",
            "operating.utilities",
            "Hausse de la facture d'électricité",
            None,
        ),
    ]
    for code, (source, target, reason, decision) in zip(chosen, wishes, strict=False):
        src, dst = by.get((code, source)), by.get((code, target))
        if src is None or dst is None:
            continue
        amount = _round_thousands(plan.lines[src].allocation * Decimal("0.004"))
        if amount <= 0:
            continue
        plan.transfers.append(
            TransferPlan(
                src,
                dst,
                amount,
                reason,
                decision,
                "Visa du contrôle de gestion" if decision else "À financer au budget modificatif",
            )
        )
    # Two purchase orders typed on the wrong line, not yet ordered: to be counter-entered.
    recent = [
        m
        for m in plan.movements
        if m.kind is MovementKind.COMMITMENT
        and m.line >= first
        and m.reference.startswith("BC-")
        and (until - m.day).days <= 6
    ]
    ordered = {m.reference for m in plan.movements if m.kind is not MovementKind.COMMITMENT}
    for m in recent:
        if m.reference not in ordered and len(plan.mistakes) < 2:
            plan.mistakes.append(m.reference)


# --- the transitional action programme ------------------------------------------------------

PROGRAMME_CODE = "PAT-2025-2026"
PROGRAMME_TITLE = "Programme d'action transitoire du GST Tanger–Tétouan–Al Hoceïma 2025-2026"

# (title, owner, where: "region" | "chu" | "hospital", deadline, funding lines)
ACTIONS: tuple[tuple[str, str, str, date, tuple[str, ...]], ...] = (
    (
        "Installer le conseil d'administration du GST",
        "Direction générale",
        "region",
        date(2025, 7, 31),
        (),
    ),
    (
        "Transférer les compétences des établissements au GST",
        "Direction générale",
        "region",
        date(2025, 10, 1),
        (),
    ),
    (
        "Adopter l'organigramme du GST",
        "Direction des ressources humaines",
        "region",
        date(2025, 11, 30),
        (),
    ),
    (
        "Unifier la paie des 7 000 professionnels",
        "Direction des ressources humaines",
        "region",
        date(2025, 12, 31),
        ("personnel.salaries",),
    ),
    ("Établir le budget régional 2026", "Direction financière", "region", date(2025, 12, 15), ()),
    (
        "Nommer les ordonnateurs délégués des hôpitaux",
        "Direction financière",
        "region",
        date(2025, 11, 15),
        (),
    ),
    (
        "Mettre en place le contrôle de gestion régional",
        "Direction financière",
        "region",
        date(2026, 3, 31),
        ("operating.services",),
    ),
    (
        "Unifier la nomenclature budgétaire des établissements",
        "Direction financière",
        "region",
        date(2026, 2, 28),
        (),
    ),
    (
        "Centraliser les achats de médicaments",
        "Direction des achats",
        "region",
        date(2026, 4, 30),
        ("operating.medicines",),
    ),
    (
        "Lancer l'appel d'offres régional des consommables",
        "Direction des achats",
        "region",
        date(2026, 5, 31),
        ("operating.consumables",),
    ),
    (
        "Déployer le dossier patient partagé au CHU",
        "Direction des systèmes d'information",
        "chu",
        date(2026, 6, 30),
        ("investment.digital",),
    ),
    (
        "Raccorder les hôpitaux à l'index patient régional",
        "Direction des systèmes d'information",
        "region",
        date(2026, 3, 31),
        ("investment.digital",),
    ),
    (
        "Déployer la télé-expertise vers les centres de santé",
        "Direction des systèmes d'information",
        "region",
        date(2026, 9, 30),
        ("investment.digital",),
    ),
    (
        "Publier la carte sanitaire régionale des filières",
        "Direction de l'offre de soins",
        "region",
        date(2026, 1, 31),
        (),
    ),
    (
        "Organiser la référence et la contre-référence",
        "Direction de l'offre de soins",
        "region",
        date(2026, 2, 28),
        (),
    ),
    (
        "Ouvrir les lits de réanimation supplémentaires",
        "CHU Mohammed VI",
        "chu",
        date(2026, 4, 30),
        ("investment.equipment",),
    ),
    (
        "Renforcer les urgences de l'hôpital provincial",
        "Direction de l'hôpital",
        "hospital",
        date(2026, 3, 31),
        ("operating.maintenance",),
    ),
    (
        "Mettre à niveau le bloc opératoire",
        "Direction de l'hôpital",
        "hospital",
        date(2026, 6, 30),
        ("investment.equipment",),
    ),
    (
        "Remplacer le groupe électrogène",
        "Direction de l'hôpital",
        "hospital",
        date(2026, 5, 31),
        ("operating.maintenance",),
    ),
    (
        "Mettre en service l'IRM",
        "Direction de l'hôpital",
        "hospital",
        date(2026, 10, 31),
        ("investment.equipment",),
    ),
    (
        "Recruter les médecins spécialistes prévus en 2026",
        "Direction des ressources humaines",
        "region",
        date(2026, 9, 30),
        ("personnel.salaries",),
    ),
    (
        "Mettre en place la mobilité régionale des professionnels",
        "Direction des ressources humaines",
        "region",
        date(2026, 1, 31),
        (),
    ),
    (
        "Adopter le règlement des gardes et astreintes",
        "Direction des ressources humaines",
        "region",
        date(2026, 2, 28),
        ("personnel.allowances",),
    ),
    (
        "Former les gestionnaires au nouveau système financier",
        "Direction financière",
        "region",
        date(2026, 4, 30),
        ("operating.services",),
    ),
    ("Certifier les comptes 2025", "Direction financière", "region", date(2026, 6, 30), ()),
    ("Établir le budget régional 2027", "Direction financière", "region", date(2026, 12, 15), ()),
    (
        "Signer les contrats d'objectifs avec les hôpitaux",
        "Direction générale",
        "region",
        date(2026, 5, 31),
        (),
    ),
    (
        "Évaluer la satisfaction des usagers",
        "Direction de l'offre de soins",
        "region",
        date(2026, 11, 30),
        (),
    ),
    (
        "Réduire les délais de rendez-vous en consultation spécialisée",
        "CHU Mohammed VI",
        "chu",
        date(2026, 12, 31),
        (),
    ),
    (
        "Mettre en place le circuit du médicament",
        "Direction de l'hôpital",
        "hospital",
        date(2026, 7, 31),
        ("operating.medicines",),
    ),
    (
        "Ouvrir la maison de naissance",
        "Direction de l'hôpital",
        "hospital",
        date(2026, 8, 31),
        ("investment.construction",),
    ),
    (
        "Étendre les horaires des centres de santé urbains",
        "Direction de l'offre de soins",
        "region",
        date(2026, 6, 30),
        ("personnel.allowances",),
    ),
    (
        "Déployer les unités médicales mobiles en zone rurale",
        "Direction de l'offre de soins",
        "region",
        date(2026, 7, 31),
        ("operating.services",),
    ),
    (
        "Équiper les centres de santé de niveau 2 en échographes",
        "Direction des achats",
        "region",
        date(2026, 10, 31),
        ("investment.equipment",),
    ),
    (
        "Réhabiliter les logements de fonction des sages-femmes",
        "Direction du patrimoine",
        "region",
        date(2026, 9, 30),
        ("investment.construction",),
    ),
    (
        "Inventorier le patrimoine immobilier du GST",
        "Direction du patrimoine",
        "region",
        date(2026, 3, 31),
        (),
    ),
    (
        "Mettre en place l'hygiène hospitalière régionale",
        "Direction de l'offre de soins",
        "region",
        date(2026, 5, 31),
        ("operating.consumables",),
    ),
    (
        "Publier le tableau de bord régional des indicateurs",
        "Direction des systèmes d'information",
        "region",
        date(2026, 11, 30),
        ("investment.digital",),
    ),
    (
        "Préparer la généralisation aux autres régions",
        "Direction générale",
        "region",
        date(2027, 3, 31),
        (),
    ),
    (
        "Achever le schéma directeur du système d'information",
        "Direction des systèmes d'information",
        "region",
        date(2027, 6, 30),
        ("investment.digital",),
    ),
)
# Actions that slip whatever the date: deadlines past, still under way.
SLIPPING = frozenset(
    {
        "Unifier la nomenclature budgétaire des établissements",
        "Raccorder les hôpitaux à l'index patient régional",
        "Renforcer les urgences de l'hôpital provincial",
        "Certifier les comptes 2025",
        "Mettre en place le circuit du médicament",
        "Inventorier le patrimoine immobilier du GST",
    }
)
CANCELLED = frozenset({"Ouvrir la maison de naissance"})


def plan_actions(
    hospitals: list[str], chu: str | None, *, today: date, seed: int
) -> list[ActionPlan]:
    rng = random.Random(seed)
    out: list[ActionPlan] = []
    for title, owner, where, deadline, lines in ACTIONS:
        establishment = (
            None if where == "region" else chu if where == "chu" else rng.choice(hospitals)
        )
        start = deadline - timedelta(days=rng.randint(90, 240))
        milestones_due = [start + (deadline - start) * k // 3 for k in (1, 2)]
        if title in CANCELLED:
            status, progress, done_on = ActionStatus.CANCELLED, 10, None
        elif title in SLIPPING and deadline < today:
            status, progress, done_on = ActionStatus.IN_PROGRESS, rng.randint(35, 85), None
        elif deadline < today:
            done_on = deadline - timedelta(days=rng.randint(0, 25))
            status, progress = ActionStatus.DONE, 100
        elif start <= today:
            span = max((deadline - start).days, 1)
            share = min((today - start).days / span, 0.95)
            status, progress, done_on = ActionStatus.IN_PROGRESS, max(5, round(share * 100)), None
        else:
            status, progress, done_on = ActionStatus.PLANNED, 0, None
        milestones = [
            ("Cahier des charges validé", milestones_due[0], milestones_due[0] < today),
            ("Mise en œuvre", milestones_due[1], status is ActionStatus.DONE),
        ]
        indicators = [("Avancement des livrables", "100 %", f"{progress} %")]
        out.append(
            ActionPlan(
                title=title,
                owner=owner,
                establishment=establishment,
                deadline=deadline,
                status=status,
                progress=progress,
                completed_on=done_on,
                milestones=milestones,
                indicators=indicators,
                funding_lines=list(lines),
            )
        )
    return out


# --- the reform projects ---------------------------------------------------------------


def plan_projects(
    chu: str | None, hoc_hospital: str | None, lar_hospital: str | None
) -> tuple[list[NewEstablishment], list[ProjectPlan]]:
    """The region's infrastructure and reform projects (figures are estimates in the
    orders of magnitude of the national programme: a provincial hospital of 250 beds costs
    some 500 million dirhams)."""
    new = [
        NewEstablishment(
            "NH-TNG-01", "Nouvel hôpital préfectoral de Tanger – Beni Makada", "TNG", "Tanger",
            35.7480, -5.7980, "provincial_hospital",
            [("general_medicine", 60), ("general_surgery", 60), ("paediatrics", 40),
             ("obstetrics_gynaecology", 50), ("emergency", 40)],
            date(2027, 3, 31),
        ),
        NewEstablishment(
            "NH-TET-01", "Nouveau centre hospitalier régional de Tétouan", "TET", "Tétouan",
            35.5650, -5.3900, "regional_hospital",
            [("general_medicine", 90), ("general_surgery", 80), ("cardiology", 40),
             ("paediatrics", 60), ("obstetrics_gynaecology", 70), ("emergency", 50),
             ("neurosurgery", 30), ("anaesthesia_icu", 30)],
            date(2027, 6, 30),
        ),
        NewEstablishment(
            "NH-HOC-01", "Hôpital de proximité d'Ajdir", "HOC", "Al Hoceïma",
            35.1950, -3.9050, "proximity_hospital",
            [("general_medicine", 20), ("obstetrics_gynaecology", 15), ("emergency", 10)],
            date(2026, 12, 31),
        ),
        NewEstablishment(
            "NH-LAR-01", "Nouvel hôpital provincial de Ksar El Kébir", "LAR", "Ksar El Kébir",
            35.0100, -5.8950, "provincial_hospital",
            [("general_medicine", 50), ("general_surgery", 50), ("paediatrics", 30),
             ("obstetrics_gynaecology", 40), ("emergency", 30)],
            date(2027, 9, 30),
        ),
        NewEstablishment(
            "NH-CHE-01", "Hôpital de proximité de Bab Berred", "CHE", "Bab Berred",
            35.0167, -4.9833, "proximity_hospital",
            [("general_medicine", 20), ("obstetrics_gynaecology", 15), ("emergency", 10)],
            date(2027, 12, 31),
        ),
    ]  # fmt: skip
    million = Decimal(1_000_000)
    projects = [
        ProjectPlan(
            "PRJ-NH-TNG",
            "Construction du nouvel hôpital préfectoral de Tanger – Beni Makada",
            ProjectKind.CONSTRUCTION,
            "NH-TNG-01",
            250,
            520 * million,
            date(2023, 3, 1),
            date(2026, 6, 30),
            date(2027, 3, 31),
            ProjectStatus.IN_PROGRESS,
            78,
            Decimal("0.64"),
            "Corps d'état secondaires en cours",
        ),
        ProjectPlan(
            "PRJ-NH-TET",
            "Construction du nouveau centre hospitalier régional de Tétouan",
            ProjectKind.CONSTRUCTION,
            "NH-TET-01",
            450,
            980 * million,
            date(2022, 9, 1),
            date(2026, 12, 31),
            date(2027, 6, 30),
            ProjectStatus.IN_PROGRESS,
            71,
            Decimal("0.58"),
            "Équipements biomédicaux en commande",
        ),
        ProjectPlan(
            "PRJ-NH-HOC",
            "Construction de l'hôpital de proximité d'Ajdir",
            ProjectKind.CONSTRUCTION,
            "NH-HOC-01",
            45,
            120 * million,
            date(2024, 1, 15),
            date(2026, 9, 30),
            date(2026, 12, 31),
            ProjectStatus.IN_PROGRESS,
            93,
            Decimal("0.81"),
            "Réception provisoire prévue en décembre",
        ),
        ProjectPlan(
            "PRJ-NH-LAR",
            "Construction du nouvel hôpital provincial de Ksar El Kébir",
            ProjectKind.CONSTRUCTION,
            "NH-LAR-01",
            200,
            430 * million,
            date(2024, 6, 1),
            date(2027, 6, 30),
            date(2027, 9, 30),
            ProjectStatus.IN_PROGRESS,
            34,
            Decimal("0.27"),
            "Gros œuvre",
        ),
        ProjectPlan(
            "PRJ-NH-CHE",
            "Construction de l'hôpital de proximité de Bab Berred",
            ProjectKind.CONSTRUCTION,
            "NH-CHE-01",
            45,
            110 * million,
            date(2025, 3, 1),
            date(2027, 3, 31),
            date(2027, 12, 31),
            ProjectStatus.IN_PROGRESS,
            18,
            Decimal("0.12"),
            "Terrassements ; appel d'offres du lot 2 relancé",
        ),
        ProjectPlan(
            "PRJ-CHU-EXT",
            "Extension du CHU : pôle mère-enfant",
            ProjectKind.EXTENSION,
            chu,
            150,
            600 * million,
            date(2024, 2, 1),
            date(2027, 12, 31),
            date(2027, 12, 31),
            ProjectStatus.IN_PROGRESS,
            52,
            Decimal("0.44"),
            "Structure achevée",
        ),
        ProjectPlan(
            "PRJ-HOC-URG",
            "Mise à niveau des urgences de l'hôpital provincial d'Al Hoceïma",
            ProjectKind.RENOVATION,
            hoc_hospital,
            0,
            38 * million,
            date(2025, 1, 15),
            date(2026, 4, 30),
            date(2026, 5, 15),
            ProjectStatus.DELIVERED,
            100,
            Decimal("0.97"),
            "Réception définitive",
            date(2026, 5, 15),
        ),
        ProjectPlan(
            "PRJ-LAR-PT",
            "Mise à niveau du plateau technique de l'hôpital provincial de Larache",
            ProjectKind.RENOVATION,
            lar_hospital,
            0,
            30 * million,
            date(2025, 9, 1),
            date(2026, 10, 31),
            date(2027, 2, 28),
            ProjectStatus.IN_PROGRESS,
            60,
            Decimal("0.48"),
            "Livraison des équipements retardée",
        ),
        ProjectPlan(
            "PRJ-SIH",
            "Système d'information hospitalier régional unifié",
            ProjectKind.DIGITAL,
            None,
            0,
            95 * million,
            date(2025, 10, 1),
            date(2027, 6, 30),
            date(2027, 6, 30),
            ProjectStatus.IN_PROGRESS,
            41,
            Decimal("0.36"),
            "CHU et index patient déployés",
        ),
        ProjectPlan(
            "PRJ-RH-2030",
            "Plan régional de recrutement et de formation 2030",
            ProjectKind.WORKFORCE,
            None,
            0,
            60 * million,
            date(2025, 10, 1),
            date(2030, 12, 31),
            date(2030, 12, 31),
            ProjectStatus.IN_PROGRESS,
            15,
            Decimal("0.1"),
            "Première vague de recrutements",
        ),
    ]
    return new, [p for p in projects if p.establishment is not None or not p.kind.is_infrastructure]
