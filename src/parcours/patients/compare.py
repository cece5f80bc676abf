"""Two records compared field by field: a vector of agreement levels.

Each field has a few ordered levels (0 always means "missing on one side",
which carries no evidence); the Fellegi–Sunter model gives each level its
weight. Levels are computed on arrays of pairs (:func:`compare_pairs`): text
similarities (Jaro–Winkler, token sets, from rapidfuzz) are computed once per
distinct pair of values and in C, which is what makes a million records
affordable. :func:`compare` is the same computation for one pair.

Given and family names are compared both ways round: when the crossed
comparison (given with family, family with given) is close or better on both
names, and better than the straight one, the crossed levels are used and the
pair is flagged as swapped (the model charges a small fixed penalty for it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz, process
from rapidfuzz.distance import JaroWinkler

from parcours.patients.records import Features, IntArray, RecordTable

LevelArray = npt.NDArray[np.int8]


@dataclass(frozen=True)
class FieldSpec:
    """A compared field and the French labels of its levels (index = level)."""

    name: str
    label: str
    levels: tuple[str, ...]


NAME_LEVELS = (
    "absent",
    "différent",
    "un mot en commun",
    "ressemblant",
    "proche",
    "même squelette",
    "identique",
)

FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("given", "Prénom", NAME_LEVELS),
    FieldSpec("family", "Nom", NAME_LEVELS),
    FieldSpec(
        "birth_date",
        "Date de naissance",
        (
            "absente",
            "différente",
            "à moins d'un an",
            "un chiffre diffère",
            "jour et mois inversés",
            "même année (date imprécise)",
            "identique",
        ),
    ),
    FieldSpec("sex", "Sexe", ("absent", "différent", "identique")),
    FieldSpec("cin", "CIN", ("absente", "différente", "un caractère diffère", "identique")),
    FieldSpec("amo", "Numéro AMO", ("absent", "différent", "identique")),
    FieldSpec("phone", "Téléphone", ("absent", "différent", "identique")),
    FieldSpec(
        "place",
        "Adresse et commune",
        ("absentes", "différentes", "même commune", "même adresse", "même adresse et commune"),
    ),
)
FIELD_INDEX: dict[str, int] = {spec.name: i for i, spec in enumerate(FIELDS)}

# name levels
(
    NAME_MISSING,
    NAME_DISAGREE,
    NAME_PARTIAL,
    NAME_SIMILAR,
    NAME_CLOSE,
    NAME_SKELETON,
    NAME_EXACT,
) = range(7)
JW_CLOSE = 0.92
JW_SIMILAR = 0.84
#: same skeleton but spelled this far apart is only "partial" (Hassan / Houssine)
JW_SKELETON = 0.75
ADDRESS_SIMILAR = 90.0


@dataclass
class Comparison:
    """Levels of many pairs: ``levels[k, f]`` for pair k and field f."""

    left: IntArray
    right: IntArray
    levels: LevelArray
    swapped: npt.NDArray[np.bool_]

    def __len__(self) -> int:
        return len(self.left)


def _workers(pairs: int) -> int:
    """All cores for a batch; one for a handful (threads cost more than they give)."""
    return -1 if pairs >= 20_000 else 1


def _unique_pairs(a: IntArray, b: IntArray, size: int) -> tuple[IntArray, IntArray, IntArray]:
    """Distinct unordered (a, b) value pairs and, for each input pair, its row."""
    low = np.minimum(a, b)
    high = np.maximum(a, b)
    key = low * size + high
    unique, inverse = np.unique(key, return_inverse=True)
    return unique // size, unique % size, inverse


def name_levels(table: RecordTable, a: IntArray, b: IntArray) -> LevelArray:
    """Levels of agreement of two columns of name codes (see NAME_LEVELS)."""
    out = np.zeros(len(a), dtype=np.int8)
    valid = (a >= 0) & (b >= 0)
    if not valid.any():
        return out
    vocab = table.names
    size = max(len(vocab.keys), 1)
    ua, ub, inverse = _unique_pairs(a[valid], b[valid], size)
    norm_id = np.asarray(vocab.norm_id, dtype=np.int64)
    skel_id = np.asarray(vocab.skel_id, dtype=np.int64)
    levels = np.full(len(ua), NAME_DISAGREE, dtype=np.int8)
    exact = norm_id[ua] == norm_id[ub]
    same_skeleton = (skel_id[ua] == skel_id[ub]) & (skel_id[ua] >= 0)
    levels[exact] = NAME_EXACT
    rest = np.flatnonzero(~exact)
    if len(rest):
        norms = vocab.norm_text
        left = [norms[i] for i in ua[rest].tolist()]
        right = [norms[i] for i in ub[rest].tolist()]
        jw_norm = process.cpdist(
            left, right, scorer=JaroWinkler.normalized_similarity, workers=_workers(len(ua))
        )
        plain = vocab.plain_text
        # typos are judged on the letters as typed too (Haan is close to Hasan;
        # collapsed to "han" it is not); the skeleton level keeps the normalised
        # similarity only, so that Hassan / Houssine stay two names
        jw = np.maximum(
            jw_norm,
            process.cpdist(
                [plain[i] for i in ua[rest].tolist()],
                [plain[i] for i in ub[rest].tolist()],
                scorer=JaroWinkler.normalized_similarity,
                workers=_workers(len(ua)),
            ),
        )
        level = np.full(len(rest), NAME_DISAGREE, dtype=np.int8)
        level[jw >= JW_SIMILAR] = NAME_SIMILAR
        level[jw >= JW_CLOSE] = NAME_CLOSE
        level[same_skeleton[rest] & (jw_norm >= JW_SKELETON)] = NAME_SKELETON
        vague = np.flatnonzero(level == NAME_DISAGREE)
        if len(vague):
            token_text = vocab.token_text
            tl = [token_text[i] for i in ua[rest[vague]].tolist()]
            tr = [token_text[i] for i in ub[rest[vague]].tolist()]
            token_set = process.cpdist(
                tl, tr, scorer=fuzz.token_set_ratio, workers=_workers(len(ua))
            )
            nonempty = np.array([bool(x and y) for x, y in zip(tl, tr, strict=True)])
            level[vague[(token_set >= 100.0) & nonempty]] = NAME_PARTIAL
        levels[rest] = level
    out[valid] = levels[inverse]
    return out


def _digit_differences(a: IntArray, b: IntArray) -> IntArray:
    count = np.zeros(len(a), dtype=np.int64)
    x, y = a.copy(), b.copy()
    for _ in range(8):
        count += (x % 10) != (y % 10)
        x //= 10
        y //= 10
    return count


def date_levels(table: RecordTable, a: IntArray, b: IntArray) -> LevelArray:
    """The array form of :func:`parcours.patients.dates.compare_dates`."""
    out = np.zeros(len(a), dtype=np.int8)
    known = (table.precision[a] > 0) & (table.precision[b] > 0)
    ya, yb = table.year[a], table.year[b]
    imprecise = table.imprecise[a] | table.imprecise[b]
    digits = _digit_differences(table.compact[a], table.compact[b])
    same_year = ya == yb
    near_year = np.abs(ya - yb) <= 1
    level = np.full(len(a), 1, dtype=np.int8)
    # imprecise: year, within a year, typo, disagree
    level = np.where(imprecise & (digits == 1), 3, level)
    level = np.where(imprecise & near_year, 2, level)
    level = np.where(imprecise & same_year, 5, level)
    precise = ~imprecise
    swapped = (
        same_year
        & (table.month[a] == table.day[b])
        & (table.day[a] == table.month[b])
        & (table.month[a] != table.day[a])
    )
    within = np.abs(table.ordinal[a] - table.ordinal[b]) <= 365
    level = np.where(precise & within, 2, level)
    level = np.where(precise & (digits == 1), 3, level)
    level = np.where(precise & swapped, 4, level)
    level = np.where(precise & (table.compact[a] == table.compact[b]), 6, level)
    out[known] = level[known]
    return out


def _equality_levels(column: IntArray, a: IntArray, b: IntArray) -> LevelArray:
    va, vb = column[a], column[b]
    both = (va >= 0) & (vb >= 0)
    return np.where(both, np.where(va == vb, 2, 1), 0).astype(np.int8)


def _one_substitution(x: str, y: str) -> bool:
    return len(x) == len(y) and sum(p != q for p, q in zip(x, y, strict=True)) == 1


def cin_levels(table: RecordTable, a: IntArray, b: IntArray) -> LevelArray:
    va, vb = table.cin[a], table.cin[b]
    both = (va >= 0) & (vb >= 0)
    out = np.where(both, np.where(va == vb, 3, 1), 0).astype(np.int8)
    differ = np.flatnonzero(both & (va != vb))
    if len(differ):
        values = table.cins.values
        near = [
            _one_substitution(values[x], values[y])
            for x, y in zip(va[differ].tolist(), vb[differ].tolist(), strict=True)
        ]
        out[differ[np.array(near, dtype=bool)]] = 2
    return out


def place_levels(table: RecordTable, a: IntArray, b: IntArray) -> LevelArray:
    commune_a, commune_b = table.commune[a], table.commune[b]
    address_a, address_b = table.address[a], table.address[b]
    both_commune = (commune_a >= 0) & (commune_b >= 0)
    both_address = (address_a >= 0) & (address_b >= 0)
    same_commune = both_commune & (commune_a == commune_b)
    similar = np.zeros(len(a), dtype=bool)
    idx = np.flatnonzero(both_address)
    if len(idx):
        size = max(len(table.addresses), 1)
        ua, ub, inverse = _unique_pairs(address_a[idx], address_b[idx], size)
        values = table.addresses.values
        scores = process.cpdist(
            [values[i] for i in ua.tolist()],
            [values[i] for i in ub.tolist()],
            scorer=fuzz.token_set_ratio,
            workers=_workers(len(ua)),
        )
        similar[idx] = (scores >= ADDRESS_SIMILAR)[inverse]
    level = np.where(both_commune | both_address, 1, 0)
    level = np.where(same_commune, 2, level)
    level = np.where(similar, 3, level)
    level = np.where(similar & same_commune, 4, level)
    return level.astype(np.int8)


def compare_pairs(table: RecordTable, left: IntArray, right: IntArray) -> Comparison:
    """The comparison vectors of the pairs (left[k], right[k]) of one table."""
    left = np.asarray(left, dtype=np.int64)
    right = np.asarray(right, dtype=np.int64)
    levels = np.zeros((len(left), len(FIELDS)), dtype=np.int8)
    given = name_levels(table, table.given[left], table.given[right])
    family = name_levels(table, table.family[left], table.family[right])
    swapped = np.zeros(len(left), dtype=bool)
    weak = np.flatnonzero(np.minimum(given, family) <= NAME_SIMILAR)
    if len(weak):
        wl, wr = left[weak], right[weak]
        crossed_given = name_levels(table, table.given[wl], table.family[wr])
        crossed_family = name_levels(table, table.family[wl], table.given[wr])
        use = (np.minimum(crossed_given, crossed_family) >= NAME_CLOSE) & (
            np.minimum(crossed_given, crossed_family) > np.minimum(given[weak], family[weak])
        )
        given[weak[use]] = crossed_given[use]
        family[weak[use]] = crossed_family[use]
        swapped[weak[use]] = True
    levels[:, FIELD_INDEX["given"]] = given
    levels[:, FIELD_INDEX["family"]] = family
    levels[:, FIELD_INDEX["birth_date"]] = date_levels(table, left, right)
    sex_a, sex_b = table.sex[left], table.sex[right]
    levels[:, FIELD_INDEX["sex"]] = np.where(
        (sex_a > 0) & (sex_b > 0), np.where(sex_a == sex_b, 2, 1), 0
    )
    levels[:, FIELD_INDEX["cin"]] = cin_levels(table, left, right)
    levels[:, FIELD_INDEX["amo"]] = _equality_levels(table.amo, left, right)
    levels[:, FIELD_INDEX["phone"]] = _equality_levels(table.phone, left, right)
    levels[:, FIELD_INDEX["place"]] = place_levels(table, left, right)
    return Comparison(left, right, levels, swapped)


def compare(a: Features, b: Features) -> tuple[dict[str, int], bool]:
    """The levels of one pair, by field name, and whether the names are swapped."""
    table = RecordTable.build([a, b])
    result = compare_pairs(table, np.array([0]), np.array([1]))
    return (
        {spec.name: int(result.levels[0, i]) for i, spec in enumerate(FIELDS)},
        bool(result.swapped[0]),
    )
