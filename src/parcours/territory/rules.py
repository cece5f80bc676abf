"""The establishment registry's vocabulary and rules, free of any framework.

Types carry their French label, their category (how the reform counts them:
1 CHU, 22 hospitals, 295 health centres) and their care level in the referral
chain (1 primary … 4 university).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class Category(StrEnum):
    CHU = "chu"
    HOSPITAL = "hospital"
    HEALTH_CENTRE = "health_centre"

    @property
    def label(self) -> str:
        return {"chu": "CHU", "hospital": "Hôpitaux", "health_centre": "Centres de santé"}[self]


@dataclass(frozen=True)
class TypeInfo:
    label: str
    short: str
    category: Category
    care_level: int
    colour: str


class EstablishmentType(StrEnum):
    CHU = "chu"
    REGIONAL_HOSPITAL = "regional_hospital"
    SPECIALISED_HOSPITAL = "specialised_hospital"
    PROVINCIAL_HOSPITAL = "provincial_hospital"
    PROXIMITY_HOSPITAL = "proximity_hospital"
    CSU_2 = "csu_2"
    CSU_1 = "csu_1"
    CSR_2 = "csr_2"
    CSR_1 = "csr_1"
    RURAL_DISPENSARY = "rural_dispensary"

    @property
    def info(self) -> TypeInfo:
        return TYPES[self]

    @property
    def label(self) -> str:
        return TYPES[self].label

    @property
    def category(self) -> Category:
        return TYPES[self].category

    @property
    def care_level(self) -> int:
        return TYPES[self].care_level


TYPES: dict[EstablishmentType, TypeInfo] = {
    EstablishmentType.CHU: TypeInfo(
        "Centre hospitalier universitaire", "CHU", Category.CHU, 4, "#7b1fa2"
    ),
    EstablishmentType.REGIONAL_HOSPITAL: TypeInfo(
        "Hôpital régional", "HR", Category.HOSPITAL, 3, "#c62828"
    ),
    EstablishmentType.SPECIALISED_HOSPITAL: TypeInfo(
        "Hôpital spécialisé", "HS", Category.HOSPITAL, 3, "#ad1457"
    ),
    EstablishmentType.PROVINCIAL_HOSPITAL: TypeInfo(
        "Hôpital provincial ou préfectoral", "HP", Category.HOSPITAL, 2, "#ef6c00"
    ),
    EstablishmentType.PROXIMITY_HOSPITAL: TypeInfo(
        "Hôpital de proximité", "HPr", Category.HOSPITAL, 2, "#f9a825"
    ),
    EstablishmentType.CSU_2: TypeInfo(
        "Centre de santé urbain niveau 2", "CSU2", Category.HEALTH_CENTRE, 1, "#1565c0"
    ),
    EstablishmentType.CSU_1: TypeInfo(
        "Centre de santé urbain niveau 1", "CSU1", Category.HEALTH_CENTRE, 1, "#42a5f5"
    ),
    EstablishmentType.CSR_2: TypeInfo(
        "Centre de santé rural niveau 2", "CSR2", Category.HEALTH_CENTRE, 1, "#2e7d32"
    ),
    EstablishmentType.CSR_1: TypeInfo(
        "Centre de santé rural niveau 1", "CSR1", Category.HEALTH_CENTRE, 1, "#66bb6a"
    ),
    EstablishmentType.RURAL_DISPENSARY: TypeInfo(
        "Dispensaire rural", "DR", Category.HEALTH_CENTRE, 1, "#8d6e63"
    ),
}

CARE_LEVEL_LABELS = {
    1: "Niveau 1 : soins de santé primaires",
    2: "Niveau 2 : hôpital de proximité, provincial ou préfectoral",
    3: "Niveau 3 : hôpital régional",
    4: "Niveau 4 : centre hospitalier universitaire",
}


class Status(StrEnum):
    PLANNED = "planned"
    UNDER_CONSTRUCTION = "under_construction"
    OPEN = "open"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return {
            "planned": "Programmé",
            "under_construction": "En construction",
            "open": "En service",
            "closed": "Fermé",
        }[self]


# A status moves forward; reopening a closed establishment is a new decision, allowed.
STATUS_TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.PLANNED: frozenset({Status.UNDER_CONSTRUCTION, Status.OPEN, Status.CLOSED}),
    Status.UNDER_CONSTRUCTION: frozenset({Status.OPEN, Status.CLOSED}),
    Status.OPEN: frozenset({Status.CLOSED}),
    Status.CLOSED: frozenset({Status.OPEN}),
}


def can_move(current: Status, target: Status) -> bool:
    return target == current or target in STATUS_TRANSITIONS[current]


@dataclass(frozen=True)
class SpecialtyInfo:
    code: str
    name: str
    hospital_only: bool


# The controlled list of services an establishment may offer.
SPECIALTIES: tuple[SpecialtyInfo, ...] = (
    SpecialtyInfo("general_medicine", "Médecine générale", False),
    SpecialtyInfo("maternal_child_health", "Santé maternelle et infantile", False),
    SpecialtyInfo("vaccination", "Vaccination", False),
    SpecialtyInfo("family_planning", "Planification familiale", False),
    SpecialtyInfo("deliveries", "Maison d'accouchement", False),
    SpecialtyInfo("dental", "Soins bucco-dentaires", False),
    SpecialtyInfo("tuberculosis", "Lutte antituberculeuse", False),
    SpecialtyInfo("laboratory", "Laboratoire", False),
    SpecialtyInfo("emergency", "Urgences", True),
    SpecialtyInfo("internal_medicine", "Médecine interne", True),
    SpecialtyInfo("general_surgery", "Chirurgie générale", True),
    SpecialtyInfo("paediatrics", "Pédiatrie", True),
    SpecialtyInfo("obstetrics_gynaecology", "Gynécologie-obstétrique", True),
    SpecialtyInfo("anaesthesia_icu", "Anesthésie-réanimation", True),
    SpecialtyInfo("cardiology", "Cardiologie", True),
    SpecialtyInfo("pulmonology", "Pneumo-phtisiologie", True),
    SpecialtyInfo("nephrology", "Néphrologie et hémodialyse", True),
    SpecialtyInfo("neurology", "Neurologie", True),
    SpecialtyInfo("psychiatry", "Psychiatrie", True),
    SpecialtyInfo("oncology", "Oncologie", True),
    SpecialtyInfo("traumatology", "Traumatologie-orthopédie", True),
    SpecialtyInfo("ophthalmology", "Ophtalmologie", True),
    SpecialtyInfo("ent", "Oto-rhino-laryngologie", True),
    SpecialtyInfo("urology", "Urologie", True),
    SpecialtyInfo("dermatology", "Dermatologie", True),
    SpecialtyInfo("endocrinology", "Endocrinologie-diabétologie", True),
    SpecialtyInfo("gastroenterology", "Gastro-entérologie", True),
    SpecialtyInfo("neonatology", "Néonatologie", True),
    SpecialtyInfo("neurosurgery", "Neurochirurgie", True),
    SpecialtyInfo("cardiac_surgery", "Chirurgie cardio-vasculaire", True),
    SpecialtyInfo("infectious_diseases", "Maladies infectieuses", True),
    SpecialtyInfo("radiology", "Imagerie médicale", True),
    SpecialtyInfo("burns", "Grands brûlés", True),
)
SPECIALTY_CODES = frozenset(s.code for s in SPECIALTIES)

CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,38}[A-Z0-9]$")


def normalise_code(code: str) -> str:
    return code.strip().upper()


def search_key(text: str) -> str:
    """Lower-case, accent-free, single-spaced form used for tolerant name search."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    cleaned = re.sub(r"[^0-9a-z]+", " ", stripped.lower().replace("'", " "))
    return " ".join(cleaned.split())


