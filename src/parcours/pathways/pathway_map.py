"""The pathway map (carte sanitaire): who refers to whom, per specialty, versioned.

The default network follows the care levels: a health centre refers to a
level-2 hospital of its own province offering the specialty; a level-2 hospital
to a level-3 hospital of the region; level 3 to the CHU; the CHU-only
specialties (neurosurgery, cardiac surgery, burns, oncology) go straight to the
CHU. Where several establishments qualify, the nearest wins (great-circle
distance, then code, so that the answer never depends on the order of a query).
The regional administrator overrides this with exceptions (source, specialty →
destination), and every change is a new :class:`MapVersion` with its author,
date and reason: a referral keeps the number of the version it followed, so a
later change never rewrites the verdict on past referrals.

Establishments are plain values (:class:`Establishment`) built by the service
from the territory registry; nothing here touches storage.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType

from parcours.errors import Invalid
from parcours.pathways.geo import distance_km
from parcours.territory.rules import SPECIALTIES, SPECIALTY_CODES, EstablishmentType

# Specialties that exist only at the university level of the region: referred
# straight to the CHU from any level rather than climbing hospital by hospital.
LEVEL_4_SPECIALTIES = frozenset({"neurosurgery", "cardiac_surgery", "burns", "oncology"})

SPECIALTY_NAMES: Mapping[str, str] = MappingProxyType({s.code: s.name for s in SPECIALTIES})


def specialty_name(code: str) -> str:
    return SPECIALTY_NAMES.get(code, code)


@dataclass(frozen=True)
class Establishment:
    """An establishment as the map and the routing see it.

    ``services`` maps each offered specialty to its declared beds (0 for an
    outpatient-only service). ``region`` may stay empty in a one-region instance.
    """

    code: str
    type: EstablishmentType
    province: str
    latitude: float | None = None
    longitude: float | None = None
    services: Mapping[str, int] = field(default_factory=dict, hash=False)
    region: str = ""
    is_open: bool = True
    name: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "services", MappingProxyType(dict(self.services)))

    @property
    def care_level(self) -> int:
        return self.type.care_level

    @property
    def point(self) -> tuple[float | None, float | None]:
        return (self.latitude, self.longitude)

    def offers(self, specialty: str) -> bool:
        return specialty in self.services

    def beds(self, specialty: str) -> int:
        return self.services.get(specialty, 0)

    def display(self) -> str:
        return f"{self.name} ({self.code})" if self.name else self.code


# --- versions and exceptions -----------------------------------------------------


@dataclass(frozen=True)
class MapException:
    """An administrator's override: from ``source``, for ``specialty``, go to ``destination``.

    ``specialty`` None applies to every specialty of that source (a centre whose
    province has no hospital, say); a specialty-specific exception wins over it.
    """

    source: str
    specialty: str | None
    destination: str
    note: str = ""

    @property
    def key(self) -> tuple[str, str | None]:
        return (self.source, self.specialty)


@dataclass(frozen=True)
class MapVersion:
    """One published state of the map: the default rules plus these exceptions."""

    number: int
    author: str
    created_at: datetime
    reason: str
    exceptions: tuple[MapException, ...] = ()

    def exception_for(self, source: str, specialty: str) -> MapException | None:
        general: MapException | None = None
        for exc in self.exceptions:
            if exc.source != source:
                continue
            if exc.specialty == specialty:
                return exc
            if exc.specialty is None:
                general = exc
        return general


MAP_CHANGE_MESSAGES: Mapping[str, str] = MappingProxyType(
    {
        "map_author_required": "Une version de la carte sanitaire a un auteur.",
        "map_reason_required": "Toute modification de la carte sanitaire est motivée.",
        "map_date_before_previous": (
            "La nouvelle version ({at}) ne peut précéder la version {number} ({previous})."
        ),
        "map_unknown_specialty": "Spécialité inconnue : {specialty}.",
        "map_exception_to_itself": "Une exception ne peut pas adresser {source} à lui-même.",
        "map_duplicate_exception": (
            "Deux exceptions pour {source} et la même spécialité ({specialty})."
        ),
        "map_nothing_to_remove": "Aucune exception pour {source} et {specialty} à retirer.",
        "map_no_change": "Cette version ne change rien à la précédente.",
    }
)


class MapChangeInvalid(Invalid):
    """A map change that cannot be published (HTTP 422), with a stable code."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(MAP_CHANGE_MESSAGES[code], code=code, **params)


