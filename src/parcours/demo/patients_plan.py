"""The demo's patients, planned from a seed without touching a database.

The persons, their names (with the reference frequencies) and each
registration's variants and errors come from the MPI's own synthetic
generator (:func:`parcours.patients.synthetic.generate`); this module only
places each registration where such a person would be registered in the demo
region: the first at a health centre of the person's commune, the next ones
most often at the province's hospital, sometimes at the CHU. Each
establishment numbers its own patients (its IPP).

Besides the crowd, a few persons are written out by hand so that the README,
the browser test and a first visit find them: *Mohammed Elamrani*, registered
at the Beni Makada health centre (the demo admission agent's) and, spelt
"Mhamed El Amrani", at the Tanger regional hospital; and a few pairs at
Tétouan that no rule can decide alone (a birth date missing, year-only dates
a year or two apart, two namesakes born two years apart), for the review queue.

The true person of each registration (``true_person``) is for evaluation
only: the steps store it in the demo's own table, which the matching code
never reads.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from parcours.demo.establishments import EstablishmentRef
from parcours.patients.dates import parse_birth_date
from parcours.patients.records import SourceRecord
from parcours.patients.synthetic import Person, generate
from parcours.territory.rules import Category, EstablishmentType, search_key

T = EstablishmentType

#: Persons at scale 1: enough for the search and the review queue to have real
#: work, small enough for ``make demo`` to stay about a minute.
PERSONS = 3_000

# The province of each commune the generator draws from (2015 communal division).
COMMUNE_PROVINCE: dict[str, str] = {
    "tanger": "TNG",
    "asilah": "TNG",
    "gueznaia": "TNG",
    "dar chaoui": "TNG",
    "tetouan": "TET",
    "oued laou": "TET",
    "fnideq": "MDF",
    "mdiq": "MDF",
    "martil": "MDF",
    "ksar sghir": "FAN",
    "anjra": "FAN",
    "malloussa": "FAN",
    "larache": "LAR",
    "ksar el kebir": "LAR",
    "laaouamra": "LAR",
    "souk larbaa": "LAR",
    "moulay abdeslam": "LAR",
    "al hoceima": "HOC",
    "imzouren": "HOC",
    "beni bouayach": "HOC",
    "targuist": "HOC",
    "issaguen": "HOC",
    "chefchaouen": "CHE",
    "bab berred": "CHE",
    "jebha": "CHE",
    "bab taza": "CHE",
    "tamorot": "CHE",
    "ouezzane": "OUZ",
    "mokrisset": "OUZ",
    "zoumi": "OUZ",
}
DEFAULT_PROVINCE = "TNG"


@dataclass(frozen=True)
class Registration:
    """One registration to make at a desk, with the true person behind it."""

    record: SourceRecord
    true_person: str


@dataclass(frozen=True)
class PatientPlan:
    registrations: list[Registration]
    persons: int

    def by_person(self) -> dict[str, list[Registration]]:
        grouped: dict[str, list[Registration]] = defaultdict(list)
        for item in self.registrations:
            grouped[item.true_person].append(item)
        return dict(grouped)


# --- where a person is registered ---------------------------------------------


def _of_type(
    establishments: Sequence[EstablishmentRef], *types: EstablishmentType
) -> list[EstablishmentRef]:
    return [e for e in establishments if e.type in types]


@dataclass(frozen=True)
class Sites:
    """The establishments a desk registration may happen at, by commune and province."""

    centres_by_town: dict[str, list[EstablishmentRef]]
    centres_by_province: dict[str, list[EstablishmentRef]]
    hospital_of: dict[str, EstablishmentRef]  # the province's main hospital
    chu: EstablishmentRef | None
    any_centre: list[EstablishmentRef]

    @classmethod
    def of(cls, establishments: Mapping[str, EstablishmentRef]) -> Sites:
        ordered = sorted(establishments.values(), key=lambda e: e.code)
        centres = [e for e in ordered if e.type.category is Category.HEALTH_CENTRE]
        by_town: dict[str, list[EstablishmentRef]] = defaultdict(list)
        by_province: dict[str, list[EstablishmentRef]] = defaultdict(list)
        for centre in centres:
            by_town[search_key(centre.town)].append(centre)
            by_province[centre.province].append(centre)
        hospital_of: dict[str, EstablishmentRef] = {}
        # a province's reference hospital: regional where there is one, else provincial,
        # else any hospital of the province
        for types in (
            (T.REGIONAL_HOSPITAL,),
            (T.PROVINCIAL_HOSPITAL,),
            tuple(t for t in T if t.category is Category.HOSPITAL),
        ):
            for hospital in _of_type(ordered, *types):
                hospital_of.setdefault(hospital.province, hospital)
        chus = _of_type(ordered, T.CHU)
        return cls(
            dict(by_town),
            dict(by_province),
            hospital_of,
            chus[0] if chus else None,
            centres or ordered,
        )

    def home_centre(self, commune: str, rng: random.Random) -> EstablishmentRef:
        key = search_key(commune)
        if key in self.centres_by_town:
            return rng.choice(self.centres_by_town[key])
        province = COMMUNE_PROVINCE.get(key, DEFAULT_PROVINCE)
        return rng.choice(self.centres_by_province.get(province) or self.any_centre)

    def next_site(self, home: EstablishmentRef, visit: int, rng: random.Random) -> EstablishmentRef:
        """Where the ``visit``-th registration (1 = the second) of a person happens."""
        hospital = self.hospital_of.get(home.province)
        roll = rng.random()
        if visit >= 2 and self.chu is not None and roll < 0.5:
            return self.chu
        if hospital is not None and roll < 0.75:
            return hospital
        if self.chu is not None and roll < 0.85:
            return self.chu
        return rng.choice(self.centres_by_province.get(home.province) or self.any_centre)


# --- the persons written out by hand --------------------------------------------


@dataclass(frozen=True)
class Showcase:
    """Registrations of one hand-written person: (site role, record fields)."""

    person: str
    records: tuple[tuple[str, SourceRecord], ...]


# Site roles: "desk" = the admission agent's centre (first level-2 urban centre of Tanger),
# "tng_hospital" = Tanger's regional hospital, "tet_hospital" / "tet_centre" = Tétouan's.
SHOWCASES: tuple[Showcase, ...] = (
    Showcase(
        "SHOW-ELAMRANI",
        (
            (
                "desk",
                SourceRecord(
                    "",
                    given_name="Mohammed",
                    family_name="Elamrani",
                    given_name_ar="محمد",
                    family_name_ar="العمراني",
                    sex="M",
                    birth_date="1978-03-14",
                    cin="K418273",
                    amo_number="417305926",
                    phone="0661427319",
                    address="Hay Beni Makada rue 12 n° 34",
                    commune="Tanger",
                ),
            ),
            (
                "tng_hospital",
                SourceRecord(
                    "",
                    given_name="Mhamed",
                    family_name="El Amrani",
                    sex="M",
                    birth_date="1978-03-14",
                    cin="k 418273",
                    phone="06 61 42 73 19",
                    commune="Tanger",
                ),
            ),
        ),
    ),
    # Pairs at Tétouan that no rule decides alone, for the review queue: a birth date
    # missing, a year-only date that disagrees by a year or two, two namesakes.
    Showcase(
        "SHOW-BAKKALI",
        (
            (
                "tet_centre",
                SourceRecord(
                    "",
                    given_name="Fatima Zahra",
                    family_name="Bakkali",
                    sex="F",
                    birth_date="1956",
                    commune="Tétouan",
                ),
            ),
            (
                "tet_hospital",
                SourceRecord(
                    "",
                    given_name="Fatimazahra",
                    family_name="Bekkali",
                    sex="F",
                    address="Hay Jbel Dersa rue 4",
                ),
            ),
        ),
    ),
    Showcase(
        "SHOW-TOUZANI",
        (
            (
                "tet_centre",
                SourceRecord(
                    "",
                    given_name="Abdeslam",
                    family_name="Touzani",
                    sex="M",
                    birth_date="1949",
                    commune="Oued Laou",
                ),
            ),
            (
                "tet_hospital",
                SourceRecord(
                    "",
                    given_name="Abdeslam",
                    family_name="Touzani",
                    sex="M",
                    birth_date="1951",
                    phone="0539971204",
                ),
            ),
        ),
    ),
    Showcase(
        "SHOW-RIFFI",
        (
            (
                "tet_hospital",
                SourceRecord(
                    "",
                    given_name="Khadija",
                    family_name="Riffi",
                    sex="F",
                    birth_date="1983",
                    commune="Tétouan",
                ),
            ),
            (
                "tet_centre",
                SourceRecord(
                    "",
                    given_name="Khadidja",
                    family_name="Er-Rifi",
                    sex="F",
                    birth_date="1984-05-11",
                    commune="Martil",
                ),
            ),
        ),
    ),
    # two men of the same name, born two years apart: not the same person
    Showcase(
        "SHOW-GHAZOUANI-1991",
        (
            (
                "tet_centre",
                SourceRecord(
                    "",
                    given_name="Younes",
                    family_name="Ghazouani",
                    sex="M",
                    birth_date="1991-06-23",
                    commune="Tétouan",
                ),
            ),
        ),
    ),
    Showcase(
        "SHOW-GHAZOUANI-1993",
        (
            (
                "tet_hospital",
                SourceRecord(
                    "",
                    given_name="Younes",
                    family_name="Ghazouani",
                    sex="M",
                    birth_date="1993-02-11",
                    commune="Tétouan",
                ),
            ),
        ),
    ),
)
SHOWCASE_NAME = "Mohammed Elamrani"


def _first(
    establishments: Sequence[EstablishmentRef], type_: EstablishmentType, province: str
) -> EstablishmentRef | None:
    matching = [e for e in establishments if e.type is type_ and e.province == province]
    return matching[0] if matching else None


def showcase_sites(establishments: Mapping[str, EstablishmentRef]) -> dict[str, EstablishmentRef]:
    """The establishment of each site role (the same rule as the demo users' scopes)."""
    ordered = sorted(establishments.values(), key=lambda e: e.code)
    sites = Sites.of(establishments)
    fallback = sites.any_centre[0]
    desk = _first(ordered, T.CSU_2, "TNG") or fallback
    tng_hospital = sites.hospital_of.get("TNG") or sites.chu or fallback
    tet_hospital = sites.hospital_of.get("TET") or tng_hospital
    tet_centres = sites.centres_by_province.get("TET") or [fallback]
    return {
        "desk": desk,
        "tng_hospital": tng_hospital,
        "tet_hospital": tet_hospital,
        "tet_centre": tet_centres[0],
    }


# --- the plan -----------------------------------------------------------------


def _as_a_desk_accepts(birth_date: str, person: Person) -> str:
    """A typo that puts the birth in the future is refused at the desk, which retypes it."""
    if birth_date and parse_birth_date(birth_date) is None:
        return f"{person.year:04d}-{person.month:02d}-{person.day:02d}"
    return birth_date


def plan_patients(
    establishments: Mapping[str, EstablishmentRef], persons: int, seed: int
) -> PatientPlan:
    """The registrations of ``persons`` generated persons plus the hand-written ones.

    The hand-written ones come first (so that "Mohammed Elamrani" is the name
    the person was first registered under), then the crowd in the generator's
    shuffled order, which mixes persons and establishments as days at the desks do.
    """
    if not establishments:
        raise ValueError("the patients need the establishments of the territory step")
    rng = random.Random(seed)
    sites = Sites.of(establishments)
    data = generate(persons, seed=seed)
    person_of = {p.person_id: p for p in data.persons}
    home: dict[str, EstablishmentRef] = {}
    visits: dict[str, int] = defaultdict(int)
    ipp: dict[str, int] = defaultdict(int)
    registrations: list[Registration] = []

    def number_at(code: str) -> str:
        ipp[code] += 1
        return f"{ipp[code]:06d}"

    roles = showcase_sites(establishments)
    for show in SHOWCASES:
        for role, written in show.records:
            site = roles[role]
            key = f"DEMO-{len(registrations) + 1:07d}"
            record = replace(
                written, record_id=key, establishment=site.code, local_id=number_at(site.code)
            )
            registrations.append(Registration(record, show.person))

    for record in data.records:
        person = data.person_of[record.record_id]
        if person not in home:
            site = home[person] = sites.home_centre(person_of[person].commune, rng)
        else:
            visits[person] += 1
            site = sites.next_site(home[person], visits[person], rng)
        key = f"DEMO-{len(registrations) + 1:07d}"
        placed = replace(
            record,
            record_id=key,
            establishment=site.code,
            local_id=number_at(site.code),
            birth_date=_as_a_desk_accepts(record.birth_date, person_of[person]),
        )
        registrations.append(Registration(placed, f"T{person}"))
    return PatientPlan(registrations, persons + len(SHOWCASES))
