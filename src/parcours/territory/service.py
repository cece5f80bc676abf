"""Use cases of the establishment registry.

Reading the registry is open to every signed-in user: a health centre must see
the hospitals it refers to, and the registry holds no personal data. Writing is
scoped: an establishment administrator changes only the establishments of
their scope, and only the regional administration creates establishments.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from threading import Lock
from typing import Any, TypeVar, cast
from weakref import WeakKeyDictionary

from sqlalchemy import Select, exists, func, or_, select
from sqlalchemy.orm import Session, lazyload

from parcours.access import audit
from parcours.access.rules import Permission, Principal
from parcours.access.service import require
from parcours.config import get_settings
from parcours.db import utcnow
from parcours.errors import Conflict, Forbidden, Invalid, NotFound
from parcours.territory.models import (
    Commune,
    Establishment,
    EstablishmentService,
    EstablishmentVersion,
    Province,
    Region,
    Specialty,
)
from parcours.territory.rules import (
    SPECIALTIES,
    Category,
    EstablishmentType,
    ServiceLine,
    Status,
    can_move,
    diff,
    normalise_code,
    search_key,
    validate_establishment,
)
from parcours.territory.schemas import (
    CloseIn,
    EstablishmentBrief,
    EstablishmentIn,
    EstablishmentOut,
    EstablishmentUpdate,
    Page,
    ServiceIn,
    ServiceOut,
    Summary,
    VersionOut,
)

# --- reference data --------------------------------------------------------

REFERENCE = resources.files("parcours.territory") / "data"


def _read_reference(name: str) -> list[dict[str, str]]:
    with (REFERENCE / name).open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def ensure_reference_data(session: Session) -> None:
    """Regions, the pilot's provinces and towns, and the specialty list; idempotent."""
    regions = _read_reference("regions.csv")
    for row in regions:
        if session.get(Region, row["code"]) is None:
            session.add(
                Region(
                    code=row["code"],
                    name=row["name"],
                    capital=row["capital"],
                    population_2024=int(row["population_2024"]),
                )
            )
    session.flush()
    provinces = _read_reference("tta_provinces.csv")
    pop_2014 = sum(int(p["population_2014"]) for p in provinces)
    pop_2024 = next(int(r["population_2024"]) for r in regions if r["code"] == "TTA")
    for row in provinces:
        if session.get(Province, row["code"]) is None:
            # The 2024 census by province is scaled from the 2014 shares (see reference/).
            share = int(row["population_2014"]) / pop_2014
            session.add(
                Province(
                    code=row["code"],
                    region_code="TTA",
                    name=row["name"],
                    kind=row["kind"],
                    chef_lieu=row["chef_lieu"],
                    population_2014=int(row["population_2014"]),
                    population_2024=round(share * pop_2024),
                    latitude=float(row["lat"]),
                    longitude=float(row["lon"]),
                )
            )
    session.flush()
    known_towns = {(c.province_code, c.name) for c in session.scalars(select(Commune))}
    for row in _read_reference("tta_towns.csv"):
        if (row["province"], row["town"]) not in known_towns:
            session.add(
                Commune(
                    province_code=row["province"],
                    name=row["town"],
                    urban=row["urban"] == "yes",
                    latitude=float(row["lat"]),
                    longitude=float(row["lon"]),
                )
            )
    for order, spec in enumerate(SPECIALTIES):
        if session.get(Specialty, spec.code) is None:
            session.add(
                Specialty(
                    code=spec.code,
                    name=spec.name,
                    hospital_only=spec.hospital_only,
                    sort_order=order,
                )
            )
    session.commit()


def list_provinces(session: Session) -> list[Province]:
    return list(
        session.scalars(
            select(Province)
            .where(Province.region_code == get_settings().gst_code)
            .order_by(Province.name)
        )
    )


def list_regions(session: Session) -> list[Region]:
    return list(session.scalars(select(Region).order_by(Region.name)))


def list_communes(session: Session, province: str | None = None) -> list[Commune]:
    query = select(Commune).order_by(Commune.name)
    if province:
        query = query.where(Commune.province_code == province)
    return list(session.scalars(query))


def list_specialties(session: Session) -> list[Specialty]:
    return list(session.scalars(select(Specialty).order_by(Specialty.sort_order)))


def specialty_names(session: Session) -> dict[str, str]:
    return {s.code: s.name for s in list_specialties(session)}


