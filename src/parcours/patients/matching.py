"""Real-time matching: one new record against the candidates its keys found.

The service layer's path for "register a record" and "match demographics":

1. ``keys = record_keys(record)`` — the blocking keys of the new record;
2. the storage layer fetches the source records holding any of those keys
   from its indexed ``(key, record_id)`` table, skipping a key held by more
   than :data:`~parcours.patients.blocking.REALTIME_CAP` records;
3. ``result = match(record, candidates, model, thresholds)`` — every
   candidate scored, explained and decided, best first; ``result.decision``
   is the decision for the new record (link to ``result.best``, review, or a
   new person).

No database here: the candidates arrive as :class:`SourceRecord` (or already
computed :class:`Features`), and the function is pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from parcours.patients.blocking import blocking_keys
from parcours.patients.compare import compare_pairs
from parcours.patients.fellegi_sunter import (
    Decision,
    Explanation,
    Model,
    Rule,
    Thresholds,
    decide,
    explain,
)
from parcours.patients.records import Features, RecordTable, SourceRecord, features


@dataclass(frozen=True)
class Candidate:
    """One candidate record, scored against the new record."""

    record_id: str
    probability: float
    weight: float
    decision: Decision
    rule: Rule
    explanation: Explanation


@dataclass(frozen=True)
class MatchResult:
    """The candidates best first, and the decision for the new record."""

    decision: Decision
    candidates: tuple[Candidate, ...]

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None

    def links(self) -> tuple[Candidate, ...]:
        return tuple(c for c in self.candidates if c.decision is Decision.LINK)

    def reviews(self) -> tuple[Candidate, ...]:
        return tuple(c for c in self.candidates if c.decision is Decision.REVIEW)


def record_keys(record: SourceRecord | Features) -> list[str]:
    """The blocking keys the storage layer indexes for this record."""
    return blocking_keys(record if isinstance(record, Features) else features(record))


def match(
    record: SourceRecord | Features,
    candidates: Sequence[SourceRecord | Features],
    model: Model,
    thresholds: Thresholds | None = None,
    *,
    limit: int | None = 20,
) -> MatchResult:
    """Score each candidate against the record; decide for the record.

    The decision is LINK when the best candidate is a link, REVIEW when any
    candidate is to be reviewed (or when two candidates are links, which only a
    person can sort out — the service checks whether they are one person),
    NEW otherwise. A candidate with the record's own id is ignored.
    """
    thresholds = thresholds or Thresholds()
    own = record if isinstance(record, Features) else features(record)
    others = [
        c if isinstance(c, Features) else features(c)
        for c in candidates
        if c.record_id != own.record_id
    ]
    if not others:
        return MatchResult(Decision.NEW, ())
    table = RecordTable.build([own, *others])
    right = np.arange(1, len(table), dtype=np.int64)
    left = np.zeros(len(right), dtype=np.int64)
    scores = decide(model, table, compare_pairs(table, left, right), thresholds)
    order = np.argsort(-scores.weight, kind="stable")
    if limit is not None:
        order = order[:limit]
    found = tuple(
        Candidate(
            record_id=table.ids[int(right[k])],
            probability=float(scores.probability[k]),
            weight=float(scores.weight[k]),
            decision=explanation.decision,
            rule=explanation.rule,
            explanation=explanation,
        )
        for k in order.tolist()
        for explanation in (explain(model, scores, k),)
    )
    return MatchResult(_overall(found), found)


def _overall(found: Sequence[Candidate]) -> Decision:
    if not found:
        return Decision.NEW
    if found[0].decision is Decision.LINK:
        return Decision.LINK
    if any(c.decision is not Decision.NEW for c in found):
        return Decision.REVIEW
    return Decision.NEW


def best_by_person(
    result: MatchResult, person_of: Mapping[str, str]
) -> list[tuple[str, Candidate]]:
    """The best candidate record of each person, best person first.

    The service knows which person each candidate record belongs to; two LINK
    candidates of one person are one link, of two persons a case for review.
    """
    best: dict[str, Candidate] = {}
    for candidate in result.candidates:
        person = person_of.get(candidate.record_id, candidate.record_id)
        if person not in best or candidate.weight > best[person].weight:
            best[person] = candidate
    return sorted(best.items(), key=lambda item: -item[1].weight)


def decide_for_person(result: MatchResult, person_of: Mapping[str, str]) -> Decision:
    """LINK only when the links all point to one person; REVIEW when they disagree."""
    persons = {person_of.get(c.record_id, c.record_id) for c in result.links()}
    if len(persons) == 1 and result.decision is Decision.LINK:
        return Decision.LINK
    if len(persons) > 1:
        return Decision.REVIEW
    return result.decision if result.decision is not Decision.LINK else Decision.REVIEW