def initial_map(author: str, at: datetime) -> MapVersion:
    """Version 1: the default rules of the care levels, no exception."""
    return MapVersion(1, author, at, "Règles par défaut des niveaux de soins", ())


def amend_map(
    previous: MapVersion,
    *,
    author: str,
    at: datetime,
    reason: str,
    add: Iterable[MapException] = (),
    remove: Iterable[tuple[str, str | None]] = (),
) -> MapVersion:
    """The next version: ``previous`` without the ``remove`` keys, with ``add``.

    An added exception replaces one with the same (source, specialty). The
    previous version is left untouched: versions are never rewritten.
    """
    author, reason = author.strip(), reason.strip()
    if not author:
        raise MapChangeInvalid("map_author_required")
    if not reason:
        raise MapChangeInvalid("map_reason_required")
    if at < previous.created_at:
        raise MapChangeInvalid(
            "map_date_before_previous",
            at=at.isoformat(),
            number=previous.number,
            previous=previous.created_at.isoformat(),
        )
    current = {exc.key: exc for exc in previous.exceptions}
    for source, specialty in remove:
        if (source, specialty) not in current:
            raise MapChangeInvalid(
                "map_nothing_to_remove", source=source, specialty=specialty or "*"
            )
        del current[(source, specialty)]
    seen: set[tuple[str, str | None]] = set()
    for exc in add:
        if exc.specialty is not None and exc.specialty not in SPECIALTY_CODES:
            raise MapChangeInvalid("map_unknown_specialty", specialty=exc.specialty)
        if exc.source == exc.destination:
            raise MapChangeInvalid("map_exception_to_itself", source=exc.source)
        if exc.key in seen:
            raise MapChangeInvalid(
                "map_duplicate_exception", source=exc.source, specialty=exc.specialty or "*"
            )
        seen.add(exc.key)
        current[exc.key] = exc
    exceptions = tuple(sorted(current.values(), key=lambda e: (e.source, e.specialty or "")))
    if exceptions == previous.exceptions:
        raise MapChangeInvalid("map_no_change")
    return MapVersion(previous.number + 1, author, at, reason, exceptions)


def validate_exception(
    exc: MapException, establishments: Iterable[Establishment] | Mapping[str, Establishment]
) -> list[str]:
    """What is wrong with an exception against the registry (French, empty if fine)."""
    index = _index(establishments)
    problems: list[str] = []
    source = index.get(exc.source)
    destination = index.get(exc.destination)
    if source is None:
        problems.append(f"établissement d'origine inconnu : {exc.source}")
    if destination is None:
        problems.append(f"établissement de destination inconnu : {exc.destination}")
        return problems
    if not destination.is_open:
        problems.append(f"{destination.display()} n'est pas en service")
    if exc.specialty is not None and not destination.offers(exc.specialty):
        problems.append(
            f"{destination.display()} n'offre pas la spécialité {specialty_name(exc.specialty)}"
        )
    if source is not None and destination.care_level < source.care_level:
        problems.append(
            f"{destination.display()} est d'un niveau de soins inférieur à {source.display()}"
        )
    return problems


# --- designation -------------------------------------------------------------------