def province_of_establishments(session: Session) -> dict[str, str]:
    """Establishment code → province code, which the access rules need to compare scopes."""
    rows = session.execute(select(Establishment.code, Establishment.province_code))
    return dict(rows.all())


@dataclass(frozen=True)
class NetworkNode:
    """An establishment as the care network sees it: where it is, what it offers, its beds."""

    code: str
    name: str
    type: EstablishmentType
    province: str
    region: str
    latitude: float | None
    longitude: float | None
    is_open: bool
    services: dict[str, int]
    catchment_population: int | None = None


def registry_fingerprint(session: Session) -> tuple[int, datetime | None]:
    """(how many establishments, when one last changed): what caches of the network key on.

    Every write of the registry (services and beds included) goes through a use case
    that stamps ``updated_at``.
    """
    count, last = session.execute(
        select(func.count(Establishment.id), func.max(Establishment.updated_at))
    ).one()
    return int(count or 0), last


def network(session: Session) -> list[NetworkNode]:
    """Every establishment with its services and beds, in two queries (map, routing, census).

    No personal data and no scope: the network is public inside the GST.
    """
    regions = dict(session.execute(select(Province.code, Province.region_code)).all())
    services: dict[int, dict[str, int]] = {}
    for est_id, specialty, beds in session.execute(
        select(
            EstablishmentService.establishment_id,
            EstablishmentService.specialty_code,
            EstablishmentService.beds,
        )
    ):
        services.setdefault(est_id, {})[specialty] = int(beds)
    rows = session.execute(
        select(
            Establishment.id,
            Establishment.code,
            Establishment.name,
            Establishment.type,
            Establishment.province_code,
            Establishment.latitude,
            Establishment.longitude,
            Establishment.status,
            Establishment.catchment_population,
        ).order_by(Establishment.code)
    )
    return [
        NetworkNode(
            code=code,
            name=name,
            type=EstablishmentType(type_),
            province=province,
            region=regions.get(province, ""),
            latitude=lat,
            longitude=lon,
            is_open=status == Status.OPEN.value,
            services=services.get(est_id, {}),
            catchment_population=catchment,
        )
        for est_id, code, name, type_, province, lat, lon, status, catchment in rows
    ]


# What the other contexts build from the registry (finance's and the workforce's places,
# the pathways' network, the indicators' tree), per database and builder, kept until the
# registry's fingerprint moves. Weakly keyed by the engine: a disposed database's views go
# with it, and two databases at one URL (as tests have) stay apart.
_Built = TypeVar("_Built")
_VIEWS: WeakKeyDictionary[Any, dict[Callable[[Session], Any], tuple[Any, Any]]] = (
    WeakKeyDictionary()
)
_VIEWS_LOCK = Lock()


def registry_view(session: Session, build: Callable[[Session], _Built]) -> _Built:
    """``build(session)``, computed again only when the registry has changed.

    The registry changes a few times a year and every change stamps it, while pages read
    it on every request: one fingerprint query instead of the whole network each time.
    """
    bind = session.get_bind()
    engine = getattr(bind, "engine", bind)
    fingerprint = registry_fingerprint(session)
    with _VIEWS_LOCK:
        cached = _VIEWS.get(engine, {}).get(build)
    if cached is not None and cached[0] == fingerprint:
        return cast("_Built", cached[1])
    built = build(session)
    with _VIEWS_LOCK:
        _VIEWS.setdefault(engine, {})[build] = (fingerprint, built)
    return built


# --- reading ---------------------------------------------------------------


def _get(session: Session, code: str) -> Establishment:
    est = session.scalars(
        select(Establishment).where(Establishment.code == normalise_code(code))
    ).one_or_none()
    if est is None:
        raise NotFound(
            "Établissement introuvable : {establishment}",
            code="establishment_not_found",
            establishment=code,
        )
    return est


