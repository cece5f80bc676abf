"""Routing proposals: where to refer a patient now, best first, each with its reasons.

The map's designated destination comes first; the alternatives follow, ranked
by how well their care level fits, then distance (in bands, so that a few
kilometres do not outweigh a free bed), free beds and the current median wait.
A service with no free bed sinks below every service that has one, but is never
hidden: the designated establishment with a full service stays in the list,
flagged, so that the professional sees the map's answer and why it was passed
over. An establishment the map designates but that does not (or no longer)
offer the service goes last, flagged. Ties end on the code: the same inputs
always give the same order.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from enum import StrEnum

from parcours.pathways.geo import distance_km
from parcours.pathways.pathway_map import (
    LEVEL_4_SPECIALTIES,
    Designation,
    Establishment,
    MapIndex,
    MapVersion,
    designated_destination,
)
from parcours.pathways.referral import Priority
from parcours.territory.rules import CARE_LEVEL_LABELS

DISTANCE_BAND_KM = 30.0

# group (0 fine, 1 full, 2 lacks the service), not designated, level fit, distance
# band, beds/wait (order depends on needs_bed), exact distance, code.
_SortKey = tuple[int, bool, int, int, float, float, float, str]


@dataclass(frozen=True)
class LiveFacts:
    """What the service knows right now about a destination's service (None: unknown)."""

    beds_available: int | None = None
    median_wait: timedelta | None = None


NO_FACTS = LiveFacts()


class ProposalFlag(StrEnum):
    DESIGNATED = "designated"
    FULL = "full"
    LACKS_SERVICE = "lacks_service"
    OUTSIDE_MAP = "outside_map"

    @property
    def label(self) -> str:
        return {
            "designated": "Désigné par la carte sanitaire",
            "full": "Service complet",
            "lacks_service": "Service non offert",
            "outside_map": "Hors carte sanitaire",
        }[self]

    @property
    def colour(self) -> str:
        return {
            "designated": "#2e7d32",
            "full": "#c62828",
            "lacks_service": "#757575",
            "outside_map": "#ef6c00",
        }[self]


class LevelFit(StrEnum):
    EXPECTED = "expected"
    HIGHER = "higher"
    LOWER = "lower"
    SAME_AS_SOURCE = "same_as_source"

    @property
    def rank(self) -> int:
        return {"expected": 0, "higher": 1, "lower": 2, "same_as_source": 3}[self]

    @property
    def label(self) -> str:
        return {
            "expected": "niveau de soins attendu",
            "higher": "niveau de soins supérieur à celui attendu",
            "lower": "niveau de soins inférieur à celui attendu",
            "same_as_source": "même niveau que l'établissement demandeur",
        }[self]


@dataclass(frozen=True)
class Proposal:
    rank: int
    code: str
    name: str
    care_level: int
    designated: bool
    level_fit: LevelFit
    distance_km: float | None
    beds_available: int | None
    median_wait: timedelta | None
    flags: frozenset[ProposalFlag]
    reasons: tuple[str, ...]

    @property
    def full(self) -> bool:
        return ProposalFlag.FULL in self.flags


@dataclass(frozen=True)
class RoutingResult:
    """The ranked proposals and the map's designation they were built from."""

    proposals: tuple[Proposal, ...]
    designation: Designation | None
    map_version: int


