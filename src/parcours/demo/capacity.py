"""The services and beds of a demo establishment, by type.

Bed totals follow the ranges of Moroccan public hospitals of each level (CHU
about 750, regional 250–450, provincial 120–250, proximity 45–90); the total is
drawn in the range and split over the bedded services by weights that reflect
where beds are in a general hospital (medicine, surgery, obstetrics and
paediatrics first). Imaging and the laboratory have no beds. Among health
centres only the level-2 ones (CSR2, CSU2) hold a few beds, for deliveries.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from parcours.demo.apportion import apportion
from parcours.demo.places import DEFAULT_SPECIALISED_PROFILE, SPECIALISED_PROFILES
from parcours.territory.rules import SPECIALTIES, EstablishmentType

T = EstablishmentType

# Relative share of a hospital's beds per bedded service.
BED_WEIGHTS: dict[str, float] = {
    "internal_medicine": 10,
    "general_surgery": 9,
    "obstetrics_gynaecology": 9,
    "paediatrics": 7,
    "traumatology": 6,
    "psychiatry": 6,
    "oncology": 6,
    "cardiology": 4,
    "pulmonology": 4,
    "tuberculosis": 4,
    "anaesthesia_icu": 3,
    "nephrology": 3,
    "neurology": 3,
    "urology": 3,
    "gastroenterology": 3,
    "neonatology": 3,
    "neurosurgery": 3,
    "cardiac_surgery": 3,
    "infectious_diseases": 3,
    "emergency": 2,
    "ophthalmology": 2,
    "ent": 2,
    "endocrinology": 2,
    "burns": 2,
    "dermatology": 1,
}
NO_BEDS = frozenset({"radiology", "laboratory"})
MIN_BEDS_PER_SERVICE = 2

BED_RANGES: dict[EstablishmentType, tuple[int, int]] = {
    T.CHU: (700, 800),
    T.REGIONAL_HOSPITAL: (250, 450),
    T.SPECIALISED_HOSPITAL: (80, 160),
    T.PROVINCIAL_HOSPITAL: (120, 250),
    T.PROXIMITY_HOSPITAL: (45, 90),
}
DELIVERY_BEDS: dict[EstablishmentType, tuple[int, int]] = {
    T.CSU_2: (4, 10),
    T.CSR_2: (3, 8),
}

_HOSPITAL_ONLY = tuple(s.code for s in SPECIALTIES if s.hospital_only)

# Services every hospital of the type offers, then those it offers with a probability.
CORE: dict[EstablishmentType, tuple[str, ...]] = {
    T.CHU: (*_HOSPITAL_ONLY, "laboratory"),
    T.REGIONAL_HOSPITAL: (
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
        "traumatology",
        "ophthalmology",
        "ent",
        "urology",
        "neonatology",
        "radiology",
        "laboratory",
    ),
    T.SPECIALISED_HOSPITAL: ("radiology", "laboratory"),
    T.PROVINCIAL_HOSPITAL: (
        "emergency",
        "internal_medicine",
        "general_surgery",
        "paediatrics",
        "obstetrics_gynaecology",
        "anaesthesia_icu",
        "traumatology",
        "radiology",
        "laboratory",
    ),
    T.PROXIMITY_HOSPITAL: (
        "emergency",
        "internal_medicine",
        "general_surgery",
        "paediatrics",
        "obstetrics_gynaecology",
        "radiology",
        "laboratory",
    ),
    T.CSU_2: (
        "general_medicine",
        "maternal_child_health",
        "vaccination",
        "family_planning",
        "tuberculosis",
        "deliveries",
    ),
    T.CSU_1: ("general_medicine", "maternal_child_health", "vaccination", "family_planning"),
    T.CSR_2: (
        "general_medicine",
        "maternal_child_health",
        "vaccination",
        "family_planning",
        "tuberculosis",
        "deliveries",
    ),
    T.CSR_1: ("general_medicine", "maternal_child_health", "vaccination", "family_planning"),
    T.RURAL_DISPENSARY: ("general_medicine", "vaccination"),
}
OPTIONAL: dict[EstablishmentType, dict[str, float]] = {
    T.CHU: {},
    T.REGIONAL_HOSPITAL: {
        "oncology": 0.6,
        "endocrinology": 0.7,
        "gastroenterology": 0.7,
        "dermatology": 0.6,
        "infectious_diseases": 0.5,
        "neurosurgery": 0.4,
    },
    T.SPECIALISED_HOSPITAL: {},
    T.PROVINCIAL_HOSPITAL: {
        "nephrology": 0.7,  # haemodialysis
        "cardiology": 0.6,
        "pulmonology": 0.6,
        "neonatology": 0.5,
        "ophthalmology": 0.5,
        "ent": 0.5,
        "psychiatry": 0.4,
        "urology": 0.3,
    },
    T.PROXIMITY_HOSPITAL: {"anaesthesia_icu": 0.5, "nephrology": 0.4, "traumatology": 0.3},
    T.CSU_2: {"dental": 0.6, "laboratory": 0.6},
    T.CSU_1: {"tuberculosis": 0.5, "dental": 0.35, "laboratory": 0.1},
    T.CSR_2: {"dental": 0.3, "laboratory": 0.3},
    T.CSR_1: {"tuberculosis": 0.3, "dental": 0.1},
    T.RURAL_DISPENSARY: {"family_planning": 0.7, "maternal_child_health": 0.6},
}


@dataclass(frozen=True)
class ServicePlan:
    specialty: str
    beds: int


def plan_services(
    rng: random.Random, type_: EstablishmentType, name: str = ""
) -> tuple[ServicePlan, ...]:
    """The services of one establishment; ``name`` selects a specialised hospital's profile."""
    wanted = list(CORE[type_])
    if type_ is T.SPECIALISED_HOSPITAL:
        wanted += SPECIALISED_PROFILES.get(name, DEFAULT_SPECIALISED_PROFILE)
    for specialty, probability in OPTIONAL[type_].items():
        if rng.random() < probability and specialty not in wanted:
            wanted.append(specialty)
    beds = _beds(rng, type_, wanted)
    order = {s.code: i for i, s in enumerate(SPECIALTIES)}
    return tuple(
        ServicePlan(s, beds.get(s, 0)) for s in sorted(dict.fromkeys(wanted), key=order.__getitem__)
    )


def _beds(rng: random.Random, type_: EstablishmentType, services: list[str]) -> dict[str, int]:
    if type_ in DELIVERY_BEDS:
        low, high = DELIVERY_BEDS[type_]
        return {"deliveries": rng.randint(low, high)}
    if type_ not in BED_RANGES:
        return {}
    bedded = [s for s in services if s not in NO_BEDS]
    weights = {s: BED_WEIGHTS.get(s, 2) * rng.uniform(0.8, 1.25) for s in bedded}
    low, high = BED_RANGES[type_]
    return apportion(weights, rng.randint(low, high), dict.fromkeys(bedded, MIN_BEDS_PER_SERVICE))