def to_out(session: Session, est: Establishment) -> EstablishmentOut:
    names = specialty_names(session)
    province = session.get(Province, est.province_code)
    return EstablishmentOut(
        code=est.code,
        name=est.name,
        name_ar=est.name_ar,
        type=EstablishmentType(est.type),
        type_label=EstablishmentType(est.type).label,
        category=est.category,
        care_level=est.care_level,
        province=est.province_code,
        province_name=province.name if province else est.province_code,
        town=est.town,
        address=est.address,
        phone=est.phone,
        latitude=est.latitude,
        longitude=est.longitude,
        catchment_population=est.catchment_population,
        status=Status(est.status),
        status_label=Status(est.status).label,
        opened_on=est.opened_on,
        closed_on=est.closed_on,
        planned_opening_on=est.planned_opening_on,
        version=est.version,
        updated_at=est.updated_at,
        beds=sum(s.beds for s in est.services),
        services=[
            ServiceOut(
                specialty=s.specialty_code,
                specialty_name=names.get(s.specialty_code, s.specialty_code),
                beds=s.beds,
            )
            for s in est.services
        ],
    )


def get_establishment(session: Session, principal: Principal, code: str) -> EstablishmentOut:
    require(principal, Permission.TERRITORY_READ)
    return to_out(session, _get(session, code))


@dataclass(frozen=True)
class EstablishmentFilter:
    q: str | None = None
    type: EstablishmentType | None = None
    category: Category | None = None
    care_level: int | None = None
    province: str | None = None
    specialty: str | None = None
    status: Status | None = None


def _filtered(query: Select[Any], f: EstablishmentFilter) -> Select[Any]:
    if f.q:
        key = search_key(f.q)
        code = normalise_code(f.q)
        like = f"%{key}%"
        query = query.where(or_(Establishment.search_name.like(like), Establishment.code == code))
    if f.type:
        query = query.where(Establishment.type == f.type.value)
    if f.category:
        query = query.where(Establishment.category == f.category.value)
    if f.care_level:
        query = query.where(Establishment.care_level == f.care_level)
    if f.province:
        query = query.where(Establishment.province_code == f.province.upper())
    if f.status:
        query = query.where(Establishment.status == f.status.value)
    if f.specialty:
        query = query.where(
            exists().where(
                EstablishmentService.establishment_id == Establishment.id,
                EstablishmentService.specialty_code == f.specialty,
            )
        )
    return query


def search_establishments(
    session: Session,
    principal: Principal,
    f: EstablishmentFilter,
    page: int = 1,
    page_size: int = 50,
) -> Page:
    require(principal, Permission.TERRITORY_READ)
    page = max(page, 1)
    page_size = max(1, min(page_size, get_settings().page_size_max))
    total = session.scalar(_filtered(select(func.count(Establishment.id)), f)) or 0
    # Page the ids first (served by ix_establishment_listing), then fetch and total the
    # beds of those rows only: sorting and summing the whole table for a deep page was
    # what made its p95 poor (benchmarks/README.md).
    page_ids = (
        _filtered(select(Establishment.id), f)
        .order_by(Establishment.care_level.desc(), Establishment.name, Establishment.code)
        .limit(page_size)
        .offset((page - 1) * page_size)
        .subquery()
    )
    # Correlated, but evaluated only for the page's rows (the join on page_ids comes
    # first): one walk of the listing index instead of two.
    beds = (
        select(func.coalesce(func.sum(EstablishmentService.beds), 0))
        .where(EstablishmentService.establishment_id == Establishment.id)
        .correlate(Establishment)
        .scalar_subquery()
    )
    rows = session.execute(
        select(Establishment, beds)
        .join(page_ids, page_ids.c.id == Establishment.id)
        .order_by(Establishment.care_level.desc(), Establishment.name, Establishment.code)
        .options(lazyload(Establishment.services))
    ).all()
    items = [
        EstablishmentBrief(
            code=e.code,
            name=e.name,
            type=EstablishmentType(e.type),
            type_label=EstablishmentType(e.type).label,
            category=e.category,
            care_level=e.care_level,
            province=e.province_code,
            town=e.town,
            status=Status(e.status),
            latitude=e.latitude,
            longitude=e.longitude,
            beds=int(b),
        )
        for e, b in rows
    ]
    return Page(total=total, page=page, page_size=page_size, items=items)


@dataclass(frozen=True)
class MapPoint:
    code: str
    name: str
    type: EstablishmentType
    latitude: float
    longitude: float


def map_points(session: Session, principal: Principal) -> list[MapPoint]:
    require(principal, Permission.TERRITORY_READ)
    rows = session.execute(
        select(
            Establishment.code,
            Establishment.name,
            Establishment.type,
            Establishment.latitude,
            Establishment.longitude,
        )
        .where(Establishment.status == Status.OPEN.value, Establishment.latitude.is_not(None))
        .order_by(Establishment.care_level, Establishment.code)
    )
    return [
        MapPoint(c, n, EstablishmentType(t), float(la), float(lo))
        for c, n, t, la, lo in rows
        if la is not None and lo is not None
    ]


