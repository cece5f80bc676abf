"""The demo region's workforce, planned from a seed without touching a database.

About 7,000 professionals placed against the first version of the norms
(:func:`parcours.workforce.rules.default_norms`) the way a real region is
staffed: the CHU and the regional hospitals at or above their norm and holding
most specialists; provincial and proximity hospitals short of specialists;
urban centres near their norm; rural centres running on nurses and general
practitioners, a fifth of them well below it. Then on-call rosters for the
hospitals' services (last month and this one, nights on site, astreintes where
a service has a single doctor) and a year of mobility requests played through
the workflow's rules, decided faster as the reform settles in, with live
requests left in the inboxes, among them the showcase: an anaesthetist of the
CHU asked for by the provincial hospital of Al Hoceïma, short in anaesthesia,
both opinions given, waiting for the regional decision.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from parcours.access.rules import Principal, Role, Scope, ScopeKind
from parcours.territory.rules import Category as EstablishmentCategory
from parcours.territory.rules import EstablishmentType
from parcours.workforce import rules
from parcours.workforce.rules import (
    Category,
    DutyKind,
    EmploymentStatus,
    MobilityAction,
    MobilityState,
    Opinion,
)

T = EstablishmentType
C = Category

TARGET = 7_000
SHOWCASE_FROM_TYPE = T.CHU
SHOWCASE_TO_TYPE = T.PROVINCIAL_HOSPITAL
SHOWCASE_TO_PROVINCE = "HOC"
SHOWCASE_SERVICE = "anaesthesia_icu"

GIVEN_F = (
    "Fatima",
    "Fatima Zahra",
    "Khadija",
    "Aicha",
    "Naima",
    "Zineb",
    "Meryem",
    "Salma",
    "Hanane",
    "Souad",
    "Malika",
    "Latifa",
    "Rachida",
    "Nadia",
    "Samira",
    "Hafsa",
    "Imane",
    "Asmae",
    "Siham",
    "Houda",
    "Kawtar",
    "Loubna",
    "Ghizlane",
    "Sanaa",
)
GIVEN_M = (
    "Mohamed",
    "Ahmed",
    "Youssef",
    "Abdellah",
    "Abderrahim",
    "Hassan",
    "Hicham",
    "Rachid",
    "Said",
    "Mustapha",
    "Khalid",
    "Karim",
    "Omar",
    "Anas",
    "Amine",
    "Ayoub",
    "Hamza",
    "Ismail",
    "Mehdi",
    "Driss",
    "Adil",
    "Nabil",
    "Tarik",
    "Jamal",
)
FAMILY = (
    "El Idrissi",
    "El Amrani",
    "Alaoui",
    "Benali",
    "Bennani",
    "El Fassi",
    "Tazi",
    "Berrada",
    "Benjelloun",
    "Chraibi",
    "El Ouazzani",
    "Ait Ouali",
    "Ait Ahmed",
    "Ouali",
    "Boukhari",
    "Zemmouri",
    "El Khattabi",
    "Bouzidi",
    "El Haddad",
    "Naciri",
    "Tahiri",
    "Benkirane",
    "Sqalli",
    "Lahlou",
    "Kettani",
    "Mernissi",
    "Sebti",
    "Belhaj",
    "Bakkali",
    "Touzani",
    "Riffi",
    "Ghazouani",
    "Chaoui",
    "Lamrani",
    "El Mrabet",
    "Azzouzi",
    "Akhannouch",
    "El Hamdaoui",
    "Ouazzani",
    "Temsamani",
    "Aarab",
    "El Baraka",
)
# Share of women by category (the nursing and midwifery professions are mostly women).
WOMEN = {
    C.GENERAL_PRACTITIONER: 0.55,
    C.SPECIALIST: 0.45,
    C.PHARMACIST: 0.6,
    C.DENTIST: 0.5,
    C.NURSE: 0.65,
    C.SPECIALISED_NURSE: 0.55,
    C.MIDWIFE: 0.98,
    C.TECHNICIAN: 0.4,
    C.ADMINISTRATIVE: 0.5,
    C.OTHER: 0.5,
}
GRADES = {
    C.GENERAL_PRACTITIONER: ("Médecin principal", "Médecin de 1er grade", "Médecin hors grade"),
    C.SPECIALIST: (
        "Médecin spécialiste",
        "Professeur assistant",
        "Professeur agrégé",
        "Professeur de l'enseignement supérieur",
    ),
    C.NURSE: ("Infirmier de 1er grade", "Infirmier de 2e grade", "Infirmier principal"),
    C.SPECIALISED_NURSE: ("Infirmier spécialisé de 1er grade", "Infirmier spécialisé principal"),
    C.MIDWIFE: ("Sage-femme de 1er grade", "Sage-femme principale"),
    C.TECHNICIAN: ("Technicien de 3e grade", "Technicien de 2e grade", "Technicien principal"),
    C.ADMINISTRATIVE: ("Adjoint administratif", "Administrateur", "Administrateur principal"),
    C.PHARMACIST: ("Pharmacien principal",),
    C.DENTIST: ("Chirurgien-dentiste principal",),
}
DIPLOMAS = {
    C.GENERAL_PRACTITIONER: "Doctorat en médecine",
    C.SPECIALIST: "Diplôme de spécialité médicale",
    C.PHARMACIST: "Doctorat en pharmacie",
    C.DENTIST: "Doctorat en médecine dentaire",
    C.NURSE: "Licence en soins infirmiers (ISPITS)",
    C.SPECIALISED_NURSE: "Licence en soins infirmiers, option spécialisée (ISPITS)",
    C.MIDWIFE: "Licence de sage-femme (ISPITS)",
    C.TECHNICIAN: "Licence de technicien de santé (ISPITS)",
    C.ADMINISTRATIVE: "Licence en administration",
}
FACULTIES = (
    "Faculté de médecine et de pharmacie de Tanger",
    "Faculté de médecine et de pharmacie de Rabat",
    "Faculté de médecine et de pharmacie de Fès",
    "Faculté de médecine et de pharmacie de Casablanca",
)
UNIVERSITY = "Université Abdelmalek Essaâdi"
ISPITS = ("ISPITS de Tétouan", "ISPITS de Tanger", "ISPITS d'Al Hoceïma", "ISPITS de Larache")
# How well each type of establishment is staffed against its norm (mean, spread), and how
# many of its specialists it keeps: the big hospitals attract them, the small ones lack them.
STAFFING: dict[EstablishmentType, tuple[float, float, float]] = {
    T.CHU: (1.12, 0.10, 1.15),
    T.REGIONAL_HOSPITAL: (1.0, 0.10, 0.95),
    T.SPECIALISED_HOSPITAL: (0.95, 0.10, 0.85),
    T.PROVINCIAL_HOSPITAL: (0.88, 0.12, 0.65),
    T.PROXIMITY_HOSPITAL: (0.8, 0.12, 0.5),
    T.CSU_2: (0.98, 0.10, 1.0),
    T.CSU_1: (0.95, 0.12, 1.0),
    T.CSR_2: (0.85, 0.15, 1.0),
    T.CSR_1: (0.8, 0.18, 1.0),
    T.RURAL_DISPENSARY: (0.9, 0.1, 1.0),
}
UNDERSTAFFED_RURAL = 0.2  # share of rural centres at about half their norm
REQUESTS_PER_YEAR = 320  # at scale 1.0


@dataclass(frozen=True)
class Site:
    code: str
    type: EstablishmentType
    province: str
    services: frozenset[str]


@dataclass
class ProfessionalPlan:
    key: int
    inpe: str | None
    cin: str
    family_name: str
    given_name: str
    sex: str
    birth_date: date
    category: Category
    specialty: str | None
    grade: str
    status: EmploymentStatus
    hired_on: date
    diploma: str
    school: str
    diploma_on: date


@dataclass
class AssignmentPlan:
    professional: int
    establishment: str
    service: str
    share: int
    start_on: date
    end_on: date | None = None
    origin: str = "demo"
    end_reason: str | None = None


@dataclass(frozen=True)
class ShiftPlan:
    professional: int
    establishment: str
    service: str
    kind: DutyKind
    start: datetime  # local wall-clock time, naive
    end: datetime


@dataclass(frozen=True)
class EventPlan:
    action: MobilityAction
    from_state: MobilityState | None
    to_state: MobilityState
    actor: str
    at: datetime
    establishment: str | None = None
    opinion: Opinion | None = None
    reason: str | None = None


@dataclass
class RequestPlan:
    professional: int
    from_establishment: str
    from_service: str
    to_establishment: str
    to_service: str
    share: int
    motive: str
    initiator: str
    submitted_at: datetime
    submitted_by: str
    state: MobilityState
    version: int
    releasing_opinion: Opinion | None
    receiving_opinion: Opinion | None
    decided_at: datetime | None
    effective_on: date | None
    events: list[EventPlan] = field(default_factory=list)
    showcase: bool = False


@dataclass
class WorkforcePlan:
    professionals: list[ProfessionalPlan]
    assignments: list[AssignmentPlan]
    shifts: list[ShiftPlan]
    requests: list[RequestPlan]
    norms: list[rules.NormLine]

    def count_by_category(self) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for p in self.professionals:
            out[p.category.value] += 1
        return dict(out)


def _name(rng: random.Random, woman: bool) -> tuple[str, str]:
    return rng.choice(FAMILY), rng.choice(GIVEN_F if woman else GIVEN_M)


def _birth(rng: random.Random, today: date, category: Category) -> date:
    youngest = 24 if category not in (C.SPECIALIST, C.PHARMACIST) else 29
    # A workforce that ages: many in their fifties, some close to 63.
    age = min(62.9, max(youngest, rng.triangular(youngest, 63, 42)))
    return today - timedelta(days=int(age * 365.25) + rng.randrange(365))


def _specialty_of(category: Category, service: str, rng: random.Random) -> str | None:
    if category is C.SPECIALIST:
        if service in rules.GP_SERVICES or not service:
            return rng.choice(("anaesthesia_icu", "internal_medicine", "general_surgery"))
        return service
    if category is C.SPECIALISED_NURSE:
        return service if service in rules.SPECIALISED_NURSING else "anaesthesia_icu"
    return None


def plan_workforce(
    sites: Sequence[Site], *, seed: int, today: date, scale: float = 1.0
) -> WorkforcePlan:
    rng = random.Random(seed)
    norms = rules.default_norms()
    by_type: dict[EstablishmentType, list[rules.NormLine]] = defaultdict(list)
    for line in norms:
        by_type[line.establishment_type].append(line)
    # How many of each (site, service, category), before the scale to the target.
    wanted: list[tuple[Site, str, Category, float]] = []
    for site in sorted(sites, key=lambda s: s.code):
        mean, spread, specialists = STAFFING[site.type]
        rural_short = (
            site.type.category is EstablishmentCategory.HEALTH_CENTRE
            and site.type in (T.CSR_1, T.CSR_2)
            and rng.random() < UNDERSTAFFED_RURAL
        )
        for line in by_type.get(site.type, ()):
            if line.service and line.service not in site.services:
                continue
            factor = max(0.0, rng.gauss(mean, spread))
            if line.category is C.SPECIALIST:
                factor *= specialists
            if rural_short:
                factor *= 0.5
            wanted.append((site, line.service, line.category, line.required * factor))
    total = sum(w[3] for w in wanted) or 1.0
    ratio = TARGET * scale / total
    professionals: list[ProfessionalPlan] = []
    assignments: list[AssignmentPlan] = []
    inpe_numbers = iter(rng.sample(range(100_000_000, 999_999_999), 200_000))
    cin_letters = ("K", "KB", "KA", "L", "LA", "LC", "R", "BK", "BJ", "A")
    carry = 0.0
    for site, service, category, count in wanted:
        if (site.type, service) == (SHOWCASE_TO_TYPE, SHOWCASE_SERVICE) and (
            site.province == SHOWCASE_TO_PROVINCE and category is C.SPECIALIST
        ):
            count = 1 / ratio  # the showcase: one anaesthetist where the norm wants three
        carry += count * ratio
        n = int(carry)
        carry -= n
        for _ in range(n):
            key = len(professionals)
            woman = rng.random() < WOMEN[category]
            family, given = _name(rng, woman)
            birth = _birth(rng, today, category)
            age_at_hire = 25 if category not in (C.SPECIALIST,) else 31
            earliest = birth + timedelta(days=int(age_at_hire * 365.25))
            # About 5 % hired in the last twelve months: the recruitment flow of the projection.
            if rng.random() < 0.05 and earliest < today - timedelta(days=30):
                hired = today - timedelta(days=rng.randrange(10, 360))
            else:
                span = max(1, (today - timedelta(days=365) - earliest).days)
                hired = earliest + timedelta(days=rng.randrange(span))
            hired = min(hired, today - timedelta(days=5))
            specialty = _specialty_of(category, service, rng)
            status = EmploymentStatus.TENURED
            if category is C.SPECIALIST and site.type is T.CHU and rng.random() < 0.18:
                status = rng.choice((EmploymentStatus.RESIDENT, EmploymentStatus.INTERN))
            elif rng.random() < 0.12:
                status = EmploymentStatus.CONTRACT
            medical = category in (C.GENERAL_PRACTITIONER, C.SPECIALIST, C.PHARMACIST, C.DENTIST)
            school = rng.choice(FACULTIES) if medical else rng.choice(ISPITS)
            professionals.append(
                ProfessionalPlan(
                    key=key,
                    inpe=str(next(inpe_numbers)) if medical else None,
                    cin=f"{rng.choice(cin_letters)}{rng.randrange(10_000, 999_999)}",
                    family_name=family,
                    given_name=given,
                    sex="female" if woman else "male",
                    birth_date=birth,
                    category=category,
                    specialty=specialty,
                    grade=rng.choice(GRADES.get(category, ("",))),
                    status=status,
                    hired_on=hired,
                    diploma=DIPLOMAS.get(category, "Diplôme professionnel"),
                    school=school if category is not C.ADMINISTRATIVE else UNIVERSITY,
                    diploma_on=min(hired, earliest) - timedelta(days=rng.randrange(30, 400)),
                )
            )
            assignments.append(AssignmentPlan(key, site.code, service, 100, hired))
    _share_specialists(rng, professionals, assignments, sites)
    requests = _mobility(rng, professionals, assignments, sites, today, scale)
    away = {r.professional for r in requests if r.showcase}
    shifts = _rosters(
        rng, professionals, [a for a in assignments if a.professional not in away], sites, today
    )
    return WorkforcePlan(professionals, assignments, shifts, requests, norms)


def _share_specialists(
    rng: random.Random,
    professionals: Sequence[ProfessionalPlan],
    assignments: list[AssignmentPlan],
    sites: Sequence[Site],
) -> None:
    """A few CHU and regional specialists give a day or two a week to a provincial hospital."""
    types = {s.code: s for s in sites}
    small = [s for s in sites if s.type in (T.PROVINCIAL_HOSPITAL, T.PROXIMITY_HOSPITAL)]
    for a in list(assignments):
        p = professionals[a.professional]
        site = types[a.establishment]
        if p.category is not C.SPECIALIST or site.type not in (T.CHU, T.REGIONAL_HOSPITAL):
            continue
        if rng.random() > 0.08 or p.status is not EmploymentStatus.TENURED:
            continue
        options = [s for s in small if a.service in s.services]
        if not options:
            continue
        share = rng.choice((20, 40))
        target = rng.choice(options)
        a.share = 100 - share
        assignments.append(AssignmentPlan(p.key, target.code, a.service, share, a.start_on))


def _hr(code: str) -> Principal:
    return Principal(
        0, f"rh.{code.lower()}", Role.HR_OFFICER, Scope(ScopeKind.ESTABLISHMENT, frozenset({code}))
    )


REGION = Principal(0, "rh.region", Role.HR_OFFICER, Scope(ScopeKind.GST))
MOTIVES = (
    "rapprochement familial",
    "renfort d'un service sous la norme",
    "ouverture d'un service",
    "demande de l'intéressé(e) pour raisons de santé",
    "redéploiement régional",
    "mise à disposition pour la permanence des soins",
)


def _mobility(
    rng: random.Random,
    professionals: Sequence[ProfessionalPlan],
    assignments: list[AssignmentPlan],
    sites: Sequence[Site],
    today: date,
    scale: float,
) -> list[RequestPlan]:
    """A year of requests, each played step by step through the workflow's rules."""
    by_code = {s.code: s for s in sites}
    main: dict[int, AssignmentPlan] = {}
    for a in assignments:
        if a.professional not in main or a.share > main[a.professional].share:
            main[a.professional] = a
    count = max(4, round(REQUESTS_PER_YEAR * scale))
    now = datetime.combine(today, datetime.min.time(), UTC) + timedelta(hours=9)
    start = now - timedelta(days=365)
    candidates = [
        k
        for k, a in main.items()
        if by_code[a.establishment].type is not T.CHU or rng.random() < 0.5
    ]
    chosen = rng.sample(candidates, min(count, len(candidates)))
    requests: list[RequestPlan] = []
    moved: set[int] = set()
    for key in sorted(chosen, key=lambda k: rng.random()):
        a = main[key]
        p = professionals[key]
        here = by_code[a.establishment]
        pool = [
            s
            for s in sites
            if s.code != here.code
            and s.type.category is here.type.category
            and (not a.service or a.service in s.services)
        ]
        if not pool:
            continue
        target = rng.choice(pool)
        submitted = start + timedelta(
            seconds=rng.randrange(int(timedelta(days=362).total_seconds()))
        )
        age = (now - submitted).days
        # The reform shortens the decision: about 40 days a year ago, 12 days now.
        pace = 12 + 28 * age / 365
        request = _play(rng, p.key, a, target.code, here, target, submitted, now, pace)
        if request.state is MobilityState.EFFECTIVE and request.effective_on is not None:
            if key in moved:
                continue
            moved.add(key)
            _move(assignments, a, target.code, request)
        requests.append(request)
    requests.sort(key=lambda r: r.submitted_at)
    busy = {r.professional for r in requests}
    showcase = _showcase(
        rng, professionals, {k: v for k, v in main.items() if k not in busy}, sites, now
    )
    if showcase is not None:
        requests.append(showcase)
    return requests


