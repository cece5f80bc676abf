"""The demo's care activity, planned from a seed without touching a database.

About eighteen months around the pilot's start (1 October 2025): from
``WINDOW_START`` to the day the demo is built (``until``). What is drawn, and
how it stays coherent:

* **referrals** along the pathway map (the destination the current map version
  designates; ``OUTSIDE_MAP`` of them elsewhere, most often straight to the
  CHU), by specialty with the volumes of a region (obstetrics-gynaecology,
  cardiology, general surgery, ophthalmology, paediatrics, orthopaedics and
  internal medicine lead), from health centres mostly and from hospitals to
  the level above. Their fates: answers within the hour for an urgent one,
  within a day for a priority one, within days for a routine one, a few late;
  about 8 % refused with their reason, 4 % redirected (a child referral), 5 %
  expired unanswered, a few cancelled; accepted ones get an appointment, the
  patient comes (a consultation, or a stay for a bed request), and most come
  back with their counter-referral. Fewer referrals were recorded before the
  pilot (back-captured from the registers); the volume grows after it;
* **expiries** follow a nightly sweep (``parcours pathways expire`` run by the
  pilot's scheduler at 02:00 UTC): an answer after the deadline but before
  the next sweep is late, after it the referral had expired. So an unanswered
  referral whose deadline fell on the last evening is still overdue at the end;
* **encounters**: consultations mostly at health centres (chronic follow-ups,
  prenatal care and deliveries, child checks, acute care; ICD-10 codes of the
  compact list that fit the age, sex, setting and season), emergency visits at
  hospitals (some admitted), stays with lengths of stay of their service, and
  arrivals at the CHU without referral (the bypass the map tries to prevent),
  emergencies among them;
* **the end** (``until``) leaves live work: referrals sent and not answered
  (some overdue, some due soon), accepted ones with appointments in the coming
  days, and patients in beds — the open stays fill each service to a drawn
  occupancy (50–95 % for most, a few saturated; the rural maternity houses
  less, as they are), within the persons there are;
* **the showcase persons** of the patients plan get hand-written pathways:
  Mohammed Elamrani (urban centre → hospital → CHU for his heart, with the
  counter-referrals back and a follow-up appointment coming), Abdeslam
  Touzani (rural centre → regional hospital → CHU oncology), Khadija Riffi (a
  redirect), the others a few visits;
* **focus** establishments (the demo users') are sure to have live work in
  their inboxes.

A person is never in two places at once: stays do not overlap, nothing happens
after a death or once a person is in the bed they are still in at the end.
Encounters and referrals hang from the person's record at the establishment,
else from their newest one (as the use cases do). Referrals are *scripts*:
their histories are played by the state machine when loaded
(``parcours.pathways.bulk``), which refuses any step the rules do not allow.
Deterministic for (seed, scale, until, inputs).
"""

from __future__ import annotations

import math
import random
import zlib
from bisect import bisect_right
from collections import Counter, defaultdict, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate

from parcours.pathways import icd10
from parcours.pathways.encounter import DischargeMode, EncounterKind
from parcours.pathways.geo import distance_km
from parcours.pathways.pathway_map import (
    LEVEL_4_SPECIALTIES,
    Establishment,
    MapIndex,
    MapVersion,
    specialty_name,
)
from parcours.pathways.referral import (
    DEFAULT_ANSWER_DEADLINES,
    NO_PAYLOAD,
    Action,
    Payload,
    Priority,
    Side,
)
from parcours.territory.rules import Category

WINDOW_START = datetime(2025, 6, 1, tzinfo=UTC)
PILOT_START = datetime(2025, 10, 1, tzinfo=UTC)
#: How much slower than the drawn medians referrals were answered: on paper before the
#: pilot, then faster month after month as the GST's regulation settled in (the reform's
#: "shorter management delays", which the indicators' before/after comparison shows).
PAPER_PACE = 1.7
SETTLED_PACE = 0.75
SETTLING_DAYS = 365


def reform_pace(at: datetime) -> float:
    """The factor on answer delays at ``at``: ``PAPER_PACE`` before the pilot, then down
    from 1.2 to ``SETTLED_PACE`` over its first ``SETTLING_DAYS``."""
    if at < PILOT_START:
        return PAPER_PACE
    progress = min(1.0, (at - PILOT_START).days / SETTLING_DAYS)
    return 1.2 + (SETTLED_PACE - 1.2) * progress


#: Volumes at scale 1 (the demo's ~3,000 persons): encounters (arrivals included), referrals.
ENCOUNTERS = 30_000
REFERRALS = 3_000
#: Share of referrals sent elsewhere than where the map designates.
OUTSIDE_MAP = 0.12
#: At most this share of the persons is in a bed at the end.
OPEN_STAY_CAP = 0.85
#: Who records an expiry (``parcours.pathways.service.SYSTEM_ACTOR``).
EXPIRY_ACTOR = "system:pathways"
SWEEP_HOUR_UTC = 2

H = timedelta(hours=1)
D = timedelta(days=1)
_FAR = datetime(9999, 1, 1, tzinfo=UTC)


# --- what the plan reads and what it gives ----------------------------------------------------


@dataclass(frozen=True)
class RecordRef:
    """A source record and its person (the MPI's, or a showcase's ``SHOW-…`` key)."""

    record_id: int
    establishment: str | None
    person: str
    sex: str | None = None
    birth_year: int | None = None


@dataclass(frozen=True)
class PlannedStep:
    action: Action
    at: datetime
    side: Side
    by: str
    payload: Payload = NO_PAYLOAD


@dataclass(frozen=True)
class PlannedReferral:
    person: str
    record_id: int
    source: str
    destination: str
    specialty: str
    priority: Priority
    created_at: datetime
    by: str
    reason: str
    steps: tuple[PlannedStep, ...]
    clinical_summary: str | None = None
    referring_professional: str | None = None
    bed_request: bool = False
    bed_service: str | None = None
    arrival_diagnoses: tuple[str, ...] = ()
    stay_end: datetime | None = None
    stay_discharge_mode: DischargeMode | None = None
    designated: str | None = None  # what the map designated when it was planned
    outcome: str = ""  # what was drawn (completed, refused, …), before the cut at ``until``

    @property
    def arrived(self) -> bool:
        return any(s.action is Action.ARRIVE for s in self.steps)

    @property
    def final_destination(self) -> str:
        destination = self.destination
        for s in self.steps:
            if s.action is Action.REDIRECT and s.payload.destination:
                destination = s.payload.destination
        return destination


@dataclass(frozen=True)
class PlannedEncounter:
    person: str
    record_id: int
    establishment: str
    kind: EncounterKind
    start_at: datetime
    by: str
    specialty: str | None = None
    end_at: datetime | None = None
    diagnoses: tuple[str, ...] = ()
    discharge_mode: DischargeMode | None = None
    transfer_to: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class ActivityPlan:
    encounters: tuple[PlannedEncounter, ...]
    referrals: tuple[PlannedReferral, ...]
    start: datetime
    until: datetime
    census_target: Mapping[tuple[str, str], int]  # open stays aimed at, per service

    @property
    def arrivals(self) -> int:
        return sum(1 for r in self.referrals if r.arrived)

    @property
    def total_encounters(self) -> int:
        """Encounters the load writes: the planned ones and one per arrival."""
        return len(self.encounters) + self.arrivals

    def open_stays(self) -> Counter[tuple[str, str]]:
        """Stays still open at ``until``, per (establishment, service)."""
        out: Counter[tuple[str, str]] = Counter()
        for e in self.encounters:
            if e.kind is EncounterKind.ADMISSION and e.end_at is None and e.specialty:
                out[(e.establishment, e.specialty)] += 1
        for r in self.referrals:
            if r.bed_request and r.arrived and r.stay_end is None:
                out[(r.final_destination, r.bed_service or r.specialty)] += 1
        return out

    def counts(self) -> dict[str, int]:
        kinds = Counter(e.kind for e in self.encounters)
        kinds[EncounterKind.CONSULTATION] += sum(
            1 for r in self.referrals if r.arrived and not r.bed_request
        )
        kinds[EncounterKind.ADMISSION] += sum(
            1 for r in self.referrals if r.arrived and r.bed_request
        )
        return {
            "consultations": kinds[EncounterKind.CONSULTATION],
            "urgences": kinds[EncounterKind.EMERGENCY],
            "hospitalisations": kinds[EncounterKind.ADMISSION],
            "références": len(self.referrals),
            "réorientations": sum(
                1 for r in self.referrals if any(s.action is Action.REDIRECT for s in r.steps)
            ),
            "lits occupés": sum(self.open_stays().values()),
        }


# --- clinical tables ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Specialty:
    """A specialty as referrals see it."""

    code: str
    weight: float  # share of the region's referrals
    who: str  # the persons it concerns: child, infant, woman, older, man_older, adult, any
    source_codes: tuple[str, ...]  # why the referring establishment refers
    seen_codes: tuple[str, ...]  # what the specialist finds
    urgent_codes: tuple[str, ...]  # the urgent transfers
    wait_days: tuple[int, int]  # a routine appointment's delay
    conduct: str  # the counter-referral's conduct to hold


