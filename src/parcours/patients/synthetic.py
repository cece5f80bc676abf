"""Synthetic Moroccan patients registered several times, with the truth kept apart.

Persons live in households (a family name, often an AMO number and a phone,
an address and a commune of the Tanger–Tétouan–Al Hoceïma region); their
names follow the reference frequencies — a few very common given names
(Mohamed, Fatima, Fatima Zahra…), a handful of frequent family names and a
long tail. Each person is registered one to four times, each registration
with the variants and errors that real admission desks produce: spelling
variants (Mohammed/Mhamed), particles attached, detached or dropped,
Arabic script, swapped given and family names, typos, year-only birth dates
written as 01/01, day and month swapped, a CIN only for adults and often not
recorded, the household's AMO number shared by its dependants, and twins.

``generate(persons, seed)`` is deterministic. The true person of each record
is returned apart from the records (``SyntheticData.person_of``): the
matching code never reads it; the benchmark and the demo's evaluation do.
"""

from __future__ import annotations

import csv
import random
from bisect import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from pathlib import Path

from parcours.patients.records import CSV_COLUMNS, SourceRecord


@dataclass(frozen=True)
class NameForm:
    """A name with its weight, its spelling variants and its Arabic form."""

    canonical: str
    weight: float
    variants: tuple[str, ...] = ()
    arabic: str = ""


def _n(canonical: str, weight: float, variants: str = "", arabic: str = "") -> NameForm:
    return NameForm(canonical, weight, tuple(v for v in variants.split(",") if v), arabic)


MALE_NAMES: tuple[NameForm, ...] = (
    _n("Mohamed", 110, "Mohammed,Mhamed,Mohamad,Muhammad,Mouhamed", "محمد"),
    _n("Ahmed", 30, "Ahmad", "أحمد"),
    _n("Youssef", 28, "Yousef,Youssouf,Yusuf", "يوسف"),
    _n("Abdellah", 22, "Abdallah,Abdelah", "عبد الله"),
    _n("Abderrahim", 12, "Abderahim,Abdel Rahim", "عبد الرحيم"),
    _n("Hassan", 20, "Hasan", "حسن"),
    _n("Hicham", 14, "Hisham", "هشام"),
    _n("Rachid", 18, "Rachide,Rashid", "رشيد"),
    _n("Said", 16, "Saïd,Saeed", "سعيد"),
    _n("Mustapha", 15, "Moustapha,Mostafa", "مصطفى"),
    _n("Khalid", 16, "Khaled", "خالد"),
    _n("Karim", 10, "Kareem", "كريم"),
    _n("Omar", 14, "Oumar", "عمر"),
    _n("Anas", 9, "", "أنس"),
    _n("Amine", 12, "Amin", "أمين"),
    _n("Ayoub", 12, "Ayyoub", "أيوب"),
    _n("Hamza", 12, "", "حمزة"),
    _n("Ismail", 10, "Ismael,Smail", "إسماعيل"),
    _n("Mehdi", 10, "Mahdi", "مهدي"),
    _n("Driss", 10, "Idriss", "إدريس"),
    _n("Mohamed Amine", 14, "Mohammed Amine,Mohamed-Amine,Mohamed Amin", "محمد أمين"),
    _n("Abdelkader", 9, "Abdelkadir,Abdel Kader,Abdelqader", "عبد القادر"),
    _n("Abdelaziz", 8, "Abdel Aziz,Abdulaziz", "عبد العزيز"),
    _n("Brahim", 10, "Ibrahim", "إبراهيم"),
    _n("Abdelhak", 6, "Abdel Hak", "عبد الحق"),
    _n("Jamal", 8, "Djamal", "جمال"),
    _n("Nabil", 7, "", "نبيل"),
    _n("Adil", 8, "Adel", "عادل"),
    _n("Aziz", 6, "", "عزيز"),
    _n("Tarik", 7, "Tariq", "طارق"),
    _n("Yassine", 10, "Yacine,Yassin", "ياسين"),
    _n("Zakaria", 8, "Zakariya,Zakariae", "زكرياء"),
    _n("Bilal", 7, "", "بلال"),
    _n("Othmane", 7, "Otmane,Outhmane", "عثمان"),
    _n("Soufiane", 8, "Sofiane,Sufyan", "سفيان"),
    _n("Noureddine", 6, "Nourdine,Nour Eddine", "نور الدين"),
    _n("Lahcen", 6, "Lahsen", "لحسن"),
    _n("Abdeslam", 6, "Abdessalam,Abdesalam", "عبد السلام"),
    _n("Redouane", 6, "Redwane,Ridouane", "رضوان"),
    _n("Ilyas", 6, "Ilias,Elias", "إلياس"),
    _n("Younes", 7, "Younesse,Yunus", "يونس"),
    _n("Badr", 5, "Badre", "بدر"),
    _n("Taha", 4, "", "طه"),
    _n("Walid", 5, "Oualid", "وليد"),
    _n("Samir", 6, "", "سمير"),
    _n("Fouad", 4, "Fuad", "فؤاد"),
    _n("Hamid", 6, "", "حميد"),
    _n("Mourad", 5, "Murad", "مراد"),
    _n("Kamal", 5, "Kamel", "كمال"),
    _n("Aymane", 5, "Aimane,Ayman", "أيمن"),
)

