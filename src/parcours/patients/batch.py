"""Whole files at once: train the model, deduplicate, link two files.

Everything runs in memory on numpy arrays (a million records take a few GB).
The national scale (tens of millions) belongs to a distributed engine such as
Splink on Spark, as DESIGN.md says; this is for one region.

Training (:func:`train`):

1. term frequencies of names and skeletons;
2. ``u`` from random pairs;
3. seeds: pairs with the same valid CIN and roughly agreeing names give a
   first estimate of ``m`` (when there are enough of them), else the priors;
4. ``m`` by EM in two rounds, as Splink does, because a blocking rule makes
   its own fields agree by construction: pairs sharing given and family
   skeletons estimate every other field; pairs sharing an exact birth date
   estimate the names. Within each round, big blocks are sampled and their
   pairs weighted back, so that the share of matches stays unbiased;
5. the prior (probability that two random records are the same person) from
   the share of matches EM found in each round, scaled by how often a match
   falls in such a block.

Deduplication (:func:`dedupe`) scores the candidate pairs of the blocking keys
chunk by chunk, then merges the linked pairs strongest first into persons
(:func:`cluster`), refusing a merge that would put together two records
the rules said are different persons (different CINs, twins, a household):
one hub record cannot chain two persons.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from parcours.patients.blocking import BATCH_CAP, WINDOW, candidate_pairs
from parcours.patients.compare import FIELD_INDEX, FIELDS, compare_pairs
from parcours.patients.fellegi_sunter import (
    LINK,
    NEW,
    REVIEW,
    RULES,
    Model,
    Rule,
    Thresholds,
    decide,
    em,
    estimate_m_from_pairs,
    estimate_u,
    term_frequencies,
)
from parcours.patients.records import Features, IntArray, RecordTable, SourceRecord

FloatArray = npt.NDArray[np.float64]
Records = Sequence[SourceRecord | Features] | RecordTable


def _table(records: Records) -> RecordTable:
    return records if isinstance(records, RecordTable) else RecordTable.build(records)


@dataclass(frozen=True)
class TrainingSettings:
    u_pairs: int = 1_000_000
    em_pairs: int = 1_000_000
    block_sample: int = 40
    seed: int = 2025


def sample_block_pairs(
    labels: IntArray, rng: np.random.Generator, *, cap: int, max_pairs: int
) -> tuple[IntArray, FloatArray, float]:
    """Pairs of records sharing a label (-1: none), big blocks sampled.

    Returns the pairs, a weight per pair (how many real pairs each stands for)
    and the total number of pairs in the blocks.
    """
    present = np.flatnonzero(labels >= 0)
    if len(present) < 2:
        return np.empty((0, 2), dtype=np.int64), np.empty(0), 0.0
    shuffled = present[rng.permutation(len(present))]
    order = np.argsort(labels[shuffled], kind="stable")
    members = shuffled[order]
    block = labels[members]
    starts = np.concatenate([[0], np.flatnonzero(np.diff(block)) + 1])
    sizes = np.diff(np.concatenate([starts, [len(block)]]))
    total = float((sizes * (sizes - 1) // 2).sum())
    kept = np.minimum(sizes, cap)
    chunks: list[IntArray] = []
    weights: list[FloatArray] = []
    for size in np.unique(kept).tolist():
        if size < 2:
            continue
        which = kept == size
        i, j = np.triu_indices(size, k=1)
        block_starts = starts[which]
        left = members[(block_starts[:, None] + i[None, :]).ravel()]
        right = members[(block_starts[:, None] + j[None, :]).ravel()]
        full = sizes[which] * (sizes[which] - 1) / 2.0
        chunks.append(np.stack([left, right], axis=1))
        weights.append(np.repeat(full / (size * (size - 1) / 2.0), len(i)))
    if not chunks:
        return np.empty((0, 2), dtype=np.int64), np.empty(0), total
    pairs = np.concatenate(chunks)
    weight = np.concatenate(weights)
    if len(pairs) > max_pairs:
        keep = rng.choice(len(pairs), size=max_pairs, replace=False)
        weight = weight[keep] * (len(pairs) / max_pairs)
        pairs = pairs[keep]
    return pairs, weight, total


def _random_pairs(n: int, count: int, rng: np.random.Generator) -> tuple[IntArray, IntArray]:
    left = rng.integers(0, n, size=count)
    right = rng.integers(0, n - 1, size=count)
    right = right + (right >= left)
    return left, right


def _skeleton_labels(table: RecordTable) -> tuple[IntArray, IntArray]:
    skel = np.asarray([*table.names.skel_id, -1], dtype=np.int64)
    return skel[table.given], skel[table.family]


#: share of pairs sharing a household identifier that are visibly two persons
#: above which the data is taken to hold households
HOUSEHOLD_SHARE = 0.05


def _households(table: RecordTable, rng: np.random.Generator) -> tuple[bool, float]:
    """Do records sharing an AMO number or a phone belong to different persons?

    Among pairs sharing one, the share whose given names and birth dates both
    disagree: a parent and a child, two siblings. Above HOUSEHOLD_SHARE the
    data holds households, and the household and twins guards are on. Without
    any such identifier, the answer is yes (the safe side).
    """
    shares: list[float] = []
    for column in (table.amo, table.phone):
        pairs, _, _ = sample_block_pairs(column, rng, cap=6, max_pairs=200_000)
        if len(pairs) < 50:
            continue
        levels = compare_pairs(table, pairs[:, 0], pairs[:, 1]).levels
        given = levels[:, FIELD_INDEX["given"]]
        birth = levels[:, FIELD_INDEX["birth_date"]]
        known = (given > 0) & (birth > 0)
        if known.sum() < 50:
            continue
        apart = known & (given == 1) & (birth <= 2)
        shares.append(float(apart.sum() / known.sum()))
    if not shares:
        return True, float("nan")
    share = max(shares)
    return share > HOUSEHOLD_SHARE, share


def train(records: Records, *, settings: TrainingSettings | None = None) -> Model:
    """Estimate a model from the records themselves (no labelled pairs needed)."""
    settings = settings or TrainingSettings()
    table = _table(records)
    n = len(table)
    if n < 3:
        raise ValueError("il faut au moins trois fiches pour estimer le modèle")
    rng = np.random.default_rng(settings.seed)
    model = Model.from_priors()
    model.tf = term_frequencies(table)
    model.trained_on = n
    total_pairs = n * (n - 1) / 2.0

    # u from random pairs
    count = int(min(settings.u_pairs, total_pairs * 4))
    left, right = _random_pairs(n, count, rng)
    random_levels = compare_pairs(table, left, right).levels
    model.u = estimate_u(random_levels)
    present = (random_levels > 0).mean(axis=0)  # how often a field is comparable

    # seeds: same valid CIN and roughly agreeing names
    seeds = 0
    cin_pairs, _, _ = sample_block_pairs(table.cin, rng, cap=5, max_pairs=settings.em_pairs)
    if len(cin_pairs):
        seed_levels = compare_pairs(table, cin_pairs[:, 0], cin_pairs[:, 1]).levels
        given = seed_levels[:, FIELD_INDEX["given"]]
        family = seed_levels[:, FIELD_INDEX["family"]]
        rough = (np.maximum(given, family) >= 5) | (np.minimum(given, family) >= 3)
        seeds = int(rough.sum())
        model.m = estimate_m_from_pairs(seed_levels[rough], model.m, exclude=("cin",))

    model.households, notes_households = _households(table, rng)

    all_fields = tuple(spec.name for spec in FIELDS)
    estimates: dict[str, list[FloatArray]] = {name: [] for name in all_fields}
    found_rounds: list[tuple[float, float, tuple[str, ...]]] = []
    notes: dict[str, object] = {
        "seeds": seeds,
        "u_pairs": count,
        "household_share": notes_households,
    }

    # round 1: same given and family skeletons
    given_skel, family_skel = _skeleton_labels(table)
    size = int(max(given_skel.max(), family_skel.max())) + 2
    names_label = np.where(
        (given_skel >= 0) & (family_skel >= 0), given_skel * size + family_skel, -1
    )
    # round 2: same exact (precise) birth date
    date_label = np.where((table.precision == 3) & ~table.imprecise, table.compact, -1)
    rounds: tuple[tuple[str, IntArray, tuple[str, ...]], ...] = (
        # the given name tells the sex: within these blocks sex agrees for
        # non-matches too, so it is estimated in the other round only
        ("names", names_label, ("given", "family", "sex")),
        ("birth_date", date_label, ("birth_date",)),
    )
    for name, labels, blocked in rounds:
        pairs, weights, block_pairs = sample_block_pairs(
            labels, rng, cap=settings.block_sample, max_pairs=settings.em_pairs
        )
        if len(pairs) < 50:
            continue
        comparison = compare_pairs(table, pairs[:, 0], pairs[:, 1])
        estimate = tuple(x for x in all_fields if x not in blocked)
        result = em(comparison.levels, model.m, model.u, estimate=estimate, weights=weights)
        for x in estimate:
            estimates[x].append(result.m[FIELD_INDEX[x]])
        found_rounds.append((result.within_block_prior, block_pairs, blocked))
        notes[name] = {
            "pairs": len(pairs),
            "iterations": result.iterations,
            "converged": result.converged,
            "within_block_prior": result.within_block_prior,
        }
    for x, found in estimates.items():
        if found:
            model.m[FIELD_INDEX[x]] = np.mean(found, axis=0)
    # the share of matches EM found in a round's blocks, scaled by the share of
    # all matches that fall in such blocks (from the final m), gives the prior
    priors: list[float] = []
    for within, block_pairs, blocked in found_rounds:
        recall = 1.0
        for x in blocked:
            if x == "sex":
                continue
            f = FIELD_INDEX[x]
            agree = (5, 6) if x in ("given", "family") else (6,)
            recall *= float(model.m[f, list(agree)].sum()) * float(present[f])
        matches = within * block_pairs / max(recall, 1e-3)
        priors.append(matches / total_pairs)
    if priors:
        prior = math.exp(float(np.mean(np.log(priors))))
        model.prior = min(max(prior, 1e-9), 0.5)
    notes["priors"] = priors
    model.notes = notes
    return model


# --- deduplication ------------------------------------------------------------


@dataclass
class ScoredPairs:
    """Pairs kept after scoring (links and reviews), as parallel arrays."""

    left: IntArray
    right: IntArray
    weight: FloatArray
    probability: FloatArray
    decision: npt.NDArray[np.int8]
    rule: npt.NDArray[np.int8]

    @classmethod
    def empty(cls) -> ScoredPairs:
        i = np.empty(0, dtype=np.int64)
        f = np.empty(0)
        b = np.empty(0, dtype=np.int8)
        return cls(i, i.copy(), f, f.copy(), b, b.copy())

    @classmethod
    def concat(cls, parts: list[ScoredPairs]) -> ScoredPairs:
        if not parts:
            return cls.empty()
        return cls(
            *(np.concatenate([getattr(p, a) for p in parts]) for a in cls.__dataclass_fields__)
        )

    def __len__(self) -> int:
        return len(self.left)


@dataclass
class DedupeResult:
    """Persons found: ``labels[i]`` is the cluster of record i."""

    record_ids: list[str]
    labels: IntArray
    links: ScoredPairs
    reviews: ScoredPairs
    candidate_pairs: int
    refused_merges: int = 0
    timings: dict[str, float] = field(default_factory=dict)

    def clusters(self) -> list[list[str]]:
        groups: dict[int, list[str]] = {}
        for record_id, label in zip(self.record_ids, self.labels.tolist(), strict=True):
            groups.setdefault(label, []).append(record_id)
        return list(groups.values())

    def person_of(self) -> dict[str, int]:
        return dict(zip(self.record_ids, self.labels.tolist(), strict=True))


def score_pairs(
    table: RecordTable,
    pairs: IntArray,
    model: Model,
    thresholds: Thresholds,
    *,
    chunk: int = 2_000_000,
    keep_below: float = 1e-3,
) -> tuple[ScoredPairs, ScoredPairs, IntArray]:
    """Score candidate pairs chunk by chunk.

    Returns the links and reviews, and the pairs that must never end up in one
    person (a rule said "new person", or the probability is below ``keep_below``).
    """
    kept: list[ScoredPairs] = []
    apart: list[IntArray] = []
    guard_rules = np.array(
        [RULES.index(r) for r in (Rule.TWINS, Rule.HOUSEHOLD, Rule.CIN_CONFLICT)], dtype=np.int8
    )
    for start in range(0, len(pairs), chunk):
        part = pairs[start : start + chunk]
        comparison = compare_pairs(table, part[:, 0], part[:, 1])
        scores = decide(model, table, comparison, thresholds)
        keep = scores.decision > NEW
        kept.append(
            ScoredPairs(
                part[keep, 0],
                part[keep, 1],
                scores.weight[keep],
                scores.probability[keep],
                scores.decision[keep],
                scores.rule[keep],
            )
        )
        never = ((scores.decision == NEW) & np.isin(scores.rule, guard_rules)) | (
            scores.probability < keep_below
        )
        never |= scores.rule == RULES.index(Rule.CIN_CONFLICT)
        apart.append(part[never])
    scored = ScoredPairs.concat(kept)
    links_mask = scored.decision == LINK
    reviews_mask = scored.decision == REVIEW
    links = ScoredPairs(*(getattr(scored, a)[links_mask] for a in ScoredPairs.__dataclass_fields__))
    reviews = ScoredPairs(
        *(getattr(scored, a)[reviews_mask] for a in ScoredPairs.__dataclass_fields__)
    )
    cannot = np.concatenate(apart) if apart else np.empty((0, 2), dtype=np.int64)
    return links, reviews, cannot


def connected_components(n: int, left: IntArray, right: IntArray) -> IntArray:
    """The smallest record index of each record's component (numpy, no Python loop
    over the links: label propagation with pointer jumping)."""
    labels = np.arange(n, dtype=np.int64)
    if len(left) == 0:
        return labels
    while True:
        low = np.minimum(labels[left], labels[right])
        before = labels.copy()
        np.minimum.at(labels, left, low)
        np.minimum.at(labels, right, low)
        while True:  # pointer jumping: follow each label to its own label
            jumped = labels[labels]
            if np.array_equal(jumped, labels):
                break
            labels = jumped
        if np.array_equal(labels, before):
            return labels


def cluster(n: int, links: ScoredPairs, cannot_link: IntArray) -> tuple[IntArray, int]:
    """Merge linked records into persons, strongest link first, under constraints.

    Plain connected components first (in numpy); only the components that hold
    a pair the rules kept apart are rebuilt link by link: deterministic links
    (CIN, AMO) first, then by decreasing weight, refusing a merge that would put
    such a pair in one person. Returns the label of each record and the number
    of refused merges.
    """
    labels = connected_components(n, links.left, links.right)
    if len(cannot_link) == 0:
        return labels, 0
    conflict = labels[cannot_link[:, 0]] == labels[cannot_link[:, 1]]
    if not conflict.any():
        return labels, 0
    troubled = np.unique(labels[cannot_link[conflict, 0]])
    in_trouble = np.isin(labels[links.left], troubled)
    members_of = np.flatnonzero(np.isin(labels, troubled))
    labels[members_of] = members_of  # rebuilt below
    sub = ScoredPairs(*(getattr(links, a)[in_trouble] for a in ScoredPairs.__dataclass_fields__))
    keep = np.isin(cannot_link[:, 0], members_of) | np.isin(cannot_link[:, 1], members_of)

    parent: dict[int, int] = {}
    members: dict[int, list[int]] = {}
    apart: dict[int, set[int]] = {}
    for a, b in cannot_link[keep].tolist():
        apart.setdefault(a, set()).add(b)
        apart.setdefault(b, set()).add(a)

    def find(x: int) -> int:
        root = x
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(x, x) != root:
            parent[x], x = root, parent[x]
        return root

    deterministic = np.isin(sub.rule, [RULES.index(Rule.CIN), RULES.index(Rule.AMO)])
    order = np.lexsort((-sub.weight, ~deterministic))
    refused = 0
    for k in order.tolist():
        ra, rb = find(int(sub.left[k])), find(int(sub.right[k]))
        if ra == rb:
            continue
        group_a = members.get(ra) or [ra]
        group_b = members.get(rb) or [rb]
        if len(group_a) < len(group_b):
            ra, rb, group_a, group_b = rb, ra, group_b, group_a
        if any(find(other) == ra for x in group_b for other in apart.get(x, ())):
            refused += 1
            continue
        parent[rb] = ra
        members.pop(rb, None)
        members[ra] = group_a + group_b
    for x in members_of.tolist():
        labels[x] = find(x)
    return labels, refused


def dedupe(
    records: Records,
    model: Model,
    thresholds: Thresholds | None = None,
    *,
    cap: int = BATCH_CAP,
    window: int = WINDOW,
) -> DedupeResult:
    """Group the records into persons."""
    import time

    thresholds = thresholds or Thresholds()
    timings: dict[str, float] = {}
    start = time.perf_counter()
    table = _table(records)
    timings["features"] = time.perf_counter() - start
    start = time.perf_counter()
    pairs = candidate_pairs(table, cap=cap, window=window)
    timings["blocking"] = time.perf_counter() - start
    start = time.perf_counter()
    links, reviews, cannot = score_pairs(table, pairs, model, thresholds)
    timings["scoring"] = time.perf_counter() - start
    start = time.perf_counter()
    labels, refused = cluster(len(table), links, cannot)
    timings["clustering"] = time.perf_counter() - start
    return DedupeResult(
        record_ids=table.ids,
        labels=labels,
        links=links,
        reviews=reviews,
        candidate_pairs=len(pairs),
        refused_merges=refused,
        timings=timings,
    )


@dataclass
class LinkResult:
    """Pairs (record of A, record of B) decided as links or reviews."""

    links: list[tuple[str, str, float]]
    reviews: list[tuple[str, str, float]]
    candidate_pairs: int


def link(
    records_a: Sequence[SourceRecord | Features],
    records_b: Sequence[SourceRecord | Features],
    model: Model,
    thresholds: Thresholds | None = None,
    *,
    one_to_one: bool = False,
    cap: int = BATCH_CAP,
    window: int = WINDOW,
) -> LinkResult:
    """Link two files: which record of A is which record of B.

    With ``one_to_one`` each record is linked at most once, best links first
    (for two files known to hold each person once, such as two registers).
    """
    thresholds = thresholds or Thresholds()
    table = RecordTable.build([*records_a, *records_b])
    groups = np.zeros(len(table), dtype=np.int64)
    groups[len(records_a) :] = 1
    pairs = candidate_pairs(table, cap=cap, window=window, groups=groups)
    links, reviews, _ = score_pairs(table, pairs, model, thresholds)

    def named(scored: ScoredPairs, exclusive: bool) -> list[tuple[str, str, float]]:
        order = np.argsort(-scored.weight, kind="stable")
        used: set[int] = set()
        out = []
        for k in order.tolist():
            a, b = int(scored.left[k]), int(scored.right[k])
            if exclusive:
                if a in used or b in used:
                    continue
                used.update((a, b))
            out.append((table.ids[a], table.ids[b], float(scored.probability[k])))
        return out

    return LinkResult(named(links, one_to_one), named(reviews, False), len(pairs))


__all__ = [
    "DedupeResult",
    "LinkResult",
    "TrainingSettings",
    "cluster",
    "dedupe",
    "link",
    "score_pairs",
    "train",
]