def propose(
    source: Establishment,
    specialty: str,
    priority: Priority,
    map_version: MapVersion,
    establishments: Iterable[Establishment] | Mapping[str, Establishment] | MapIndex,
    live: Mapping[str, LiveFacts],
    *,
    needs_bed: bool = True,
    limit: int | None = None,
) -> RoutingResult:
    """Rank where ``source`` may refer for ``specialty``.

    Candidates: open establishments of the region offering the specialty, at the
    source's care level or above (plus the designated one in any case).
    ``needs_bed=False`` (an outpatient consultation) keeps a full service's flag
    but no longer lets it sink, and the wait then weighs before the beds. For an
    URGENT referral the median wait (a consultation backlog) is shown but not
    ranked on: what matters is a free bed, near.
    """
    index = establishments if isinstance(establishments, MapIndex) else MapIndex(establishments)
    designation = designated_destination(source, specialty, map_version, index)
    target_level = _target_level(source, specialty, designation)

    candidates: dict[str, Establishment] = {
        e.code: e
        for e in index.offering(specialty)
        if e.code != source.code and e.region == source.region and e.care_level >= source.care_level
    }
    if designation is not None:
        designated_est = index.get(designation.destination)
        if designated_est is not None:
            candidates[designated_est.code] = designated_est

    scored: list[tuple[_SortKey, Proposal]] = []
    for est in candidates.values():
        facts = live.get(est.code, NO_FACTS)
        is_designated = designation is not None and est.code == designation.destination
        lacks = not est.offers(specialty)
        distance = distance_km(source.point, est.point)
        full = not lacks and facts.beds_available is not None and facts.beds_available <= 0
        fit = _fit(est.care_level, target_level, source.care_level)
        flags = set()
        if is_designated:
            flags.add(ProposalFlag.DESIGNATED)
        elif designation is not None:
            flags.add(ProposalFlag.OUTSIDE_MAP)
        if full:
            flags.add(ProposalFlag.FULL)
        if lacks:
            flags.add(ProposalFlag.LACKS_SERVICE)
        group = 2 if lacks else (1 if full and needs_bed else 0)
        band = int(distance // DISTANCE_BAND_KM) if distance is not None else 10**6
        beds_key = -float(facts.beds_available) if facts.beds_available is not None else 1.0
        wait_key = (
            facts.median_wait.total_seconds() if facts.median_wait is not None else float("inf")
        )
        if priority is Priority.URGENT:
            wait_key = 0.0  # a consultation backlog says nothing about an urgent admission
        first, second = (beds_key, wait_key) if needs_bed else (wait_key, beds_key)
        key: _SortKey = (
            group,
            not is_designated,
            fit.rank,
            band,
            first,
            second,
            distance if distance is not None else float("inf"),
            est.code,
        )
        reasons = _reasons(est, designation if is_designated else None, fit, distance, facts, lacks)
        proposal = Proposal(
            rank=0,
            code=est.code,
            name=est.name,
            care_level=est.care_level,
            designated=is_designated,
            level_fit=fit,
            distance_km=distance,
            beds_available=facts.beds_available,
            median_wait=facts.median_wait,
            flags=frozenset(flags),
            reasons=reasons,
        )
        scored.append((key, proposal))

    scored.sort(key=lambda kp: kp[0])
    ranked = tuple(_with_rank(p, i) for i, (_, p) in enumerate(scored, start=1))
    if limit is not None:
        ranked = ranked[:limit]
    return RoutingResult(ranked, designation, map_version.number)


def _target_level(source: Establishment, specialty: str, designation: Designation | None) -> int:
    if designation is not None:
        return designation.care_level
    floor = 4 if specialty in LEVEL_4_SPECIALTIES else 2
    return min(max(source.care_level + 1, floor), 4)


def _fit(level: int, target: int, source_level: int) -> LevelFit:
    if level == target:
        return LevelFit.EXPECTED
    if level <= source_level:
        return LevelFit.SAME_AS_SOURCE
    return LevelFit.HIGHER if level > target else LevelFit.LOWER


def _reasons(
    est: Establishment,
    designation: Designation | None,
    fit: LevelFit,
    distance: float | None,
    facts: LiveFacts,
    lacks: bool,
) -> tuple[str, ...]:
    reasons: list[str] = []
    if designation is not None:
        reasons.append(designation.reason)
    if lacks:
        reasons.append("n'offre pas ce service au registre des établissements")
    level_label = CARE_LEVEL_LABELS.get(est.care_level, f"niveau {est.care_level}")
    reasons.append(f"{level_label} ({fit.label})")
    reasons.append(format_distance(distance))
    if not lacks:
        reasons.append(format_beds(facts.beds_available))
    reasons.append(format_wait(facts.median_wait))
    return tuple(reasons)


def median_duration(durations: Iterable[timedelta]) -> timedelta | None:
    """The median of waiting times (e.g. sent → appointment over the last 90 days)."""
    values = sorted(durations)
    if not values:
        return None
    return statistics.median_low(values) if len(values) % 2 else _mid(values)


def _mid(values: list[timedelta]) -> timedelta:
    half = len(values) // 2
    return (values[half - 1] + values[half]) / 2


def format_distance(distance: float | None) -> str:
    if distance is None:
        return "distance inconnue (coordonnées manquantes)"
    if distance < 1:
        return "à moins de 1 km"
    return f"à {round(distance)} km"


def format_beds(beds: int | None) -> str:
    if beds is None:
        return "lits disponibles : non renseigné"
    if beds <= 0:
        return "service complet : 0 lit disponible"
    return f"{beds} lit disponible" if beds == 1 else f"{beds} lits disponibles"


def format_wait(wait: timedelta | None) -> str:
    if wait is None:
        return "délai d'attente médian : non renseigné"
    if wait < timedelta(days=1):
        hours = max(round(wait.total_seconds() / 3600), 0)
        return f"délai d'attente médian {hours} h"
    return f"délai d'attente médian {round(wait.total_seconds() / 86400)} j"


def _with_rank(p: Proposal, rank: int) -> Proposal:
    return replace(p, rank=rank)
