"""The Fellegi–Sunter model: how much each agreement says, and the decision.

For each field and level, ``m`` is the probability of that level among pairs
of records of the same person and ``u`` among pairs of different persons.
A pair's **match weight** is the prior log-odds plus, for each field, log2(m/u)
of its level: a sum of bits, each field's share shown to the reviewer.

* ``u`` is estimated by comparing random pairs (almost all are non-matches);
* ``m`` by expectation–maximisation over blocked pairs (:func:`em`), started
  from priors or from the pairs the deterministic rules link (the seeds);
* **term frequencies**: exact agreement on a name ``v`` is given
  ``u = frequency(v)`` instead of the field's average ``u``, so that agreeing on
  "Mohamed" (one man in ten) weighs a few bits and agreeing on "Mernissi" many;
  agreement on the skeleton only gets ``u = frequency(skeleton) −
  frequency(v)``.

Rules come before and after the weight (:func:`decide`):

* **link** without further ado when the same valid CIN comes with roughly
  agreeing names (rule ``cin``), or the same AMO number with the same given
  name and a compatible birth date (rule ``amo``);
* never an automatic link when two valid CINs differ (``cin_conflict``), nor
  when the given names disagree outright or when the fields that tell the
  members of a household apart (given name, birth date, sex, CIN) bring less
  than ``PERSON_MIN_BITS``, nor when the birth dates disagree outright
  (``household``: a parent and a child share a family
  name, an AMO number, a phone and an address, and Fellegi–Sunter, which
  assumes fields independent, would add them up); a **new** person when the
  given names disagree and so do the birth dates, or when the family name and
  the exact birth date agree but the given names are different names
  (``twins``). The household and twins guards are on when the training data
  shows households (:attr:`Model.households`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt

from parcours.patients.compare import (
    FIELD_INDEX,
    FIELDS,
    NAME_DISAGREE,
    NAME_EXACT,
    NAME_PARTIAL,
    NAME_SIMILAR,
    NAME_SKELETON,
    Comparison,
)
from parcours.patients.dates import DateLevel
from parcours.patients.records import RecordTable

FloatArray = npt.NDArray[np.float64]
MAX_LEVELS = max(len(spec.levels) for spec in FIELDS)
N_FIELDS = len(FIELDS)


class Decision(StrEnum):
    LINK = "link"
    REVIEW = "review"
    NEW = "new"

    @property
    def label(self) -> str:
        return {"link": "lier", "review": "à revoir", "new": "nouvelle personne"}[self]


class Rule(StrEnum):
    """Why a decision was taken besides (or instead of) the weight."""

    SCORE = "score"
    CIN = "cin"
    AMO = "amo"
    CIN_CONFLICT = "cin_conflict"
    HOUSEHOLD = "household"
    TWINS = "twins"


RULES: tuple[Rule, ...] = tuple(Rule)
RULE_LABELS: dict[Rule, str] = {
    Rule.SCORE: "score probabiliste",
    Rule.CIN: "même CIN, noms concordants",
    Rule.AMO: "même numéro AMO, même prénom, date de naissance compatible",
    Rule.CIN_CONFLICT: "deux CIN valides différentes",
    Rule.HOUSEHOLD: "prénoms différents : même foyer, pas même personne",
    Rule.TWINS: "même nom et même date, prénoms différents : jumeaux probables",
}


@dataclass(frozen=True)
class Thresholds:
    """Match probabilities: at or above ``upper`` link, below ``lower`` a new person."""

    upper: float = 0.95
    lower: float = 0.30
    #: the household and twins guards (see the module docstring): None follows
    #: the model, which switches them on when its training data shows households
    guards: bool | None = None

    def __post_init__(self) -> None:
        if not 0.0 < self.lower <= self.upper < 1.0:
            raise ValueError("need 0 < lower <= upper < 1")


#: Initial m per field (levels 1..n-1, weakest first), before EM.
M_PRIORS: dict[str, tuple[float, ...]] = {
    "given": (0.03, 0.02, 0.04, 0.06, 0.15, 0.70),
    "family": (0.03, 0.02, 0.04, 0.06, 0.15, 0.70),
    "birth_date": (0.03, 0.03, 0.05, 0.02, 0.12, 0.75),
    "sex": (0.02, 0.98),
    "cin": (0.02, 0.03, 0.95),
    "amo": (0.10, 0.90),
    "phone": (0.20, 0.80),
    "place": (0.30, 0.30, 0.10, 0.30),
}
#: Chance agreement of two records of different persons, per level (absent excluded),
#: for the untrained model only: a flat guess would make a two-level field such as sex
#: worth ten bits and link namesakes before the first training. Sex agrees half the
#: time by chance; a CIN almost never; names and birth dates as in a regional register.
U_PRIORS: dict[str, tuple[float, ...]] = {
    "given": (0.90, 0.03, 0.03, 0.015, 0.01, 0.015),
    "family": (0.92, 0.02, 0.025, 0.015, 0.01, 0.01),
    "birth_date": (0.95, 0.03, 0.008, 0.0005, 0.0112, 0.0003),
    "sex": (0.5, 0.5),
    "cin": (0.9999, 0.00009, 0.00001),
    "amo": (0.9995, 0.0005),
    "phone": (0.999, 0.001),
    "place": (0.90, 0.095, 0.002, 0.003),
}
TF_FIELDS = ("given", "family")
#: fields that tell one member of a household from another, and the evidence
#: they must give (in bits) for an automatic link when the guards are on
PERSON_FIELDS = ("given", "birth_date", "sex", "cin")
PERSON_MIN_BITS = 6.0
#: no level is impossible for a match: a person changes insurance, phone, address
M_FLOOR = 0.002


@dataclass
class TermFrequencies:
    """Frequency of each value among the records that have one.

    Values seen once are not stored: they get ``1 / total`` (so the table stays
    small and rare values keep their strength).
    """

    total: int
    frequencies: dict[str, float]

    @classmethod
    def count(cls, values: list[str]) -> TermFrequencies:
        counts: dict[str, int] = {}
        for value in values:
            if value:
                counts[value] = counts.get(value, 0) + 1
        total = max(sum(counts.values()), 1)
        return cls(total, {v: c / total for v, c in counts.items() if c > 1})

    def frequency(self, value: str) -> float:
        return self.frequencies.get(value, 1.0 / self.total)

    @property
    def floor(self) -> float:
        return 1.0 / self.total


@dataclass
class Model:
    """A trained model: m, u per field and level, the prior, the term frequencies.

    Level 0 of every field (missing) has m = u = 1: it says nothing.
    """

    m: FloatArray  # (fields, levels)
    u: FloatArray
    prior: float  # probability that two random records are the same person
    tf: dict[str, TermFrequencies] = field(default_factory=dict)
    swap_penalty: float = 1.0  # bits charged when given and family names are swapped
    #: whether the data holds households (records sharing an AMO number or a
    #: phone with other given names and other birth dates): the guards' default
    households: bool = True
    trained_on: int = 0
    notes: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_priors(cls, prior: float = 1e-4) -> Model:
        """An untrained model: prior m and u, before the first ``parcours mpi train``."""
        m = np.ones((N_FIELDS, MAX_LEVELS))
        u = np.ones((N_FIELDS, MAX_LEVELS))
        for f, spec in enumerate(FIELDS):
            n = len(spec.levels)
            m[f, 1:n] = M_PRIORS[spec.name]
            u[f, 1:n] = U_PRIORS[spec.name]
            u[f, 1:n] /= u[f, 1:n].sum()
        return cls(m=m, u=u, prior=prior)

    def bits(self) -> FloatArray:
        """log2(m/u) per field and level (0 for missing and padding)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.log2(self.m / self.u)
        out[~np.isfinite(out)] = 0.0
        out[:, 0] = 0.0
        return out

    @property
    def prior_bits(self) -> float:
        return math.log2(self.prior / (1.0 - self.prior))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (the storage layer keeps it as the trained model)."""
        return {
            "fields": [spec.name for spec in FIELDS],
            "m": {
                spec.name: self.m[f, : len(spec.levels)].tolist() for f, spec in enumerate(FIELDS)
            },
            "u": {
                spec.name: self.u[f, : len(spec.levels)].tolist() for f, spec in enumerate(FIELDS)
            },
            "prior": self.prior,
            "swap_penalty": self.swap_penalty,
            "households": self.households,
            "trained_on": self.trained_on,
            "tf": {
                name: {"total": t.total, "frequencies": t.frequencies}
                for name, t in self.tf.items()
            },
            "notes": _json_safe(self.notes),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Model:
        m = np.ones((N_FIELDS, MAX_LEVELS))
        u = np.ones((N_FIELDS, MAX_LEVELS))
        for f, spec in enumerate(FIELDS):
            n = len(spec.levels)
            m[f, :n] = data["m"][spec.name]
            u[f, :n] = data["u"][spec.name]
        return cls(
            m=m,
            u=u,
            prior=float(data["prior"]),
            tf={
                name: TermFrequencies(int(t["total"]), dict(t["frequencies"]))
                for name, t in data.get("tf", {}).items()
            },
            swap_penalty=float(data.get("swap_penalty", 1.0)),
            households=bool(data.get("households", True)),
            trained_on=int(data.get("trained_on", 0)),
            notes=dict(data.get("notes", {})),
        )


def _json_safe(value: Any) -> Any:
    """NaN and infinities become None: PostgreSQL's JSON refuses them (a statistic of
    a small training set, such as a share of zero pairs, can be NaN)."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, float | np.floating) and not math.isfinite(float(value)):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def term_frequencies(table: RecordTable) -> dict[str, TermFrequencies]:
    """Frequencies of normalised names and skeletons, per name field."""
    out: dict[str, TermFrequencies] = {}
    vocab = table.names
    skeletons = [k.skeleton for k in vocab.keys]
    for name in TF_FIELDS:
        codes = getattr(table, name)
        present = codes[codes >= 0].tolist()
        out[name] = TermFrequencies.count([vocab.norm_text[c] for c in present])
        out[name + "_skeleton"] = TermFrequencies.count([skeletons[c] for c in present])
    return out