FEMALE_NAMES: tuple[NameForm, ...] = (
    _n("Fatima", 60, "Fatema,Fatma", "فاطمة"),
    _n(
        "Fatima Zahra", 35, "Fatimazahra,Fatima-Ezzahra,Fatim Zahra,Fatima Ezzahra", "فاطمة الزهراء"
    ),
    _n("Khadija", 35, "Khadidja,Khadouj", "خديجة"),
    _n("Aicha", 25, "Aïcha,Aisha", "عائشة"),
    _n("Naima", 18, "Naïma", "نعيمة"),
    _n("Zineb", 16, "Zaynab,Zainab", "زينب"),
    _n("Meryem", 18, "Maryam,Mariam,Meriem", "مريم"),
    _n("Salma", 12, "", "سلمى"),
    _n("Hanane", 12, "Hanan", "حنان"),
    _n("Souad", 10, "Suad", "سعاد"),
    _n("Malika", 12, "", "مليكة"),
    _n("Latifa", 10, "", "لطيفة"),
    _n("Rachida", 11, "Rashida", "رشيدة"),
    _n("Nadia", 10, "", "نادية"),
    _n("Samira", 10, "", "سميرة"),
    _n("Hafsa", 8, "", "حفصة"),
    _n("Imane", 14, "Iman", "إيمان"),
    _n("Asmae", 10, "Asmaa,Asma", "أسماء"),
    _n("Siham", 9, "", "سهام"),
    _n("Houda", 9, "Hoda", "هدى"),
    _n("Kawtar", 9, "Kaoutar,Kaouthar", "كوثر"),
    _n("Amina", 12, "", "أمينة"),
    _n("Saida", 8, "Saïda", "سعيدة"),
    _n("Nora", 6, "Noura", "نورة"),
    _n("Hayat", 7, "", "حياة"),
    _n("Karima", 7, "", "كريمة"),
    _n("Loubna", 7, "Lobna", "لبنى"),
    _n("Sanae", 7, "Sanaa,Sana", "سناء"),
    _n("Ghizlane", 6, "Ghizlan,Rhizlane", "غزلان"),
    _n("Btissam", 5, "Ibtissam,Ibtisam", "ابتسام"),
    _n("Wafae", 5, "Wafaa,Oafae", "وفاء"),
    _n("Soukaina", 6, "Soukayna,Sukaina", "سكينة"),
    _n("Chaimae", 6, "Chaimaa,Chaima", "شيماء"),
    _n("Oumaima", 6, "Oumayma,Umaima", "أميمة"),
    _n("Hajar", 7, "Hadjar", "هاجر"),
    _n("Yasmine", 6, "Yasmina,Yassmine", "ياسمين"),
    _n("Nisrine", 5, "Nesrine", "نسرين"),
    _n("Rajae", 5, "Rajaa,Raja", "رجاء"),
    _n("Mina", 6, "", "مينة"),
    _n("Zahra", 6, "Zohra,Zhor", "زهرة"),
    _n("Halima", 7, "", "حليمة"),
    _n("Rkia", 5, "Rokia,Rqia", "رقية"),
    _n("Fadwa", 4, "Fadoua", "فدوى"),
    _n("Ikram", 5, "", "إكرام"),
    _n("Jamila", 5, "Djamila", "جميلة"),
)