def _play(
    rng: random.Random,
    key: int,
    a: AssignmentPlan,
    to: str,
    here: Site,
    target: Site,
    submitted: datetime,
    now: datetime,
    pace: float,
) -> RequestPlan:
    snap = rules.MobilitySnapshot(
        MobilityState.AWAITING_OPINIONS, here.code, here.province, to, target.province, submitted
    )
    initiator = rng.choice(("professional", "professional", "establishment", "region"))
    submitter = (
        REGION if initiator == "region" else _hr(to if initiator == "establishment" else here.code)
    )
    events = [EventPlan(MobilityAction.SUBMIT, None, snap.state, submitter.username, submitted)]
    releasing = submitted + timedelta(hours=rng.expovariate(1 / (pace * 0.3 * 24)))
    receiving = submitted + timedelta(hours=rng.expovariate(1 / (pace * 0.35 * 24)))
    steps: list[tuple[datetime, MobilityAction, Principal, Opinion]] = []
    for at, action, who in sorted(
        (
            (releasing, MobilityAction.RELEASING_OPINION, _hr(here.code)),
            (receiving, MobilityAction.RECEIVING_OPINION, _hr(to)),
        ),
        key=lambda x: x[0],
    ):
        opinion = (
            Opinion.UNFAVOURABLE
            if rng.random() < (0.25 if action is MobilityAction.RELEASING_OPINION else 0.08)
            else Opinion.FAVOURABLE
        )
        steps.append((at, action, who, opinion))
    opinions_done = max(releasing, receiving)
    decided = opinions_done + timedelta(hours=rng.expovariate(1 / (pace * 0.5 * 24)))
    withdraw = rng.random() < 0.05
    decision = MobilityAction.REJECT if rng.random() < 0.18 else MobilityAction.APPROVE
    for at, action, who, given in steps:
        if at >= now or (withdraw and at > submitted + timedelta(days=3)):
            break
        step = rules.apply_step(snap, action, who, at, opinion=given)
        why = "effectif suffisant" if given is Opinion.UNFAVOURABLE else None
        events.append(
            EventPlan(
                action,
                snap.state,
                step.snapshot.state,
                who.username,
                at,
                step.establishment,
                given,
                why,
            )
        )
        snap = step.snapshot
    if (
        withdraw
        and snap.state is MobilityState.AWAITING_OPINIONS
        and submitted + timedelta(days=3) < now
    ):
        at = submitted + timedelta(days=3)
        step = rules.apply_step(snap, MobilityAction.WITHDRAW, submitter, at)
        events.append(
            EventPlan(
                MobilityAction.WITHDRAW,
                snap.state,
                step.snapshot.state,
                submitter.username,
                at,
                reason="retirée par l'intéressé(e)",
            )
        )
        snap = step.snapshot
    decided_at = None
    if snap.state is MobilityState.AWAITING_DECISION and decided < now:
        effective = (decided + timedelta(days=rng.choice((0, 7, 15, 30)))).date()
        step = rules.apply_step(
            snap, decision, REGION, decided, effective_on=effective, today=decided.date()
        )
        events.append(
            EventPlan(
                decision,
                snap.state,
                step.snapshot.state,
                REGION.username,
                decided,
                reason="besoin de l'établissement d'origine"
                if decision is MobilityAction.REJECT
                else None,
            )
        )
        snap = step.snapshot
        decided_at = decided
        if (
            snap.state is MobilityState.APPROVED
            and snap.effective_on
            and snap.effective_on <= now.date()
        ):
            at = datetime.combine(snap.effective_on, datetime.min.time(), UTC) + timedelta(hours=8)
            at = max(at, decided)
            step = rules.apply_step(
                snap, MobilityAction.TAKE_EFFECT, REGION, at, today=snap.effective_on
            )
            events.append(
                EventPlan(
                    MobilityAction.TAKE_EFFECT, snap.state, step.snapshot.state, REGION.username, at
                )
            )
            snap = step.snapshot
    return RequestPlan(
        professional=key,
        from_establishment=here.code,
        from_service=a.service,
        to_establishment=to,
        to_service=a.service if a.service in target.services else "",
        share=a.share,
        motive=rng.choice(MOTIVES),
        initiator=initiator,
        submitted_at=submitted,
        submitted_by=submitter.username,
        state=snap.state,
        version=snap.version,
        releasing_opinion=snap.releasing_opinion,
        receiving_opinion=snap.receiving_opinion,
        decided_at=decided_at,
        effective_on=snap.effective_on,
        events=events,
    )