class DesignationRule(StrEnum):
    EXCEPTION = "exception"
    LEVEL_2_PROVINCE = "level_2_province"
    LEVEL_3_REGION = "level_3_region"
    LEVEL_4 = "level_4"
    NEAREST_HIGHER = "nearest_higher"
    PEER = "peer"

    @property
    def label(self) -> str:
        return {
            "exception": "exception fixée par l'administrateur régional",
            "level_2_province": "hôpital de niveau 2 de la province",
            "level_3_region": "hôpital de niveau 3 de la région",
            "level_4": "CHU (niveau 4)",
            "nearest_higher": "établissement de niveau supérieur le plus proche",
            "peer": "établissement de même niveau (aucun niveau supérieur n'offre la spécialité)",
        }[self]


@dataclass(frozen=True)
class Designation:
    """The destination the map designates for (source, specialty), and why."""

    source: str
    specialty: str
    destination: str
    care_level: int
    rule: DesignationRule
    map_version: int
    distance_km: float | None
    reason: str
    #: What qualifies the designation, as (code, value) for pages in any language:
    #: ``exception_note`` (the administrator's note), ``exception_ignored`` (the
    #: establishment an exception named, absent or closed), ``no_chu`` (no CHU of the
    #: region offers the specialty). ``reason`` is the same in French, for the API.
    notes: tuple[tuple[str, str], ...] = ()


class MapIndex:
    """Establishments indexed once, designations memoised per (source, specialty, version).

    Build one per request (routing, map drawing) or per batch (bypass counting
    over a year of referrals); the free functions below build one on the fly.
    """

    def __init__(self, establishments: Iterable[Establishment] | Mapping[str, Establishment]):
        self.by_code: Mapping[str, Establishment] = _index(establishments)
        self._offering: dict[str, list[Establishment]] = {}
        self._cache: dict[tuple[str, str, int], Designation | None] = {}

    def get(self, code: str) -> Establishment | None:
        return self.by_code.get(code)

    def offering(self, specialty: str) -> list[Establishment]:
        """Open establishments offering ``specialty``, sorted by code."""
        if specialty not in self._offering:
            self._offering[specialty] = sorted(
                (e for e in self.by_code.values() if e.is_open and e.offers(specialty)),
                key=lambda e: e.code,
            )
        return self._offering[specialty]

    def designated(
        self, source: str | Establishment, specialty: str, version: MapVersion
    ) -> Designation | None:
        """Memoised per (source code, specialty, version number): numbers are never reused."""
        code = source.code if isinstance(source, Establishment) else source
        key = (code, specialty, version.number)
        if key not in self._cache:
            found = source if isinstance(source, Establishment) else self.by_code.get(code)
            self._cache[key] = self._designate(found, specialty, version) if found else None
        return self._cache[key]

    def _designate(
        self, source: Establishment, specialty: str, version: MapVersion
    ) -> Designation | None:
        code = source.code
        exc = version.exception_for(code, specialty)
        notes: list[tuple[str, str]] = []
        if exc is not None:
            target = self.by_code.get(exc.destination)
            if target is not None and target.is_open:
                found = [("exception_note", exc.note)] if exc.note else []
                return self._make(
                    source, target, specialty, version, DesignationRule.EXCEPTION, found
                )
            notes.append(("exception_ignored", exc.destination))
        for level, rule, candidates in self._tiers(source, specialty):
            if candidates:
                best = _nearest(source, candidates)
                if specialty in LEVEL_4_SPECIALTIES and level < 4:
                    notes.append(("no_chu", ""))
                return self._make(source, best, specialty, version, rule, notes)
        return None

    def _tiers(
        self, source: Establishment, specialty: str
    ) -> Iterable[tuple[int, DesignationRule, list[Establishment]]]:
        pool = [e for e in self.offering(specialty) if e.code != source.code]
        in_region = [e for e in pool if e.region == source.region]
        floor = 4 if specialty in LEVEL_4_SPECIALTIES else 2
        start = max(source.care_level + 1, floor)
        levels = list(range(start, 5))
        if specialty in LEVEL_4_SPECIALTIES:  # the CHU lacks it: the best level below
            levels += list(range(3, source.care_level, -1))
        for level in levels:
            if level == 2:
                yield (
                    level,
                    DesignationRule.LEVEL_2_PROVINCE,
                    [e for e in in_region if e.care_level == 2 and e.province == source.province],
                )
            elif level == 3:
                yield level, DesignationRule.LEVEL_3_REGION, _at_level(in_region, 3)
            else:
                yield level, DesignationRule.LEVEL_4, _at_level(in_region, 4)
        higher = [e for e in in_region if e.care_level > source.care_level]
        yield 0, DesignationRule.NEAREST_HIGHER, higher
        yield 0, DesignationRule.PEER, _at_level(in_region, source.care_level)

    def _make(
        self,
        source: Establishment,
        target: Establishment,
        specialty: str,
        version: MapVersion,
        rule: DesignationRule,
        notes: list[tuple[str, str]],
    ) -> Designation:
        reason = (
            f"désigné par la carte sanitaire (version {version.number}) : "
            f"{rule.label} pour {specialty_name(specialty)}{_notes_text(notes)}"
        )
        return Designation(
            source=source.code,
            specialty=specialty,
            destination=target.code,
            care_level=target.care_level,
            rule=rule,
            map_version=version.number,
            distance_km=distance_km(source.point, target.point),
            reason=reason,
            notes=tuple(notes),
        )