FAMILY_NAMES: tuple[NameForm, ...] = (
    _n("El Idrissi", 30, "Idrissi,Drissi,Elidrissi", "الإدريسي"),
    _n("El Amrani", 26, "Elamrani,Amrani,Lamrani", "العمراني"),
    _n("Alaoui", 26, "El Alaoui,Laalaoui", "العلوي"),
    _n("Benali", 14, "Ben Ali", "بنعلي"),
    _n("Bennani", 16, "Ben Nani,Benani", "بناني"),
    _n("El Fassi", 12, "Fassi,Elfassi", "الفاسي"),
    _n("Tazi", 10, "Et-Tazi", "التازي"),
    _n("Berrada", 10, "Berada", "برادة"),
    _n("Benjelloun", 10, "Ben Jelloun,Benjeloun", "بنجلون"),
    _n("Chraibi", 9, "Cheraibi", "الشرايبي"),
    _n("El Ouazzani", 10, "Ouazzani,Wazzani,Elouazzani", "الوزاني"),
    _n("Ait Ouali", 7, "Aitouali,Aït Ouali", "آيت والي"),
    _n("Ait Ahmed", 7, "Aitahmed,Aït Ahmed", "آيت أحمد"),
    _n("Ouali", 6, "Wali", "والي"),
    _n("Boukhari", 8, "El Boukhari,Elboukhari", "البخاري"),
    _n("Zemmouri", 6, "Zemouri", "الزموري"),
    _n("El Khattabi", 8, "Khattabi,Elkhattabi", "الخطابي"),
    _n("Bouzidi", 8, "Bouzzidi", "بوزيدي"),
    _n("El Haddad", 8, "Haddad,Elhaddad", "الحداد"),
    _n("Naciri", 8, "Nassiri,Nasiri", "الناصري"),
    _n("Tahiri", 9, "Taheri", "الطاهري"),
    _n("Benkirane", 7, "Ben Kirane", "بنكيران"),
    _n("Sqalli", 5, "Skalli", "الصقلي"),
    _n("Lahlou", 6, "", "لحلو"),
    _n("Kettani", 6, "El Kettani", "الكتاني"),
    _n("Mernissi", 5, "", "المرنيسي"),
    _n("Sebti", 5, "", "السبتي"),
    _n("Belhaj", 7, "Belhadj,Bel Haj", "بلحاج"),
    _n("Bakkali", 8, "El Bakkali,Bakali", "البقالي"),
    _n("Touzani", 6, "Touzzani", "التوزاني"),
    _n("Riffi", 7, "Rifi,Errifi,Er-Rifi", "الريفي"),
    _n("Ghazouani", 6, "Ghazwani", "الغزواني"),
    _n("Chaoui", 7, "Echaoui,Ech-Chaoui", "الشاوي"),
    _n("El Khamlichi", 6, "Khamlichi", "الخمليشي"),
    _n("Akhrif", 5, "Akhrifa", "أخريف"),
    _n("El Hadouchi", 5, "Hadouchi", "الحدوشي"),
)

_PREFIXES = ("", "", "", "El ", "Ben", "Ait ", "Bou", "Ou")


def _words(text: str, sep: str | None = None) -> list[str]:
    return text.split(sep)