# --- estimation ---------------------------------------------------------------


def encode_patterns(
    levels: npt.NDArray[np.int8], weights: FloatArray | None = None
) -> tuple[npt.NDArray[np.int8], FloatArray]:
    """Distinct comparison vectors and how many pairs (or how much weight) have each."""
    code = np.zeros(len(levels), dtype=np.int64)
    for f in range(levels.shape[1]):
        code = code * 8 + levels[:, f].astype(np.int64)
    unique, inverse = np.unique(code, return_inverse=True)
    counts = np.bincount(inverse, weights=weights, minlength=len(unique))
    patterns = np.zeros((len(unique), levels.shape[1]), dtype=np.int8)
    rest = unique.copy()
    for f in range(levels.shape[1] - 1, -1, -1):
        patterns[:, f] = rest % 8
        rest //= 8
    return patterns, np.asarray(counts, dtype=np.float64)


def estimate_u(levels: npt.NDArray[np.int8], pseudo_count: float = 1.0) -> FloatArray:
    """u per field and level from the levels of random pairs (missing excluded)."""
    u = np.ones((N_FIELDS, MAX_LEVELS))
    for f, spec in enumerate(FIELDS):
        n = len(spec.levels)
        counts = np.bincount(levels[:, f], minlength=n)[1:n].astype(np.float64) + pseudo_count
        u[f, 1:n] = counts / counts.sum()
    return u