SPECIALTIES: tuple[_Specialty, ...] = (
    _Specialty(
        "obstetrics_gynaecology",
        14,
        "woman",
        ("Z35.9", "O14.9", "O24.4", "O99.0", "O20.0", "O34.2", "N93.9", "N97.9", "D25.9"),
        ("Z35.9", "O14.9", "O24.4", "O34.2", "D25.9", "N83.2", "O99.0"),
        ("O14.1", "O15.0", "O72.0", "O44.1", "O45.9", "O42.9", "O60.0"),
        (5, 25),
        "Surveillance rapprochée, bilan fait ; accouchement prévu en milieu hospitalier.",
    ),
    _Specialty(
        "cardiology",
        12,
        "older",
        ("I10", "R07.4", "R06.0", "I50.9", "I48.9"),
        ("I10", "I20.9", "I50.9", "I48.9", "I25.1", "I05.0", "I42.0"),
        ("I21.9", "I20.0", "I50.0"),
        (10, 45),
        "ECG et échocardiographie faits, traitement adapté ; suivi tensionnel au centre, "
        "contrôle cardiologique dans six mois.",
    ),
    _Specialty(
        "general_surgery",
        10,
        "adult",
        ("K40.9", "K42.9", "K80.2", "B67.0", "K64.9", "R10.4", "L02.9"),
        ("K40.9", "K42.9", "K80.2", "B67.0", "K64.9", "K80.0"),
        ("K35.2", "K56.6", "K35.8", "K81.0"),
        (10, 50),
        "Intervention programmée ou réalisée, suites simples ; soins de plaie et ablation des "
        "fils au centre de santé.",
    ),
    _Specialty(
        "ophthalmology",
        9,
        "older",
        ("H25.9", "H40.9", "H36.0", "H52.7", "H10.9"),
        ("H25.9", "H40.9", "H36.0", "H52.7"),
        (),
        (20, 75),
        "Examen du fond d'œil et de la tension oculaire ; traitement prescrit, chirurgie "
        "programmée si besoin.",
    ),
    _Specialty(
        "paediatrics",
        9,
        "child",
        ("J45.9", "E44.0", "R56.0", "D50.9", "J21.9", "Q90.9", "D57.1"),
        ("J45.9", "E44.0", "D50.9", "G40.9", "D57.1", "Q21.0"),
        ("J21.9", "R56.0", "E86", "A39.0", "E43"),
        (7, 30),
        "Bilan fait, traitement instauré ; suivi de la croissance au centre de santé.",
    ),
    _Specialty(
        "traumatology",
        8,
        "adult",
        ("M17.9", "M16.9", "S52.5", "S93.4", "M54.3", "S82.2"),
        ("M17.9", "M16.9", "S52.5", "M54.3", "S82.2"),
        ("S72.0", "S72.3", "S82.2", "T07"),
        (15, 60),
        "Immobilisation ou ostéosynthèse faite ; rééducation et contrôle radiologique à "
        "six semaines.",
    ),
    _Specialty(
        "internal_medicine",
        8,
        "adult",
        ("E11.9", "D64.9", "B18.1", "B18.2", "A23.9", "R50.9", "R53"),
        ("E11.9", "D64.9", "B18.1", "A23.9", "K74.6", "E78.5"),
        ("A41.9", "E10.1", "N39.0"),
        (7, 40),
        "Bilan complet réalisé ; traitement ajusté, surveillance biologique au centre.",
    ),
    _Specialty(
        "ent",
        4,
        "any",
        ("H66.9", "J35.3", "J01.9", "H81.1", "R04.0"),
        ("H66.9", "J35.3", "J01.9", "H81.1"),
        (),
        (10, 45),
        "Examen ORL fait ; traitement médical, amygdalectomie programmée si récidives.",
    ),
    _Specialty(
        "endocrinology",
        4,
        "older",
        ("E11.9", "E10.9", "E05.0", "E04.9", "E03.9", "E66.9"),
        ("E11.5", "E10.9", "E05.0", "E04.9", "E03.9"),
        (),
        (15, 50),
        "Équilibre glycémique revu, schéma d'insuline adapté ; éducation thérapeutique.",
    ),
    _Specialty(
        "nephrology",
        3,
        "older",
        ("N18.9", "N18.5", "N20.0", "E11.5"),
        ("N18.9", "N18.5", "Z49.1"),
        ("N17.9",),
        (7, 30),
        "Fonction rénale suivie ; préparation à l'hémodialyse si aggravation.",
    ),
    _Specialty(
        "pulmonology",
        3,
        "adult",
        ("J44.9", "J45.9", "A15.0", "R05", "J42"),
        ("J44.9", "J45.9", "A15.0", "A16.2"),
        ("J46", "J93.9", "J44.1"),
        (7, 35),
        "Spirométrie faite, traitement de fond prescrit ; suivi au centre de santé.",
    ),
    _Specialty(
        "neurology",
        3,
        "adult",
        ("G40.9", "G43.9", "G45.9", "G20", "G35", "G51.0"),
        ("G40.9", "G43.9", "G20", "G35", "G51.0"),
        ("I63.9", "I64", "G41.9"),
        (15, 60),
        "Examen neurologique et imagerie ; traitement instauré, revoir dans trois mois.",
    ),
    _Specialty(
        "psychiatry",
        2.5,
        "adult",
        ("F32.9", "F20.9", "F41.1", "F31.9", "F12.2"),
        ("F32.9", "F20.9", "F41.1", "F31.9", "F12.2"),
        ("F20.9",),
        (10, 40),
        "Traitement instauré ; suivi psychiatrique mensuel, observance à surveiller.",
    ),
    _Specialty(
        "gastroenterology",
        3,
        "adult",
        ("K21.9", "K25.9", "K29.7", "B18.1", "K92.2", "K51.9"),
        ("K21.9", "K25.9", "K29.7", "K51.9", "K50.9"),
        ("K92.0", "K92.2"),
        (15, 50),
        "Fibroscopie faite ; traitement d'éradication ou de fond prescrit.",
    ),
    _Specialty(
        "urology",
        2.5,
        "man_older",
        ("N40", "N20.1", "R31", "R33"),
        ("N40", "N20.0", "N20.1", "C67.9"),
        ("N20.1", "R33"),
        (15, 50),
        "Échographie et bilan faits ; traitement médical, intervention programmée si besoin.",
    ),
    _Specialty(
        "dermatology",
        2,
        "any",
        ("L40.9", "B55.1", "L20.9", "L50.9"),
        ("L40.9", "B55.1", "L20.9"),
        (),
        (15, 50),
        "Traitement local prescrit ; revoir en cas de récidive.",
    ),
    _Specialty(
        "oncology",
        2,
        "older",
        ("C50.9", "C53.9", "C61", "C34.9", "C18.9"),
        ("C50.9", "C53.9", "C61", "C34.9", "C18.9", "Z51.1"),
        (),
        (5, 20),
        "Dossier présenté en réunion de concertation ; protocole de chimiothérapie établi, "
        "soins de support au centre.",
    ),
    _Specialty(
        "infectious_diseases",
        1,
        "adult",
        ("B24", "B18.2", "A23.9", "B55.0"),
        ("B24", "B18.2", "A23.9", "B55.0"),
        (),
        (7, 30),
        "Traitement spécifique instauré ; dépistage de l'entourage proposé.",
    ),
    _Specialty(
        "neurosurgery",
        0.8,
        "adult",
        ("M51.1", "S06.9", "C71.9"),
        ("M51.1", "C71.9"),
        ("S06.9", "I60.9", "I61.9"),
        (15, 60),
        "Avis neurochirurgical donné ; intervention programmée ou traitement conservateur.",
    ),
    _Specialty(
        "cardiac_surgery",
        0.5,
        "adult",
        ("I05.0", "Q21.0", "I25.1"),
        ("I05.0", "Q21.0", "I25.1"),
        (),
        (20, 70),
        "Indication opératoire posée ; intervention programmée, anticoagulation à surveiller.",
    ),
    _Specialty(
        "neonatology",
        0.8,
        "infant",
        ("P07.3", "P59.9"),
        ("P07.3", "P59.9"),
        ("P22.0", "P07.3", "P36.9"),
        (3, 10),
        "Nouveau-né stabilisé ; suivi pondéral et vaccinations au centre de santé.",
    ),
    _Specialty(
        "anaesthesia_icu",
        1.2,
        "adult",
        ("J96.0",),
        ("J96.0", "A41.9"),
        ("J96.0", "A41.9", "T63.2", "T58"),
        (1, 3),
        "Patient stabilisé en réanimation puis transféré en salle ; suivi au centre.",
    ),
    _Specialty(
        "burns",
        0.3,
        "any",
        ("T31.1",),
        ("T31.1",),
        ("T31.1", "T30.0"),
        (3, 10),
        "Greffe et pansements faits ; pansements à poursuivre au centre de santé.",
    ),
)
SPECIALTY_BY_CODE: Mapping[str, _Specialty] = {s.code: s for s in SPECIALTIES}
#: Referred only as urgent transfers between hospitals.
_URGENT_ONLY = frozenset({"anaesthesia_icu", "burns"})

# Mean length of stay (days) by service.
LENGTH_OF_STAY: Mapping[str, float] = {
    "internal_medicine": 6,
    "general_surgery": 4,
    "obstetrics_gynaecology": 2.5,
    "deliveries": 1,
    "paediatrics": 4,
    "traumatology": 6,
    "psychiatry": 21,
    "anaesthesia_icu": 5,
    "pulmonology": 8,
    "tuberculosis": 30,
    "cardiology": 5,
    "emergency": 0.8,
    "nephrology": 5,
    "neonatology": 8,
    "gastroenterology": 5,
    "ophthalmology": 2,
    "oncology": 6,
    "infectious_diseases": 8,
    "ent": 2,
    "urology": 4,
    "neurology": 7,
    "endocrinology": 6,
    "neurosurgery": 10,
    "cardiac_surgery": 12,
    "burns": 18,
    "dermatology": 5,
}

# What patients are in each service for.
INPATIENT: Mapping[str, tuple[str, ...]] = {
    "internal_medicine": ("E11.5", "I50.9", "J18.9", "N39.0", "A41.9", "D64.9", "K74.6", "E86"),
    "general_surgery": ("K35.8", "K35.2", "K80.0", "K81.0", "K40.9", "K56.6", "B67.0", "L02.9"),
    "obstetrics_gynaecology": ("O80", "O82", "O14.1", "O42.9", "O20.0", "O03.9", "D25.9", "O72.0"),
    "deliveries": ("O80", "O70.0"),
    "paediatrics": ("J21.9", "J18.0", "A09.0", "E86", "R56.0", "J45.9", "E43", "G40.9"),
    "neonatology": ("P07.3", "P22.0", "P59.9", "P36.9", "P21.9"),
    "traumatology": ("S72.0", "S72.3", "S82.2", "S52.5", "S42.2", "T07", "M16.9"),
    "psychiatry": ("F20.9", "F31.9", "F32.9", "F10.2", "F11.2", "F12.2"),
    "anaesthesia_icu": ("A41.9", "J96.0", "S06.9", "T63.2", "T58", "I61.9", "T07"),
    "pulmonology": ("J44.1", "J18.9", "A15.0", "J90", "J93.9", "C34.9", "J46"),
    "tuberculosis": ("A15.0", "A16.2", "A18.2"),
    "cardiology": ("I21.9", "I50.0", "I48.9", "I20.0", "I26.9", "I05.0", "I42.0"),
    "emergency": ("R07.4", "R10.4", "J46", "T63.2", "N23", "S06.0", "T50.9", "R55"),
    "nephrology": ("N17.9", "N18.5", "N10"),
    "gastroenterology": ("K92.2", "K92.0", "K85.9", "K70.3", "K74.6", "K51.9"),
    "ophthalmology": ("H25.9", "H40.9", "H36.0"),
    "oncology": ("C50.9", "C53.9", "C34.9", "C18.9", "C16.9", "C61", "C85.9", "C22.0"),
    "infectious_diseases": ("B24", "A23.9", "A01.0", "B55.0", "B16.9", "A39.0", "A87.9"),
    "ent": ("J35.3", "J03.9", "H66.9", "J01.9", "R04.0"),
    "urology": ("N20.1", "N20.0", "N40", "R33", "C67.9"),
    "neurology": ("I63.9", "I64", "G45.9", "G40.9", "G41.9", "G35"),
    "endocrinology": ("E10.1", "E11.5", "E05.0", "E04.9"),
    "neurosurgery": ("S06.9", "I60.9", "C71.9", "M51.1"),
    "cardiac_surgery": ("I05.0", "Q21.0", "I25.1", "I70.2"),
    "burns": ("T31.1", "T30.0"),
    "dermatology": ("L40.9", "B55.1", "L97", "L03.9", "A46"),
}

# Health-centre consultations: (service, code, weight) by kind of person.
_CENTRE: Mapping[str, tuple[tuple[str, str, float], ...]] = {
    "child": (
        ("general_medicine", "J06.9", 5),
        ("general_medicine", "J00", 4),
        ("general_medicine", "J02.9", 2),
        ("general_medicine", "J03.9", 2),
        ("general_medicine", "A09.9", 3),
        ("general_medicine", "H66.9", 2),
        ("general_medicine", "J20.9", 1),
        ("general_medicine", "B86", 1),
        ("general_medicine", "L01.0", 1),
        ("general_medicine", "B77.9", 1),
        ("general_medicine", "R50.9", 2),
        ("general_medicine", "D50.9", 1),
        ("maternal_child_health", "Z00.1", 4),
        ("maternal_child_health", "E44.0", 0.5),
        ("vaccination", "Z27.1", 3),
        ("dental", "K02.9", 1),
    ),
    "woman": (
        ("general_medicine", "J06.9", 3),
        ("general_medicine", "J02.9", 2),
        ("general_medicine", "N39.0", 2),
        ("general_medicine", "N76.0", 1.5),
        ("general_medicine", "K29.7", 2),
        ("general_medicine", "R51", 1.5),
        ("general_medicine", "D50.9", 1.5),
        ("general_medicine", "M54.5", 1),
        ("general_medicine", "I10", 1),
        ("general_medicine", "L30.9", 0.5),
        ("general_medicine", "F41.1", 0.5),
        ("family_planning", "Z30.0", 2.5),
        ("family_planning", "Z30.1", 0.5),
        ("dental", "K02.9", 0.8),
    ),
    "adult": (
        ("general_medicine", "J06.9", 3),
        ("general_medicine", "J20.9", 2),
        ("general_medicine", "K29.7", 2),
        ("general_medicine", "M54.5", 2),
        ("general_medicine", "I10", 3),
        ("general_medicine", "E11.9", 2.5),
        ("general_medicine", "R51", 1),
        ("general_medicine", "K30", 1),
        ("general_medicine", "L30.9", 1),
        ("general_medicine", "H10.9", 1),
        ("general_medicine", "Z76.0", 2),
        ("general_medicine", "E78.5", 1),
        ("general_medicine", "M54.2", 0.5),
        ("general_medicine", "F41.1", 0.5),
        ("general_medicine", "J11.1", 1),
        ("general_medicine", "Z00.0", 0.5),
        ("tuberculosis", "A15.0", 0.3),
        ("dental", "K02.9", 1),
        ("dental", "K04.7", 0.4),
    ),
    "elder": (
        ("general_medicine", "I10", 5),
        ("general_medicine", "E11.9", 4),
        ("general_medicine", "J44.9", 2),
        ("general_medicine", "M17.9", 2),
        ("general_medicine", "H25.9", 1),
        ("general_medicine", "I50.9", 1),
        ("general_medicine", "Z76.0", 3),
        ("general_medicine", "J20.9", 1.5),
        ("general_medicine", "M19.9", 1),
        ("general_medicine", "K59.0", 0.5),
        ("general_medicine", "J11.1", 0.8),
    ),
}