_ROOTS = [
    *_words(
        "Amr Idris Fass Tahir Ghaz Hajj Kadd Mans Rah Sadd Sebt Tahr Yous Abb Achr Afil Agh Akk "
        "Alami Alou Amz Ann Arb Asf Att Azz Baddour Bahl Bakh Bark Bass Belk Berr Bouk Chah Chakr "
        "Cherk Dahb Dakk Darr Dghigh Doukk Erraj Essaf Fadl Falah Farh Fekk Ftouh Gharb Ghoul Hadd "
        "Hadr Hafi Hamd Hann Harr Hass Hazm Hilal Hmid Jabr Jaz Jebl Kabb Kamal Karr Kass Kerr "
        "Khal Khay Kharr Labb Lamr Lazr Maak Madd Maj Makr Malk Marr Masr Mekk Mess Mouss Nadd "
        "Najj Nass Nour Ouahb Oudgh Qadd Rachd Radd Rafi Rahm Razz Rgui Saad Sabr Safr Sahl Salh "
        "Samm Saqq Sbai Semm Sqal Taib Tall Tamm Tayb Touh Wahb Yaq Zahr Zaki Zerh Ziy Zoub Bejj "
        "Chadl Daoud Filal Guenn Hamm Ibrah Jdid Kenz Laaj Mahf Nejj Obayd Quess Rkib Slim Tlem"
    )
]
_SUFFIXES = ("i", "ani", "aoui", "ouni", "ine", "ati", "ari", "a", "ou", "ane", "ioui", "")

COMMUNES: tuple[tuple[str, float, bool], ...] = (
    ("Tanger", 30, False),
    ("Tétouan", 14, False),
    ("Ksar El Kébir", 5, False),
    ("Larache", 5, False),
    ("Al Hoceïma", 3, False),
    ("Chefchaouen", 2, False),
    ("Ouezzane", 2, False),
    ("Fnideq", 3, False),
    ("M'diq", 2, False),
    ("Martil", 2, False),
    ("Asilah", 1.5, False),
    ("Gueznaia", 2, False),
    ("Imzouren", 1, False),
    ("Beni Bouayach", 0.8, True),
    ("Targuist", 0.8, True),
    ("Bab Berred", 0.6, True),
    ("Jebha", 0.4, True),
    ("Oued Laou", 0.6, True),
    ("Ksar Sghir", 0.5, True),
    ("Anjra", 0.5, True),
    ("Bab Taza", 0.6, True),
    ("Mokrisset", 0.5, True),
    ("Zoumi", 0.5, True),
    ("Souk Larbaa", 0.6, True),
    ("Laaouamra", 0.7, True),
    ("Moulay Abdeslam", 0.4, True),
    ("Tamorot", 0.4, True),
    ("Issaguen", 0.5, True),
    ("Malloussa", 0.5, True),
    ("Dar Chaoui", 0.4, True),
)
_STREETS = tuple(
    _words(
        "Al Amal,Mesnana,Bir Chifa,Mghogha,Benkirane,Al Wahda,Jirari,Boukhalef,Al Fath,Saada,"
        "Riad,Andalous,Nahda",
        ",",
    )
)
_CIN_LETTERS = ("K", "KB", "KA", "L", "LA", "LC", "LB", "R", "RB", "BK", "BJ", "A", "AB", "G")
_ESTABLISHMENTS = tuple(
    _words(
        "CHU-TNG HP-TET-01 HP-HOC-01 CSU-TNG-01 CSU-TNG-02 CSR-TET-01 DR-HOC-01 HP-LAR-01 "
        "CSU-TET-03 CSR-CHE-02 HP-OUZ-01 CSU-FND-01"
    )
)

ARABIC_EXTRA = {"Ben": "بن", "Ait": "آيت"}


class _Picker:
    """Weighted choice by bisection on cumulative weights (fast for long lists)."""

    def __init__(self, items: Sequence[NameForm]) -> None:
        self.items = list(items)
        self.cumulative = list(accumulate(i.weight for i in items))

    def pick(self, rng: random.Random) -> NameForm:
        return self.items[bisect(self.cumulative, rng.random() * self.cumulative[-1])]


