"""Encounters and the bed census, as pure rules.

An encounter (FHIR Encounter) is a person's contact with one establishment:
a consultation, an emergency visit, or a hospital stay opened by an admission
and closed by a discharge with its mode. The census of a hospital service is
its declared beds against the stays still open in it: admitting takes a free
bed, discharging frees it, occupancy is occupied / declared. Overflow (extra
beds, stretchers in corridors) is a reality of public hospitals; it is allowed
only when asked for explicitly, and then shows as an occupancy above 100 %.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from parcours.errors import Conflict
from parcours.pathways.icd10 import check_code
from parcours.territory.rules import SPECIALTY_CODES


class EncounterKind(StrEnum):
    CONSULTATION = "consultation"
    EMERGENCY = "emergency"
    ADMISSION = "admission"
    DISCHARGE = "discharge"

    @property
    def label(self) -> str:
        return {
            "consultation": "Consultation",
            "emergency": "Passage aux urgences",
            "admission": "Hospitalisation (admission)",
            "discharge": "Sortie d'hospitalisation",
        }[self]

    @property
    def colour(self) -> str:
        return {
            "consultation": "#1565c0",
            "emergency": "#c62828",
            "admission": "#ef6c00",
            "discharge": "#2e7d32",
        }[self]

    @property
    def fhir_class(self) -> str:
        """FHIR v3 ActEncounterCode: ambulatory, emergency, inpatient."""
        return {
            "consultation": "AMB",
            "emergency": "EMER",
            "admission": "IMP",
            "discharge": "IMP",
        }[self]

    @property
    def occupies_bed(self) -> bool:
        return self is EncounterKind.ADMISSION


class DischargeMode(StrEnum):
    HOME = "home"
    TRANSFER = "transfer"
    DEATH = "death"
    AGAINST_ADVICE = "against_advice"

    @property
    def label(self) -> str:
        return {
            "home": "Retour à domicile",
            "transfer": "Transfert vers un autre établissement",
            "death": "Décès",
            "against_advice": "Sortie contre avis médical",
        }[self]

    @property
    def colour(self) -> str:
        return {
            "home": "#2e7d32",
            "transfer": "#6a1b9a",
            "death": "#212121",
            "against_advice": "#ef6c00",
        }[self]

    @property
    def fhir_code(self) -> str:
        """FHIR discharge-disposition code."""
        return {
            "home": "home",
            "transfer": "other-hcf",
            "death": "exp",
            "against_advice": "aadvice",
        }[self]


def validate_encounter(
    *,
    kind: EncounterKind,
    start: datetime,
    end: datetime | None = None,
    specialty: str | None = None,
    discharge_mode: DischargeMode | None = None,
    transfer_to: str | None = None,
    diagnoses: Iterable[str] = (),
) -> list[str]:
    """Everything wrong with an encounter, in French (empty when valid).

    Diagnosis codes need only a valid ICD-10 format; whether the compact list
    knows them is for the form to show, not a reason to refuse.
    """
    problems: list[str] = []
    aware = start.tzinfo is not None and (end is None or end.tzinfo is not None)
    if not aware:
        problems.append("les dates doivent préciser leur fuseau horaire")
    elif end is not None and end < start:
        problems.append("la fin précède le début")
    if specialty is not None and specialty not in SPECIALTY_CODES:
        problems.append(f"service inconnu : {specialty}")
    if kind in (EncounterKind.ADMISSION, EncounterKind.DISCHARGE) and specialty is None:
        problems.append("une hospitalisation précise le service d'accueil")
    if kind is EncounterKind.DISCHARGE:
        if discharge_mode is None:
            problems.append("une sortie précise son mode (domicile, transfert, décès, contre avis)")
        if end is None:
            problems.append("une sortie a une date de fin")
    elif discharge_mode is not None:
        problems.append("seule une sortie a un mode de sortie")
    if discharge_mode is DischargeMode.TRANSFER and not (transfer_to or "").strip():
        problems.append("un transfert précise l'établissement de destination")
    for code in diagnoses:
        check = check_code(code)
        if not check.valid:
            problems.append(check.message)
    return problems


# --- the bed census ----------------------------------------------------------------


CENSUS_MESSAGES = {
    "service_has_no_beds": "Le service {specialty} de {establishment} n'a pas de lits déclarés.",
    "service_full": (
        "Service {specialty} de {establishment} complet : {occupied} lits occupés sur "
        "{declared}. Admettre en surnombre doit être demandé explicitement."
    ),
    "nothing_to_discharge": (
        "Aucun patient hospitalisé dans le service {specialty} de {establishment}."
    ),
    "negative_beds": "Le nombre de lits déclarés ne peut être négatif ({declared}).",
}


class CensusRefused(Conflict):
    """An admission or discharge the census does not allow (HTTP 409), with a code."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(CENSUS_MESSAGES[code], code=code, **params)