@dataclass(frozen=True)
class ServiceLine:
    specialty: str
    beds: int


def validate_establishment(
    *,
    code: str,
    name: str,
    type_: EstablishmentType,
    latitude: float | None,
    longitude: float | None,
    catchment_population: int | None,
    status: Status,
    opened_on: date | None,
    closed_on: date | None,
    services: list[ServiceLine],
) -> list[str]:
    """Everything that is wrong with an establishment, in French, empty when valid."""
    problems: list[str] = []
    if not CODE_PATTERN.match(code):
        problems.append(
            f"code « {code} » invalide : 3 à 40 caractères, majuscules, chiffres et tirets"
        )
    if not name.strip():
        problems.append("le nom est obligatoire")
    if (latitude is None) != (longitude is None):
        problems.append("latitude et longitude vont ensemble")
    if latitude is not None and not -90 <= latitude <= 90:
        problems.append(f"latitude hors limites : {latitude}")
    if longitude is not None and not -180 <= longitude <= 180:
        problems.append(f"longitude hors limites : {longitude}")
    if catchment_population is not None and catchment_population < 0:
        problems.append("la population desservie ne peut être négative")
    if status is Status.CLOSED and closed_on is None:
        problems.append("un établissement fermé a une date de fermeture")
    if opened_on and closed_on and closed_on < opened_on:
        problems.append("la date de fermeture précède la date d'ouverture")
    seen: set[str] = set()
    for line in services:
        if line.specialty not in SPECIALTY_CODES:
            problems.append(f"spécialité inconnue : {line.specialty}")
        if line.specialty in seen:
            problems.append(f"spécialité en double : {line.specialty}")
        seen.add(line.specialty)
        if line.beds < 0:
            problems.append(f"nombre de lits négatif pour {line.specialty}")
        if (
            line.beds > 0
            and type_.category is Category.HEALTH_CENTRE
            and type_ not in (EstablishmentType.CSR_2, EstablishmentType.CSU_2)
        ):
            problems.append(f"un {type_.label.lower()} n'a pas de lits d'hospitalisation")
    return problems


def diff(before: dict[str, object], after: dict[str, object]) -> dict[str, tuple[object, object]]:
    """Fields that changed between two snapshots, for the history page."""
    keys = sorted(set(before) | set(after))
    return {k: (before.get(k), after.get(k)) for k in keys if before.get(k) != after.get(k)}