# Emergency visits: (code, weight) by kind of person.
_EMERGENCY: Mapping[str, tuple[tuple[str, str, float], ...]] = {
    "child": (
        ("emergency", "J21.9", 3),
        ("emergency", "J18.0", 2),
        ("emergency", "A09.0", 3),
        ("emergency", "R56.0", 1.5),
        ("emergency", "S00.9", 2),
        ("emergency", "S01.9", 1.5),
        ("emergency", "T63.2", 1),
        ("emergency", "J05.0", 1),
        ("emergency", "S52.5", 1),
        ("emergency", "R50.9", 2),
        ("emergency", "J45.9", 1),
        ("emergency", "T75.1", 0.2),
    ),
    "adult": (
        ("emergency", "S01.9", 2),
        ("emergency", "S61.9", 2),
        ("emergency", "S93.4", 2),
        ("emergency", "S52.5", 1),
        ("emergency", "R10.4", 3),
        ("emergency", "R07.4", 2),
        ("emergency", "N23", 2),
        ("emergency", "K35.8", 1),
        ("emergency", "J18.9", 1.5),
        ("emergency", "T14.9", 1.5),
        ("emergency", "R51", 1),
        ("emergency", "R55", 1),
        ("emergency", "T63.2", 0.8),
        ("emergency", "T58", 0.5),
        ("emergency", "I21.9", 0.5),
        ("emergency", "K92.2", 0.4),
        ("emergency", "T50.9", 0.5),
        ("emergency", "F10.2", 0.3),
        ("emergency", "S06.0", 0.8),
        ("emergency", "W54", 0.4),
        ("emergency", "T67.0", 0.3),
    ),
    "elder": (
        ("emergency", "I50.0", 2),
        ("emergency", "J44.1", 2),
        ("emergency", "I63.9", 1.5),
        ("emergency", "I64", 0.5),
        ("emergency", "S72.0", 1),
        ("emergency", "R55", 1.5),
        ("emergency", "N17.9", 0.5),
        ("emergency", "E11.5", 1),
        ("emergency", "I48.9", 1),
        ("emergency", "R33", 1),
        ("emergency", "R07.4", 1.5),
        ("emergency", "R10.4", 1.5),
        ("emergency", "J18.9", 1.5),
    ),
    "woman": (
        ("emergency", "O20.0", 1.5),
        ("emergency", "O03.9", 1),
        ("emergency", "O00.9", 0.3),
        ("emergency", "N39.0", 1),
        ("emergency", "R10.4", 2),
        ("emergency", "S01.9", 1),
        ("emergency", "S93.4", 1),
        ("emergency", "R51", 1),
        ("emergency", "T63.2", 0.5),
        ("emergency", "N10", 0.5),
        ("emergency", "R55", 0.8),
    ),
}

# A second code for some first ones (the external cause of an injury, a comorbidity).
_SECOND: Mapping[str, tuple[tuple[str, ...], float]] = {
    "T63.2": (("X22",), 0.9),
    "S72.0": (("W19",), 0.8),
    "S52.5": (("W19", "V89.2"), 0.6),
    "S01.9": (("W19", "Y09", "V89.2"), 0.6),
    "S06.0": (("V89.2", "W19", "Y09"), 0.7),
    "S06.9": (("V89.2", "W19"), 0.7),
    "T07": (("V89.2",), 0.8),
    "S61.9": (("W19",), 0.3),
    "S00.9": (("W19",), 0.5),
    "I10": (("E11.9", "E78.5"), 0.2),
    "E11.9": (("I10",), 0.3),
    "O80": (("Z37.0",), 1.0),
    "O82": (("Z37.0",), 1.0),
    "I50.0": (("I10", "I48.9"), 0.4),
    "E11.5": (("I10",), 0.4),
}

# Where an emergency is admitted, by its code (the first service the hospital has beds in).
_ADMIT: Mapping[str, tuple[str, ...]] = {
    "J21.9": ("paediatrics",),
    "J18.0": ("paediatrics",),
    "A09.0": ("paediatrics", "internal_medicine"),
    "R56.0": ("paediatrics",),
    "J05.0": ("paediatrics",),
    "T63.2": ("anaesthesia_icu", "paediatrics", "internal_medicine"),
    "T58": ("anaesthesia_icu", "internal_medicine"),
    "K35.8": ("general_surgery",),
    "R10.4": ("general_surgery", "internal_medicine"),
    "N23": ("urology", "general_surgery"),
    "J18.9": ("pulmonology", "internal_medicine"),
    "I21.9": ("cardiology", "internal_medicine"),
    "I50.0": ("cardiology", "internal_medicine"),
    "I48.9": ("cardiology", "internal_medicine"),
    "J44.1": ("pulmonology", "internal_medicine"),
    "I63.9": ("neurology", "internal_medicine"),
    "I64": ("neurology", "internal_medicine"),
    "S72.0": ("traumatology", "general_surgery"),
    "S06.0": ("traumatology", "general_surgery"),
    "K92.2": ("gastroenterology", "internal_medicine"),
    "E11.5": ("endocrinology", "internal_medicine"),
    "N17.9": ("nephrology", "internal_medicine"),
    "O20.0": ("obstetrics_gynaecology",),
    "O03.9": ("obstetrics_gynaecology",),
    "O00.9": ("obstetrics_gynaecology",),
    "R33": ("urology", "general_surgery"),
    "T50.9": ("anaesthesia_icu", "internal_medicine"),
}

_SERVICE_GROUP: Mapping[str, str] = {
    "paediatrics": "child",
    "neonatology": "child",
    "obstetrics_gynaecology": "woman",
    "deliveries": "woman",
}

REFUSALS = (
    "Dossier incomplet : joindre le bilan biologique et l'imagerie avant tout rendez-vous.",
    "Indication non retenue : prise en charge possible au centre de santé (conduite à tenir "
    "jointe).",
    "Relève du niveau provincial : adresser à l'hôpital de la province.",
    "Plateau technique indisponible (appareil en panne) : réadresser dans un mois.",
    "Aucun lit disponible dans le service pour plusieurs jours.",
    "Spécialiste absent (congé) sans remplaçant sur la période.",
)
CANCELLATIONS = (
    "Patient pris en charge entre-temps dans le secteur privé.",
    "Le patient renonce (distance et coût du transport).",
    "Amélioration clinique : la référence n'est plus nécessaire.",
    "Référence envoyée en double par erreur.",
)
NO_SHOW = "Patient absent au rendez-vous, injoignable par téléphone."
_SUMMARIES = (
    "Évolution défavorable sous traitement de première intention.",
    "Symptômes depuis plusieurs semaines, retentissement sur l'activité quotidienne.",
    "Antécédents familiaux ; bilan de première intention joint.",
    "Pas d'amélioration après un mois de traitement.",
    "Demande du patient, inquiet de l'évolution.",
)
DOCTORS = (
    "Dr Amina Benjelloun",
    "Dr Youssef Alaoui",
    "Dr Salma Idrissi",
    "Dr Mehdi Chraibi",
    "Dr Hanane El Fassi",
    "Dr Adil Berrada",
    "Dr Nora Tahiri",
    "Dr Rachid Lamrani",
    "Dr Imane Zerouali",
    "Dr Khalid Bennis",
    "Dr Loubna Sefrioui",
    "Dr Anas Kettani",
    "Dr Sanae Ouazzani",
    "Dr Hamza El Mansouri",
    "Dr Ghizlane Amrani",
    "Dr Tarik Benkirane",
)


# --- helpers ---------------------------------------------------------------------------------


def _season(code: str, month: int) -> float:
    winter, summer = month in (11, 12, 1, 2), month in (6, 7, 8, 9)
    if code in ("T63.2", "X22", "T63.0", "X20", "T67.0", "T75.1"):
        return 1.0 if summer else 0.05
    if code == "T58":
        return 1.0 if month in (11, 12, 1, 2, 3) else 0.03
    if code[0] == "J" or code in ("R05", "R50.9", "B34.9"):
        return 1.6 if winter else 0.6 if summer else 1.0
    if code.startswith("A0") or code in ("E86", "K52.9", "A09.9"):
        return 1.7 if summer else 0.7 if winter else 1.0
    if code[0] == "S" or code in ("T07", "T14.9"):
        return 1.25 if summer else 1.0
    return 1.0


class _Table:
    """Weighted (service, code) entries, drawn with the season of the month."""

    def __init__(self, entries: Sequence[tuple[str, str, float]]) -> None:
        self.entries = tuple(entries)
        self.cum = {
            m: list(accumulate(w * _season(c, m) for _, c, w in self.entries)) for m in range(1, 13)
        }

    def pick(self, rng: random.Random, month: int) -> tuple[str, str]:
        cum = self.cum[month]
        i = bisect_right(cum, rng.random() * cum[-1])
        service, code, _ = self.entries[min(i, len(self.entries) - 1)]
        return service, code


def _codes(rng: random.Random, first: str) -> tuple[str, ...]:
    second = _SECOND.get(first)
    if second and rng.random() < second[1]:
        return (first, rng.choice(second[0]))
    return (first,)


def _staff(role: str, code: str) -> str:
    return f"{role}.{code.lower()}"


def _doctor(code: str, salt: int = 0) -> str:
    return DOCTORS[(zlib.crc32(code.encode()) + salt) % len(DOCTORS)]


def _lognormal(rng: random.Random, median: float, sigma: float) -> float:
    return median * math.exp(sigma * rng.gauss(0.0, 1.0))


def _next_sweep(due: datetime) -> datetime:
    """The nightly sweep that expires what ``due`` left unanswered."""
    sweep = due.replace(hour=SWEEP_HOUR_UTC, minute=0, second=0, microsecond=0)
    if sweep <= due:
        sweep += D
    return sweep + timedelta(seconds=37)


def _label(code: str) -> str:
    return icd10.label(code) or code


# --- persons and places ---------------------------------------------------------------------


@dataclass
class _Person:
    key: str
    records: list[tuple[int, str | None]]
    sex: str
    age: int
    home: Establishment
    busy: list[tuple[datetime, datetime]] = field(default_factory=list)
    horizon: datetime = _FAR  # nothing starts at or after it (in a bed at the end, dead)
    live: bool = False  # a referral still open at the end
    chronic: str | None = None
    last_step: datetime = WINDOW_START  # the last move of the person's referrals

    @property
    def province(self) -> str:
        return self.home.province

    @property
    def group(self) -> str:
        if self.age < 15:
            return "child"
        if self.age >= 65:
            return "elder"
        if self.sex == "F" and self.age < 50:
            return "woman"
        return "adult"

    def fits(self, who: str) -> bool:
        if who == "child":
            return self.age < 15
        if who == "infant":
            return self.age < 2
        if who == "woman":
            return self.sex == "F" and 15 <= self.age < 50
        if who == "older":
            return self.age >= 40
        if who == "man_older":
            return self.sex == "M" and self.age >= 45
        if who == "adult":
            return self.age >= 15
        return True

    def record_at(self, code: str) -> int:
        found = [r for r, e in self.records if e == code]
        return max(found) if found else self.records[-1][0]

    def free(self, start: datetime, end: datetime) -> bool:
        if end >= self.horizon:
            return False
        return all(not (s <= end and start <= e) for s, e in self.busy)

    def take(self, start: datetime, end: datetime) -> None:
        self.busy.append((start, end))

    @property
    def last_busy(self) -> datetime:
        return max([self.last_step, *(e for _, e in self.busy)])

    def pronoun(self) -> str:
        return "Patiente" if self.sex == "F" else "Patient"