@dataclass(frozen=True)
class ServiceCensus:
    """One hospital service's beds right now."""

    establishment: str
    specialty: str
    declared: int
    occupied: int = 0

    @property
    def free(self) -> int:
        return max(self.declared - self.occupied, 0)

    @property
    def occupancy(self) -> float | None:
        return occupancy(self.occupied, self.declared)

    @property
    def over_capacity(self) -> bool:
        return self.occupied > self.declared


def occupancy(occupied: int, declared: int) -> float | None:
    """Occupied / declared; None for a service without declared beds."""
    if declared <= 0:
        return None
    return occupied / declared


def admit(census: ServiceCensus, *, overflow: bool = False) -> ServiceCensus:
    """The census after one admission; refused without a free bed unless ``overflow``."""
    params = {"specialty": census.specialty, "establishment": census.establishment}
    if census.declared <= 0 and not overflow:
        raise CensusRefused("service_has_no_beds", **params)
    if census.free <= 0 and not overflow:
        raise CensusRefused(
            "service_full", occupied=census.occupied, declared=census.declared, **params
        )
    return replace(census, occupied=census.occupied + 1)


def discharge(census: ServiceCensus) -> ServiceCensus:
    """The census after one discharge (whatever its mode: home, transfer, death…)."""
    if census.occupied <= 0:
        raise CensusRefused(
            "nothing_to_discharge",
            specialty=census.specialty,
            establishment=census.establishment,
        )
    return replace(census, occupied=census.occupied - 1)


def redeclare(census: ServiceCensus, declared: int) -> ServiceCensus:
    """New declared beds; occupants stay (the service may then be over capacity)."""
    if declared < 0:
        raise CensusRefused("negative_beds", declared=declared)
    return replace(census, declared=declared)


def occupied_at(stays: Iterable[tuple[datetime, datetime | None]], at: datetime) -> int:
    """How many stays (admitted, discharged-or-None) are open at ``at``.

    A patient discharged at ``at`` no longer occupies the bed; one admitted at
    ``at`` does.
    """
    return sum(1 for start, end in stays if start <= at and (end is None or end > at))


class OccupancyLevel(StrEnum):
    UNKNOWN = "unknown"
    NORMAL = "normal"
    HIGH = "high"
    SATURATED = "saturated"

    @property
    def label(self) -> str:
        return {
            "unknown": "Sans lits déclarés",
            "normal": "Occupation normale",
            "high": "Occupation élevée",
            "saturated": "Saturé",
        }[self]

    @property
    def colour(self) -> str:
        return {
            "unknown": "#9e9e9e",
            "normal": "#2e7d32",
            "high": "#ef6c00",
            "saturated": "#c62828",
        }[self]


# 85 %: the usual threshold above which a hospital service can no longer absorb
# the day-to-day variation of admissions.
HIGH_OCCUPANCY = 0.85


def occupancy_level(rate: float | None) -> OccupancyLevel:
    if rate is None:
        return OccupancyLevel.UNKNOWN
    if rate >= 1.0:
        return OccupancyLevel.SATURATED
    if rate >= HIGH_OCCUPANCY:
        return OccupancyLevel.HIGH
    return OccupancyLevel.NORMAL


@dataclass(frozen=True)
class CensusTotal:
    declared: int
    occupied: int
    free: int

    @property
    def occupancy(self) -> float | None:
        return occupancy(self.occupied, self.declared)


def total(censuses: Iterable[ServiceCensus]) -> CensusTotal:
    """Sum over services (of an establishment, a province, the region)."""
    declared = occupied = free = 0
    for c in censuses:
        declared += c.declared
        occupied += c.occupied
        free += c.free
    return CensusTotal(declared, occupied, free)
