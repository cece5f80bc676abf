"""The demo region's establishments, planned from a seed without touching a database.

What is fixed and what the seed decides:

* fixed by the reference: the CHU and the real hospitals of
  ``tta_hospitals.csv`` with their town and category; how many hospitals and
  health centres each province gets (largest remainder over the 2024
  population, every province with at least one hospital and at least its real
  ones); how many of a province's centres are urban (its urban share, a rural
  inhabitant counting 2.5 times an urban one, for rural centres serve fewer
  people over more ground); the mix of centre types; hence the set of codes;
* decided by the seed: the sites of the hospitals the reference does not
  name, which place receives which centre type, coordinates, services, beds
  and how each province's population splits over its centres.

Codes read ``<type>-<province>-<number>`` (``CHU-TNG-01``, ``HPR-HOC-02``,
``CSU1-TNG-015``), numbered per type and province in placement order, so that
a seed always yields the same codes and the same region.
"""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from parcours.demo.apportion import apportion
from parcours.demo.capacity import ServicePlan, plan_services
from parcours.demo.geography import distance_km, jitter
from parcours.demo.places import (
    HOSPITAL_SITES,
    NEIGHBOURHOODS,
    RURAL_COMMUNES,
    TOWN_POPULATION,
    URBAN_SHARE,
)
from parcours.demo.reference import Reference, load_reference
from parcours.territory.rules import Category, EstablishmentType

T = EstablishmentType

HOSPITALS = 22
HEALTH_CENTRES = 295

# A rural inhabitant weighs this much more than an urban one when sharing
# centres between town and country.
RURAL_WEIGHT = 2.5
# Share of level-2 centres (a few delivery beds) among urban and rural centres,
# and of dispensaries among rural ones.
CSU2_SHARE = 0.25
CSR2_SHARE = 0.20
DISPENSARY_SHARE = 0.30
# Relative catchment of a centre by type, before a ±25 % draw.
CATCHMENT_WEIGHT: dict[EstablishmentType, float] = {
    T.CSU_2: 1.4,
    T.CSU_1: 1.0,
    T.CSR_2: 1.4,
    T.CSR_1: 1.0,
    T.RURAL_DISPENSARY: 0.5,
}
# How far from its anchor an establishment may be drawn, in km.
HOSPITAL_JITTER_KM = 1.5
CHU_JITTER_KM = 3.0
RURAL_JITTER_KM = 20.0


def urban_jitter_km(town: str) -> float:
    """A few hundred metres in a small town, a few km across Tanger's districts."""
    population = TOWN_POPULATION.get(town, 20_000)
    return max(0.3, min(4.0, 0.004 * math.sqrt(population)))


@dataclass(frozen=True)
class EstablishmentPlan:
    code: str
    name: str
    type: EstablishmentType
    province: str
    town: str
    address: str
    latitude: float
    longitude: float
    catchment_population: int
    services: tuple[ServicePlan, ...]
    real: bool = False  # named in the reference rather than invented

    @property
    def category(self) -> Category:
        return self.type.category

    @property
    def beds(self) -> int:
        return sum(s.beds for s in self.services)

    @property
    def point(self) -> tuple[float, float]:
        return (self.latitude, self.longitude)


@dataclass(frozen=True)
class TerritoryPlan:
    establishments: tuple[EstablishmentPlan, ...]
    hospitals_by_province: dict[str, int] = field(default_factory=dict)
    centres_by_province: dict[str, int] = field(default_factory=dict)

    def count_by(self, what: str) -> dict[str, int]:
        """Counts by ``category``, ``type`` or ``province``."""
        counter: Counter[str] = Counter()
        for e in self.establishments:
            value = getattr(e, what)
            counter[str(value.value if hasattr(value, "value") else value)] += 1
        return dict(sorted(counter.items()))

    def get(self, code: str) -> EstablishmentPlan:
        return next(e for e in self.establishments if e.code == code)


@dataclass
class _Draft:
    """An establishment before its code and catchment are known."""

    name: str
    type: EstablishmentType
    province: str
    town: str
    point: tuple[float, float]
    address: str = ""
    real: bool = False
    services: tuple[ServicePlan, ...] = ()
    catchment: int = 0