def _move(assignments: list[AssignmentPlan], a: AssignmentPlan, to: str, r: RequestPlan) -> None:
    assert r.effective_on is not None
    if r.effective_on <= a.start_on:
        return
    a.end_on = r.effective_on - timedelta(days=1)
    a.end_reason = "mobilité"
    assignments.append(
        AssignmentPlan(a.professional, to, r.to_service, a.share, r.effective_on, origin="mobility")
    )


def _showcase(
    rng: random.Random,
    professionals: Sequence[ProfessionalPlan],
    main: Mapping[int, AssignmentPlan],
    sites: Sequence[Site],
    now: datetime,
) -> RequestPlan | None:
    """An anaesthetist of the CHU asked for by the provincial hospital of Al Hoceïma."""
    chu = next((s for s in sites if s.type is SHOWCASE_FROM_TYPE), None)
    target = next(
        (
            s
            for s in sorted(sites, key=lambda s: s.code)
            if s.type is SHOWCASE_TO_TYPE
            and s.province == SHOWCASE_TO_PROVINCE
            and SHOWCASE_SERVICE in s.services
        ),
        None,
    )
    if chu is None or target is None:
        return None
    anaesthetists = sorted(
        k
        for k, a in main.items()
        if a.establishment == chu.code
        and a.service == SHOWCASE_SERVICE
        and a.end_on is None
        and a.share == 100
        and professionals[k].category is C.SPECIALIST
        and professionals[k].status is EmploymentStatus.TENURED
    )
    if not anaesthetists:
        return None
    key = anaesthetists[0]
    submitted = now - timedelta(days=6, hours=3)
    request = _play_showcase(key, main[key], chu, target, submitted)
    return request