def estimate_m_from_pairs(
    levels: npt.NDArray[np.int8], base: FloatArray, exclude: tuple[str, ...] = ()
) -> FloatArray:
    """m from pairs taken as matches (the deterministic rules' links: the seeds)."""
    m = base.copy()
    for f, spec in enumerate(FIELDS):
        if spec.name in exclude:
            continue
        n = len(spec.levels)
        counts = np.bincount(levels[:, f], minlength=n)[1:n].astype(np.float64)
        if counts.sum() >= 20:
            counts += 0.5
            m[f, 1:n] = counts / counts.sum()
    return m


@dataclass
class EMResult:
    m: FloatArray
    within_block_prior: float
    iterations: int
    converged: bool


def em(
    levels: npt.NDArray[np.int8],
    m: FloatArray,
    u: FloatArray,
    *,
    estimate: tuple[str, ...],
    start_prior: float = 0.1,
    weights: FloatArray | None = None,
    max_iterations: int = 100,
    tolerance: float = 1e-5,
) -> EMResult:
    """Expectation–maximisation of m (and of the share of matches) with u fixed.

    Runs on the distinct comparison vectors with their counts, so its cost
    does not depend on the number of pairs. Fields not in ``estimate`` (those
    the blocking rule made agree by construction) keep their m and take no
    part in the likelihood.
    """
    patterns, counts = encode_patterns(levels, weights)
    m = m.copy()
    prior = start_prior
    fields = [FIELD_INDEX[name] for name in estimate]
    # the blocking rule's own fields agree by construction: they say nothing
    # here and are left out of the likelihood (as Splink does)
    log_u_pattern = np.zeros(len(patterns))
    for f in fields:
        log_u_pattern += np.log(u[f, patterns[:, f]])
    converged = False
    iteration = 0
    for iteration in range(1, max_iterations + 1):  # noqa: B007
        log_m_pattern = np.zeros(len(patterns))
        for f in fields:
            log_m_pattern += np.log(m[f, patterns[:, f]])
        log_odds = log_m_pattern - log_u_pattern + math.log(prior / (1.0 - prior))
        posterior = 1.0 / (1.0 + np.exp(-np.clip(log_odds, -700, 700)))
        weighted = posterior * counts
        new_prior = float(weighted.sum() / counts.sum())
        new_prior = min(max(new_prior, 1e-9), 1.0 - 1e-9)
        change = abs(new_prior - prior)
        for f in fields:
            n = len(FIELDS[f].levels)
            totals = np.bincount(patterns[:, f], weights=weighted, minlength=n)[1:n]
            new_m = np.maximum(totals / max(totals.sum(), 1e-12), M_FLOOR)
            new_m /= new_m.sum()
            change = max(change, float(np.abs(new_m - m[f, 1:n]).max()))
            m[f, 1:n] = new_m
        prior = new_prior
        if change < tolerance:
            converged = True
            break
    return EMResult(m=m, within_block_prior=prior, iterations=iteration, converged=converged)