@dataclass
class _Region:
    index: MapIndex
    centres_by_province: dict[str, list[Establishment]]
    hospitals_by_province: dict[str, list[Establishment]]  # level 2, by distance order later
    level3: list[Establishment]
    chu: Establishment | None
    emergency_of: dict[str, Establishment]  # nearest hospital with an emergency room, per centre

    @classmethod
    def of(cls, establishments: Iterable[Establishment]) -> _Region:
        ordered = sorted((e for e in establishments if e.is_open), key=lambda e: e.code)
        index = MapIndex(ordered)
        centres: dict[str, list[Establishment]] = defaultdict(list)
        hospitals: dict[str, list[Establishment]] = defaultdict(list)
        level3: list[Establishment] = []
        chu: Establishment | None = None
        for e in ordered:
            if e.type.category is Category.HEALTH_CENTRE:
                centres[e.province].append(e)
            elif e.care_level == 2:
                hospitals[e.province].append(e)
            elif e.care_level == 3:
                level3.append(e)
            elif e.care_level == 4 and chu is None:
                chu = e
        with_er = [e for e in ordered if e.care_level >= 2 and e.offers("emergency")]
        emergency_of: dict[str, Establishment] = {}
        for province, group in centres.items():
            local = [e for e in with_er if e.province == province and e.care_level < 4] or with_er
            for c in group:
                emergency_of[c.code] = min(local, key=lambda h: _km(c, h))
        return cls(index, dict(centres), dict(hospitals), level3, chu, emergency_of)

    def home_hospital(self, person: _Person) -> Establishment | None:
        return self.emergency_of.get(person.home.code)

    def regional_for(self, province: str) -> Establishment | None:
        local = [e for e in self.level3 if e.province == province and e.offers("emergency")]
        if local:
            return local[0]
        general = [e for e in self.level3 if e.offers("emergency")]
        return general[0] if general else self.chu


def _km(a: Establishment, b: Establishment) -> float:
    d = distance_km(a.point, b.point)
    return d if d is not None else 1e6


# --- the planner --------------------------------------------------------------------------


@dataclass
class _Life:
    steps: list[PlannedStep]
    destination: Establishment
    arrive_at: datetime | None = None
    stay_end: datetime | None = None
    outcome: str = ""