def summary(session: Session, principal: Principal) -> Summary:
    """Counts of establishments in service; the CHU is not counted among the hospitals."""
    require(principal, Permission.TERRITORY_READ)
    open_ = Establishment.status == Status.OPEN.value

    def grouped(column: Any) -> dict[str, int]:
        return {
            str(k): int(v)
            for k, v in session.execute(select(column, func.count()).where(open_).group_by(column))
        }

    by_category = {c.value: 0 for c in Category} | grouped(Establishment.category)
    by_type = {t.value: 0 for t in EstablishmentType} | grouped(Establishment.type)
    by_status = {s.value: 0 for s in Status} | {
        str(k): int(v)
        for k, v in session.execute(
            select(Establishment.status, func.count()).group_by(Establishment.status)
        )
    }
    provinces = list_provinces(session)
    by_province = {p.code: 0 for p in provinces} | grouped(Establishment.province_code)
    beds = (
        session.scalar(
            select(func.coalesce(func.sum(EstablishmentService.beds), 0))
            .join(Establishment, Establishment.id == EstablishmentService.establishment_id)
            .where(open_)
        )
        or 0
    )
    return Summary(
        gst=get_settings().gst_name,
        total=sum(by_category.values()),
        by_category=by_category,
        by_type=by_type,
        by_care_level={
            str(k): v
            for k, v in sorted(
                {int(k): v for k, v in grouped(Establishment.care_level).items()}.items()
            )
        },
        by_province=by_province,
        by_status=by_status,
        beds=int(beds),
        population=sum(p.population_2024 for p in provinces),
    )


def history(session: Session, principal: Principal, code: str) -> list[VersionOut]:
    require(principal, Permission.TERRITORY_READ)
    est = _get(session, code)
    versions = session.scalars(
        select(EstablishmentVersion)
        .where(EstablishmentVersion.establishment_id == est.id)
        .order_by(EstablishmentVersion.version)
    ).all()
    out: list[VersionOut] = []
    previous: dict[str, Any] = {}
    for v in versions:
        changes = diff(previous, v.snapshot)
        out.append(
            VersionOut(
                version=v.version,
                changed_at=v.changed_at,
                changed_by=v.changed_by,
                change=v.change,
                reason=v.reason,
                changes={k: [a, b] for k, (a, b) in changes.items()},
            )
        )
        previous = v.snapshot
    return out


# --- writing ---------------------------------------------------------------


def _snapshot(est: Establishment) -> dict[str, Any]:
    return {
        "code": est.code,
        "name": est.name,
        "name_ar": est.name_ar,
        "type": est.type,
        "province": est.province_code,
        "town": est.town,
        "address": est.address,
        "phone": est.phone,
        "latitude": est.latitude,
        "longitude": est.longitude,
        "catchment_population": est.catchment_population,
        "status": est.status,
        "opened_on": est.opened_on.isoformat() if est.opened_on else None,
        "closed_on": est.closed_on.isoformat() if est.closed_on else None,
        "planned_opening_on": (
            est.planned_opening_on.isoformat() if est.planned_opening_on else None
        ),
        "services": {s.specialty_code: s.beds for s in est.services},
    }


def _check_scope(principal: Principal, permission: Permission, code: str, province: str) -> None:
    require(principal, permission)
    if not principal.scope.covers(code, province):
        raise Forbidden(
            "L'établissement {establishment} est hors de votre périmètre.",
            code="out_of_scope",
            establishment=code,
        )


def _validate(session: Session, code: str, data: dict[str, Any]) -> None:
    problems = validate_establishment(
        code=code,
        name=data["name"],
        type_=data["type"],
        latitude=data["latitude"],
        longitude=data["longitude"],
        catchment_population=data["catchment_population"],
        status=data["status"],
        opened_on=data["opened_on"],
        closed_on=data["closed_on"],
        services=[ServiceLine(s.specialty, s.beds) for s in data["services"]],
    )
    if session.get(Province, data["province"]) is None:
        problems.append(f"province inconnue : {data['province']}")
    if problems:
        raise Invalid(
            "Établissement invalide : {problems}",
            code="invalid_establishment",
            problems="; ".join(problems),
        )