def plan_territory(
    rng: random.Random,
    reference: Reference | None = None,
    *,
    hospitals: int = HOSPITALS,
    health_centres: int = HEALTH_CENTRES,
) -> TerritoryPlan:
    ref = reference or load_reference()
    provinces = [p.code for p in ref.provinces]
    population = {p.code: p.population_2024 for p in ref.provinces}

    chu_refs = [h for h in ref.hospitals if h.type is T.CHU]
    if len(chu_refs) != 1:
        raise ValueError(f"the reference must name exactly one CHU, not {len(chu_refs)}")
    real_hospitals = [h for h in ref.hospitals if h.type is not T.CHU]
    real_count = Counter(h.province for h in real_hospitals)
    hospital_alloc = apportion(population, hospitals, {p: max(1, real_count[p]) for p in provinces})
    centre_alloc = apportion(population, health_centres)

    drafts: list[_Draft] = []
    chu = chu_refs[0]
    drafts.append(
        _Draft(
            chu.name,
            T.CHU,
            chu.province,
            chu.town,
            jitter(rng, chu.province, ref.town(chu.province, chu.town).point, CHU_JITTER_KM),
            real=True,
        )
    )
    for province in provinces:
        drafts += _plan_hospitals(rng, ref, province, hospital_alloc[province])
    for province in provinces:
        drafts += _plan_centres(rng, ref, province, centre_alloc[province])

    for draft in drafts:
        draft.services = plan_services(rng, draft.type, draft.name)
    _assign_catchment(rng, ref, drafts)
    _number_duplicate_names(drafts)
    return TerritoryPlan(
        establishments=tuple(_with_codes(drafts)),
        hospitals_by_province=hospital_alloc,
        centres_by_province=centre_alloc,
    )


def _site_name(label: str) -> str:
    elided = label[:1].upper() in "AEIOUYÂÉÈÎÔ"
    return f"Hôpital de proximité d'{label}" if elided else f"Hôpital de proximité de {label}"


def _plan_hospitals(rng: random.Random, ref: Reference, province: str, count: int) -> list[_Draft]:
    drafts = [
        _Draft(
            h.name,
            h.type,
            province,
            h.town,
            jitter(rng, province, ref.town(province, h.town).point, HOSPITAL_JITTER_KM),
            real=True,
        )
        for h in ref.hospitals
        if h.province == province and h.type is not T.CHU
    ]
    missing = count - len(drafts)
    sites = list(HOSPITAL_SITES.get(province, ()))
    if missing > len(sites):
        raise ValueError(f"{province}: {missing} hospitals to place but {len(sites)} sites known")
    for site in rng.sample(sites, missing):
        town = ref.town(province, site.town)
        drafts.append(
            _Draft(
                _site_name(site.label or site.town),
                T.PROXIMITY_HOSPITAL,
                province,
                site.town,
                jitter(rng, province, town.point, HOSPITAL_JITTER_KM),
            )
        )
    if not any(d.type.care_level == 2 for d in drafts):
        raise ValueError(f"{province} has no level-2 hospital")
    return drafts


def _split_urban_rural(province: str, count: int) -> tuple[int, int]:
    share = URBAN_SHARE.get(province, 0.0)
    if count == 0:
        return 0, 0
    if share <= 0:
        return 0, count
    urban = round(count * share / (share + RURAL_WEIGHT * (1 - share)))
    urban = min(max(urban, 1), count - (1 if share < 1 and count > 1 else 0))
    return urban, count - urban


def _urban_places(ref: Reference, province: str, count: int) -> list[tuple[str, str]]:
    """(town, label) of each urban centre: neighbourhoods where we know them."""
    towns = ref.urban_towns(province)
    if count == 0 or not towns:
        return []
    weights = {t.name: TOWN_POPULATION.get(t.name, 10_000) for t in towns}
    floors = {t.name: 1 for t in towns} if count >= len(towns) else None
    per_town = apportion(weights, count, floors)
    places: list[tuple[str, str]] = []
    for town in towns:
        n = per_town[town.name]
        districts = NEIGHBOURHOODS.get(town.name)
        if districts and n:
            per_district = apportion(dict(districts), n)
            places += [(town.name, d) for d, _ in districts for _ in range(per_district[d])]
        else:
            places += [(town.name, town.name)] * n
    return places


def _centre_types(rng: random.Random, count: int, urban: bool) -> list[EstablishmentType]:
    """Types of ``count`` centres in placement order; the first (the hub) is level 2."""
    if count == 0:
        return []
    if urban:
        n2 = max(1, round(count * CSU2_SHARE))
        types = [T.CSU_2] * n2 + [T.CSU_1] * (count - n2)
    else:
        n2 = max(1, round(count * CSR2_SHARE))
        n_dr = min(round(count * DISPENSARY_SHARE), count - n2)
        types = [T.CSR_2] * n2 + [T.RURAL_DISPENSARY] * n_dr + [T.CSR_1] * (count - n2 - n_dr)
    rest = types[1:]
    rng.shuffle(rest)
    return [types[0], *rest]