def _long_tail(rng: random.Random, count: int) -> list[NameForm]:
    names: dict[str, NameForm] = {}
    distinct_prefixes = len(set(_PREFIXES))
    count = min(count, distinct_prefixes * len(_ROOTS) * len(_SUFFIXES) // 2)
    while len(names) < count:
        prefix = rng.choice(_PREFIXES)
        root = rng.choice(_ROOTS)
        suffix = rng.choice(_SUFFIXES)
        latin = prefix + (root.lower() if prefix and not prefix.endswith(" ") else root) + suffix
        if latin in names or len(latin) < 4:
            continue
        rank = len(names) + 1
        names[latin] = NameForm(latin, 3.0 / rank**0.35, ())
    return list(names.values())


@dataclass
class Person:
    person_id: str
    given: NameForm
    family: NameForm
    sex: str
    year: int
    month: int
    day: int
    year_only: bool
    cin: str
    amo: str
    phone: str
    address: str
    commune: str


@dataclass
class SyntheticData:
    records: list[SourceRecord]
    person_of: dict[str, str]
    persons: list[Person] = field(default_factory=list)

    def write_csv(self, path: Path) -> None:
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(CSV_COLUMNS))
            writer.writeheader()
            for record in self.records:
                writer.writerow(record.to_row())

    def write_truth(self, path: Path) -> None:
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["record_id", "person_id"])
            writer.writerows(self.person_of.items())


_LETTERS = "abcdefghijklmnopqrstuvwxyz"
_KEYBOARD_NEAR = dict(
    pair.split(":")
    for pair in _words("a:zqs e:zrd i:uok o:ipl u:yij n:bm m:n s:dqz d:sf r:et t:ry l:km h:gj k:jl")
)


def typo(text: str, rng: random.Random) -> str:
    """One keyboard error: a letter replaced, dropped, doubled or two swapped."""
    positions = [i for i, c in enumerate(text) if c.isalpha()]
    if len(positions) < 3:
        return text
    i = rng.choice(positions[1:])
    kind = rng.random()
    c = text[i].lower()
    if kind < 0.35:
        repl = rng.choice(_KEYBOARD_NEAR.get(c, _LETTERS))
        return text[:i] + repl + text[i + 1 :]
    if kind < 0.6:
        return text[:i] + text[i + 1 :]
    if kind < 0.8:
        return text[:i] + text[i] + text[i:]
    if i + 1 < len(text) and text[i + 1].isalpha():
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    return text


def _family_variant(name: NameForm, rng: random.Random) -> str:
    if name.variants and rng.random() < 0.8:
        return rng.choice(name.variants)
    text = name.canonical
    for prefix in ("El ", "Ben", "Ait "):
        if text.startswith(prefix):
            rest = text[len(prefix) :].strip()
            choice = rng.random()
            if prefix == "El ":
                return rest if choice < 0.5 else "El" + rest.lower()
            return prefix.strip() + " " + rest if choice < 0.5 else prefix.strip() + rest.lower()
    doubled = [i for i in range(1, len(text)) if text[i] == text[i - 1]]
    if doubled:
        i = rng.choice(doubled)
        return text[:i] + text[i + 1 :]
    return text


def _arabic_family(name: NameForm) -> str:
    return name.arabic


def _address(rng: random.Random) -> str:
    return f"Hay {rng.choice(_STREETS)} rue {rng.randint(1, 80)} n° {rng.randint(1, 200)}"


def _phone(rng: random.Random) -> str:
    return "0" + rng.choice("67") + "".join(rng.choice("0123456789") for _ in range(8))


def _phone_spelling(phone: str, rng: random.Random) -> str:
    style = rng.random()
    if style < 0.5:
        return phone
    if style < 0.75:
        return " ".join(phone[i : i + 2] for i in range(0, 10, 2))
    return "+212" + phone[1:]


def _cin_spelling(cin: str, rng: random.Random) -> str:
    style = rng.random()
    if style < 0.8:
        return cin
    if style < 0.9:
        return cin.lower()
    letters = "".join(c for c in cin if c.isalpha())
    return letters + " " + cin[len(letters) :]