def _record_version(
    session: Session, est: Establishment, principal: Principal, change: str, reason: str | None
) -> None:
    session.add(
        EstablishmentVersion(
            establishment_id=est.id,
            version=est.version,
            snapshot=_snapshot(est),
            changed_at=est.updated_at,
            changed_by=principal.username,
            change=change,
            reason=reason,
        )
    )


def _apply_services(est: Establishment, services: list[Any]) -> None:
    wanted = {s.specialty: s.beds for s in services}
    for line in list(est.services):
        if line.specialty_code not in wanted:
            est.services.remove(line)
        else:
            line.beds = wanted.pop(line.specialty_code)
    for specialty, beds in wanted.items():
        est.services.append(EstablishmentService(specialty_code=specialty, beds=beds))


def create_establishment(
    session: Session, principal: Principal, data: EstablishmentIn, *, commit: bool = True
) -> Establishment:
    code = normalise_code(data.code)
    province = data.province.upper()
    _check_scope(principal, Permission.ESTABLISHMENT_CREATE, code, province)
    fields = data.model_dump() | {"province": province}
    fields["services"] = data.services
    _validate(session, code, fields)
    if session.scalars(select(Establishment.id).where(Establishment.code == code)).first():
        raise Conflict(
            "Le code {establishment} est déjà attribué.",
            code="establishment_exists",
            establishment=code,
        )
    now = utcnow()
    est = Establishment(
        code=code,
        name=data.name.strip(),
        name_ar=data.name_ar,
        search_name=search_key(data.name),
        type=data.type.value,
        category=data.type.category.value,
        care_level=data.type.care_level,
        province_code=province,
        town=data.town,
        address=data.address,
        phone=data.phone,
        latitude=data.latitude,
        longitude=data.longitude,
        catchment_population=data.catchment_population,
        status=data.status.value,
        opened_on=data.opened_on,
        closed_on=data.closed_on,
        planned_opening_on=data.planned_opening_on,
        version=1,
        created_at=now,
        updated_at=now,
    )
    _apply_services(est, data.services)
    session.add(est)
    session.flush()
    _record_version(session, est, principal, "create", None)
    audit.record(session, principal, "establishment.create", "establishment", code)
    if commit:
        session.commit()
    return est


def _set_fields(est: Establishment, values: dict[str, Any]) -> None:
    for key, value in values.items():
        if key == "province":
            est.province_code = value
        elif key == "type":
            est.type = value.value
            est.category = value.category.value
            est.care_level = value.care_level
        elif key == "status":
            est.status = value.value
        elif key == "services":
            _apply_services(est, value)
        else:
            setattr(est, key, value)
    est.search_name = search_key(est.name)


def update_establishment(
    session: Session,
    principal: Principal,
    code: str,
    changes: EstablishmentUpdate,
    *,
    commit: bool = True,
) -> Establishment:
    est = _get(session, code)
    _check_scope(principal, Permission.ESTABLISHMENT_UPDATE, est.code, est.province_code)
    values = changes.model_dump(exclude_unset=True, exclude={"reason"})
    if values.get("services") is not None:
        values["services"] = changes.services  # objects, not dumps; null means no change
    if values.get("province"):
        values["province"] = values["province"].upper()
        if values["province"] != est.province_code:
            # Moving an establishment changes whose scope it falls in: a regional decision.
            require(principal, Permission.ESTABLISHMENT_CREATE)
        _check_scope(principal, Permission.ESTABLISHMENT_UPDATE, est.code, values["province"])
    if "type" in values and values["type"] is not None and values["type"].value != est.type:
        require(principal, Permission.ESTABLISHMENT_CREATE)  # reclassifying is regional
    values = {
        k: v
        for k, v in values.items()
        if v is not None or k in ("name_ar", "latitude", "longitude")
    }
    target = values.get("status", Status(est.status))
    if target is Status.CLOSED and est.status != Status.CLOSED.value:
        raise Conflict(
            "Pour fermer un établissement, utilisez l'action de fermeture.", code="use_close"
        )
    if not can_move(Status(est.status), target):
        raise Conflict(
            "Passage de « {current} » à « {target} » non autorisé.",
            code="status_transition",
            current=Status(est.status).label,
            target=target.label,
        )
    if est.status == Status.CLOSED.value and target is not Status.CLOSED:
        # Reopening: the closing date belongs to the former closure, kept in the history.
        values["closed_on"] = None
    before = _snapshot(est)
    current = {
        "name": est.name,
        "type": EstablishmentType(est.type),
        "latitude": est.latitude,
        "longitude": est.longitude,
        "catchment_population": est.catchment_population,
        "status": Status(est.status),
        "opened_on": est.opened_on,
        "closed_on": est.closed_on,
        "province": est.province_code,
        "services": [ServiceLine(s.specialty_code, s.beds) for s in est.services],
    }
    merged = current | values
    if "services" in values:
        merged["services"] = [ServiceLine(s.specialty, s.beds) for s in values["services"]]
    _validate(session, est.code, merged)
    _set_fields(est, values)
    if _snapshot(est) == before:
        return est
    est.version += 1
    est.updated_at = utcnow()
    session.flush()
    _record_version(session, est, principal, "update", changes.reason)
    audit.record(
        session,
        principal,
        "establishment.update",
        "establishment",
        est.code,
        reason=changes.reason,
        details={"fields": sorted(diff(before, _snapshot(est)))},
    )
    if commit:
        session.commit()
    return est