class _Planner:
    def __init__(
        self,
        establishments: Iterable[Establishment],
        records: Sequence[RecordRef],
        *,
        version: MapVersion,
        rng: random.Random,
        start: datetime,
        until: datetime,
        deadlines: Mapping[Priority, timedelta],
    ) -> None:
        self.region = _Region.of(establishments)
        self.index = self.region.index
        self.version = version
        self.rng = rng
        self.start = start
        self.until = until
        self.deadlines = deadlines
        self.encounters: list[PlannedEncounter] = []
        self.referrals: list[PlannedReferral] = []
        self.persons = self._persons(records)
        self.pools: dict[str, list[_Person]] = defaultdict(list)
        for p in self.persons:
            if p.key.startswith("SHOW-"):
                continue
            for who in ("child", "infant", "woman", "older", "man_older", "adult", "any"):
                if p.fits(who):
                    self.pools[who].append(p)
        # arrivals by referral at hospitals, per care level: (when, who, where)
        self.arrivals: dict[int, list[tuple[datetime, _Person, str]]] = defaultdict(list)
        self._days()
        self.centre_tables = {k: _Table(v) for k, v in _CENTRE.items()}
        # specialty weights of referrals from health centres (1) and from hospitals (2)
        self.level_weights = {
            1: [0.0 if s.code in _URGENT_ONLY else s.weight for s in SPECIALTIES],
            2: [s.weight * (4 if s.code in LEVEL_4_SPECIALTIES else 1) for s in SPECIALTIES],
        }
        self.emergency_tables = {k: _Table(v) for k, v in _EMERGENCY.items()}

    # -- setup --

    def _persons(self, records: Sequence[RecordRef]) -> list[_Person]:
        grouped: dict[str, list[RecordRef]] = defaultdict(list)
        for r in sorted(records, key=lambda r: r.record_id):
            grouped[r.person].append(r)
        centres = [c for group in self.region.centres_by_province.values() for c in group]
        if not centres:
            raise ValueError("the activity needs health centres")
        persons: list[_Person] = []
        for key in sorted(grouped):
            refs = grouped[key]
            home: Establishment | None = None
            for r in refs:
                est = self.index.get(r.establishment) if r.establishment else None
                if est is not None and est.type.category is Category.HEALTH_CENTRE:
                    home = est
                    break
            if home is None:
                first = next(
                    (self.index.get(r.establishment) for r in refs if r.establishment), None
                )
                pool = self.region.centres_by_province.get(first.province, []) if first else []
                home = min(pool, key=lambda c: _km(c, first)) if pool and first else centres[0]
            years = [r.birth_year for r in refs if r.birth_year]
            sexes = [r.sex for r in refs if r.sex]
            age = self.until.year - years[0] if years else 35
            persons.append(
                _Person(
                    key,
                    [(r.record_id, r.establishment) for r in refs],
                    sexes[0] if sexes else "",
                    max(0, age),
                    home,
                )
            )
        return persons

    def _days(self) -> None:
        first = self.start.date()
        count = max(1, (self.until.date() - first).days)
        self.days = [first + timedelta(days=i) for i in range(count)]
        consult, emergency, referral = [], [], []
        for day in self.days:
            weekday = (1.0, 1.0, 1.0, 1.0, 1.0, 0.45, 0.08)[day.weekday()]
            winter = 1.1 if day.month in (12, 1, 2) else 1.0
            summer = 1.15 if day.month in (7, 8) else 1.0
            consult.append(weekday * winter)
            emergency.append(summer)
            referral.append(weekday * self._ramp(day))
        self.cum = {
            "consult": list(accumulate(consult)),
            "emergency": list(accumulate(emergency)),
            "referral": list(accumulate(referral)),
        }

    @staticmethod
    def _ramp(day: date) -> float:
        """Referrals recorded: back-captured before the pilot, then growing."""
        if day < PILOT_START.date():
            return 0.45
        months = (day.year - 2025) * 12 + day.month - 10
        if months < 3:
            return 0.7 + 0.1 * months
        return min(1.15, 1.0 + 0.01 * (months - 3))

    def day(self, kind: str) -> date:
        cum = self.cum[kind]
        return self.days[min(bisect_right(cum, self.rng.random() * cum[-1]), len(self.days) - 1)]

    def clinic_time(self, day: date) -> datetime:
        """08:30–16:00 in Morocco (UTC+1)."""
        minutes = 450 + self.rng.randrange(450)
        return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(minutes=minutes)

    def any_time(self, day: date) -> datetime:
        """An emergency's hour: busiest from late morning to late evening."""
        hour = self.rng.choices(range(24), weights=_ER_HOURS)[0]
        return datetime(day.year, day.month, day.day, hour, tzinfo=UTC) + timedelta(
            minutes=self.rng.randrange(60)
        )

    def clinic_at_or_after(self, at: datetime) -> datetime:
        day = at.date()
        out = self.clinic_time(day)
        while out < at:
            day += D
            if day.weekday() == 6:
                day += D
            out = self.clinic_time(day)
        return out

    # -- encounters --

    def encounter(
        self,
        person: _Person,
        where: Establishment,
        kind: EncounterKind,
        start: datetime,
        *,
        specialty: str | None,
        codes: tuple[str, ...],
        end: datetime | None = None,
        mode: DischargeMode | None = None,
        transfer_to: str | None = None,
    ) -> PlannedEncounter:
        role = {"consultation": "medecin", "emergency": "urgences", "admission": "accueil"}
        enc = PlannedEncounter(
            person=person.key,
            record_id=person.record_at(where.code),
            establishment=where.code,
            kind=kind,
            start_at=start,
            by=_staff(role.get(kind.value, "medecin"), where.code),
            specialty=specialty,
            end_at=end,
            diagnoses=codes,
            discharge_mode=mode if end is not None and kind is EncounterKind.ADMISSION else None,
            transfer_to=transfer_to,
        )
        self.encounters.append(enc)
        person.take(start, end if end is not None else (_FAR if kind.occupies_bed else start))
        return enc

    def los(self, service: str) -> timedelta:
        mean = LENGTH_OF_STAY.get(service, 4.0)
        days = min(_lognormal(self.rng, mean * 0.8, 0.6), mean * 5)
        return timedelta(hours=max(6.0, days * 24))

    def inpatient_codes(self, service: str, month: int) -> tuple[str, ...]:
        codes = INPATIENT.get(service) or INPATIENT["internal_medicine"]
        weights = [_season(c, month) for c in codes]
        return _codes(self.rng, self.rng.choices(codes, weights=weights)[0])

    # -- referrals --

    def specialty_for(self, person: _Person, source: Establishment) -> _Specialty | None:
        weights = []
        for s in SPECIALTIES:
            w = s.weight
            if not person.fits(s.who) or (s.code in _URGENT_ONLY and source.care_level < 2):
                w = 0.0
            elif source.care_level >= 2:
                if s.code in LEVEL_4_SPECIALTIES:
                    w *= 4
                elif source.offers(s.code):
                    w *= 0.5
                else:
                    w *= 2
            weights.append(w)
        if not any(weights):
            return None
        return self.rng.choices(SPECIALTIES, weights=weights)[0]

    def destination(
        self, source: Establishment, spec: _Specialty, bed: bool
    ) -> tuple[Establishment, str | None] | None:
        """(destination, designated): along the map mostly, else elsewhere (often the CHU)."""
        designation = self.index.designated(source, spec.code, self.version)
        if designation is None:
            return None
        designated = self.index.get(designation.destination)
        assert designated is not None
        if bed and designated.beds(spec.code) <= 0:
            return None
        if self.rng.random() < OUTSIDE_MAP:
            other = self.elsewhere(source, spec.code, bed, exclude={designated.code})
            if other is not None:
                return other, designated.code
        return designated, designated.code

    def elsewhere(
        self,
        source: Establishment,
        specialty: str,
        bed: bool,
        *,
        exclude: set[str],
        above: int = 0,
    ) -> Establishment | None:
        candidates = [
            e
            for e in self.index.offering(specialty)
            if e.code not in exclude
            and e.code != source.code
            and e.care_level >= max(2, source.care_level, above)
            and (not bed or e.beds(specialty) > 0)
        ]
        if not candidates:
            return None
        chu = self.region.chu
        if chu is not None and chu in candidates and self.rng.random() < 0.5:
            return chu
        candidates.sort(key=lambda e: (_km(source, e), e.code))
        return candidates[min(int(self.rng.expovariate(1.0)), len(candidates) - 1)]

    def answer_delay(self, priority: Priority, sent: datetime) -> timedelta:
        median, sigma = {
            Priority.URGENT: (0.6, 0.8),
            Priority.PRIORITY: (14.0, 0.9),
            Priority.ROUTINE: (80.0, 0.9),
        }[priority]
        hours = _lognormal(self.rng, median * reform_pace(sent), sigma)
        return timedelta(hours=max(0.05, hours))

    def lifecycle(
        self,
        source: Establishment,
        destination: Establishment,
        spec: _Specialty,
        priority: Priority,
        bed: bool,
        sent: datetime,
        outcome: str,
    ) -> _Life:
        """The steps from sending to the counter-referral, before the cut at ``until``."""
        rng = self.rng
        refer_by = _staff("medecin", source.code)
        steps = [PlannedStep(Action.SEND, sent, Side.REFERRING, refer_by)]
        life = _Life(steps, destination, outcome=outcome)
        deadline = self.deadlines[priority]
        due = sent + deadline
        sweep = _next_sweep(due)

        def receive_before(at: datetime, dest: Establishment, since: datetime) -> None:
            if rng.random() < 0.55 and at - since > timedelta(minutes=2):
                when = since + (at - since) * rng.uniform(0.05, 0.6)
                steps.append(
                    PlannedStep(Action.RECEIVE, when, Side.RECEIVING, _staff("accueil", dest.code))
                )

        if outcome == "cancelled":
            at = sent + deadline * rng.uniform(0.05, 0.7)
            receive_before(at, destination, sent)
            steps.append(
                PlannedStep(
                    Action.CANCEL,
                    at,
                    Side.REFERRING,
                    refer_by,
                    Payload(reason=rng.choice(CANCELLATIONS)),
                )
            )
            return life
        answer = sent + self.answer_delay(priority, sent)
        if outcome == "expired" or answer >= sweep:
            life.outcome = "expired"
            receive_before(sweep, destination, sent)
            steps.append(PlannedStep(Action.EXPIRE, sweep, Side.SYSTEM, EXPIRY_ACTOR))
            return life
        receive_before(answer, destination, sent)
        answer_by = _staff("medecin", destination.code)
        if outcome == "redirected":
            target = self.elsewhere(
                source,
                spec.code,
                bed,
                exclude={destination.code},
                above=destination.care_level,
            ) or self.elsewhere(source, spec.code, bed, exclude={destination.code})
            if target is None:
                outcome = life.outcome = "refused"
            else:
                reason = rng.choice(
                    (
                        f"Prise en charge mieux assurée par {target.name or target.code} "
                        "(plateau technique adapté).",
                        f"Service complet : réorientée vers {target.name or target.code}, "
                        "qui a des lits.",
                        f"Relève de {target.name or target.code} selon la carte sanitaire.",
                    )
                )
                steps.append(
                    PlannedStep(
                        Action.REDIRECT,
                        answer,
                        Side.RECEIVING,
                        answer_by,
                        Payload(reason=reason, destination=target.code),
                    )
                )
                life.destination = target
                child_answer = answer + self.answer_delay(priority, answer)
                child_sweep = _next_sweep(answer + deadline)
                roll = rng.random()
                if roll < 0.05 or child_answer >= child_sweep:
                    steps.append(PlannedStep(Action.EXPIRE, child_sweep, Side.SYSTEM, EXPIRY_ACTOR))
                    return life
                receive_before(child_answer, target, answer)
                if roll < 0.12:
                    steps.append(
                        PlannedStep(
                            Action.REFUSE,
                            child_answer,
                            Side.RECEIVING,
                            _staff("medecin", target.code),
                            Payload(reason=rng.choice(REFUSALS)),
                        )
                    )
                    return life
                self.accepted(life, target, spec, priority, bed, child_answer)
                return life
        if outcome == "refused":
            steps.append(
                PlannedStep(
                    Action.REFUSE,
                    answer,
                    Side.RECEIVING,
                    answer_by,
                    Payload(reason=rng.choice(REFUSALS)),
                )
            )
            return life
        self.accepted(life, destination, spec, priority, bed, answer)
        return life

    def accepted(
        self,
        life: _Life,
        dest: Establishment,
        spec: _Specialty,
        priority: Priority,
        bed: bool,
        at: datetime,
        *,
        appointment: datetime | None = None,
        arrive: bool | None = None,
        complete: bool | None = None,
    ) -> None:
        rng = self.rng
        steps = life.steps
        doctor, desk = _staff("medecin", dest.code), _staff("accueil", dest.code)
        steps.append(PlannedStep(Action.ACCEPT, at, Side.RECEIVING, doctor))
        if priority is Priority.URGENT and appointment is None:
            scheduled = at + timedelta(minutes=rng.uniform(1, 10))
            steps.append(
                PlannedStep(
                    Action.SCHEDULE, scheduled, Side.RECEIVING, desk, Payload(immediate=True)
                )
            )
            came = scheduled + timedelta(hours=rng.uniform(0.7, 4.0))
        else:
            scheduled = at + timedelta(
                hours=rng.uniform(0.2, 20)
                if priority is Priority.PRIORITY
                else rng.uniform(0.5, 48)
            )
            if appointment is None:
                low, high = (1, 7) if priority is Priority.PRIORITY else spec.wait_days
                appointment = self.clinic_at_or_after(scheduled + D * rng.randint(low, high))
            appointment = max(appointment, scheduled + H)
            steps.append(
                PlannedStep(
                    Action.SCHEDULE,
                    scheduled,
                    Side.RECEIVING,
                    desk,
                    Payload(appointment_at=appointment),
                )
            )
            if arrive is None and rng.random() < 0.05:  # rescheduled once
                moved_at = max(appointment - D * rng.uniform(1, 4), scheduled + H)
                if moved_at < appointment:
                    appointment = self.clinic_at_or_after(appointment + D * rng.randint(3, 14))
                    steps.append(
                        PlannedStep(
                            Action.SCHEDULE,
                            moved_at,
                            Side.RECEIVING,
                            desk,
                            Payload(appointment_at=appointment),
                        )
                    )
            if arrive is False or (arrive is None and rng.random() < 0.03):
                life.outcome = "no_show"
                steps.append(
                    PlannedStep(
                        Action.CANCEL,
                        appointment + timedelta(hours=rng.uniform(2, 48)),
                        Side.RECEIVING,
                        desk,
                        Payload(reason=NO_SHOW),
                    )
                )
                return
            came = appointment + timedelta(minutes=rng.uniform(-20, 90))
            came = max(came, steps[-1].at + timedelta(minutes=1))
        steps.append(PlannedStep(Action.ARRIVE, came, Side.RECEIVING, desk))
        life.arrive_at = came
        if bed:
            life.stay_end = came + self.los(spec.code)
            done_at = life.stay_end + timedelta(hours=rng.uniform(0.5, 30))
        else:
            done_at = came + timedelta(hours=min(_lognormal(rng, 36, 1.0), 24 * 30))
        if complete is False or (complete is None and rng.random() < 0.08):
            life.outcome = "arrived"
            return
        seen = rng.choice(spec.seen_codes)
        text = f"Contre-référence ({specialty_name(spec.code)}) : {_label(seen)}. {spec.conduct}"
        steps.append(
            PlannedStep(
                Action.COMPLETE, done_at, Side.RECEIVING, doctor, Payload(counter_referral=text)
            )
        )
        life.outcome = "completed"

    def referral(
        self,
        person: _Person,
        source: Establishment,
        spec: _Specialty,
        priority: Priority,
        bed: bool,
        created: datetime,
        life: _Life,
        designated: str | None,
        *,
        first_destination: Establishment,
        origin: bool = True,
        arrival_codes: tuple[str, ...] | None = None,
        first_code: str | None = None,
    ) -> PlannedReferral | None:
        """Cut at ``until``, add the origin encounter, take the person's time; None if taken."""
        steps = [s for s in life.steps if s.at <= self.until]
        arrive_at = life.arrive_at if life.arrive_at and life.arrive_at <= self.until else None
        stay_end = (
            life.stay_end if arrive_at and life.stay_end and life.stay_end <= self.until else None
        )
        # the person must be free at the origin and during the arrival (the stay)
        origin_at = created - timedelta(minutes=self.rng.uniform(10, 50))
        origin_end = origin_at
        urgent_transfer = priority is Priority.URGENT and source.care_level >= 2
        if urgent_transfer:
            origin_at = created - timedelta(hours=self.rng.uniform(0.5, 4))
            origin_end = created + timedelta(hours=self.rng.uniform(0.2, 1.5))
        if origin and not person.free(origin_at, origin_end):
            return None
        last = steps[-1].at if steps else created
        if last >= person.horizon:
            return None
        if arrive_at is not None:
            busy_end = stay_end if stay_end is not None else (_FAR if bed else arrive_at)
            if not person.free(arrive_at, busy_end if busy_end != _FAR else self.until):
                return None
            if bed and stay_end is None and arrive_at >= person.horizon:
                return None
        if origin:
            self.origin_encounter(person, source, spec, priority, origin_at, origin_end, first_code)
        if arrive_at is not None:
            person.take(arrive_at, stay_end or (_FAR if bed else arrive_at))
            if bed and stay_end is None:
                person.horizon = min(person.horizon, arrive_at)
            elif life.destination.care_level in (2, 3):
                self.arrivals[life.destination.care_level].append(
                    (arrive_at, person, life.destination.code)
                )
        terminal = {Action.REFUSE, Action.CANCEL, Action.COMPLETE, Action.EXPIRE}
        if not steps or steps[-1].action not in terminal:
            person.live = True
        person.last_step = max(person.last_step, last)
        if arrive_at is None:
            arrival_codes = ()
        elif arrival_codes is None:
            arrival_codes = (
                self.inpatient_codes(spec.code, arrive_at.month)
                if bed
                else (self.rng.choice(spec.seen_codes),)
            )
        first = first_code or self.origin_code(spec, priority)
        if priority is Priority.URGENT:
            reason = f"Transfert urgent : {_label(first)}."
        else:
            reason = f"{_label(first)} : avis {specialty_name(spec.code).lower()} demandé."
        summary = (
            f"{person.pronoun()} de {person.age} ans. {_label(first)}. "
            f"{self.rng.choice(_SUMMARIES)}"
        )
        planned = PlannedReferral(
            person=person.key,
            record_id=person.record_at(source.code),
            source=source.code,
            destination=first_destination.code,
            specialty=spec.code,
            priority=priority,
            created_at=created,
            by=_staff("medecin", source.code),
            reason=reason,
            steps=tuple(steps),
            clinical_summary=summary,
            referring_professional=_doctor(source.code, self.rng.randrange(3)),
            bed_request=bed,
            bed_service=spec.code if bed else None,
            arrival_diagnoses=arrival_codes,
            stay_end=stay_end,
            stay_discharge_mode=DischargeMode.HOME if stay_end else None,
            designated=designated,
            outcome=life.outcome,
        )
        self.referrals.append(planned)
        return planned

    def origin_code(self, spec: _Specialty, priority: Priority) -> str:
        if priority is Priority.URGENT and spec.urgent_codes:
            return self.rng.choice(spec.urgent_codes)
        return self.rng.choice(spec.source_codes)

    def origin_encounter(
        self,
        person: _Person,
        source: Establishment,
        spec: _Specialty,
        priority: Priority,
        start: datetime,
        end: datetime,
        code: str | None = None,
    ) -> None:
        code = code or self.origin_code(spec, priority)
        if source.care_level >= 2 and priority is Priority.URGENT and source.offers("emergency"):
            self.encounter(
                person,
                source,
                EncounterKind.EMERGENCY,
                start,
                specialty="emergency",
                codes=_codes(self.rng, code),
                end=end,
            )
            return
        if source.care_level >= 2:
            service = spec.code if source.offers(spec.code) else None
            if service is None:
                service = next(
                    (s for s in ("internal_medicine", "general_medicine") if source.offers(s)),
                    None,
                )
        else:
            service = "general_medicine"
            mothers_and_children = ("obstetrics_gynaecology", "paediatrics", "neonatology")
            if spec.code in mothers_and_children and source.offers("maternal_child_health"):
                service = "maternal_child_health"
        self.encounter(
            person,
            source,
            EncounterKind.CONSULTATION,
            start,
            specialty=service,
            codes=_codes(self.rng, code),
            end=start,
        )

    # -- the crowd's referrals --

    def crowd_referrals(self, count: int) -> None:
        rng = self.rng
        moments = sorted(
            (self.clinic_time(self.day("referral")), rng.random()) for _ in range(count)
        )
        for t, roll in moments:
            for _ in range(12):
                if self.one_referral(t, roll):
                    break

    def one_referral(self, t: datetime, roll: float) -> bool:
        rng = self.rng
        level = 1 if roll < 0.68 else 2 if roll < 0.90 else 3
        person: _Person | None = None
        source: Establishment | None = None
        recent = self.arrivals.get(level, [])[-500:]
        if level >= 2 and recent and rng.random() < 0.35:  # the next step of a pathway
            for _ in range(10):
                arrived, candidate, code = rng.choice(recent)
                if timedelta(0) < t - arrived < D * 60 and not candidate.live:
                    person, source = candidate, self.index.get(code)
                    break
        spec: _Specialty | None = None
        if person is None:
            spec = self.rng.choices(SPECIALTIES, weights=self.level_weights[min(level, 2)])[0]
            pool = self.pools[spec.who]
            if not pool:
                return False
            person = rng.choice(pool)
            if level == 1:
                source = person.home
            elif level == 2:
                source = self.region.home_hospital(person)
            else:
                source = self.region.regional_for(person.province)
            # a hospital refers first what it does not do itself
            does_it = source is not None and source.care_level >= 2 and source.offers(spec.code)
            if does_it and rng.random() < 0.6:
                return False
        if source is None or (person.live and rng.random() < 0.7):
            return False
        spec = spec or self.specialty_for(person, source)
        if spec is None:
            return False
        priority = self.priority(source, spec)
        bed = self.bed(source, spec, priority)
        found = self.destination(source, spec, bed)
        if found is None:
            return False
        destination, designated = found
        outcome = self.outcome()
        life = self.lifecycle(source, destination, spec, priority, bed, t, outcome)
        return (
            self.referral(
                person,
                source,
                spec,
                priority,
                bed,
                t,
                life,
                designated,
                first_destination=destination,
            )
            is not None
        )

    def priority(self, source: Establishment, spec: _Specialty) -> Priority:
        r = self.rng.random()
        if spec.code in _URGENT_ONLY:
            return Priority.URGENT
        if source.care_level >= 2:
            urgent = 0.28 if spec.urgent_codes else 0.0
            return (
                Priority.URGENT
                if r < urgent
                else Priority.PRIORITY
                if r < 0.65
                else Priority.ROUTINE
            )
        urgent = 0.04 if spec.urgent_codes else 0.0
        return (
            Priority.URGENT if r < urgent else Priority.PRIORITY if r < 0.30 else Priority.ROUTINE
        )

    def bed(self, source: Establishment, spec: _Specialty, priority: Priority) -> bool:
        if spec.code not in INPATIENT:
            return False
        share = {
            (True, Priority.URGENT): 0.85,
            (True, Priority.PRIORITY): 0.35,
            (True, Priority.ROUTINE): 0.10,
            (False, Priority.URGENT): 0.6,
            (False, Priority.PRIORITY): 0.05,
            (False, Priority.ROUTINE): 0.0,
        }[(source.care_level >= 2, priority)]
        return self.rng.random() < share

    def outcome(self) -> str:
        r = self.rng.random()
        if r < 0.09:
            return "refused"
        if r < 0.145:
            return "redirected"
        if r < 0.17:
            return "expired"
        if r < 0.185:
            return "cancelled"
        return "accepted"

    # -- the census at the end --

    def census_targets(self) -> dict[tuple[str, str], int]:
        rng = self.rng
        targets: dict[tuple[str, str], int] = {}
        for code in sorted(self.index.by_code):
            est = self.index.by_code[code]
            for service, beds in sorted(est.services.items()):
                if beds <= 0:
                    continue
                r = rng.random()
                if service == "deliveries":
                    rate = rng.uniform(0.15, 0.6)
                elif r < 0.07:
                    rate = rng.uniform(1.0, 1.12)
                elif r < 0.15:
                    rate = rng.uniform(0.3, 0.5)
                else:
                    rate = rng.uniform(0.55, 0.93)
                targets[(code, service)] = round(beds * rate)
        return targets

    def fill_census(self, targets: Mapping[tuple[str, str], int], referral_share: float) -> None:
        rng = self.rng
        have = Counter(_open_stays(self.encounters, self.referrals))
        needed = {k: max(0, v - have[k]) for k, v in targets.items()}
        eligible = [p for p in self.persons if not p.live and not p.key.startswith("SHOW-")]
        cap = int(OPEN_STAY_CAP * len(self.persons)) - sum(have.values())
        total = sum(needed.values())
        if total > cap > 0:
            factor = cap / total
            needed = {k: math.floor(v * factor + rng.random()) for k, v in needed.items()}
        elif cap <= 0:
            return
        by_province: dict[tuple[str, str], deque[_Person]] = defaultdict(deque)
        everyone: dict[str, deque[_Person]] = defaultdict(deque)
        rng.shuffle(eligible)
        for p in eligible:
            group = "child" if p.age < 15 else "woman" if p.fits("woman") else "adult"
            by_province[(p.province, group)].append(p)
            everyone[group].append(p)
        used: set[str] = set()
        slots = [k for k, n in needed.items() for _ in range(n)]
        rng.shuffle(slots)
        for code, service in slots:
            est = self.index.get(code)
            assert est is not None
            group = _SERVICE_GROUP.get(service, "adult")
            if service == "emergency" and rng.random() < 0.2:
                group = "child"
            elapsed = min(
                timedelta(hours=rng.expovariate(1 / (24 * LENGTH_OF_STAY.get(service, 4.0)))),
                D * 120,
            )
            begin = max(self.until - max(elapsed, H), self.start + D)
            queues = [by_province[(est.province, group)]]
            if est.care_level >= 3 or est.care_level == 4:
                queues.insert(0 if rng.random() < 0.5 else 1, everyone[group])
            else:
                queues.append(everyone[group])
            person = self.take_person(queues, used, begin)
            if person is None:
                continue
            self.open_stay(person, est, service, begin, referral_share)

    @staticmethod
    def take_person(
        queues: list[deque[_Person]], used: set[str], begin: datetime
    ) -> _Person | None:
        for queue in queues:
            tries = 0
            while queue and tries < 40:
                p = queue.pop()
                if p.key in used:
                    continue
                if p.horizon == _FAR and p.last_busy < begin - timedelta(hours=8):
                    used.add(p.key)
                    return p
                tries += 1
                queue.appendleft(p)
        return None

    def referrer(self, person: _Person, est: Establishment, service: str) -> Establishment | None:
        """Who would have referred ``person`` to ``est`` for ``service``, along the map."""
        lower = [
            e
            for e in (
                person.home,
                self.region.home_hospital(person),
                self.region.regional_for(person.province),
            )
            if e is not None and e.care_level < est.care_level
        ]
        for e in lower:
            d = self.index.designated(e, service, self.version)
            if d is not None and d.destination == est.code:
                return e
        return lower[0] if lower and self.rng.random() < 0.1 else None

    def open_stay(
        self,
        person: _Person,
        est: Establishment,
        service: str,
        begin: datetime,
        via_referral: float,
    ) -> None:
        rng = self.rng
        codes = self.inpatient_codes(service, begin.month)
        if service == "deliveries":
            codes = ("O80", "Z37.0")
        roll = rng.random()
        spec = SPECIALTY_BY_CODE.get(service)
        source = self.referrer(person, est, service) if roll < via_referral else None
        if spec is not None and source is not None and source.code != est.code:
            priority = Priority.URGENT if rng.random() < 0.5 else Priority.PRIORITY
            sent = begin - (
                timedelta(hours=rng.uniform(1.5, 5))
                if priority is Priority.URGENT
                else D * rng.uniform(1, 6)
            )
            life = _Life(
                [PlannedStep(Action.SEND, sent, Side.REFERRING, _staff("medecin", source.code))],
                est,
                outcome="arrived",
            )
            answer = sent + timedelta(minutes=rng.uniform(5, 60))
            appointment = None if priority is Priority.URGENT else begin
            self.accepted(
                life,
                est,
                spec,
                priority,
                True,
                answer,
                appointment=appointment,
                arrive=True,
                complete=False,
            )
            life.stay_end = None  # still in the bed at the end
            designation = self.index.designated(source, spec.code, self.version)
            planned = self.referral(
                person,
                source,
                spec,
                priority,
                True,
                sent,
                life,
                designation.destination if designation else None,
                first_destination=est,
            )
            if planned is not None:
                return
        if est.care_level >= 2 and est.offers("emergency") and roll < 0.5 + via_referral:
            er = begin - timedelta(hours=rng.uniform(1, 6))
            if person.free(er, begin):
                self.encounter(
                    person,
                    est,
                    EncounterKind.EMERGENCY,
                    er,
                    specialty="emergency",
                    codes=(codes[0],),
                    end=begin - timedelta(minutes=5),
                )
        self.encounter(person, est, EncounterKind.ADMISSION, begin, specialty=service, codes=codes)
        person.horizon = min(person.horizon, begin)

    # -- the rest of the year: the background activity --

    def background(self, budget: int) -> None:
        rng = self.rng
        crowd = [p for p in self.persons if not p.key.startswith("SHOW-")]
        if budget <= 0 or not crowd:
            return
        factor = {"child": 1.1, "woman": 1.25, "adult": 0.85, "elder": 1.5}
        weights = [rng.gammavariate(1.3, 1.0) * factor[p.group] for p in crowd]
        scale = budget / sum(weights)
        for p, w in zip(crowd, weights, strict=True):
            expected = w * scale
            n = math.floor(expected) + (1 if rng.random() < expected % 1 else 0)
            if p.age >= 40 and rng.random() < (0.6 if p.age >= 65 else 0.3):
                p.chronic = rng.choice(("I10", "I10", "E11.9", "J44.9" if p.age >= 60 else "E11.9"))
            if p.fits("woman") and 18 <= p.age <= 42 and rng.random() < 0.12 and n >= 4:
                n -= self.pregnancy(p)
            for _ in range(max(n, 0)):
                self.background_one(p)

    def background_one(self, p: _Person) -> int:
        rng = self.rng
        r = rng.random()
        mix = {
            "child": (0.70, 0.92, 0.97),
            "woman": (0.66, 0.82, 0.94),
            "adult": (0.62, 0.82, 0.93),
            "elder": (0.56, 0.75, 0.88),
        }[p.group]
        for _ in range(4):
            if r < mix[0]:
                day = self.day("consult")
                if self.centre_visit(p, self.clinic_time(day)):
                    return 1
            elif r < mix[1]:
                day = self.day("emergency")
                if self.emergency(p, self.any_time(day)):
                    return 1
            elif r < mix[2]:
                day = self.day("consult")
                if self.hospital_visit(p, self.clinic_time(day)):
                    return 1
            else:
                day = self.day("consult")
                if self.elective_stay(p, self.clinic_time(day)):
                    return 1
        return 0

    def centre_visit(self, p: _Person, at: datetime) -> bool:
        if not p.free(at, at):
            return False
        rng = self.rng
        centre = p.home
        if rng.random() < 0.12:
            others = self.region.centres_by_province.get(p.province) or [centre]
            centre = rng.choice(others)
        codes: tuple[str, ...]
        if p.chronic and rng.random() < 0.65:
            service, codes = "general_medicine", (p.chronic, "Z76.0")
            if p.chronic == "I10" and rng.random() < 0.3:
                codes = ("I10", "E11.9")
        else:
            service, code = self.centre_tables[p.group].pick(rng, at.month)
            if not centre.offers(service):
                service = "general_medicine"
            codes = _codes(rng, code)
        self.encounter(
            p, centre, EncounterKind.CONSULTATION, at, specialty=service, codes=codes, end=at
        )
        return True

    def emergency_site(self, p: _Person) -> Establishment | None:
        rng = self.rng
        chu = self.region.chu
        local = self.region.home_hospital(p)
        r = rng.random()
        if chu is not None and chu.offers("emergency"):
            near_chu = p.province == chu.province
            if r < (0.30 if near_chu else 0.04):
                return chu
        if r > 0.85:
            regional = self.region.regional_for(p.province)
            if regional is not None:
                return regional
        return local

    def emergency(self, p: _Person, at: datetime) -> bool:
        rng = self.rng
        site = self.emergency_site(p)
        if site is None:
            return False
        stay_out = at + timedelta(hours=rng.uniform(0.5, 6))
        if not p.free(at, stay_out):
            return False
        table = self.emergency_tables[p.group]
        _, code = table.pick(rng, at.month)
        codes = _codes(rng, code)
        admit = rng.random() < (0.22 if p.group == "elder" else 0.12)
        service: str | None = None
        if admit:
            wanted = _ADMIT.get(code) or (
                ("paediatrics",) if p.age < 15 else ("internal_medicine", "general_surgery")
            )
            service = next((s for s in wanted if site.beds(s) > 0), None)
        if service is not None:
            end = stay_out + self.los(service)
            if end < self.until - H and p.free(at, end):
                self.encounter(
                    p,
                    site,
                    EncounterKind.EMERGENCY,
                    at,
                    specialty="emergency",
                    codes=codes,
                    end=stay_out,
                )
                mode = self.discharge_mode(p, end)
                self.encounter(
                    p,
                    site,
                    EncounterKind.ADMISSION,
                    stay_out,
                    specialty=service,
                    codes=codes,
                    end=end,
                    mode=mode,
                )
                if mode is DischargeMode.DEATH:
                    p.horizon = end
                return True
        self.encounter(
            p, site, EncounterKind.EMERGENCY, at, specialty="emergency", codes=codes, end=stay_out
        )
        return True

    def discharge_mode(self, p: _Person, end: datetime) -> DischargeMode:
        r = self.rng.random()
        death = 0.05 if p.age >= 70 else 0.01
        if r < death and end >= p.last_busy and not p.live:
            return DischargeMode.DEATH
        if r < death + 0.03:
            return DischargeMode.AGAINST_ADVICE
        return DischargeMode.HOME

    def hospital_visit(self, p: _Person, at: datetime) -> bool:
        """An outpatient consultation at a hospital without referral (the CHU's bypass too)."""
        if not p.free(at, at):
            return False
        rng = self.rng
        chu = self.region.chu
        r = rng.random()
        site = self.region.home_hospital(p)
        if chu is not None and r < (0.45 if p.province == chu.province else 0.12):
            site = chu
        elif r > 0.8:
            site = self.region.regional_for(p.province) or site
        if site is None:
            return False
        offered = [s for s in SPECIALTIES if site.offers(s.code) and p.fits(s.who)]
        if not offered:
            return False
        spec = rng.choices(offered, weights=[s.weight for s in offered])[0]
        code = rng.choice(spec.seen_codes if rng.random() < 0.5 else spec.source_codes)
        self.encounter(
            p,
            site,
            EncounterKind.CONSULTATION,
            at,
            specialty=spec.code,
            codes=_codes(rng, code),
            end=at,
        )
        return True

    def elective_stay(self, p: _Person, at: datetime) -> bool:
        rng = self.rng
        site = self.region.home_hospital(p)
        if site is None:
            return False
        services = [
            s
            for s in (
                "general_surgery",
                "ophthalmology",
                "traumatology",
                "internal_medicine",
                "ent",
                "urology",
            )
            if site.beds(s) > 0
        ]
        if p.age < 15:
            services = [s for s in ("paediatrics", "ent", "general_surgery") if site.beds(s) > 0]
        elif p.fits("woman") and site.beds("obstetrics_gynaecology") > 0 and rng.random() < 0.3:
            services = ["obstetrics_gynaecology"]
        if not services:
            return False
        service = rng.choice(services)
        end = at + self.los(service)
        if end >= self.until - H or not p.free(at, end):
            return False
        codes = self.inpatient_codes(service, at.month)
        if service == "obstetrics_gynaecology":
            codes = (rng.choice(("D25.9", "N83.2", "O03.9", "O20.0")),)
        mode = self.discharge_mode(p, end)
        self.encounter(
            p, site, EncounterKind.ADMISSION, at, specialty=service, codes=codes, end=end, mode=mode
        )
        if mode is DischargeMode.DEATH:
            p.horizon = end
        return True

    def pregnancy(self, p: _Person) -> int:
        """Prenatal visits at the centre, the delivery, the post-natal visit: how many written."""
        rng = self.rng
        earliest = self.start + D * 150
        if earliest >= self.until - D * 3:
            return 0
        span = (self.until - D * 3 - earliest).days
        delivery_day = (earliest + D * rng.randrange(max(span, 1))).date()
        delivered = self.any_time(delivery_day)
        written = 0
        centre = p.home
        service = (
            "maternal_child_health"
            if centre.offers("maternal_child_health")
            else "general_medicine"
        )
        visits = rng.randint(3, 5)
        for k in range(visits, 0, -1):
            at = self.clinic_time((delivered - D * (30 * k + rng.randint(-6, 6))).date())
            if at >= self.start and p.free(at, at):
                code = "Z36.9" if k == visits else "Z34.9"
                self.encounter(
                    p,
                    centre,
                    EncounterKind.CONSULTATION,
                    at,
                    specialty=service,
                    codes=(code,),
                    end=at,
                )
                written += 1
        hospital = self.region.home_hospital(p)
        if centre.beds("deliveries") > 0 and rng.random() < 0.55:
            site, ward, codes = centre, "deliveries", ("O80", "Z37.0")
            stay = timedelta(hours=rng.uniform(8, 36))
        elif hospital is not None and hospital.beds("obstetrics_gynaecology") > 0:
            caesarean = rng.random() < 0.25
            site, ward = hospital, "obstetrics_gynaecology"
            codes = ("O82", "Z37.0") if caesarean else ("O80", "Z37.0")
            stay = D * rng.uniform(3, 5) if caesarean else timedelta(hours=rng.uniform(12, 48))
        else:
            return written
        end = delivered + stay
        if end < self.until - H and p.free(delivered, end):
            self.encounter(
                p,
                site,
                EncounterKind.ADMISSION,
                delivered,
                specialty=ward,
                codes=codes,
                end=end,
                mode=DischargeMode.HOME,
            )
            written += 1
            after = self.clinic_time((end + D * rng.randint(7, 40)).date())
            if after < self.until and p.free(after, after):
                self.encounter(
                    p,
                    centre,
                    EncounterKind.CONSULTATION,
                    after,
                    specialty=service,
                    codes=("Z39.2",),
                    end=after,
                )
                written += 1
        return written

    # -- live work where the demo's users look --

    def pairs_into(self, dest: Establishment) -> list[tuple[Establishment, _Specialty]]:
        """(source, specialty) whose designated destination is ``dest``."""
        sources = list(self.region.centres_by_province.get(dest.province, []))
        sources += [h for group in self.region.hospitals_by_province.values() for h in group]
        sources += self.region.level3
        out = []
        for source in sources:
            if source.care_level >= dest.care_level:
                continue
            for spec in SPECIALTIES:
                if spec.code in _URGENT_ONLY:
                    continue
                d = self.index.designated(source, spec.code, self.version)
                if d is not None and d.destination == dest.code:
                    out.append((source, spec))
        return out

    def pairs_from(self, source: Establishment) -> list[tuple[Establishment, _Specialty]]:
        out = []
        for spec in SPECIALTIES:
            if spec.code in _URGENT_ONLY:
                continue
            d = self.index.designated(source, spec.code, self.version)
            dest = self.index.get(d.destination) if d else None
            if dest is not None and dest.care_level > source.care_level:
                out.append((dest, spec))
        return out

    def person_for(self, source: Establishment, spec: _Specialty, at: datetime) -> _Person | None:
        pool = [
            p
            for p in self.pools[spec.who if spec.who in self.pools else "any"]
            if not p.live and p.horizon == _FAR
        ]
        local = [p for p in pool if p.home.code == source.code] or [
            p for p in pool if p.province == source.province
        ]
        for candidates in (local, pool):
            for _ in range(30):
                if not candidates:
                    break
                p = self.rng.choice(candidates)
                if p.free(at - D, at + D):
                    return p
        return None

    def forced(
        self, source: Establishment, dest: Establishment, spec: _Specialty, kind: str
    ) -> None:
        """One referral left in a given state at ``until`` (live work for an inbox)."""
        rng, until = self.rng, self.until
        priority, bed = Priority.ROUTINE, False
        if kind == "due_soon":
            sent = until - D * rng.uniform(11.6, 14.2)
        elif kind == "on_time":
            priority, sent = Priority.PRIORITY, until - timedelta(hours=rng.uniform(6, 40))
        elif kind == "overdue":
            sent = until - self.deadlines[priority] - timedelta(hours=rng.uniform(1, 20))
        elif kind == "scheduled":
            sent = until - D * rng.uniform(8, 20)
        elif kind == "accepted":
            priority, sent = Priority.PRIORITY, until - timedelta(hours=rng.uniform(10, 40))
        elif kind == "arrived":
            sent = until - D * rng.uniform(12, 22)
        elif kind == "completed":
            sent = until - D * rng.uniform(25, 45)
        elif kind == "refused":
            sent = until - D * rng.uniform(4, 12)
        elif kind == "bed":
            priority, bed, sent = Priority.PRIORITY, True, until - D * rng.uniform(3, 7)
        else:  # draft
            sent = until - timedelta(hours=rng.uniform(2, 20))
        if bed and dest.beds(spec.code) <= 0:
            return
        person = self.person_for(source, spec, sent)
        if person is None:
            return
        refer_by = _staff("medecin", source.code)
        steps = (
            [] if kind == "draft" else [PlannedStep(Action.SEND, sent, Side.REFERRING, refer_by)]
        )
        life = _Life(steps, dest, outcome=kind)
        doctor = _staff("medecin", dest.code)
        if kind in ("due_soon", "on_time", "overdue") and rng.random() < 0.6:
            steps.append(
                PlannedStep(
                    Action.RECEIVE,
                    sent + H * rng.uniform(0.3, 6),
                    Side.RECEIVING,
                    _staff("accueil", dest.code),
                )
            )
        elif kind == "refused":
            steps.append(
                PlannedStep(
                    Action.REFUSE,
                    sent + D * rng.uniform(1, 3),
                    Side.RECEIVING,
                    doctor,
                    Payload(reason=rng.choice(REFUSALS)),
                )
            )
        elif kind == "accepted":
            steps.append(
                PlannedStep(Action.ACCEPT, until - H * rng.uniform(1, 8), Side.RECEIVING, doctor)
            )
        elif kind in ("scheduled", "arrived", "completed", "bed"):
            answer = sent + D * rng.uniform(0.5, 3)
            appointment = {
                "scheduled": self.clinic_at_or_after(until + D * rng.uniform(1, 9)),
                "arrived": self.clinic_at_or_after(until - D * rng.uniform(2, 6)),
                "completed": self.clinic_at_or_after(until - D * rng.uniform(10, 20)),
                "bed": until - D * rng.uniform(0.5, 2),
            }[kind]
            appointment = max(appointment, answer + D)
            self.accepted(
                life,
                dest,
                spec,
                priority,
                bed,
                answer,
                appointment=appointment,
                arrive=True,
                complete=kind == "completed",
            )
            if bed:
                life.stay_end = None
            elif kind == "completed" and life.steps[-1].action is Action.COMPLETE:
                done = min(life.steps[-1].at, until - H)
                last = life.steps[-1]
                if done > life.steps[-2].at:
                    life.steps[-1] = PlannedStep(
                        last.action, done, last.side, last.by, last.payload
                    )
        designation = self.index.designated(source, spec.code, self.version)
        self.referral(
            person,
            source,
            spec,
            priority,
            bed,
            sent,
            life,
            designation.destination if designation else None,
            first_destination=dest,
        )

    def focus(self, codes: Sequence[str]) -> None:
        for code in sorted(set(codes)):
            est = self.index.get(code)
            if est is None:
                continue
            if est.care_level == 1:
                outgoing = self.pairs_from(est)
                kinds = (
                    "due_soon",
                    "on_time",
                    "overdue",
                    "scheduled",
                    "scheduled",
                    "arrived",
                    "completed",
                    "completed",
                    "refused",
                    "draft",
                )
                for kind in kinds:
                    if outgoing:
                        dest, spec = self.rng.choice(outgoing)
                        self.forced(est, dest, spec, kind)
                continue
            incoming = self.pairs_into(est)
            kinds = (
                "due_soon",
                "due_soon",
                "on_time",
                "overdue",
                "accepted",
                "scheduled",
                "scheduled",
                "arrived",
                "bed",
                "completed",
            )
            for kind in kinds:
                if incoming:
                    source, spec = self.rng.choice(incoming)
                    self.forced(source, est, spec, kind)
            for kind in ("due_soon", "scheduled"):
                outgoing = self.pairs_from(est)
                if outgoing:
                    dest, spec = self.rng.choice(outgoing)
                    self.forced(est, dest, spec, kind)

    # -- the showcase persons --

    def showcases(self) -> None:
        people = {p.key: p for p in self.persons if p.key.startswith("SHOW-")}
        if "SHOW-ELAMRANI" in people:
            self.chain(
                people["SHOW-ELAMRANI"],
                ("cardiology", "cardiology"),
                follow_ups=("I10", "Z76.0"),
                first_codes=("R07.4", "I10"),
                seen=("I20.0",),
                stay=("I25.1", "I20.0"),
                counter=(
                    "Coronarographie : sténose serrée de l'artère interventriculaire antérieure, "
                    "angioplastie avec pose d'un stent actif. Double antiagrégation plaquettaire "
                    "douze mois, statine, bêtabloquant ; contrôle à six mois.",
                    "Angor instable, angioplastie au CHU. Poursuivre le traitement, suivi "
                    "tensionnel et glycémique au centre ; revoir en cardiologie dans trois mois.",
                ),
                after=("I25.1", "Z95.0"),
            )
        if "SHOW-TOUZANI" in people:
            self.chain(
                people["SHOW-TOUZANI"],
                ("urology", "oncology"),
                follow_ups=("J44.9",),
                first_codes=("N40", "R33"),
                seen=("N40", "C61"),
                stay=("C61", "Z51.1"),
                counter=(
                    "Réunion de concertation : adénocarcinome de la prostate ; hormonothérapie "
                    "instaurée, séances de chimiothérapie au CHU. Soins de support au centre.",
                    "Cancer de la prostate confirmé, pris en charge en oncologie au CHU ; "
                    "sondage et soins infirmiers au centre de santé.",
                ),
                after=("C61",),
                in_bed_at_end=True,
            )
        if "SHOW-RIFFI" in people:
            self.redirected_story(people["SHOW-RIFFI"])
        for key in ("SHOW-BAKKALI", "SHOW-GHAZOUANI-1991", "SHOW-GHAZOUANI-1993"):
            if key in people:
                p = people[key]
                for k in range(3):
                    at = self.clinic_time(
                        (self.until - D * (40 + 110 * k + self.rng.randrange(30))).date()
                    )
                    self.centre_visit(p, at)
                self.emergency(
                    p, self.any_time((self.until - D * (200 + self.rng.randrange(60))).date())
                )

    def _visit(
        self, p: _Person, where: Establishment, at: datetime, codes: tuple[str, ...]
    ) -> None:
        service = "general_medicine" if where.care_level == 1 else None
        self.encounter(
            p, where, EncounterKind.CONSULTATION, at, specialty=service, codes=codes, end=at
        )

    def chain(
        self,
        p: _Person,
        specialties: tuple[str, str],
        *,
        follow_ups: tuple[str, ...],
        first_codes: tuple[str, ...],
        seen: tuple[str, ...],
        stay: tuple[str, ...],
        counter: tuple[str, str],
        after: tuple[str, ...],
        in_bed_at_end: bool = False,
    ) -> None:
        """Centre → the hospital the map designates → the level above, and back."""
        until = self.until
        centre = p.home
        first = SPECIALTY_BY_CODE[specialties[0]]
        second = SPECIALTY_BY_CODE[specialties[1]]
        d1 = self.index.designated(centre, first.code, self.version)
        hop1 = self.index.get(d1.destination) if d1 else None
        if hop1 is None:
            return
        d2 = self.index.designated(hop1, second.code, self.version)
        hop2 = self.index.get(d2.destination) if d2 else self.region.chu
        if hop2 is None or hop2.code == hop1.code or hop2.beds(second.code) <= 0:
            return
        t0 = until - D * 300
        for k in range(4):
            self._visit(p, centre, self.clinic_time((t0 + D * (55 * k)).date()), follow_ups)
        # at the centre: the symptom, and the referral along the map
        seen_at = self.clinic_time((t0 + D * 215).date())
        sent1 = seen_at + timedelta(minutes=25)
        appointment1 = self.clinic_at_or_after(sent1 + D * 6)
        doctor1, desk1 = _staff("medecin", hop1.code), _staff("accueil", hop1.code)
        # at the hospital: the specialist refers on, with a bed asked at the level above
        sent2 = appointment1 + H * 2
        appointment2 = self.clinic_at_or_after(sent2 + D * 5)
        stay_end = appointment2 + D * 4 + H * 3
        doctor2, desk2 = _staff("medecin", hop2.code), _staff("accueil", hop2.code)
        steps2 = [
            PlannedStep(Action.SEND, sent2, Side.REFERRING, doctor1),
            PlannedStep(Action.RECEIVE, sent2 + H * 3, Side.RECEIVING, desk2),
            PlannedStep(Action.ACCEPT, sent2 + D * 1, Side.RECEIVING, doctor2),
            PlannedStep(
                Action.SCHEDULE,
                sent2 + D * 1 + H,
                Side.RECEIVING,
                desk2,
                Payload(appointment_at=appointment2),
            ),
            PlannedStep(Action.ARRIVE, appointment2, Side.RECEIVING, desk2),
            PlannedStep(
                Action.COMPLETE,
                stay_end + H * 2,
                Side.RECEIVING,
                doctor2,
                Payload(
                    counter_referral=f"Contre-référence ({specialty_name(second.code)}) : "
                    f"{counter[0]}"
                ),
            ),
        ]
        steps1 = [
            PlannedStep(Action.SEND, sent1, Side.REFERRING, _staff("medecin", centre.code)),
            PlannedStep(Action.RECEIVE, sent1 + H * 2, Side.RECEIVING, desk1),
            PlannedStep(Action.ACCEPT, sent1 + H * 20, Side.RECEIVING, doctor1),
            PlannedStep(
                Action.SCHEDULE,
                sent1 + H * 21,
                Side.RECEIVING,
                desk1,
                Payload(appointment_at=appointment1),
            ),
            PlannedStep(Action.ARRIVE, appointment1, Side.RECEIVING, desk1),
            PlannedStep(
                Action.COMPLETE,
                stay_end + D * 2,
                Side.RECEIVING,
                doctor1,
                Payload(
                    counter_referral=f"Contre-référence ({specialty_name(first.code)}) : "
                    f"{counter[1]}"
                ),
            ),
        ]
        self._visit(p, centre, seen_at, first_codes)
        for life, source, dest, spec, sent, bed, codes in (
            (_Life(steps1, hop1), centre, hop1, first, sent1, False, seen),
            (_Life(steps2, hop2), hop1, hop2, second, sent2, True, stay),
        ):
            life.arrive_at = next(s.at for s in life.steps if s.action is Action.ARRIVE)
            life.stay_end = stay_end if bed else None
            designation = self.index.designated(source, spec.code, self.version)
            self.referral(
                p,
                source,
                spec,
                Priority.PRIORITY,
                bed,
                sent,
                life,
                designation.destination if designation else None,
                first_destination=dest,
                origin=False,
                arrival_codes=codes,
                first_code=first_codes[0],
            )
        for k, days in enumerate((12, 70, 140)):
            at = self.clinic_time((stay_end + D * days).date())
            if at < until - D * 20:
                self._visit(p, centre, at, after if k else (*after, "Z76.0"))
        if hop1.offers("emergency"):
            er = self.any_time((stay_end + D * 100).date())
            if er < until - D * 20:
                self.encounter(
                    p,
                    hop1,
                    EncounterKind.EMERGENCY,
                    er,
                    specialty="emergency",
                    codes=("R07.4",),
                    end=er + H * 3,
                )
        if in_bed_at_end:
            begin = until - D * 2 - H * 5
            self.encounter(
                p, hop2, EncounterKind.ADMISSION, begin, specialty=second.code, codes=stay
            )
            p.horizon = begin
            return
        # the follow-up the map asks for: accepted, the appointment in the coming days
        sent3 = self.clinic_time((until - D * 12).date())
        appointment3 = self.clinic_at_or_after(until + D * 4)
        self._visit(p, centre, sent3 - timedelta(minutes=30), follow_ups)
        life3 = _Life(
            [
                PlannedStep(Action.SEND, sent3, Side.REFERRING, _staff("medecin", centre.code)),
                PlannedStep(Action.RECEIVE, sent3 + H * 4, Side.RECEIVING, desk1),
                PlannedStep(Action.ACCEPT, sent3 + D * 2, Side.RECEIVING, doctor1),
                PlannedStep(
                    Action.SCHEDULE,
                    sent3 + D * 2 + H,
                    Side.RECEIVING,
                    desk1,
                    Payload(appointment_at=appointment3),
                ),
            ],
            hop1,
        )
        self.referral(
            p,
            centre,
            first,
            Priority.ROUTINE,
            False,
            sent3,
            life3,
            hop1.code,
            first_destination=hop1,
            origin=False,
            first_code=after[0],
        )

    def redirected_story(self, p: _Person) -> None:
        """A referral redirected by the hospital the map designates to the one that operates."""
        spec = SPECIALTY_BY_CODE["obstetrics_gynaecology"]
        centre = p.home
        d = self.index.designated(centre, spec.code, self.version)
        hop1 = self.index.get(d.destination) if d else None
        if hop1 is None:
            return
        target = self.elsewhere(centre, spec.code, True, exclude={hop1.code}, above=hop1.care_level)
        target = target or self.elsewhere(centre, spec.code, True, exclude={hop1.code})
        if target is None:
            return
        until = self.until
        self._visit(p, centre, self.clinic_time((until - D * 160).date()), ("N93.9",))
        seen = self.clinic_time((until - D * 120).date())
        self._visit(p, centre, seen, ("D25.9", "D50.9"))
        sent = seen + timedelta(minutes=20)
        redirect_at = sent + D * 2
        accept_at = redirect_at + D * 1
        appointment = self.clinic_at_or_after(accept_at + D * 12)
        stay_end = appointment + D * 3
        desk, doctor = _staff("accueil", target.code), _staff("medecin", target.code)
        steps = [
            PlannedStep(Action.SEND, sent, Side.REFERRING, _staff("medecin", centre.code)),
            PlannedStep(Action.RECEIVE, sent + H * 5, Side.RECEIVING, _staff("accueil", hop1.code)),
            PlannedStep(
                Action.REDIRECT,
                redirect_at,
                Side.RECEIVING,
                _staff("medecin", hop1.code),
                Payload(
                    reason=f"Myomectomie : pas de chirurgien gynécologue cette période, "
                    f"réorientée vers {target.name or target.code}.",
                    destination=target.code,
                ),
            ),
            PlannedStep(Action.ACCEPT, accept_at, Side.RECEIVING, doctor),
            PlannedStep(
                Action.SCHEDULE,
                accept_at + H,
                Side.RECEIVING,
                desk,
                Payload(appointment_at=appointment),
            ),
            PlannedStep(Action.ARRIVE, appointment, Side.RECEIVING, desk),
            PlannedStep(
                Action.COMPLETE,
                stay_end + H * 4,
                Side.RECEIVING,
                doctor,
                Payload(
                    counter_referral="Contre-référence (Gynécologie-obstétrique) : myomectomie "
                    "par laparotomie, suites simples. Fer oral trois mois ; contrôle de "
                    "l'hémoglobine au centre de santé."
                ),
            ),
        ]
        life = _Life(steps, target, arrive_at=appointment, stay_end=stay_end, outcome="completed")
        self.referral(
            p,
            centre,
            spec,
            Priority.ROUTINE,
            True,
            sent,
            life,
            hop1.code,
            first_destination=hop1,
            origin=False,
            arrival_codes=("D25.9",),
            first_code="D25.9",
        )
        self._visit(
            p,
            centre,
            self.clinic_time((stay_end + D * 15).date()),
            ("D50.9",),
        )