def _notes_text(notes: Iterable[tuple[str, str]]) -> str:
    text = ""
    for code, value in notes:
        if code == "exception_note":
            text += f" ({value})"
        elif code == "exception_ignored":
            text += f" ; exception vers {value} ignorée : établissement absent ou fermé"
        else:
            text += " ; aucun CHU de la région n'offre cette spécialité"
    return text


def designated_destination(
    source: str | Establishment,
    specialty: str,
    map_version: MapVersion,
    establishments: Iterable[Establishment] | Mapping[str, Establishment] | MapIndex,
) -> Designation | None:
    """Where the map sends ``source`` for ``specialty`` (None: nowhere in the region)."""
    index = establishments if isinstance(establishments, MapIndex) else MapIndex(establishments)
    return index.designated(source, specialty, map_version)


def is_along_map(
    referral_source: str,
    destination: str,
    specialty: str,
    map_version: MapVersion,
    establishments: Iterable[Establishment] | Mapping[str, Establishment] | MapIndex,
) -> bool:
    """Whether a referral goes where the given map version designates."""
    found = designated_destination(referral_source, specialty, map_version, establishments)
    return found is not None and found.destination == destination


@dataclass(frozen=True)
class MapEdge:
    source: str
    destination: str
    specialty: str
    rule: DesignationRule
    distance_km: float | None


def map_edges(
    specialty: str,
    map_version: MapVersion,
    establishments: Iterable[Establishment] | Mapping[str, Establishment] | MapIndex,
) -> list[MapEdge]:
    """The designated arrows of one specialty, from every open establishment (by code)."""
    index = establishments if isinstance(establishments, MapIndex) else MapIndex(establishments)
    edges: list[MapEdge] = []
    for code in sorted(index.by_code):
        if not index.by_code[code].is_open:
            continue
        d = index.designated(code, specialty, map_version)
        if d is not None:
            edges.append(MapEdge(code, d.destination, specialty, d.rule, d.distance_km))
    return edges


# --- bypass --------------------------------------------------------------------------


@dataclass(frozen=True)
class ReferralFact:
    """A referral as the bypass count needs it.

    ``designated_destination`` is the stamp taken when the referral was drafted;
    when absent it is recomputed from the map version the referral followed.
    Redirects are decisions of the receiving side, counted apart, never bypasses.
    """

    source: str
    destination: str
    specialty: str
    map_version: int | None
    designated_destination: str | None = None
    redirected: bool = False