# --- scoring ------------------------------------------------------------------


@dataclass
class Scores:
    """Weights, probabilities and decisions of many pairs (aligned with a Comparison)."""

    comparison: Comparison
    contributions: FloatArray  # (pairs, fields) bits, TF included
    weight: FloatArray  # total bits, prior and swap penalty included
    probability: FloatArray
    rule: npt.NDArray[np.int8]  # index into RULES
    decision: npt.NDArray[np.int8]  # 0 new, 1 review, 2 link

    def decisions(self) -> list[Decision]:
        return [_DECISIONS[int(d)] for d in self.decision]


_DECISIONS = (Decision.NEW, Decision.REVIEW, Decision.LINK)
NEW, REVIEW, LINK = 0, 1, 2


def _tf_columns(model: Model, table: RecordTable, name: str) -> tuple[FloatArray, FloatArray]:
    vocab = table.names
    norm_tf = model.tf.get(name)
    skel_tf = model.tf.get(name + "_skeleton")
    if norm_tf is None or skel_tf is None:
        return np.zeros(0), np.zeros(0)
    norm = np.array([norm_tf.frequency(v) for v in vocab.norm_text] + [1.0])
    skel = np.array([skel_tf.frequency(k.skeleton) for k in vocab.keys] + [1.0])
    return norm, skel