def generate(persons: int, *, seed: int = 2025, today_year: int = 2026) -> SyntheticData:
    """``persons`` persons in households, each registered one to four times."""
    rng = random.Random(seed)
    male = _Picker(MALE_NAMES)
    female = _Picker(FEMALE_NAMES)
    tail = _long_tail(rng, max(2000, persons // 12))
    top_weight = sum(n.weight for n in FAMILY_NAMES)
    tail_weight = sum(n.weight for n in tail)
    # the listed names hold about a fifth of the population, the tail the rest
    scale = 4.0 * top_weight / tail_weight
    family_names = _Picker(
        [*FAMILY_NAMES, *(NameForm(n.canonical, n.weight * scale) for n in tail)]
    )
    communes = [c for c, _, _ in COMMUNES]
    commune_weights = list(accumulate(w for _, w, _ in COMMUNES))
    rural = {c for c, _, r in COMMUNES if r}
    people: list[Person] = []
    used_cins: set[str] = set()
    numbers = iter(range(1, 10**9))

    def new_cin() -> str:
        while True:
            cin = rng.choice(_CIN_LETTERS) + str(rng.randint(10000, 999999))
            if cin not in used_cins:
                used_cins.add(cin)
                return cin

    def person(
        given: NameForm, family: NameForm, sex: str, year: int, household: dict[str, str]
    ) -> Person:
        age = today_year - year
        old_rural = year < 1965 and household["commune"] in rural
        year_only = rng.random() < (0.5 if old_rural else 0.12 if year < 1970 else 0.02)
        month, day = rng.randint(1, 12), rng.randint(1, 28)
        own_phone = _phone(rng) if age >= 16 and rng.random() < 0.5 else household["phone"]
        return Person(
            person_id=f"P{next(numbers):07d}",
            given=given,
            family=family,
            sex=sex,
            year=year,
            month=1 if year_only else month,
            day=1 if year_only else day,
            year_only=year_only,
            cin=new_cin() if age >= 18 and rng.random() < 0.95 else "",
            amo=household["amo"],
            phone=own_phone,
            address=household["address"],
            commune=household["commune"],
        )

    while len(people) < persons:
        family = family_names.pick(rng)
        commune = communes[bisect(commune_weights, rng.random() * commune_weights[-1])]
        household = {
            "amo": str(rng.randint(100000000, 999999999)) if rng.random() < 0.7 else "",
            "phone": _phone(rng) if rng.random() < 0.85 else "",
            "address": _address(rng),
            "commune": commune,
        }
        father_year = rng.randint(1935, 2000)
        shape = rng.random()
        members: list[Person] = []
        if shape < 0.2:  # one person alone
            sex = rng.choice("MF")
            given = (male if sex == "M" else female).pick(rng)
            members.append(person(given, family, sex, father_year, household))
        else:
            members.append(person(male.pick(rng), family, "M", father_year, household))
            if shape > 0.3:
                mother_family = family_names.pick(rng)
                mother_year = min(father_year + rng.randint(0, 10), 2003)
                members.append(person(female.pick(rng), mother_family, "F", mother_year, household))
            children = rng.choice((0, 1, 2, 2, 3, 3, 4, 5)) if father_year < 1998 else 0
            first_child = father_year + rng.randint(22, 35)
            for k in range(children):
                year = first_child + 2 * k + rng.randint(0, 1)
                if year > today_year:
                    break
                sex = rng.choice("MF")
                picker = male if sex == "M" else female
                given = picker.pick(rng)
                while any(m.given is given for m in members):
                    given = picker.pick(rng)
                child = person(given, family, sex, year, household)
                members.append(child)
                if rng.random() < 0.025:  # twins: same day, other given name
                    twin_sex = rng.choice("MF")
                    twin_picker = male if twin_sex == "M" else female
                    twin_given = twin_picker.pick(rng)
                    while twin_given is given:
                        twin_given = twin_picker.pick(rng)
                    twin = person(twin_given, family, twin_sex, year, household)
                    twin.month, twin.day, twin.year_only = child.month, child.day, False
                    members.append(twin)
        people.extend(members)
    people = people[:persons]

    records: list[SourceRecord] = []
    person_of: dict[str, str] = {}
    for p in people:
        copies = rng.choices((1, 2, 3, 4), weights=(0.4, 0.33, 0.17, 0.10))[0]
        for _ in range(copies):
            record = _register(p, rng, len(records) + 1)
            records.append(record)
            person_of[record.record_id] = p.person_id
    order = list(range(len(records)))
    rng.shuffle(order)
    return SyntheticData([records[i] for i in order], person_of, people)


def _register(p: Person, rng: random.Random, number: int) -> SourceRecord:
    """One registration of a person at a desk, with the desk's habits and errors."""
    given = p.given.canonical
    if p.given.variants and rng.random() < 0.35:
        given = rng.choice(p.given.variants)
    family = p.family.canonical
    if rng.random() < 0.3:
        family = _family_variant(p.family, rng)
    if rng.random() < 0.04:
        given = typo(given, rng)
    if rng.random() < 0.04:
        family = typo(family, rng)
    if rng.random() < 0.1 and " " in given:
        given = given.split()[0]  # the compound given name shortened
    given_ar = family_ar = ""
    if p.given.arabic and p.family.arabic:
        script = rng.random()
        if script < 0.06:  # typed in Arabic only
            given, family = "", ""
            given_ar, family_ar = p.given.arabic, _arabic_family(p.family)
        elif script < 0.16:  # both scripts
            given_ar, family_ar = p.given.arabic, _arabic_family(p.family)
    if given and family and rng.random() < 0.025:
        given, family = family, given
    if rng.random() < 0.15:
        given, family = given.upper(), family.upper()

    birth = ""
    if rng.random() > 0.02:
        year, month, day = p.year, p.month, p.day
        if p.year_only:
            birth = f"{year:04d}" if rng.random() < 0.4 else f"{year:04d}-01-01"
        else:
            roll = rng.random()
            if roll < 0.015 and day <= 12:
                month, day = day, month
            elif roll < 0.035:
                digits = list(f"{year:04d}{month:02d}{day:02d}")
                i = rng.choice((3, 5, 7))
                digits[i] = rng.choice([d for d in "0123456789" if d != digits[i]])
                candidate = "".join(digits)
                cy, cm, cd = int(candidate[:4]), int(candidate[4:6]), int(candidate[6:])
                if 1 <= cm <= 12 and 1 <= cd <= 28:
                    year, month, day = cy, cm, cd
            elif roll < 0.05:
                month, day = 1, 1  # the desk wrote the year only
            birth = f"{year:04d}-{month:02d}-{day:02d}"
    sex = p.sex if rng.random() > 0.02 else ""
    if sex and rng.random() < 0.003:
        sex = "F" if sex == "M" else "M"
    cin = ""
    if p.cin and rng.random() < 0.45:
        cin = _cin_spelling(p.cin, rng)
        if rng.random() < 0.01:
            cin = typo(cin, rng)
    amo = p.amo if p.amo and rng.random() < 0.5 else ""
    if amo and rng.random() < 0.02:  # insured elsewhere since
        amo = str(rng.randint(100000000, 999999999))
    phone = ""
    if p.phone and rng.random() < 0.5:
        # a new number since, or a neighbour's
        phone = _phone(rng) if rng.random() < 0.08 else _phone_spelling(p.phone, rng)
    address = p.address if rng.random() < 0.6 else ""
    commune = p.commune if rng.random() < 0.9 else ""
    if rng.random() < 0.03:  # moved
        commune = rng.choice(COMMUNES)[0]
        address = _address(rng)
    return SourceRecord(
        record_id=f"R{number:08d}",
        establishment=rng.choice(_ESTABLISHMENTS),
        local_id=f"{rng.randint(1, 999999):06d}",
        cin=cin,
        amo_number=amo,
        given_name=given,
        family_name=family,
        given_name_ar=given_ar,
        family_name_ar=family_ar,
        sex=sex,
        birth_date=birth,
        phone=phone,
        address=address,
        commune=commune,
    )