def _play_showcase(
    key: int, a: AssignmentPlan, chu: Site, target: Site, submitted: datetime
) -> RequestPlan:
    snap = rules.MobilitySnapshot(
        MobilityState.AWAITING_OPINIONS,
        chu.code,
        chu.province,
        target.code,
        target.province,
        submitted,
    )
    submitter = _hr(target.code)
    events = [
        EventPlan(
            MobilityAction.SUBMIT,
            None,
            snap.state,
            submitter.username,
            submitted,
            reason="bloc opératoire sans anesthésiste la nuit",
        )
    ]
    for at, action, who in (
        (submitted + timedelta(days=2), MobilityAction.RELEASING_OPINION, _hr(chu.code)),
        (
            submitted + timedelta(days=3, hours=4),
            MobilityAction.RECEIVING_OPINION,
            _hr(target.code),
        ),
    ):
        step = rules.apply_step(snap, action, who, at, opinion=Opinion.FAVOURABLE)
        events.append(
            EventPlan(
                action,
                snap.state,
                step.snapshot.state,
                who.username,
                at,
                step.establishment,
                Opinion.FAVOURABLE,
            )
        )
        snap = step.snapshot
    return RequestPlan(
        professional=key,
        from_establishment=chu.code,
        from_service=a.service,
        to_establishment=target.code,
        to_service=SHOWCASE_SERVICE,
        share=100,
        motive="bloc opératoire sans anesthésiste la nuit",
        initiator="establishment",
        submitted_at=submitted,
        submitted_by=submitter.username,
        state=snap.state,
        version=snap.version,
        releasing_opinion=snap.releasing_opinion,
        receiving_opinion=snap.receiving_opinion,
        decided_at=None,
        effective_on=None,
        events=events,
        showcase=True,
    )


