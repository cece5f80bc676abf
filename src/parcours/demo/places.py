"""Places of the pilot region that the demo needs beyond ``territory/data``.

Everything here is named from general knowledge of the region and kept to
names we are confident exist: the neighbourhoods of Tanger and Tétouan, the
rural communes of each province (2015 communal division), a few more
localities with approximate coordinates (about ±5 km: they anchor demo
points, they are not a gazetteer). Where we knew no name for sure, the
generator falls back on the town's name with a numeral.

Figures marked approximate are orders of magnitude from the 2014 census, used
only as weights.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ExtraPlace:
    name: str
    province: str
    latitude: float
    longitude: float


# Localities that are not in territory/data/tta_towns.csv but that the demo
# uses as anchors for rural centres or as hospital sites (approximate).
EXTRA_PLACES: tuple[ExtraPlace, ...] = (
    ExtraPlace("Anjra", "FAN", 35.7500, -5.5300),  # chef-lieu, as in tta_provinces.csv
    ExtraPlace("Laaouamra", "LAR", 35.0600, -6.0800),
    ExtraPlace("Ajdir", "HOC", 35.1950, -3.9150),
    ExtraPlace("Issaguen", "HOC", 34.9100, -4.5700),
    ExtraPlace("Bab Taza", "CHE", 35.0600, -5.2000),
    ExtraPlace("Zoumi", "OUZ", 34.8000, -5.3500),
    ExtraPlace("Mokrisset", "OUZ", 34.9400, -5.3400),
)

# Share of each province's population living in its towns (2014, approximate).
# Fahs-Anjra has no urban municipality.
URBAN_SHARE: dict[str, float] = {
    "TNG": 0.90,
    "MDF": 0.93,
    "TET": 0.71,
    "FAN": 0.0,
    "LAR": 0.51,
    "HOC": 0.30,
    "CHE": 0.09,
    "OUZ": 0.20,
}

# Population of the towns (2014, approximate), to spread urban centres.
TOWN_POPULATION: dict[str, int] = {
    "Tanger": 948_000,
    "Asilah": 31_000,
    "Gueznaia": 30_000,
    "M'diq": 56_000,
    "Fnideq": 77_000,
    "Martil": 64_000,
    "Tétouan": 381_000,
    "Oued Laou": 10_000,
    "Larache": 125_000,
    "Ksar El Kébir": 127_000,
    "Al Hoceïma": 57_000,
    "Imzouren": 26_000,
    "Beni Bouayach": 18_000,
    "Targuist": 12_000,
    "Chefchaouen": 43_000,
    "Ouezzane": 60_000,
}

# Neighbourhoods of the two large cities, with a weight for how many urban
# centres each plausibly holds (the dense popular districts hold several).
# The first one of each city receives its first centre.
NEIGHBOURHOODS: dict[str, tuple[tuple[str, int], ...]] = {
    "Tanger": (
        ("Beni Makada", 5),
        ("Bir Chifa", 4),
        ("Mesnana", 3),
        ("Aouama", 3),
        ("Casabarata", 3),
        ("Mghogha", 3),
        ("Branes", 3),
        ("Dradeb", 3),
        ("Bendibane", 3),
        ("Drissia", 3),
        ("Souani", 2),
        ("Msallah", 2),
        ("Médina", 2),
        ("Charf", 2),
        ("Ziaten", 2),
        ("Malabata", 2),
        ("Val Fleuri", 2),
        ("Tanja Balia", 2),
        ("Marshan", 1),
        ("Iberia", 1),
        ("Boubana", 1),
        ("Jbel Kbir", 1),
    ),
    "Tétouan": (
        ("Kouilma", 2),
        ("Mhannech", 2),
        ("Touabel", 2),
        ("Jbel Dersa", 2),
        ("Barrio Malaga", 2),
        ("Samsa", 2),
        ("Boujarrah", 1),
        ("Sidi Talha", 1),
        ("Ensanche", 1),
        ("Saniat Rmel", 1),
    ),
}


@dataclass(frozen=True)
class RuralCommune:
    name: str
    anchor: str  # a town of tta_towns.csv or of EXTRA_PLACES near which it lies


def _communes(anchor_of: dict[str, str]) -> tuple[RuralCommune, ...]:
    return tuple(RuralCommune(name, anchor) for name, anchor in anchor_of.items())


# Rural communes of each province; the first is the province's rural hub and
# always receives a level-2 rural centre. Anchors are the nearest town we
# place with confidence, not the commune's own coordinates.
RURAL_COMMUNES: dict[str, tuple[RuralCommune, ...]] = {
    "TNG": _communes(
        {
            "Sidi Lyamani": "Asilah",
            "Sahel Chamali": "Asilah",
            "Had Al Gharbia": "Asilah",
            "Aquouass Briech": "Asilah",
            "Al Manzla": "Tanger",
            "Azzinate": "Tanger",
            "Dar Chaoui": "Tanger",
            "Hjar Ennhal": "Tanger",
        }
    ),
    "MDF": _communes({"Belyounech": "Fnideq", "Allyene": "M'diq"}),
    "TET": _communes(
        {
            "Dar Bni Karrich": "Tétouan",
            "Azla": "Tétouan",
            "Ain Lahcen": "Tétouan",
            "Al Hamra": "Tétouan",
            "Beni Idder": "Tétouan",
            "Beni Leit": "Tétouan",
            "Jbel Lahbib": "Tétouan",
            "Saddina": "Tétouan",
            "Zinat": "Tétouan",
            "Sahtryine": "Tétouan",
            "Oulad Ali Mansour": "Tétouan",
            "Mallalienne": "Tétouan",
            "Al Kharroub": "Tétouan",
            "Bghaghza": "Oued Laou",
            "Zaitoune": "Oued Laou",
            "Bni Said": "Oued Laou",
        }
    ),
    "FAN": _communes(
        {
            "Anjra": "Anjra",
            "Ksar Sghir": "Ksar Sghir",
            "Ksar El Majaz": "Ksar Sghir",
            "Taghramt": "Ksar Sghir",
            "Malloussa": "Anjra",
            "Jouamaa": "Anjra",
        }
    ),
    "LAR": _communes(
        {
            "Laaouamra": "Laaouamra",
            "Zouada": "Larache",
            "Ayacha": "Larache",
            "Sahel": "Larache",
            "Ksar Bjir": "Ksar El Kébir",
            "Souk Tolba": "Ksar El Kébir",
            "Souaken": "Ksar El Kébir",
            "Tatoft": "Ksar El Kébir",
            "Bni Garfett": "Ksar El Kébir",
            "Rissana Chamalia": "Ksar El Kébir",
            "Rissana Janoubia": "Ksar El Kébir",
            "Bni Arouss": "Ksar El Kébir",
            "Tazroute": "Ksar El Kébir",
            "Boujediane": "Ksar El Kébir",
            "Oulad Ouchih": "Ksar El Kébir",
        }
    ),
    "HOC": _communes(
        {
            "Bni Hadifa": "Targuist",
            "Ait Youssef Ou Ali": "Ajdir",
            "Izemmouren": "Ajdir",
            "Ait Kamra": "Imzouren",
            "Tamassint": "Imzouren",
            "Nekkour": "Imzouren",
            "Imrabten": "Imzouren",
            "Zaouiat Sidi Abdelkader": "Imzouren",
            "Louta": "Beni Bouayach",
            "Chakrane": "Beni Bouayach",
            "Arbaa Taourirt": "Beni Bouayach",
            "Bni Abdallah": "Beni Bouayach",
            "Sidi Boutmim": "Beni Bouayach",
            "Rouadi": "Al Hoceïma",
            "Beni Ammart": "Targuist",
            "Bni Bouffrah": "Targuist",
            "Senada": "Targuist",
            "Abdelghaya Souahel": "Targuist",
            "Bni Gmil": "Targuist",
            "Issaguen": "Issaguen",
            "Ketama": "Issaguen",
            "Zarkat": "Issaguen",
        }
    ),
    "CHE": _communes(
        {
            "Bab Berred": "Bab Berred",
            "Bab Taza": "Bab Taza",
            "Bni Ahmed Cherqia": "Chefchaouen",
            "Bni Ahmed Gharbia": "Chefchaouen",
            "Bni Selmane": "Chefchaouen",
            "Talambote": "Chefchaouen",
            "Derdara": "Chefchaouen",
            "Bni Darkoul": "Chefchaouen",
            "Bni Faghloum": "Chefchaouen",
            "Tanaqob": "Bab Taza",
            "Fifi": "Bab Taza",
            "Tamorot": "Bab Berred",
            "Stehat": "El Jebha",
            "Amtar": "El Jebha",
            "Bni Smih": "El Jebha",
            "Bni Rzine": "El Jebha",
            "Bni Mansour": "El Jebha",
            "Tizgane": "El Jebha",
        }
    ),
    "OUZ": _communes(
        {
            "Zoumi": "Zoumi",
            "Mokrisset": "Mokrisset",
            "Brikcha": "Ouezzane",
            "Asjen": "Ouezzane",
            "Masmouda": "Ouezzane",
            "Lamjaara": "Ouezzane",
            "Zghira": "Ouezzane",
            "Sidi Redouane": "Zoumi",
            "Teroual": "Mokrisset",
        }
    ),
}


@dataclass(frozen=True)
class HospitalSite:
    town: str
    label: str = ""  # what the hospital is named after when not the town (a neighbourhood)


# Where the demo may place the hospitals that tta_hospitals.csv does not name:
# proximity hospitals in real towns of the province, drawn in a seeded order.
# Fahs-Anjra has long had no hospital of its own (its people go to Tanger's);
# the demo gives it one proximity hospital, in Ksar Sghir (the Tanger Med port
# area, where most of its population and traffic are) or in Anjra, the
# chef-lieu, so that every province has a level-2 hospital to refer to.
HOSPITAL_SITES: dict[str, tuple[HospitalSite, ...]] = {
    "TNG": (
        HospitalSite("Asilah"),
        HospitalSite("Gueznaia"),
        HospitalSite("Tanger", "Beni Makada"),
    ),
    "MDF": (HospitalSite("Martil"),),
    "TET": (HospitalSite("Oued Laou"),),
    "FAN": (HospitalSite("Ksar Sghir"), HospitalSite("Anjra")),
    "LAR": (HospitalSite("Laaouamra"),),
    "HOC": (HospitalSite("Ajdir"), HospitalSite("Issaguen")),
    "CHE": (HospitalSite("Bab Berred"), HospitalSite("Bab Taza"), HospitalSite("El Jebha")),
    "OUZ": (HospitalSite("Zoumi"), HospitalSite("Mokrisset")),
}

# Specialised hospitals' profiles, by their name in tta_hospitals.csv. Ben
# Karrich was the North's sanatorium for respiratory diseases and tuberculosis;
# Duc de Tovar is taken here as Tanger's specialist consultation hospital
# (an assumption of the demo: the reference gives its category only).
SPECIALISED_PROFILES: dict[str, tuple[str, ...]] = {
    "Hôpital Ben Karrich": ("pulmonology", "tuberculosis", "infectious_diseases"),
    "Hôpital Duc de Tovar": (
        "ophthalmology",
        "ent",
        "dermatology",
        "endocrinology",
        "gastroenterology",
        "cardiology",
    ),
}
DEFAULT_SPECIALISED_PROFILE: tuple[str, ...] = ("psychiatry",)