def _plan_centres(rng: random.Random, ref: Reference, province: str, count: int) -> list[_Draft]:
    n_urban, n_rural = _split_urban_rural(province, count)
    drafts: list[_Draft] = []
    urban_places = _urban_places(ref, province, n_urban)
    if len(urban_places) < n_urban:  # a province whose towns we do not know: all rural
        n_rural += n_urban - len(urban_places)
        n_urban = len(urban_places)
    for (town_name, label), type_ in zip(
        urban_places, _centre_types(rng, n_urban, urban=True), strict=True
    ):
        town = ref.town(province, town_name)
        drafts.append(
            _Draft(
                f"Centre de santé urbain {label}",
                type_,
                province,
                town_name,
                jitter(rng, province, town.point, urban_jitter_km(town_name)),
                address=f"{label}, {town_name}" if label != town_name else town_name,
            )
        )
    communes = RURAL_COMMUNES.get(province, ())
    if n_rural and not communes:
        raise ValueError(f"{province}: no rural commune known")
    for i, type_ in enumerate(_centre_types(rng, n_rural, urban=False)):
        commune = communes[i % len(communes)]
        anchor = ref.town(province, commune.anchor)
        prefix = "Dispensaire rural" if type_ is T.RURAL_DISPENSARY else "Centre de santé rural"
        drafts.append(
            _Draft(
                f"{prefix} {commune.name}",
                type_,
                province,
                commune.name,
                jitter(rng, province, anchor.point, RURAL_JITTER_KM),
                address=f"Commune de {commune.name}",
            )
        )
    return drafts


def _assign_catchment(rng: random.Random, ref: Reference, drafts: list[_Draft]) -> None:
    """Each province's population over its centres; hospitals carry what they serve.

    Urban centres share the province's urban population and rural ones the
    rest, each weighted by type. The CHU, regional and specialised hospitals
    serve the region; a provincial hospital its province; a proximity hospital
    the population of the province's centres nearer to it than to any other
    level-2 hospital (all of it where it is the province's only one).
    """
    region = ref.region_population
    for province in ref.provinces:
        centres = [
            d
            for d in drafts
            if d.province == province.code and d.type.category is Category.HEALTH_CENTRE
        ]
        urban = [d for d in centres if d.type in (T.CSU_1, T.CSU_2)]
        rural = [d for d in centres if d not in urban]
        urban_population = round(province.population_2024 * URBAN_SHARE.get(province.code, 0.0))
        if not urban:
            urban_population = 0
        elif not rural:
            urban_population = province.population_2024
        for group, total in (
            (urban, urban_population),
            (rural, province.population_2024 - urban_population),
        ):
            weights = {
                str(i): CATCHMENT_WEIGHT[d.type] * rng.uniform(0.75, 1.25)
                for i, d in enumerate(group)
            }
            shares = apportion(weights, total)
            for i, d in enumerate(group):
                d.catchment = shares[str(i)]

        level2 = [d for d in drafts if d.province == province.code and d.type.care_level == 2]
        served: dict[int, int] = defaultdict(int)
        for centre in centres:
            nearest = min(
                range(len(level2)), key=lambda i: distance_km(centre.point, level2[i].point)
            )
            served[nearest] += centre.catchment
        for i, hospital in enumerate(level2):
            if hospital.type is T.PROVINCIAL_HOSPITAL or len(level2) == 1:
                hospital.catchment = province.population_2024
            else:
                hospital.catchment = served[i]
    for d in drafts:
        if d.type in (T.CHU, T.REGIONAL_HOSPITAL, T.SPECIALISED_HOSPITAL):
            d.catchment = region


def _number_duplicate_names(drafts: list[_Draft]) -> None:
    """``Centre de santé urbain Larache`` ×3 → ``… Larache 1``, ``… Larache 2``, ``… Larache 3``."""
    totals = Counter(d.name for d in drafts)
    seen: Counter[str] = Counter()
    for d in drafts:
        if totals[d.name] > 1:
            seen[d.name] += 1
            d.name = f"{d.name} {seen[d.name]}"


def _with_codes(drafts: list[_Draft]) -> list[EstablishmentPlan]:
    totals = Counter((d.type, d.province) for d in drafts)
    numbers: Counter[tuple[EstablishmentType, str]] = Counter()
    plans: list[EstablishmentPlan] = []
    for d in drafts:
        key = (d.type, d.province)
        numbers[key] += 1
        minimum = 3 if d.type.category is Category.HEALTH_CENTRE else 2
        width = max(minimum, len(str(totals[key])))
        code = f"{d.type.info.short.upper()}-{d.province}-{numbers[key]:0{width}d}"
        plans.append(
            EstablishmentPlan(
                code=code,
                name=d.name,
                type=d.type,
                province=d.province,
                town=d.town,
                address=d.address,
                latitude=d.point[0],
                longitude=d.point[1],
                catchment_population=d.catchment,
                services=d.services,
                real=d.real,
            )
        )
    return plans