def close_establishment(
    session: Session, principal: Principal, code: str, data: CloseIn
) -> Establishment:
    """Closing keeps the establishment and all its history: it is never deleted."""
    est = _get(session, code)
    _check_scope(principal, Permission.ESTABLISHMENT_UPDATE, est.code, est.province_code)
    if not can_move(Status(est.status), Status.CLOSED) or est.status == Status.CLOSED.value:
        raise Conflict(
            "L'établissement {establishment} est déjà fermé.",
            code="already_closed",
            establishment=est.code,
        )
    if est.opened_on and data.closed_on < est.opened_on:
        raise Invalid("La date de fermeture précède la date d'ouverture.", code="invalid_date")
    est.status = Status.CLOSED.value
    est.closed_on = data.closed_on
    est.version += 1
    est.updated_at = utcnow()
    session.flush()
    _record_version(session, est, principal, "close", data.reason)
    audit.record(
        session, principal, "establishment.close", "establishment", est.code, reason=data.reason
    )
    session.commit()
    return est


# --- import ----------------------------------------------------------------

IMPORT_COLUMNS = (
    "code",
    "name",
    "type",
    "province",
    "town",
    "latitude",
    "longitude",
    "catchment_population",
    "status",
    "opened_on",
    "services",
)


@dataclass(frozen=True)
class RowOutcome:
    line: int
    status: str  # created | updated | unchanged | rejected
    message: str = ""


@dataclass
class ImportReport:
    counts: dict[str, int] = field(default_factory=dict)
    rejected: list[RowOutcome] = field(default_factory=list)

    def add(self, outcome: RowOutcome) -> None:
        self.counts[outcome.status] = self.counts.get(outcome.status, 0) + 1
        if outcome.status == "rejected":
            self.rejected.append(outcome)


def _parse_services(text: str, problems: list[str]) -> list[dict[str, Any]]:
    """``cardiology:20;emergency:12;general_medicine`` → service lines."""
    lines: list[dict[str, Any]] = []
    for part in filter(None, (p.strip() for p in text.split(";"))):
        specialty, _, beds_text = part.partition(":")
        specialty, beds_text = specialty.strip(), beds_text.strip()
        try:
            beds = int(beds_text) if beds_text else 0
        except ValueError:
            problems.append(
                f"nombre de lits invalide pour {specialty} : « {beds_text} » (entier attendu)"
            )
            continue
        lines.append({"specialty": specialty, "beds": beds})
    return lines