@dataclass(frozen=True)
class ArrivalFact:
    """A patient arriving at an establishment (an emergency visit or an admission)."""

    establishment: str
    via_referral: bool
    emergency: bool = False
    specialty: str | None = None


@dataclass(frozen=True)
class BypassReport:
    referrals: int
    redirects: int
    unjudged: int  # neither a stamp nor a known map version / source
    outside_map: int
    outside_map_by_specialty: Mapping[str, int]
    arrivals: int  # at the establishments of the levels watched (the CHU by default)
    arrivals_without_referral: int
    arrivals_without_referral_emergency: int
    arrivals_without_referral_by_establishment: Mapping[str, int]

    @property
    def judged(self) -> int:
        return self.referrals - self.redirects - self.unjudged

    @property
    def outside_map_rate(self) -> float | None:
        return self.outside_map / self.judged if self.judged else None

    @property
    def without_referral_rate(self) -> float | None:
        return self.arrivals_without_referral / self.arrivals if self.arrivals else None


def count_bypasses(
    referrals: Iterable[ReferralFact],
    arrivals: Iterable[ArrivalFact],
    versions: Mapping[int, MapVersion],
    establishments: Iterable[Establishment] | Mapping[str, Establishment] | MapIndex,
    watched_levels: frozenset[int] = frozenset({4}),
) -> BypassReport:
    """Pathway bypasses: referrals outside the map, and arrivals at the CHU unreferred.

    Every unreferred arrival at a watched level counts, emergencies included
    (reported apart: a true emergency is a legitimate entry, but the CHU's
    emergency room filling with what primary care should see is the very
    problem the indicator tracks).
    """
    index = establishments if isinstance(establishments, MapIndex) else MapIndex(establishments)
    total = redirects = unjudged = outside = 0
    by_specialty: Counter[str] = Counter()
    for r in referrals:
        total += 1
        if r.redirected:
            redirects += 1
            continue
        designated = r.designated_destination
        if designated is None:
            version = versions.get(r.map_version) if r.map_version is not None else None
            found = index.designated(r.source, r.specialty, version) if version else None
            designated = found.destination if found else None
        if designated is None:
            unjudged += 1
        elif designated != r.destination:
            outside += 1
            by_specialty[r.specialty] += 1
    arrivals_total = unreferred = unreferred_emergency = 0
    by_establishment: Counter[str] = Counter()
    for a in arrivals:
        est = index.get(a.establishment)
        if est is None or est.care_level not in watched_levels:
            continue
        arrivals_total += 1
        if not a.via_referral:
            unreferred += 1
            by_establishment[a.establishment] += 1
            if a.emergency:
                unreferred_emergency += 1
    return BypassReport(
        referrals=total,
        redirects=redirects,
        unjudged=unjudged,
        outside_map=outside,
        outside_map_by_specialty=MappingProxyType(dict(sorted(by_specialty.items()))),
        arrivals=arrivals_total,
        arrivals_without_referral=unreferred,
        arrivals_without_referral_emergency=unreferred_emergency,
        arrivals_without_referral_by_establishment=MappingProxyType(
            dict(sorted(by_establishment.items()))
        ),
    )


# --- helpers ----------------------------------------------------------------------------


def _index(
    establishments: Iterable[Establishment] | Mapping[str, Establishment],
) -> Mapping[str, Establishment]:
    if isinstance(establishments, Mapping):
        return establishments
    return {e.code: e for e in establishments}


def _at_level(pool: list[Establishment], level: int) -> list[Establishment]:
    return [e for e in pool if e.care_level == level]


def _nearest(source: Establishment, candidates: list[Establishment]) -> Establishment:
    """Nearest first; unknown coordinates after known ones; then by code."""

    def key(e: Establishment) -> tuple[bool, float, str]:
        d = distance_km(source.point, e.point)
        return (d is None, d if d is not None else 0.0, e.code)

    return min(candidates, key=key)