def contributions(model: Model, table: RecordTable, comparison: Comparison) -> FloatArray:
    """Each field's bits for each pair, term frequencies applied to name agreement."""
    bits = model.bits()
    levels = comparison.levels.astype(np.int64)
    out = np.empty(levels.shape, dtype=np.float64)
    for f in range(N_FIELDS):
        out[:, f] = bits[f, levels[:, f]]
    left, right, swapped = comparison.left, comparison.right, comparison.swapped
    columns = {name: _tf_columns(model, table, name) for name in TF_FIELDS}
    for name in TF_FIELDS:
        f = FIELD_INDEX[name]
        norm_tf, skel_tf = columns[name]
        if len(norm_tf) == 0:
            continue
        other = "family" if name == "given" else "given"
        code_a = getattr(table, name)[left]
        code_b = np.where(swapped, getattr(table, other)[right], getattr(table, name)[right])
        tf_a, tf_b = norm_tf[code_a], norm_tf[code_b]
        if swapped.any() and len(columns[other][0]):
            # a swapped name is a given name and a family name at once: the
            # more frequent of the two readings is the cautious one
            other_norm, other_skel = columns[other]
            tf_a = np.where(swapped, np.maximum(tf_a, other_norm[code_a]), tf_a)
            tf_b = np.where(swapped, np.maximum(tf_b, other_norm[code_b]), tf_b)
            skel_tf = skel_tf.copy()
            skel_tf = np.maximum(skel_tf, other_skel)
        exact = levels[:, f] == NAME_EXACT
        if exact.any():
            u_value = np.maximum(tf_a, tf_b)[exact]
            out[exact, f] = np.log2(
                model.m[f, NAME_EXACT] / np.maximum(u_value, _floor(model, name))
            )
        skeleton = levels[:, f] == NAME_SKELETON
        if skeleton.any():
            u_value = skel_tf[code_a][skeleton] - np.maximum(tf_a, tf_b)[skeleton]
            out[skeleton, f] = np.log2(
                model.m[f, NAME_SKELETON] / np.maximum(u_value, _floor(model, name))
            )
    return out


def _floor(model: Model, name: str) -> float:
    return model.tf[name].floor