def row_to_input(row: dict[str, str]) -> EstablishmentIn:
    """One CSV row as an establishment; every unreadable cell is named, in French.

    The rejects report is read by people fixing a spreadsheet, so it must not
    carry Python's or pydantic's English messages.
    """
    problems: list[str] = []

    def cell(name: str) -> str:
        return (row.get(name) or "").strip()

    def required(name: str, missing: str) -> str:
        value = cell(name)
        if not value:
            problems.append(missing)
        return value

    def number(name: str, label: str, kind: type[float] | type[int]) -> Any:
        value = cell(name)
        if not value:
            return None
        try:
            return kind(value)
        except ValueError:
            expected = "entier" if kind is int else "nombre"
            problems.append(f"{label} invalide : « {value} » ({expected} attendu)")
            return None

    code = required("code", "le code est obligatoire")
    name = required("name", "le nom est obligatoire")
    type_text = required("type", "le type est obligatoire")
    type_: EstablishmentType | None = None
    if type_text:
        try:
            type_ = EstablishmentType(type_text)
        except ValueError:
            problems.append(f"type inconnu : « {type_text} »")
    province = required("province", "la province est obligatoire")
    latitude = number("latitude", "latitude", float)
    longitude = number("longitude", "longitude", float)
    population = number("catchment_population", "population desservie", int)
    status = Status.OPEN
    if cell("status"):
        try:
            status = Status(cell("status"))
        except ValueError:
            problems.append(f"statut inconnu : « {cell('status')} »")
    opened_on = None
    if cell("opened_on"):
        try:
            opened_on = date.fromisoformat(cell("opened_on"))
        except ValueError:
            problems.append(
                f"date d'ouverture invalide : « {cell('opened_on')} » (AAAA-MM-JJ attendu)"
            )
    services = _parse_services(cell("services"), problems)
    if problems or type_ is None:
        raise Invalid(
            "Ligne invalide : {problems}", code="invalid_row", problems="; ".join(problems)
        )
    return EstablishmentIn(
        code=code,
        name=name,
        type=type_,
        province=province,
        town=cell("town"),
        latitude=latitude,
        longitude=longitude,
        catchment_population=population,
        status=status,
        opened_on=opened_on,
        services=[ServiceIn(**line) for line in services],
    )


# What remains for pydantic to refuse once the cells are read: lengths and bounds.
_PYDANTIC_FR = {
    "string_too_long": "trop long ({max_length} caractères au plus)",
    "string_too_short": "trop court ({min_length} caractères au moins)",
    "greater_than_equal": "doit être supérieur ou égal à {ge}",
    "less_than_equal": "doit être inférieur ou égal à {le}",
}


def _explain(exc: Exception) -> str:
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        parts = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "ligne"
            template = _PYDANTIC_FR.get(err["type"], "valeur invalide")
            parts.append(f"{where} : {template.format(**err.get('ctx', {}))}")
        return "; ".join(parts)
    if isinstance(exc, Invalid | Conflict | Forbidden):
        return exc.render()
    return str(exc)


def _columns_to_update(row: dict[str, str]) -> set[str]:
    """The fields a CSV row speaks for: its columns, but an empty status says nothing.

    A field the file does not carry (phone, address, Arabic name, or a column
    left out) is kept as the application has it, and a blank status must not
    reopen a closed establishment.
    """
    columns = {c for c in IMPORT_COLUMNS if c in row and c != "code"}
    if not (row.get("status") or "").strip():
        columns.discard("status")
    return columns


def import_rows(
    session: Session, principal: Principal, rows: Iterable[tuple[int, dict[str, str]]]
) -> Iterator[RowOutcome]:
    """Import ``(line, row)`` pairs, yielding the outcome of each as it is handled.

    Idempotent by code: a new code is created, a known one updated when it
    differs, left alone when it is the same. Each row is its own savepoint, so a
    bad row is reported and the good ones are kept.
    """
    for line, row in rows:
        try:
            data = row_to_input(row)
            with session.begin_nested():
                existing = session.scalars(
                    select(Establishment).where(Establishment.code == normalise_code(data.code))
                ).one_or_none()
                if existing is None:
                    create_establishment(session, principal, data, commit=False)
                    yield RowOutcome(line, "created")
                else:
                    changes = EstablishmentUpdate(
                        **data.model_dump(include=_columns_to_update(row)), reason="import CSV"
                    )
                    version = existing.version
                    update_establishment(session, principal, existing.code, changes, commit=False)
                    yield RowOutcome(
                        line, "updated" if existing.version != version else "unchanged"
                    )
        except (ValueError, Invalid, Conflict, Forbidden, KeyError) as exc:
            yield RowOutcome(line, "rejected", _explain(exc))
    session.commit()


def read_csv(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """Rows of a CSV file with the line number each starts on (the header is line 1)."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [
            c for c in ("code", "name", "type", "province") if c not in (reader.fieldnames or [])
        ]
        if missing:
            raise Invalid(
                "Colonnes manquantes : {columns}",
                code="missing_columns",
                columns=", ".join(missing),
            )
        for row in reader:
            yield reader.line_num, row