def _rosters(
    rng: random.Random,
    professionals: Sequence[ProfessionalPlan],
    assignments: Sequence[AssignmentPlan],
    sites: Sequence[Site],
    today: date,
) -> list[ShiftPlan]:
    """Nights on site for the doctors of each hospital service, last month and this one.

    The rota takes the doctors in turn, so nobody does two nights in a row (the
    11-hour rest after a night holds); a service with one doctor has an
    astreinte from home instead, which needs no rest after it.
    """
    hospitals = {
        s.code for s in sites if s.type.category is not EstablishmentCategory.HEALTH_CENTRE
    }
    first = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    last = (today.replace(day=28) + timedelta(days=4)).replace(day=1)
    doctors: dict[tuple[str, str], list[int]] = defaultdict(list)
    for a in assignments:
        p = professionals[a.professional]
        if a.establishment not in hospitals or not a.service or a.share < 100 or a.end_on:
            continue
        if p.category in (C.GENERAL_PRACTITIONER, C.SPECIALIST) and a.start_on < first:
            doctors[(a.establishment, a.service)].append(p.key)
    shifts: list[ShiftPlan] = []
    for (code, service), keys in sorted(doctors.items()):
        keys = sorted(keys)
        rng.shuffle(keys)
        kind = DutyKind.ON_SITE if len(keys) >= 2 else DutyKind.ON_CALL
        day = first
        turn = 0
        while day < last:
            start = datetime.combine(day, datetime.min.time()) + timedelta(hours=20)
            shifts.append(
                ShiftPlan(
                    keys[turn % len(keys)], code, service, kind, start, start + timedelta(hours=12)
                )
            )
            turn += 1
            day += timedelta(days=1)
    return shifts