_ER_HOURS = (2, 1.5, 1, 1, 1, 1.5, 2, 3, 5, 7, 8, 8, 7, 7, 7, 7, 8, 9, 9, 8, 7, 5, 4, 3)


def _open_stays(
    encounters: Sequence[PlannedEncounter], referrals: Sequence[PlannedReferral]
) -> Counter[tuple[str, str]]:
    return ActivityPlan(
        tuple(encounters), tuple(referrals), WINDOW_START, WINDOW_START, {}
    ).open_stays()


def plan_activity(
    establishments: Iterable[Establishment],
    records: Sequence[RecordRef],
    *,
    version: MapVersion,
    seed: int,
    until: datetime,
    scale: float = 1.0,
    start: datetime = WINDOW_START,
    encounters: int | None = None,
    referrals: int | None = None,
    focus: Sequence[str] = (),
    deadlines: Mapping[Priority, timedelta] = DEFAULT_ANSWER_DEADLINES,
) -> ActivityPlan:
    """The region's activity from ``start`` to ``until`` over the persons of ``records``.

    ``encounters`` and ``referrals`` default to ``ENCOUNTERS`` and ``REFERRALS``
    at ``scale`` (the encounters count the arrivals the load adds). ``version``
    is the map the referrals follow (the load stamps the same designation);
    ``deadlines`` must be those the load applies, so that expiries fall after them.
    """
    if until.tzinfo is None or start.tzinfo is None:
        raise ValueError("start and until must be timezone-aware")
    if until - start < D * 60:
        raise ValueError("the window must cover at least two months")
    if not records:
        raise ValueError("the activity needs persons (the patients step)")
    planner = _Planner(
        establishments,
        records,
        version=version,
        rng=random.Random(seed),
        start=start,
        until=until,
        deadlines=deadlines,
    )
    n_encounters = encounters if encounters is not None else round(ENCOUNTERS * scale)
    n_referrals = referrals if referrals is not None else round(REFERRALS * scale)
    via_referral = 0.12
    planner.showcases()
    planner.focus(focus)
    targets = planner.census_targets()
    expected_fill = min(sum(targets.values()), int(OPEN_STAY_CAP * len(planner.persons)))
    crowd = n_referrals - len(planner.referrals) - round(expected_fill * via_referral)
    planner.crowd_referrals(max(crowd, 0))
    planner.fill_census(targets, via_referral)
    arrivals = sum(1 for r in planner.referrals if r.arrived)
    planner.background(n_encounters - len(planner.encounters) - arrivals)
    return ActivityPlan(
        encounters=tuple(sorted(planner.encounters, key=lambda e: (e.start_at, e.record_id))),
        referrals=tuple(sorted(planner.referrals, key=lambda r: (r.created_at, r.record_id))),
        start=start,
        until=until,
        census_target=targets,
    )