def decide(
    model: Model, table: RecordTable, comparison: Comparison, thresholds: Thresholds
) -> Scores:
    """Weights, probabilities, rules and decisions for every compared pair."""
    contrib = contributions(model, table, comparison)
    weight = model.prior_bits + contrib.sum(axis=1) - model.swap_penalty * comparison.swapped
    probability = 1.0 / (1.0 + np.exp2(-np.clip(weight, -1000, 1000)))
    levels = comparison.levels
    given = levels[:, FIELD_INDEX["given"]]
    family = levels[:, FIELD_INDEX["family"]]
    birth = levels[:, FIELD_INDEX["birth_date"]]
    cin = levels[:, FIELD_INDEX["cin"]]
    amo = levels[:, FIELD_INDEX["amo"]]

    decision = np.where(
        probability >= thresholds.upper,
        LINK,
        np.where(probability >= thresholds.lower, REVIEW, NEW),
    ).astype(np.int8)
    rule = np.zeros(len(weight), dtype=np.int8)

    def apply(mask: npt.NDArray[np.bool_], which: Rule, cap: int | None, force: int | None) -> None:
        if not mask.any():
            return
        if cap is not None:
            capped = mask & (decision > cap)
            decision[capped] = cap
            rule[capped] = RULES.index(which)
        if force is not None:
            decision[mask] = force
            rule[mask] = RULES.index(which)

    cin_agree = cin == 3
    cin_conflict = cin == 1
    names_rough = (np.maximum(given, family) >= NAME_SKELETON) | (
        np.minimum(given, family) >= NAME_SIMILAR
    )
    compatible_date = birth >= DateLevel.TYPO
    # guards first, then the deterministic links override them where they apply
    apply(cin_conflict, Rule.CIN_CONFLICT, REVIEW, None)
    if model.households if thresholds.guards is None else thresholds.guards:
        given_disagree = (given == NAME_DISAGREE) & ~cin_agree
        apply(given_disagree, Rule.HOUSEHOLD, REVIEW, None)
        date_disagree = (birth >= 1) & (birth <= DateLevel.WITHIN_YEAR)
        apply(given_disagree & date_disagree, Rule.HOUSEHOLD, None, NEW)
        twins = (
            (given >= NAME_DISAGREE)
            & (given <= NAME_PARTIAL)
            & (birth == DateLevel.EXACT)
            & (family >= NAME_SKELETON)
            & ~cin_agree
        )
        apply(twins, Rule.TWINS, None, NEW)
        # birth dates that disagree outright (not a typo, a swap or a year-only
        # date): namesakes, cousins named after one grandfather — a person decides
        apply((birth == DateLevel.DISAGREE) & ~cin_agree, Rule.HOUSEHOLD, REVIEW, None)
        # household evidence alone (family name, AMO, phone, address) never links
        person_bits = contrib[:, [FIELD_INDEX[x] for x in PERSON_FIELDS]].sum(axis=1)
        apply((person_bits < PERSON_MIN_BITS) & ~cin_agree, Rule.HOUSEHOLD, REVIEW, None)
    apply(cin_agree & names_rough, Rule.CIN, None, LINK)
    amo_rule = (amo == 2) & (given == NAME_EXACT) & compatible_date & ~cin_conflict
    apply(amo_rule, Rule.AMO, None, LINK)
    return Scores(comparison, contrib, weight, probability, rule, decision)


# --- explanation -------------------------------------------------------------


@dataclass(frozen=True)
class FieldContribution:
    field: str
    label: str
    level: int
    level_label: str
    bits: float


@dataclass(frozen=True)
class Explanation:
    """Why a pair got its score: the review page shows it line by line."""

    prior_bits: float
    fields: tuple[FieldContribution, ...]
    swapped: bool
    swap_bits: float
    weight: float
    probability: float
    rule: Rule
    rule_label: str
    decision: Decision


def explain(model: Model, scores: Scores, k: int) -> Explanation:
    """The explanation of pair ``k`` of scored pairs."""
    levels = scores.comparison.levels[k]
    items = tuple(
        FieldContribution(
            field=spec.name,
            label=spec.label,
            level=int(levels[f]),
            level_label=spec.levels[int(levels[f])],
            bits=round(float(scores.contributions[k, f]), 2),
        )
        for f, spec in enumerate(FIELDS)
    )
    swapped = bool(scores.comparison.swapped[k])
    rule = RULES[int(scores.rule[k])]
    return Explanation(
        prior_bits=round(model.prior_bits, 2),
        fields=items,
        swapped=swapped,
        swap_bits=-model.swap_penalty if swapped else 0.0,
        weight=round(float(scores.weight[k]), 2),
        probability=float(scores.probability[k]),
        rule=rule,
        rule_label=RULE_LABELS[rule],
        decision=_DECISIONS[int(scores.decision[k])],
    )


__all__ = [
    "Decision",
    "Explanation",
    "FieldContribution",
    "Model",
    "Rule",
    "Scores",
    "TermFrequencies",
    "Thresholds",
    "decide",
    "em",
    "estimate_u",
    "explain",
]
