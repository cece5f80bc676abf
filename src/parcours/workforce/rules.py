"""The regional workforce's vocabulary and rules, free of any framework.

What is decided here, with no database and no clock (``today``/``now`` are given):

* the professional's categories, statuses and identifiers (FHIR Practitioner:
  ``identifier`` INPE, ``name``, ``gender``, ``birthDate``, ``qualification``);
* assignments (FHIR PractitionerRole: ``organization`` the establishment,
  ``specialty`` the service, ``period``, with a share of time): overlapping
  periods at one service, or shares of time above 100 %, are refused;
* on-call rosters (garde on site, astreinte at home): no one in two places at
  once, a rest after a night on call, a shift only where one is assigned;
* the mobility workflow (request → opinions of the releasing and receiving
  establishments → regional decision → effective date) as a state machine
  whose every step is timed, with who may take each step;
* staffing norms (by establishment type, service and category), the gaps they
  show, the density against the WHO threshold and the projection to 2030.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from parcours.access.rules import Permission, Principal, ScopeKind
from parcours.errors import Problem as Problem  # the rules' findings
from parcours.territory.rules import EstablishmentType

# --- vocabulary ------------------------------------------------------------------------

# WHO's SDG index threshold: physicians, nurses and midwives per 10,000 inhabitants.
WHO_THRESHOLD = 44.5
RETIREMENT_AGE = 63
PROJECTION_YEAR = 2030


class Category(StrEnum):
    GENERAL_PRACTITIONER = "general_practitioner"
    SPECIALIST = "specialist"
    PHARMACIST = "pharmacist"
    DENTIST = "dentist"
    NURSE = "nurse"
    SPECIALISED_NURSE = "specialised_nurse"
    MIDWIFE = "midwife"
    TECHNICIAN = "technician"
    ADMINISTRATIVE = "administrative"
    OTHER = "other"

    @property
    def label(self) -> str:
        return CATEGORY_LABELS[self]

    @property
    def density_group(self) -> str | None:
        """Physician, nurse or midwife for the WHO density; None for the others."""
        return DENSITY_GROUP.get(self)

    @property
    def needs_specialty(self) -> bool:
        return self in (Category.SPECIALIST, Category.SPECIALISED_NURSE)


CATEGORY_LABELS: dict[Category, str] = {
    Category.GENERAL_PRACTITIONER: "Médecin généraliste",
    Category.SPECIALIST: "Médecin spécialiste",
    Category.PHARMACIST: "Pharmacien",
    Category.DENTIST: "Chirurgien-dentiste",
    Category.NURSE: "Infirmier polyvalent",
    Category.SPECIALISED_NURSE: "Infirmier spécialisé",
    Category.MIDWIFE: "Sage-femme",
    Category.TECHNICIAN: "Technicien de santé",
    Category.ADMINISTRATIVE: "Administratif",
    Category.OTHER: "Autre",
}

DENSITY_GROUP: dict[Category, str] = {
    Category.GENERAL_PRACTITIONER: "physicians",
    Category.SPECIALIST: "physicians",
    Category.NURSE: "nurses",
    Category.SPECIALISED_NURSE: "nurses",
    Category.MIDWIFE: "midwives",
}
DENSITY_GROUP_LABELS: dict[str, str] = {
    "physicians": "Médecins",
    "nurses": "Infirmiers",
    "midwives": "Sages-femmes",
}
DENSITY_CATEGORIES = frozenset(DENSITY_GROUP)


class Sex(StrEnum):
    FEMALE = "female"  # FHIR administrative-gender codes
    MALE = "male"

    @property
    def label(self) -> str:
        return {"female": "Femme", "male": "Homme"}[self]


class EmploymentStatus(StrEnum):
    TENURED = "tenured"
    CONTRACT = "contract"
    RESIDENT = "resident"
    INTERN = "intern"
    SECONDED = "seconded"

    @property
    def label(self) -> str:
        return EMPLOYMENT_STATUS_LABELS[self]


EMPLOYMENT_STATUS_LABELS: dict[EmploymentStatus, str] = {
    EmploymentStatus.TENURED: "Titulaire",
    EmploymentStatus.CONTRACT: "Contractuel",
    EmploymentStatus.RESIDENT: "Résident",
    EmploymentStatus.INTERN: "Interne",
    EmploymentStatus.SECONDED: "Détaché",
}

INPE_PATTERN = re.compile(r"^[0-9]{9}$")
CIN_PATTERN = re.compile(r"^[A-Z]{1,2}[0-9]{1,7}$")
MIN_WORKING_AGE = 18


def normalise_inpe(text: str | None) -> str | None:
    cleaned = re.sub(r"[\s.-]", "", text or "")
    return cleaned or None


def search_key(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    cleaned = re.sub(r"[^0-9a-z]+", " ", stripped.lower())
    return " ".join(cleaned.split())


def validate_professional(
    *,
    inpe: str | None,
    family_name: str,
    given_name: str,
    birth_date: date | None,
    category: Category,
    specialty: str | None,
    hired_on: date | None,
    today: date,
    specialties: frozenset[str],
) -> list[Problem]:
    problems: list[Problem] = []
    if inpe is not None and not INPE_PATTERN.match(inpe):
        problems.append(Problem("invalid_inpe", f"INPE « {inpe} » invalide : 9 chiffres attendus"))
    if not family_name.strip():
        problems.append(Problem("missing_name", "le nom est obligatoire"))
    if not given_name.strip():
        problems.append(Problem("missing_name", "le prénom est obligatoire"))
    if birth_date is not None:
        if birth_date > today:
            problems.append(Problem("invalid_birth_date", "la date de naissance est future"))
        elif age_on(birth_date, today) < MIN_WORKING_AGE:
            problems.append(Problem("invalid_birth_date", f"âge inférieur à {MIN_WORKING_AGE} ans"))
    if specialty is not None and specialty not in specialties:
        problems.append(Problem("unknown_specialty", f"spécialité inconnue : {specialty}"))
    if category.needs_specialty and specialty is None:
        problems.append(
            Problem("missing_specialty", f"un {category.label.lower()} a une spécialité")
        )
    if hired_on is not None and birth_date is not None and hired_on < birth_date:
        problems.append(Problem("invalid_date", "la date d'entrée précède la naissance"))
    return problems


def age_on(birth_date: date, day: date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def retirement_date(birth_date: date) -> date:
    """The day the professional reaches the retirement age (29 February → 28)."""
    year = birth_date.year + RETIREMENT_AGE
    try:
        return birth_date.replace(year=year)
    except ValueError:
        return date(year, 2, 28)


# --- assignments (PractitionerRole) ----------------------------------------------------


@dataclass(frozen=True)
class Period:
    """An assignment as the rules see it; ``end`` included, None while open."""

    establishment: str
    service: str  # specialty code, "" for the establishment as a whole
    share: int  # per cent of full time
    start: date
    end: date | None = None
    key: int | None = None

    def overlaps(self, other: Period) -> bool:
        return self.start <= (other.end or date.max) and other.start <= (self.end or date.max)

    def active_on(self, day: date) -> bool:
        return self.start <= day <= (self.end or date.max)


def check_assignment(new: Period, existing: Sequence[Period]) -> list[Problem]:
    """Why ``new`` cannot join ``existing`` (the professional's other assignments).

    Two assignments to the same service of the same establishment may not
    overlap, and at no date may the shares of time add up to more than 100 %.
    """
    problems: list[Problem] = []
    if not 1 <= new.share <= 100:
        problems.append(
            Problem("invalid_share", f"quotité invalide : {new.share} % (de 1 à 100 %)")
        )
    if new.end is not None and new.end < new.start:
        problems.append(Problem("invalid_period", "la fin de l'affectation précède son début"))
    if problems:
        return problems
    others = [p for p in existing if p.key is None or p.key != new.key]
    for other in others:
        if (
            other.establishment == new.establishment
            and other.service == new.service
            and other.overlaps(new)
        ):
            problems.append(
                Problem(
                    "overlapping_assignment",
                    f"déjà affecté à ce service de {other.establishment} du "
                    f"{other.start.isoformat()}"
                    + (f" au {other.end.isoformat()}" if other.end else ""),
                )
            )
            return problems
    peak, day = peak_share([*others, new], within=new)
    if peak > 100:
        problems.append(
            Problem(
                "share_over_100",
                f"quotité totale de {peak} % le {day.isoformat()} : plus de 100 % du temps",
            )
        )
    return problems


def peak_share(periods: Sequence[Period], within: Period) -> tuple[int, date]:
    """The largest total share over the days of ``within``, and the first day it is reached."""
    days = {within.start} | {
        p.start for p in periods if within.active_on(p.start) and p.start >= within.start
    }
    best, best_day = 0, within.start
    for day in sorted(days):
        total = sum(p.share for p in periods if p.active_on(day))
        if total > best:
            best, best_day = total, day
    return best, best_day


def main_assignment(periods: Sequence[Period], day: date) -> Period | None:
    active = [p for p in periods if p.active_on(day)]
    if not active:
        return None
    return sorted(active, key=lambda p: (-p.share, p.start, p.establishment))[0]


# --- on-call rosters -------------------------------------------------------------------


class DutyKind(StrEnum):
    ON_SITE = "garde"  # on site, awake
    ON_CALL = "astreinte"  # at home, called in when needed

    @property
    def label(self) -> str:
        return {"garde": "Garde", "astreinte": "Astreinte"}[self]


REST_AFTER_NIGHT = timedelta(hours=11)  # repos de sécurité after a night on site
MAX_SHIFT = timedelta(hours=24)
NIGHT_START_HOUR = 22
NIGHT_END_HOUR = 6


@dataclass(frozen=True)
class Shift:
    """A duty as the rules see it, in the region's local time (naive)."""

    professional: int
    establishment: str
    service: str
    kind: DutyKind
    start: datetime
    end: datetime
    key: int | None = None

    def overlaps(self, other: Shift) -> bool:
        return self.start < other.end and other.start < self.end

    @property
    def is_night(self) -> bool:
        """Whether it covers any part of the night (22:00–06:00)."""
        day = self.start.date() - timedelta(days=1)
        while day <= self.end.date():
            night_start = datetime.combine(day, time(NIGHT_START_HOUR))
            night_end = night_start + timedelta(hours=24 - NIGHT_START_HOUR + NIGHT_END_HOUR)
            if self.start < night_end and night_start < self.end:
                return True
            day += timedelta(days=1)
        return False

    @property
    def needs_rest(self) -> bool:
        return self.kind is DutyKind.ON_SITE and self.is_night


def check_shift(
    new: Shift, existing: Sequence[Shift], assignments: Sequence[Period]
) -> list[Problem]:
    """Why ``new`` cannot join the professional's ``existing`` duties.

    Nobody is in two places at once (no overlap with any other duty, wherever it
    is); after a night on site comes a rest of 11 hours, in both directions (a
    night may not end less than 11 hours before a duty that already exists);
    and a duty is taken only at an establishment the professional is assigned to
    on that day.
    """
    problems: list[Problem] = []
    if new.end <= new.start:
        return [Problem("invalid_shift", "la fin de la garde précède son début")]
    if new.end - new.start > MAX_SHIFT:
        return [Problem("shift_too_long", "une garde ou astreinte dure 24 heures au plus")]
    if not any(
        p.establishment == new.establishment and p.active_on(new.start.date()) for p in assignments
    ):
        problems.append(
            Problem(
                "not_assigned",
                f"pas d'affectation à {new.establishment} le {new.start.date().isoformat()}",
            )
        )
    for other in existing:
        if other.key is not None and other.key == new.key:
            continue
        if other.overlaps(new):
            problems.append(
                Problem(
                    "two_places_at_once",
                    f"déjà de {other.kind.label.lower()} à {other.establishment} du "
                    f"{_stamp(other.start)} au {_stamp(other.end)}",
                )
            )
            break
    for other in existing:
        if other.key is not None and other.key == new.key:
            continue
        if other.needs_rest and other.end <= new.start < other.end + REST_AFTER_NIGHT:
            problems.append(
                Problem(
                    "rest_after_night",
                    f"repos de 11 heures après la nuit de garde finie le {_stamp(other.end)}",
                )
            )
            break
        if new.needs_rest and new.end <= other.start < new.end + REST_AFTER_NIGHT:
            problems.append(
                Problem(
                    "rest_after_night",
                    f"cette nuit de garde ne laisse pas 11 heures de repos avant la "
                    f"{other.kind.label.lower()} du {_stamp(other.start)}",
                )
            )
            break
    return problems


def _stamp(moment: datetime) -> str:
    return moment.strftime("%d/%m/%Y %H:%M")


# --- mobility --------------------------------------------------------------------------


class MobilityKind(StrEnum):
    TRANSFER = "transfer"  # mutation: the assignment moves
    SHARE = "share"  # mise à disposition partielle: part of the time goes

    @property
    def label(self) -> str:
        return {"transfer": "Mutation", "share": "Mise à disposition partielle"}[self]


class Initiator(StrEnum):
    PROFESSIONAL = "professional"
    ESTABLISHMENT = "establishment"
    REGION = "region"

    @property
    def label(self) -> str:
        return {
            "professional": "Le professionnel",
            "establishment": "Un établissement",
            "region": "La direction régionale",
        }[self]


class MobilityState(StrEnum):
    AWAITING_OPINIONS = "awaiting_opinions"
    AWAITING_DECISION = "awaiting_decision"
    APPROVED = "approved"
    REJECTED = "rejected"
    EFFECTIVE = "effective"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return MOBILITY_STATE_LABELS[self]

    @property
    def colour(self) -> str:
        return {
            "awaiting_opinions": "#1565c0",
            "awaiting_decision": "#ef6c00",
            "approved": "#2e7d32",
            "rejected": "#c62828",
            "effective": "#1b5e20",
            "withdrawn": "#616161",
        }[self.value]

    @property
    def is_open(self) -> bool:
        return self in (
            MobilityState.AWAITING_OPINIONS,
            MobilityState.AWAITING_DECISION,
            MobilityState.APPROVED,
        )


MOBILITY_STATE_LABELS: dict[MobilityState, str] = {
    MobilityState.AWAITING_OPINIONS: "En attente des avis",
    MobilityState.AWAITING_DECISION: "En attente de la décision régionale",
    MobilityState.APPROVED: "Approuvée (en attente de la date d'effet)",
    MobilityState.REJECTED: "Refusée",
    MobilityState.EFFECTIVE: "Effective",
    MobilityState.WITHDRAWN: "Retirée",
}


class MobilityAction(StrEnum):
    SUBMIT = "submit"
    RELEASING_OPINION = "releasing_opinion"
    RECEIVING_OPINION = "receiving_opinion"
    APPROVE = "approve"
    REJECT = "reject"
    TAKE_EFFECT = "take_effect"
    WITHDRAW = "withdraw"

    @property
    def label(self) -> str:
        return MOBILITY_ACTION_LABELS[self]


MOBILITY_ACTION_LABELS: dict[MobilityAction, str] = {
    MobilityAction.SUBMIT: "Demande déposée",
    MobilityAction.RELEASING_OPINION: "Avis de l'établissement d'origine",
    MobilityAction.RECEIVING_OPINION: "Avis de l'établissement d'accueil",
    MobilityAction.APPROVE: "Décision régionale favorable",
    MobilityAction.REJECT: "Décision régionale défavorable",
    MobilityAction.TAKE_EFFECT: "Prise d'effet",
    MobilityAction.WITHDRAW: "Demande retirée",
}


class Opinion(StrEnum):
    FAVOURABLE = "favourable"
    UNFAVOURABLE = "unfavourable"

    @property
    def label(self) -> str:
        return {"favourable": "Favorable", "unfavourable": "Défavorable"}[self]


# An establishment has this many days to give its opinion; past it, the region may
# decide without it (the opinion is then recorded as not given).
OPINION_DAYS = 15
# The reform's target for the regional decision, counted from the request.
DECISION_TARGET_DAYS = 30


@dataclass(frozen=True)
class MobilitySnapshot:
    state: MobilityState
    from_establishment: str
    from_province: str
    to_establishment: str
    to_province: str
    submitted_at: datetime
    releasing_opinion: Opinion | None = None
    receiving_opinion: Opinion | None = None
    effective_on: date | None = None
    version: int = 1

    @property
    def opinion_deadline(self) -> datetime:
        return self.submitted_at + timedelta(days=OPINION_DAYS)


@dataclass(frozen=True)
class MobilityStep:
    """The outcome of one step: the next snapshot and what the history records."""

    snapshot: MobilitySnapshot
    action: MobilityAction
    establishment: str | None  # whose opinion, for the opinions


class StepRefused(Exception):
    def __init__(self, code: str, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def _establishment_side(principal: Principal, code: str, province: str) -> bool:
    """An establishment's opinion is given by someone of that establishment (or its
    province), never by a GST-wide account speaking for it."""
    return (
        principal.can(Permission.WORKFORCE_WRITE)
        and principal.scope.kind is not ScopeKind.GST
        and principal.scope.covers(code, province)
    )


def is_regional(principal: Principal) -> bool:
    return principal.can(Permission.WORKFORCE_WRITE) and principal.scope.kind is ScopeKind.GST


def may_submit(principal: Principal, snap: MobilitySnapshot) -> bool:
    return is_regional(principal) or any(
        _establishment_side(principal, c, p)
        for c, p in (
            (snap.from_establishment, snap.from_province),
            (snap.to_establishment, snap.to_province),
        )
    )


def allowed_actions(
    principal: Principal, snap: MobilitySnapshot, now: datetime
) -> list[MobilityAction]:
    """What this person may do now with this request (for the buttons of a page)."""
    actions: list[MobilityAction] = []
    for action in MobilityAction:
        if action is MobilityAction.SUBMIT:
            continue
        try:
            apply_step(snap, action, principal, now, opinion=Opinion.FAVOURABLE, today=now.date())
        except StepRefused:
            continue
        actions.append(action)
    return actions


def apply_step(
    snap: MobilitySnapshot,
    action: MobilityAction,
    principal: Principal,
    now: datetime,
    *,
    opinion: Opinion | None = None,
    effective_on: date | None = None,
    today: date | None = None,
) -> MobilityStep:
    """Check and apply one step of the workflow; raise :class:`StepRefused` otherwise."""
    state = snap.state
    if action is MobilityAction.SUBMIT:
        raise StepRefused("invalid_action", "Une demande se dépose par sa création.")
    if action in (MobilityAction.RELEASING_OPINION, MobilityAction.RECEIVING_OPINION):
        releasing = action is MobilityAction.RELEASING_OPINION
        code = snap.from_establishment if releasing else snap.to_establishment
        province = snap.from_province if releasing else snap.to_province
        if state is not MobilityState.AWAITING_OPINIONS:
            raise StepRefused("wrong_state", "Les avis ne sont plus attendus pour cette demande.")
        if not _establishment_side(principal, code, province):
            raise StepRefused(
                "not_your_establishment",
                f"Seul l'établissement concerné donne cet avis ({code}).",
                403,
            )
        given = snap.releasing_opinion if releasing else snap.receiving_opinion
        if given is not None:
            raise StepRefused("opinion_given", "Cet avis a déjà été donné.")
        if opinion is None:
            raise StepRefused("missing_opinion", "Indiquez un avis favorable ou défavorable.", 422)
        if releasing:
            nxt = _replace(snap, releasing_opinion=opinion)
        else:
            nxt = _replace(snap, receiving_opinion=opinion)
        if nxt.releasing_opinion is not None and nxt.receiving_opinion is not None:
            nxt = _replace(nxt, state=MobilityState.AWAITING_DECISION)
        return MobilityStep(_bump(nxt), action, code)
    if action in (MobilityAction.APPROVE, MobilityAction.REJECT):
        if not is_regional(principal):
            raise StepRefused(
                "regional_decision",
                "La décision appartient à la direction régionale des ressources humaines.",
                403,
            )
        waiting = state is MobilityState.AWAITING_DECISION or (
            state is MobilityState.AWAITING_OPINIONS and now >= snap.opinion_deadline
        )
        if not waiting:
            if state is MobilityState.AWAITING_OPINIONS:
                raise StepRefused(
                    "opinions_pending",
                    "Les avis des deux établissements sont attendus jusqu'au "
                    + snap.opinion_deadline.strftime("%d/%m/%Y")
                    + ".",
                )
            raise StepRefused("wrong_state", "Cette demande n'attend pas de décision.")
        if action is MobilityAction.REJECT:
            return MobilityStep(_bump(_replace(snap, state=MobilityState.REJECTED)), action, None)
        day = today or now.date()
        when = effective_on or day
        if when < day:
            raise StepRefused(
                "effective_in_past", "La date d'effet ne peut précéder la décision.", 422
            )
        return MobilityStep(
            _bump(_replace(snap, state=MobilityState.APPROVED, effective_on=when)), action, None
        )
    if action is MobilityAction.TAKE_EFFECT:
        if state is not MobilityState.APPROVED:
            raise StepRefused("wrong_state", "Seule une demande approuvée prend effet.")
        day = today or now.date()
        if snap.effective_on is None or snap.effective_on > day:
            raise StepRefused("not_yet", "La date d'effet n'est pas encore atteinte.")
        if not is_regional(principal):
            raise StepRefused(
                "regional_decision", "La prise d'effet est enregistrée par la région.", 403
            )
        return MobilityStep(_bump(_replace(snap, state=MobilityState.EFFECTIVE)), action, None)
    if action is MobilityAction.WITHDRAW:
        if state not in (MobilityState.AWAITING_OPINIONS, MobilityState.AWAITING_DECISION):
            raise StepRefused("wrong_state", "Une demande décidée ne peut plus être retirée.")
        if not may_submit(principal, snap):
            raise StepRefused("not_your_request", "Vous ne pouvez pas retirer cette demande.", 403)
        return MobilityStep(_bump(_replace(snap, state=MobilityState.WITHDRAWN)), action, None)
    raise StepRefused("invalid_action", "Action inconnue.", 422)


def _replace(snap: MobilitySnapshot, **changes: Any) -> MobilitySnapshot:
    return replace(snap, **changes)


def _bump(snap: MobilitySnapshot) -> MobilitySnapshot:
    return _replace(snap, version=snap.version + 1)


def awaits(principal: Principal, snap: MobilitySnapshot, now: datetime) -> bool:
    """Whether the request sits in this person's inbox (they may act on it now)."""
    return any(a is not MobilityAction.WITHDRAW for a in allowed_actions(principal, snap, now))


@dataclass(frozen=True)
class Delays:
    """Durations of a request's steps, in days (None: not reached)."""

    releasing_opinion: float | None
    receiving_opinion: float | None
    decision: float | None
    effect: float | None


def step_delays(
    submitted_at: datetime, events: Iterable[tuple[MobilityAction, datetime]]
) -> Delays:
    firsts: dict[MobilityAction, datetime] = {}
    for action, at in events:
        firsts.setdefault(action, at)

    def days(action: MobilityAction, start: datetime | None = submitted_at) -> float | None:
        at = firsts.get(action)
        if at is None or start is None:
            return None
        return round((at - start).total_seconds() / 86400, 2)

    decided_at = firsts.get(MobilityAction.APPROVE) or firsts.get(MobilityAction.REJECT)
    decision = round((decided_at - submitted_at).total_seconds() / 86400, 2) if decided_at else None
    return Delays(
        releasing_opinion=days(MobilityAction.RELEASING_OPINION),
        receiving_opinion=days(MobilityAction.RECEIVING_OPINION),
        decision=decision,
        effect=days(MobilityAction.TAKE_EFFECT, decided_at),
    )


@dataclass(frozen=True)
class DelayStats:
    decided: int
    median_days: float | None
    p90_days: float | None
    within_target: float | None  # share decided within DECISION_TARGET_DAYS


def delay_stats(decision_days: Sequence[float]) -> DelayStats:
    values = sorted(decision_days)
    if not values:
        return DelayStats(0, None, None, None)
    n = len(values)
    median = values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2
    p90 = values[max(0, -(-9 * n // 10) - 1)]
    within = sum(1 for v in values if v <= DECISION_TARGET_DAYS) / n
    return DelayStats(n, round(median, 1), round(p90, 1), round(within, 3))


# --- staffing norms and gaps -----------------------------------------------------------


@dataclass(frozen=True)
class NormLine:
    """So many full-time equivalents of a category in a service of a type of establishment.

    ``service`` is a specialty code, or "" for the establishment as a whole (a
    health centre's team, a hospital's pharmacy and administration). A line for
    a service applies only to establishments that offer that service.
    """

    establishment_type: EstablishmentType
    service: str
    category: Category
    required: float


def validate_norms(lines: Sequence[NormLine], specialties: frozenset[str]) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[tuple[str, str, str]] = set()
    for line in lines:
        key = (line.establishment_type.value, line.service, line.category.value)
        if key in seen:
            problems.append(Problem("duplicate_norm", f"norme en double : {' / '.join(key)}"))
        seen.add(key)
        if line.service and line.service not in specialties:
            problems.append(Problem("unknown_specialty", f"spécialité inconnue : {line.service}"))
        if not 0 <= line.required <= 1000:
            problems.append(Problem("invalid_norm", f"effectif requis invalide : {line.required}"))
    return problems


T = EstablishmentType
C = Category

# Hospital services: specialists, then nurses, required in each service offered, by type.
_SPECIALISTS = {
    T.CHU: 10,
    T.REGIONAL_HOSPITAL: 5,
    T.SPECIALISED_HOSPITAL: 4,
    T.PROVINCIAL_HOSPITAL: 3,
    T.PROXIMITY_HOSPITAL: 1,
}
_NURSES = {
    T.CHU: 30,
    T.REGIONAL_HOSPITAL: 20,
    T.SPECIALISED_HOSPITAL: 16,
    T.PROVINCIAL_HOSPITAL: 12,
    T.PROXIMITY_HOSPITAL: 7,
}
# Services whose nurses are specialised (anaesthesia, emergency, mental health…).
SPECIALISED_NURSING = frozenset(
    {"anaesthesia_icu", "emergency", "psychiatry", "neonatology", "nephrology", "burns"}
)
# Services run by general practitioners rather than specialists.
GP_SERVICES = frozenset({"emergency", "general_medicine"})
HOSPITAL_TYPES = (
    T.CHU,
    T.REGIONAL_HOSPITAL,
    T.SPECIALISED_HOSPITAL,
    T.PROVINCIAL_HOSPITAL,
    T.PROXIMITY_HOSPITAL,
)
# A health centre's team, as a whole.
_CENTRE_TEAMS: dict[EstablishmentType, dict[Category, float]] = {
    T.CSU_2: {
        C.GENERAL_PRACTITIONER: 3,
        C.NURSE: 5,
        C.MIDWIFE: 2,
        C.DENTIST: 1,
        C.TECHNICIAN: 1,
        C.ADMINISTRATIVE: 1,
    },
    T.CSU_1: {C.GENERAL_PRACTITIONER: 2, C.NURSE: 4, C.MIDWIFE: 1, C.ADMINISTRATIVE: 1},
    T.CSR_2: {C.GENERAL_PRACTITIONER: 2, C.NURSE: 5, C.MIDWIFE: 2, C.ADMINISTRATIVE: 1},
    T.CSR_1: {C.GENERAL_PRACTITIONER: 1, C.NURSE: 3, C.MIDWIFE: 1},
    T.RURAL_DISPENSARY: {C.NURSE: 1},
}
_HOSPITAL_WIDE: dict[EstablishmentType, dict[Category, float]] = {
    T.CHU: {C.PHARMACIST: 8, C.TECHNICIAN: 100, C.ADMINISTRATIVE: 150},
    T.REGIONAL_HOSPITAL: {C.PHARMACIST: 4, C.TECHNICIAN: 35, C.ADMINISTRATIVE: 50},
    T.SPECIALISED_HOSPITAL: {C.PHARMACIST: 2, C.TECHNICIAN: 15, C.ADMINISTRATIVE: 25},
    T.PROVINCIAL_HOSPITAL: {C.PHARMACIST: 3, C.TECHNICIAN: 20, C.ADMINISTRATIVE: 30},
    T.PROXIMITY_HOSPITAL: {C.PHARMACIST: 1, C.TECHNICIAN: 10, C.ADMINISTRATIVE: 14},
}
HOSPITAL_SERVICES = (
    "emergency",
    "internal_medicine",
    "general_surgery",
    "paediatrics",
    "obstetrics_gynaecology",
    "anaesthesia_icu",
    "cardiology",
    "pulmonology",
    "nephrology",
    "neurology",
    "psychiatry",
    "oncology",
    "traumatology",
    "ophthalmology",
    "ent",
    "urology",
    "dermatology",
    "endocrinology",
    "gastroenterology",
    "neonatology",
    "neurosurgery",
    "cardiac_surgery",
    "infectious_diseases",
    "radiology",
    "burns",
)


def default_norms() -> list[NormLine]:
    """The first version of the norms the demo starts from (an estimate, editable)."""
    lines: list[NormLine] = []
    for type_, team in _CENTRE_TEAMS.items():
        lines += [NormLine(type_, "", c, n) for c, n in team.items()]
    for type_ in HOSPITAL_TYPES:
        lines += [NormLine(type_, "", c, n) for c, n in _HOSPITAL_WIDE[type_].items()]
        for service in HOSPITAL_SERVICES:
            doctor = C.GENERAL_PRACTITIONER if service in GP_SERVICES else C.SPECIALIST
            nurse = C.SPECIALISED_NURSE if service in SPECIALISED_NURSING else C.NURSE
            doctors = _SPECIALISTS[type_] * (2 if service == "emergency" else 1)
            lines.append(NormLine(type_, service, doctor, doctors))
            lines.append(NormLine(type_, service, nurse, _NURSES[type_]))
            if service == "emergency":
                lines.append(NormLine(type_, service, C.SPECIALIST, 1))
            if service == "obstetrics_gynaecology":
                lines.append(NormLine(type_, service, C.MIDWIFE, _NURSES[type_]))
    return lines


@dataclass(frozen=True)
class Site:
    """An establishment as the gap computation sees it."""

    code: str
    type: EstablishmentType
    province: str
    services: frozenset[str]


@dataclass(frozen=True)
class GapLine:
    establishment: str
    province: str
    service: str
    category: Category
    required: float
    present: float  # full-time equivalents

    @property
    def gap(self) -> float:
        return round(self.present - self.required, 2)

    @property
    def deficit(self) -> float:
        return round(max(0.0, self.required - self.present), 2)

    @property
    def surplus(self) -> float:
        return round(max(0.0, self.present - self.required), 2)


def gap_lines(
    sites: Iterable[Site],
    norms: Sequence[NormLine],
    present: Mapping[tuple[str, str, Category], float],
) -> list[GapLine]:
    """Every (establishment, service, category) with a norm or with staff, and its gap.

    ``present`` holds the full-time equivalents by (establishment, service,
    category). A norm for a service applies where the service is offered;
    staff with no norm are a surplus.
    """
    by_type: dict[EstablishmentType, list[NormLine]] = defaultdict(list)
    for line in norms:
        by_type[line.establishment_type].append(line)
    staffed: dict[str, list[tuple[str, Category, float]]] = defaultdict(list)
    for (code, service, category), fte in present.items():
        staffed[code].append((service, category, fte))
    lines: list[GapLine] = []
    for site in sites:
        required: dict[tuple[str, Category], float] = {}
        for line in by_type.get(site.type, ()):
            if line.service and line.service not in site.services:
                continue
            required[(line.service, line.category)] = line.required
        here: dict[tuple[str, Category], float] = {
            (s, c): fte for s, c, fte in staffed.get(site.code, ())
        }
        for key in sorted(set(required) | set(here), key=lambda k: (k[0], k[1].value)):
            lines.append(
                GapLine(
                    site.code,
                    site.province,
                    key[0],
                    key[1],
                    required.get(key, 0.0),
                    round(here.get(key, 0.0), 2),
                )
            )
    return lines


@dataclass
class GapTotals:
    required: float = 0.0
    present: float = 0.0
    deficit: float = 0.0
    surplus: float = 0.0
    lines_below: int = 0

    def add(self, line: GapLine) -> None:
        self.required += line.required
        self.present += line.present
        missing = line.required - line.present
        if missing > 0:
            self.deficit += missing
            self.lines_below += 1
        else:
            self.surplus -= missing

    @property
    def gap(self) -> float:
        return round(self.present - self.required, 2)

    @property
    def coverage(self) -> float | None:
        return round(self.present / self.required, 3) if self.required else None

    def rounded(self) -> GapTotals:
        return GapTotals(
            round(self.required, 2),
            round(self.present, 2),
            round(self.deficit, 2),
            round(self.surplus, 2),
            self.lines_below,
        )


def totals_by(lines: Iterable[GapLine], key: str) -> dict[str, GapTotals]:
    """Totals of the gap lines grouped by ``establishment``, ``province``, ``category``…"""
    out: dict[str, GapTotals] = defaultdict(GapTotals)
    for line in lines:
        value = getattr(line, key)
        out[value.value if isinstance(value, StrEnum) else str(value)].add(line)
    return {k: v.rounded() for k, v in out.items()}


@dataclass
class GapSummary:
    region: GapTotals
    by_establishment: dict[str, GapTotals]
    by_province: dict[str, GapTotals]
    by_category: dict[str, GapTotals]


def summarise(lines: Iterable[GapLine]) -> GapSummary:
    """The totals of the region, of each establishment, province and category, in one pass."""
    region = GapTotals()
    by_est: dict[str, GapTotals] = defaultdict(GapTotals)
    by_province: dict[str, GapTotals] = defaultdict(GapTotals)
    by_category: dict[str, GapTotals] = defaultdict(GapTotals)
    for line in lines:
        region.add(line)
        by_est[line.establishment].add(line)
        by_province[line.province].add(line)
        by_category[line.category.value].add(line)
    return GapSummary(
        region.rounded(),
        {k: v.rounded() for k, v in by_est.items()},
        {k: v.rounded() for k, v in sorted(by_province.items())},
        {k: v.rounded() for k, v in by_category.items()},
    )


def density(headcount: int, population: int) -> float | None:
    """Professionals per 10,000 inhabitants."""
    return round(headcount * 10_000 / population, 2) if population else None


# --- the projection to 2030 ------------------------------------------------------------


@dataclass(frozen=True)
class ProjectionYear:
    year: int
    headcount: dict[str, int]  # by density group
    retirements: dict[str, int]
    recruitments: dict[str, int]
    population: int

    @property
    def total(self) -> int:
        return sum(self.headcount.values())

    @property
    def density(self) -> float | None:
        return density(self.total, self.population)


@dataclass(frozen=True)
class Projection:
    years: list[ProjectionYear]
    threshold: float = WHO_THRESHOLD
    hires_per_year: dict[str, float] = field(default_factory=dict)

    @property
    def needed_in_last_year(self) -> int:
        """Professionals missing to reach the threshold in the last year."""
        last = self.years[-1]
        target = self.threshold * last.population / 10_000
        return max(0, round(target - last.total))


def project(
    stock: Iterable[tuple[str, int]],
    *,
    start_year: int,
    population: int,
    population_growth: float,
    hires_per_year: Mapping[str, float],
    end_year: int = PROJECTION_YEAR,
) -> Projection:
    """Headcount of physicians, nurses and midwives by year, from the year's stock.

    ``stock`` gives (density group, birth year) of each professional present at
    the start; each one leaves at the end of the year they reach the
    retirement age; ``hires_per_year`` come in each year (young, so they do not
    retire before 2030); the population grows at ``population_growth`` a year.
    Other departures (resignations, deaths) are not modelled.
    """
    groups = list(DENSITY_GROUP_LABELS)
    leaving: dict[int, Counter[str]] = defaultdict(Counter)
    current: Counter[str] = Counter(dict.fromkeys(groups, 0))
    for group, birth_year in stock:
        current[group] += 1
        leaving[birth_year + RETIREMENT_AGE][group] += 1
    # Those already past the age at the start leave in the first year.
    for year in [y for y in leaving if y < start_year]:
        leaving[start_year].update(leaving.pop(year))
    years = [ProjectionYear(start_year, dict(current), {}, {}, population)]
    carry: dict[str, float] = dict.fromkeys(groups, 0.0)
    pop = float(population)
    for year in range(start_year + 1, end_year + 1):
        pop *= 1 + population_growth
        retired = {g: leaving[year - 1][g] for g in groups}
        hired: dict[str, int] = {}
        for g in groups:
            carry[g] += hires_per_year.get(g, 0.0)
            hired[g] = int(carry[g])
            carry[g] -= hired[g]
            current[g] = max(0, current[g] - retired[g] + hired[g])
        years.append(ProjectionYear(year, dict(current), retired, hired, round(pop)))
    return Projection(years, WHO_THRESHOLD, dict(hires_per_year))
