"""Source records as establishments register them, and their matching features.

:class:`SourceRecord` holds the MPI's CSV columns as text, exactly as typed.
:func:`features` turns one into what comparison needs (normalised names,
identifiers, birth date with precision); :class:`RecordTable` holds the
features of many records as numpy columns with every text value replaced by a
code, so that comparisons run on arrays and string similarities are computed
once per distinct pair of values, not once per pair of records.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

from parcours.patients.dates import BirthDate, Precision, parse_birth_date
from parcours.patients.identifiers import normalise_amo, normalise_cin, normalise_phone
from parcours.patients.normalise import EMPTY, NameKeys, fold, name_keys

IntArray = npt.NDArray[np.int64]

#: The CSV columns of `parcours mpi load`, in order.
CSV_COLUMNS: tuple[str, ...] = (
    "record_id",
    "establishment",
    "local_id",
    "cin",
    "amo_number",
    "given_name",
    "family_name",
    "given_name_ar",
    "family_name_ar",
    "sex",
    "birth_date",
    "phone",
    "address",
    "commune",
)


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """One registration of a patient at one establishment, as typed.

    ``birth_date_year_only`` is the source's own flag that its 01/01 dates
    stand for "year only" (the CSV says so by writing YYYY instead).
    """

    record_id: str
    establishment: str = ""
    local_id: str = ""
    cin: str = ""
    amo_number: str = ""
    given_name: str = ""
    family_name: str = ""
    given_name_ar: str = ""
    family_name_ar: str = ""
    sex: str = ""
    birth_date: str = ""
    phone: str = ""
    address: str = ""
    commune: str = ""
    birth_date_year_only: bool = False

    @classmethod
    def from_row(cls, row: dict[str, str]) -> SourceRecord:
        """From a CSV row (missing columns and None read as empty)."""
        values = {k: (row.get(k) or "").strip() for k in CSV_COLUMNS}
        return cls(**values)  # type: ignore[arg-type]

    def to_row(self) -> dict[str, str]:
        return {column: getattr(self, column) for column in CSV_COLUMNS}


_MALE = {"m", "h", "homme", "masculin", "male", "1", "ذكر"}
_FEMALE = {"f", "femme", "feminin", "féminin", "female", "2", "أنثى", "انثى"}


def normalise_sex(value: str | None) -> str | None:
    """Return "M" or "F" from the spellings registers use, else None."""
    if not value:
        return None
    text = value.strip().lower()
    if text in _MALE:
        return "M"
    if text in _FEMALE:
        return "F"
    return None


_PLACE_NOISE = re.compile(r"\b(?:n|no|num|numero|rue|bd|boulevard|av|avenue|hay|quartier)\b")


def normalise_place(value: str | None) -> str:
    """Folded words of an address or commune, without the filler words."""
    if not value:
        return ""
    return " ".join(_PLACE_NOISE.sub(" ", fold(value)).split())


@dataclass(frozen=True, slots=True)
class Features:
    """What the matching engine knows of one record.

    ``given``/``family`` come from the Latin spelling when there is one, else
    from the Arabic script; ``given_alt``/``family_alt`` hold the Arabic keys
    when a record has both (used for blocking, so either script finds it).
    """

    record_id: str
    given: NameKeys
    family: NameKeys
    given_alt: NameKeys
    family_alt: NameKeys
    sex: str | None
    birth: BirthDate | None
    cin: str | None
    amo: str | None
    phone: str | None
    address: str
    commune: str


def _pick(latin: str, arabic: str) -> tuple[NameKeys, NameKeys]:
    primary = name_keys(latin) if latin.strip() else name_keys(arabic)
    alternate = name_keys(arabic) if latin.strip() and arabic.strip() else EMPTY
    if alternate.skeleton == primary.skeleton:
        alternate = EMPTY
    return primary, alternate


def features(record: SourceRecord, *, today: date | None = None) -> Features:
    given, given_alt = _pick(record.given_name, record.given_name_ar)
    family, family_alt = _pick(record.family_name, record.family_name_ar)
    return Features(
        record_id=record.record_id,
        given=given,
        family=family,
        given_alt=given_alt,
        family_alt=family_alt,
        sex=normalise_sex(record.sex),
        birth=parse_birth_date(
            record.birth_date, year_only=record.birth_date_year_only, today=today
        ),
        cin=normalise_cin(record.cin),
        amo=normalise_amo(record.amo_number),
        phone=normalise_phone(record.phone),
        address=normalise_place(record.address),
        commune=normalise_place(record.commune),
    )


class Vocabulary:
    """Distinct values and their codes, in order of first appearance."""

    def __init__(self) -> None:
        self.codes: dict[str, int] = {}
        self.values: list[str] = []

    def code(self, value: str) -> int:
        found = self.codes.get(value)
        if found is None:
            found = len(self.values)
            self.codes[value] = found
            self.values.append(value)
        return found

    def __len__(self) -> int:
        return len(self.values)


class NameVocabulary:
    """Distinct names with the keys comparisons read, one row per name.

    ``norm_id``/``skel_id`` code the normalised form and the skeleton so that
    exact and skeleton agreement are integer comparisons.
    """

    def __init__(self) -> None:
        self.codes: dict[tuple[str, ...], int] = {}
        self.keys: list[NameKeys] = []
        self.norms = Vocabulary()
        self.skeletons = Vocabulary()
        self.norm_id: list[int] = []
        self.skel_id: list[int] = []
        self.norm_text: list[str] = []
        self.plain_text: list[str] = []
        self.token_text: list[str] = []

    def code(self, keys: NameKeys) -> int:
        if not keys.norm:
            return -1
        found = self.codes.get(keys.tokens)
        if found is None:
            found = len(self.keys)
            self.codes[keys.tokens] = found
            self.keys.append(keys)
            self.norm_id.append(self.norms.code(keys.norm))
            self.skel_id.append(self.skeletons.code(keys.skeleton) if keys.skeleton else -1)
            self.norm_text.append(keys.norm)
            self.plain_text.append(keys.plain or keys.norm)
            self.token_text.append(" ".join(keys.token_skeletons))
        return found


@dataclass
class RecordTable:
    """Features of many records as columns; -1 (or 0) marks a missing value."""

    ids: list[str]
    names: NameVocabulary
    given: IntArray
    family: IntArray
    sex: IntArray  # 0 missing, 1 M, 2 F
    year: IntArray
    month: IntArray
    day: IntArray
    precision: IntArray  # 0 missing, else Precision
    imprecise: npt.NDArray[np.bool_]
    compact: IntArray
    ordinal: IntArray
    cin: IntArray
    cins: Vocabulary
    amo: IntArray
    phone: IntArray
    address: IntArray
    addresses: Vocabulary
    commune: IntArray
    features: list[Features]

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def build(
        cls, records: Iterable[SourceRecord | Features], *, today: date | None = None
    ) -> RecordTable:
        names = NameVocabulary()
        cins, amos, phones, addresses, communes = (Vocabulary() for _ in range(5))
        rows: list[Features] = [
            r if isinstance(r, Features) else features(r, today=today) for r in records
        ]
        n = len(rows)
        columns = {
            key: np.full(n, -1, dtype=np.int64)
            for key in ("given", "family", "cin", "amo", "phone", "address", "commune")
        }
        dates = np.zeros((n, 6), dtype=np.int64)
        sex = np.zeros(n, dtype=np.int64)
        imprecise = np.zeros(n, dtype=np.bool_)
        for i, f in enumerate(rows):
            columns["given"][i] = names.code(f.given)
            columns["family"][i] = names.code(f.family)
            if f.cin:
                columns["cin"][i] = cins.code(f.cin)
            if f.amo:
                columns["amo"][i] = amos.code(f.amo)
            if f.phone:
                columns["phone"][i] = phones.code(f.phone)
            if f.address:
                columns["address"][i] = addresses.code(f.address)
            if f.commune:
                columns["commune"][i] = communes.code(f.commune)
            if f.sex:
                sex[i] = 1 if f.sex == "M" else 2
            if f.birth:
                b = f.birth
                dates[i] = (b.year, b.month, b.day, int(b.precision), b.compact, b.ordinal)
                imprecise[i] = b.imprecise
        return cls(
            ids=[f.record_id for f in rows],
            names=names,
            given=columns["given"],
            family=columns["family"],
            sex=sex,
            year=dates[:, 0].copy(),
            month=dates[:, 1].copy(),
            day=dates[:, 2].copy(),
            precision=dates[:, 3].copy(),
            imprecise=imprecise,
            compact=dates[:, 4].copy(),
            ordinal=dates[:, 5].copy(),
            cin=columns["cin"],
            cins=cins,
            amo=columns["amo"],
            phone=columns["phone"],
            address=columns["address"],
            addresses=addresses,
            commune=columns["commune"],
            features=rows,
        )


def build_table(records: Sequence[SourceRecord | Features]) -> RecordTable:
    return RecordTable.build(records)


__all__ = [
    "CSV_COLUMNS",
    "Features",
    "Precision",
    "RecordTable",
    "SourceRecord",
    "features",
    "normalise_place",
    "normalise_sex",
]
