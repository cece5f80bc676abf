"""Use cases of the regional workforce: one function per thing a user does, one transaction each.

Who sees what: the GST-wide human resources see every professional; an
establishment's (or a province's) see the professionals assigned to their
establishments and those of the mobility requests that concern them. The
aggregates (overview, gaps, density, projection) carry no personal data and
are open to every signed-in user (``aggregates.read``). Every write, and every
read of a professional's file or of a list of names, is recorded by
``parcours.access.audit.record`` in the transaction of the act.
"""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, func, or_, select, update
from sqlalchemy.orm import Session

from parcours.access import audit
from parcours.access.rules import Permission, Principal, Role, Scope, ScopeKind
from parcours.access.service import require
from parcours.config import get_settings
from parcours.db import lock_for_update, utcnow
from parcours.errors import Conflict, DomainError, Forbidden, Invalid, NotFound, refuse
from parcours.territory import service as territory
from parcours.territory.rules import SPECIALTY_CODES, EstablishmentType, normalise_code
from parcours.workforce import rules
from parcours.workforce.models import (
    Assignment,
    MobilityEvent,
    MobilityRequest,
    NormLine,
    NormVersion,
    Professional,
    ProfessionalVersion,
    Qualification,
    Shift,
)
from parcours.workforce.rules import (
    Category,
    DutyKind,
    EmploymentStatus,
    Initiator,
    MobilityAction,
    MobilityKind,
    MobilityState,
    Opinion,
    Period,
    Sex,
)
from parcours.workforce.schemas import (
    AssignmentEnd,
    AssignmentIn,
    AssignmentOut,
    DelayStatsOut,
    DensityOut,
    GapReport,
    MobilityEventOut,
    MobilityIn,
    MobilityOut,
    MobilityStepIn,
    NormLineIn,
    NormVersionIn,
    NormVersionOut,
    OverviewOut,
    ProfessionalBrief,
    ProfessionalFile,
    ProfessionalIn,
    ProfessionalPage,
    ProfessionalUpdate,
    ProjectionYearOut,
    QualificationIn,
    QualificationOut,
    RosterOut,
    ShiftCancel,
    ShiftIn,
    ShiftOut,
    VersionOut,
)

LOCAL = ZoneInfo("Africa/Casablanca")


def today() -> date:
    """The date on the region's calendar."""
    return datetime.now(LOCAL).date()


def local(moment: datetime) -> datetime:
    """A stored (UTC) timestamp as the region's wall-clock time, naive, for the rules."""
    return moment.astimezone(LOCAL).replace(tzinfo=None)


def from_local(moment: datetime) -> datetime:
    """A timestamp given without zone is the region's wall-clock time."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=LOCAL)
    return moment.astimezone(UTC)


def system_hr(reason: str = "cli") -> Principal:
    """The identity under which operators and the demo act on the workforce (the regional
    administrator of ``system_principal`` reads the workforce but does not manage it)."""
    return Principal(0, f"system:{reason}", Role.HR_OFFICER, Scope(ScopeKind.GST), "cli")


def _refuse(problems: Sequence[rules.Problem], kind: type[DomainError] = Invalid) -> None:
    refuse(problems, kind, separator="; ")


# --- scope -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Places:
    """What the workforce needs to know of the registry, read once per use case."""

    province_of: dict[str, str]
    names: dict[str, str]
    types: dict[str, EstablishmentType]
    services: dict[str, frozenset[str]]
    open: frozenset[str]
    specialty_names: dict[str, str]

    def name(self, code: str) -> str:
        return self.names.get(code, code)

    def service_name(self, service: str) -> str:
        return self.specialty_names.get(service, "") if service else ""


def places(session: Session) -> Places:
    return territory.registry_view(session, _load_places)


def _load_places(session: Session) -> Places:
    nodes = territory.network(session)
    return Places(
        province_of={n.code: n.province for n in nodes},
        names={n.code: n.name for n in nodes},
        types={n.code: n.type for n in nodes},
        services={n.code: frozenset(n.services) for n in nodes},
        open=frozenset(n.code for n in nodes if n.is_open),
        specialty_names=territory.specialty_names(session),
    )


def _covers(principal: Principal, code: str, where: Places) -> bool:
    return principal.scope.covers(code, where.province_of.get(code, ""))


def _scope_codes(principal: Principal, where: Places) -> frozenset[str] | None:
    """The establishments of the principal's scope; None for the whole GST."""
    if principal.scope.kind is ScopeKind.GST:
        return None
    return frozenset(c for c in where.province_of if _covers(principal, c, where))


def _write_at(principal: Principal, code: str, where: Places) -> None:
    require(principal, Permission.WORKFORCE_WRITE)
    if not _covers(principal, code, where):
        raise Forbidden(
            "L'établissement {establishment} est hors de votre périmètre.",
            code="out_of_scope",
            establishment=code,
        )


def _establishment(code: str, where: Places) -> str:
    code = normalise_code(code)
    if code not in where.province_of:
        raise NotFound(
            "Établissement introuvable : {establishment}",
            code="establishment_not_found",
            establishment=code,
        )
    return code


def _service(service: str, code: str, where: Places) -> str:
    service = (service or "").strip()
    if service and service not in SPECIALTY_CODES:
        raise Invalid("Spécialité inconnue : {service}", code="unknown_specialty", service=service)
    if service and service not in where.services.get(code, frozenset()):
        raise Invalid(
            "L'établissement {establishment} n'a pas de service {service}.",
            code="no_such_service",
            establishment=code,
            service=service,
        )
    return service


# --- professionals -------------------------------------------------------------------------


def _get(session: Session, professional_id: int, *, lock: bool = False) -> Professional:
    query = select(Professional).where(Professional.id == professional_id)
    if lock and lock_for_update(session):
        query = query.with_for_update()
    found = session.scalars(query).one_or_none()
    if found is None:
        raise NotFound(
            "Professionnel introuvable : {professional}",
            code="professional_not_found",
            professional=str(professional_id),
        )
    return found


def _periods(session: Session, professional_id: int) -> list[Period]:
    rows = session.scalars(
        select(Assignment).where(Assignment.professional_id == professional_id)
    ).all()
    return [_period(a) for a in rows]


def _period(a: Assignment) -> Period:
    return Period(a.establishment_code, a.service, a.share, a.start_on, a.end_on, a.id)


def _may_see(session: Session, principal: Principal, professional_id: int, where: Places) -> bool:
    codes = _scope_codes(principal, where)
    if codes is None:
        return True
    held = set(
        session.scalars(
            select(Assignment.establishment_code).where(
                Assignment.professional_id == professional_id
            )
        )
    )
    for a, b in session.execute(
        select(MobilityRequest.from_establishment, MobilityRequest.to_establishment).where(
            MobilityRequest.professional_id == professional_id
        )
    ):
        held |= {a, b}
    return bool(held & codes)


def _read(session: Session, principal: Principal, professional_id: int, where: Places) -> None:
    require(principal, Permission.WORKFORCE_READ)
    if not _may_see(session, principal, professional_id, where):
        raise Forbidden(
            "Ce professionnel n'est affecté à aucun établissement de votre périmètre.",
            code="out_of_scope",
        )


def _current_writer(
    session: Session, principal: Principal, professional_id: int, where: Places
) -> None:
    """A change to a professional is made by the HR of one of their current establishments."""
    require(principal, Permission.WORKFORCE_WRITE)
    if principal.scope.kind is ScopeKind.GST:
        return
    day = today()
    if not any(
        _covers(principal, p.establishment, where)
        for p in _periods(session, professional_id)
        if p.active_on(day)
    ):
        raise Forbidden(
            "Ce professionnel n'est affecté à aucun établissement de votre périmètre.",
            code="out_of_scope",
        )


def _snapshot(p: Professional) -> dict[str, Any]:
    return {
        "inpe": p.inpe,
        "cin": p.cin,
        "family_name": p.family_name,
        "given_name": p.given_name,
        "family_name_ar": p.family_name_ar,
        "given_name_ar": p.given_name_ar,
        "sex": p.sex,
        "birth_date": p.birth_date.isoformat() if p.birth_date else None,
        "category": p.category,
        "specialty": p.specialty,
        "grade": p.grade,
        "status": p.status,
        "hired_on": p.hired_on.isoformat() if p.hired_on else None,
        "phone": p.phone,
        "email": p.email,
    }


def _record_version(
    session: Session, p: Professional, actor: str, change: str, reason: str | None
) -> None:
    session.add(
        ProfessionalVersion(
            professional_id=p.id,
            version=p.version,
            snapshot=_snapshot(p),
            changed_at=p.updated_at,
            changed_by=actor,
            change=change,
            reason=reason,
        )
    )


def _validate(values: Mapping[str, Any], day: date) -> None:
    _refuse(
        rules.validate_professional(
            inpe=values.get("inpe"),
            family_name=values["family_name"],
            given_name=values["given_name"],
            birth_date=values.get("birth_date"),
            category=values["category"],
            specialty=values.get("specialty"),
            hired_on=values.get("hired_on"),
            today=day,
            specialties=SPECIALTY_CODES,
        )
    )


def _check_inpe(session: Session, inpe: str | None, professional_id: int | None = None) -> None:
    if inpe is None:
        return
    holder = session.scalar(select(Professional.id).where(Professional.inpe == inpe))
    if holder is not None and holder != professional_id:
        raise Conflict(
            "L'INPE {inpe} est déjà celui d'un autre professionnel.",
            code="inpe_exists",
            inpe=inpe,
        )


def create_professional(
    session: Session, principal: Principal, data: ProfessionalIn, *, commit: bool = True
) -> Professional:
    """Register a professional, with their qualifications and first assignment.

    An establishment's HR registers only with an assignment to one of their
    establishments; the region may register a professional not yet assigned.
    """
    require(principal, Permission.WORKFORCE_WRITE)
    where = places(session)
    if data.assignment is None and principal.scope.kind is not ScopeKind.GST:
        raise Invalid(
            "Indiquez l'affectation du professionnel dans votre établissement.",
            code="assignment_required",
        )
    if data.assignment is not None:
        _write_at(principal, _establishment(data.assignment.establishment, where), where)
    values = data.model_dump(exclude={"qualifications", "assignment"})
    values["inpe"] = rules.normalise_inpe(data.inpe)
    values["cin"] = (data.cin or "").strip().upper() or None
    values["specialty"] = (data.specialty or "").strip() or None
    day = today()
    _validate(values, day)
    _check_inpe(session, values["inpe"])
    now = utcnow()
    p = Professional(
        **{
            k: v.value if isinstance(v, Sex | Category | EmploymentStatus) else v
            for k, v in values.items()
        },
        search_name=rules.search_key(f"{data.family_name} {data.given_name}"),
        version=1,
        created_at=now,
        updated_at=now,
    )
    p.family_name = p.family_name.strip()
    p.given_name = p.given_name.strip()
    session.add(p)
    session.flush()
    for q in data.qualifications:
        _add_qualification(session, principal, p, q)
    _record_version(session, p, principal.username, "create", None)
    if data.assignment is not None:
        _assign(session, principal, p, data.assignment, where, origin="registration")
    audit.record(session, principal, "professional.create", "professional", str(p.id))
    if commit:
        session.commit()
    return p


def update_professional(
    session: Session,
    principal: Principal,
    professional_id: int,
    changes: ProfessionalUpdate,
    *,
    commit: bool = True,
) -> Professional:
    where = places(session)
    p = _get(session, professional_id, lock=True)
    _current_writer(session, principal, p.id, where)
    values = changes.model_dump(exclude_unset=True, exclude={"reason"})
    if "inpe" in values:
        values["inpe"] = rules.normalise_inpe(values["inpe"])
    current = {
        "inpe": p.inpe,
        "family_name": p.family_name,
        "given_name": p.given_name,
        "birth_date": p.birth_date,
        "category": Category(p.category),
        "specialty": p.specialty,
        "hired_on": p.hired_on,
    }
    merged = current | {k: v for k, v in values.items() if k in current}
    for required in ("family_name", "given_name", "category"):
        if merged[required] is None:
            merged[required] = current[required]
            values.pop(required, None)
    _validate(merged, today())
    _check_inpe(session, merged["inpe"], p.id)
    before = _snapshot(p)
    for key, value in values.items():
        if value is None and key in ("sex", "status", "grade", "phone", "email"):
            continue
        setattr(p, key, value.value if hasattr(value, "value") else value)
    p.search_name = rules.search_key(f"{p.family_name} {p.given_name}")
    if _snapshot(p) == before:
        return p
    if p.category != before["category"]:
        # The roles held from today on take the new category; past ones keep theirs.
        day = today()
        session.execute(
            update(Assignment)
            .where(
                Assignment.professional_id == p.id,
                or_(Assignment.end_on.is_(None), Assignment.end_on >= day),
            )
            .values(category=p.category)
            .execution_options(synchronize_session=False)
        )
    p.version += 1
    p.updated_at = utcnow()
    session.flush()
    _record_version(session, p, principal.username, "update", changes.reason)
    audit.record(
        session,
        principal,
        "professional.update",
        "professional",
        str(p.id),
        reason=changes.reason,
        details={"fields": sorted(k for k in before if before[k] != _snapshot(p)[k])},
    )
    if commit:
        session.commit()
    return p


def _add_qualification(
    session: Session, principal: Principal, p: Professional, q: QualificationIn
) -> Qualification:
    if p.birth_date and q.obtained_on < p.birth_date:
        raise Invalid("Le diplôme précède la naissance.", code="invalid_date")
    if q.obtained_on > today():
        raise Invalid("La date d'obtention est future.", code="invalid_date")
    row = Qualification(
        professional_id=p.id,
        title=q.title.strip(),
        institution=q.institution.strip(),
        obtained_on=q.obtained_on,
        recorded_at=utcnow(),
        recorded_by=principal.username,
    )
    session.add(row)
    return row


def add_qualification(
    session: Session, principal: Principal, professional_id: int, data: QualificationIn
) -> QualificationOut:
    where = places(session)
    p = _get(session, professional_id)
    _current_writer(session, principal, p.id, where)
    row = _add_qualification(session, principal, p, data)
    session.flush()
    audit.record(
        session,
        principal,
        "professional.qualification",
        "professional",
        str(p.id),
        details={"qualification": row.id},
    )
    out = _qualification_out(row)
    session.commit()
    return out


def _qualification_out(q: Qualification) -> QualificationOut:
    return QualificationOut(
        id=q.id,
        title=q.title,
        institution=q.institution,
        obtained_on=q.obtained_on,
        recorded_at=q.recorded_at,
        recorded_by=q.recorded_by,
    )


# --- assignments ---------------------------------------------------------------------------


def _assign(
    session: Session,
    principal: Principal,
    p: Professional,
    data: AssignmentIn,
    where: Places,
    *,
    origin: str = "manual",
) -> Assignment:
    code = _establishment(data.establishment, where)
    _write_at(principal, code, where)
    service = _service(data.service, code, where)
    new = Period(code, service, data.share, data.start_on, data.end_on)
    _refuse(rules.check_assignment(new, _periods(session, p.id)), Conflict)
    row = Assignment(
        professional_id=p.id,
        establishment_code=code,
        service=service,
        category=p.category,
        share=data.share,
        start_on=data.start_on,
        end_on=data.end_on,
        origin=origin,
        created_at=utcnow(),
        created_by=principal.username,
    )
    session.add(row)
    session.flush()
    return row


def assign(
    session: Session, principal: Principal, professional_id: int, data: AssignmentIn
) -> AssignmentOut:
    """A new assignment; overlapping periods at a service, or more than 100 %, are refused."""
    where = places(session)
    p = _get(session, professional_id, lock=True)
    row = _assign(session, principal, p, data, where)
    audit.record(
        session,
        principal,
        "assignment.create",
        "professional",
        str(p.id),
        details={"assignment": row.id, "establishment": row.establishment_code, "share": row.share},
    )
    out = _assignment_out(row, where, today())
    session.commit()
    return out


def end_assignment(
    session: Session, principal: Principal, assignment_id: int, data: AssignmentEnd
) -> AssignmentOut:
    """An assignment ends on a date with who and why; it is never deleted."""
    where = places(session)
    row = session.get(Assignment, assignment_id)
    if row is None:
        raise NotFound("Affectation introuvable.", code="assignment_not_found")
    _write_at(principal, row.establishment_code, where)
    if row.end_on is not None and row.end_on <= data.end_on:
        raise Conflict("Cette affectation est déjà terminée.", code="already_ended")
    if data.end_on < row.start_on:
        raise Invalid("La fin de l'affectation précède son début.", code="invalid_period")
    _end(row, data.end_on, principal.username, data.reason)
    session.flush()
    audit.record(
        session,
        principal,
        "assignment.end",
        "professional",
        str(row.professional_id),
        reason=data.reason,
        details={"assignment": row.id, "end_on": data.end_on.isoformat()},
    )
    out = _assignment_out(row, where, today())
    session.commit()
    return out


def _end(row: Assignment, end_on: date, actor: str, reason: str) -> None:
    row.end_on = end_on
    row.ended_at = utcnow()
    row.ended_by = actor
    row.end_reason = reason


def _assignment_out(a: Assignment, where: Places, day: date) -> AssignmentOut:
    return AssignmentOut(
        id=a.id,
        professional_id=a.professional_id,
        establishment=a.establishment_code,
        establishment_name=where.name(a.establishment_code),
        province=where.province_of.get(a.establishment_code, ""),
        service=a.service,
        service_name=where.service_name(a.service),
        share=a.share,
        start_on=a.start_on,
        end_on=a.end_on,
        origin=a.origin,
        active=_period(a).active_on(day),
        end_reason=a.end_reason,
    )


# --- reading professionals -----------------------------------------------------------------


def _name(p: Professional) -> str:
    return f"{p.given_name} {p.family_name}"


def _active(day: date) -> Any:
    return and_(
        Assignment.start_on <= day, or_(Assignment.end_on.is_(None), Assignment.end_on >= day)
    )


def _mains(session: Session, ids: Sequence[int], day: date) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(
        select(
            Assignment.professional_id,
            Assignment.establishment_code,
            Assignment.share,
            Assignment.start_on,
        ).where(Assignment.professional_id.in_(ids), _active(day))
    ).all()
    best: dict[int, tuple[int, date, str]] = {}
    for pid, code, share, start in rows:
        key = (-share, start, code)
        if pid not in best or key < best[pid]:
            best[pid] = key
    return {pid: v[2] for pid, v in best.items()}


def _brief(p: Professional, main: str | None, where: Places) -> ProfessionalBrief:
    return ProfessionalBrief(
        id=p.id,
        inpe=p.inpe,
        family_name=p.family_name,
        given_name=p.given_name,
        sex=Sex(p.sex),
        category=Category(p.category),
        category_label=Category(p.category).label,
        specialty=p.specialty,
        status=EmploymentStatus(p.status),
        main_establishment=main,
        main_establishment_name=where.name(main) if main else None,
    )


@dataclass(frozen=True)
class ProfessionalFilter:
    q: str | None = None
    category: Category | None = None
    specialty: str | None = None
    establishment: str | None = None
    province: str | None = None


def search_professionals(
    session: Session,
    principal: Principal,
    f: ProfessionalFilter,
    page: int = 1,
    page_size: int = 50,
) -> ProfessionalPage:
    require(principal, Permission.WORKFORCE_READ)
    where = places(session)
    page = max(page, 1)
    page_size = max(1, min(page_size, get_settings().page_size_max))
    day = today()
    query: Select[Any] = select(Professional.id)
    if f.q:
        key = rules.search_key(f.q)
        inpe = rules.normalise_inpe(f.q)
        query = query.where(
            or_(Professional.search_name.like(f"%{key}%"), Professional.inpe == inpe)
        )
    if f.category:
        query = query.where(Professional.category == f.category.value)
    if f.specialty:
        query = query.where(Professional.specialty == f.specialty)
    codes = _scope_codes(principal, where)
    wanted: set[str] | None = None if codes is None else set(codes)
    if f.establishment:
        wanted = {normalise_code(f.establishment)} & (
            wanted if wanted is not None else {normalise_code(f.establishment)}
        )
    if f.province:
        in_province = {c for c, p in where.province_of.items() if p == f.province.upper()}
        wanted = in_province if wanted is None else wanted & in_province
    if wanted is not None:
        query = query.where(
            Professional.id.in_(
                select(Assignment.professional_id).where(
                    Assignment.establishment_code.in_(sorted(wanted)), _active(day)
                )
            )
        )
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        select(Professional)
        .where(Professional.id.in_(query))
        .order_by(Professional.family_name, Professional.given_name, Professional.id)
        .limit(page_size)
        .offset((page - 1) * page_size)
    ).all()
    mains = _mains(session, [p.id for p in rows], day)
    audit.record(
        session,
        principal,
        "professional.search",
        "professional",
        None,
        details={"q": f.q, "results": total},
    )
    out = ProfessionalPage(
        total=total,
        page=page,
        page_size=page_size,
        items=[_brief(p, mains.get(p.id), where) for p in rows],
    )
    session.commit()
    return out


def professional_file(
    session: Session, principal: Principal, professional_id: int
) -> ProfessionalFile:
    """The file of one professional, its history included; the read is audited."""
    where = places(session)
    p = _get(session, professional_id)
    _read(session, principal, p.id, where)
    day = today()
    assignments = session.scalars(
        select(Assignment)
        .where(Assignment.professional_id == p.id)
        .order_by(Assignment.start_on.desc(), Assignment.id.desc())
    ).all()
    start = datetime.combine(day.replace(day=1), datetime.min.time(), LOCAL) - timedelta(days=31)
    shifts = session.scalars(
        select(Shift)
        .where(
            Shift.professional_id == p.id,
            Shift.starts_at >= start.astimezone(UTC),
            Shift.cancelled_at.is_(None),
        )
        .order_by(Shift.starts_at)
        .limit(200)
    ).all()
    requests = session.scalars(
        select(MobilityRequest)
        .where(MobilityRequest.professional_id == p.id)
        .order_by(MobilityRequest.submitted_at.desc())
    ).all()
    qualifications = session.scalars(
        select(Qualification)
        .where(Qualification.professional_id == p.id)
        .order_by(Qualification.obtained_on)
    ).all()
    now = utcnow()
    out = ProfessionalFile(
        id=p.id,
        inpe=p.inpe,
        cin=p.cin,
        family_name=p.family_name,
        given_name=p.given_name,
        family_name_ar=p.family_name_ar,
        given_name_ar=p.given_name_ar,
        sex=Sex(p.sex),
        birth_date=p.birth_date,
        age=rules.age_on(p.birth_date, day) if p.birth_date else None,
        retires_on=rules.retirement_date(p.birth_date) if p.birth_date else None,
        category=Category(p.category),
        category_label=Category(p.category).label,
        specialty=p.specialty,
        specialty_name=where.service_name(p.specialty or "") or None,
        grade=p.grade,
        status=EmploymentStatus(p.status),
        hired_on=p.hired_on,
        phone=p.phone,
        email=p.email,
        version=p.version,
        total_share=sum(a.share for a in assignments if _period(a).active_on(day)),
        qualifications=[_qualification_out(q) for q in qualifications],
        assignments=[_assignment_out(a, where, day) for a in assignments],
        shifts=[_shift_out(s, p) for s in shifts],
        mobility=[_mobility_out(session, principal, r, p, where, now) for r in requests],
        history=_history(session, p.id),
    )
    audit.record(session, principal, "professional.read", "professional", str(p.id))
    session.commit()
    return out


def _history(session: Session, professional_id: int) -> list[VersionOut]:
    versions = session.scalars(
        select(ProfessionalVersion)
        .where(ProfessionalVersion.professional_id == professional_id)
        .order_by(ProfessionalVersion.version)
    ).all()
    out: list[VersionOut] = []
    previous: dict[str, Any] = {}
    for v in versions:
        changes = {
            k: [previous.get(k), v.snapshot.get(k)]
            for k in sorted(set(previous) | set(v.snapshot))
            if previous.get(k) != v.snapshot.get(k) and previous
        }
        out.append(
            VersionOut(
                version=v.version,
                changed_at=v.changed_at,
                changed_by=v.changed_by,
                change=v.change,
                reason=v.reason,
                changes=changes,
            )
        )
        previous = v.snapshot
    return out


@dataclass(frozen=True)
class StaffLine:
    assignment: AssignmentOut
    professional: ProfessionalBrief


def establishment_staff(
    session: Session, principal: Principal, code: str, as_of: date | None = None
) -> list[StaffLine]:
    """Who works at an establishment on a day, by service and category."""
    require(principal, Permission.WORKFORCE_READ)
    where = places(session)
    code = _establishment(code, where)
    if not _covers(principal, code, where):
        raise Forbidden(
            "L'établissement {establishment} est hors de votre périmètre.",
            code="out_of_scope",
            establishment=code,
        )
    day = as_of or today()
    rows = session.execute(
        select(Assignment, Professional)
        .join(Professional, Professional.id == Assignment.professional_id)
        .where(Assignment.establishment_code == code, _active(day))
        .order_by(Assignment.service, Professional.category, Professional.family_name)
    ).all()
    audit.record(session, principal, "establishment.staff", "establishment", code)
    out = [StaffLine(_assignment_out(a, where, day), _brief(p, code, where)) for a, p in rows]
    session.commit()
    return out


# --- rosters -------------------------------------------------------------------------------


def _shift_rule(s: Shift) -> rules.Shift:
    return rules.Shift(
        s.professional_id,
        s.establishment_code,
        s.service,
        DutyKind(s.kind),
        local(s.starts_at),
        local(s.ends_at),
        s.id,
    )


def _shift_out(s: Shift, p: Professional) -> ShiftOut:
    return ShiftOut(
        id=s.id,
        professional_id=p.id,
        professional_name=_name(p),
        category=Category(p.category),
        establishment=s.establishment_code,
        service=s.service,
        kind=DutyKind(s.kind),
        starts_at=s.starts_at,
        ends_at=s.ends_at,
        is_night=_shift_rule(s).is_night,
    )


def _nearby_shifts(
    session: Session, professional_id: int, start: datetime, end: datetime
) -> list[rules.Shift]:
    margin = rules.MAX_SHIFT + rules.REST_AFTER_NIGHT
    rows = session.scalars(
        select(Shift).where(
            Shift.professional_id == professional_id,
            Shift.cancelled_at.is_(None),
            Shift.starts_at < end + margin,
            Shift.ends_at > start - margin,
        )
    ).all()
    return [_shift_rule(s) for s in rows]


def add_shift(session: Session, principal: Principal, data: ShiftIn) -> ShiftOut:
    """Put someone on a roster; the rules refuse two places at once and a missing rest."""
    where = places(session)
    code = _establishment(data.establishment, where)
    _write_at(principal, code, where)
    service = _service(data.service, code, where)
    p = _get(session, data.professional_id, lock=True)
    starts, ends = from_local(data.starts_at), from_local(data.ends_at)
    new = rules.Shift(p.id, code, service, data.kind, local(starts), local(ends))
    _refuse(
        rules.check_shift(
            new, _nearby_shifts(session, p.id, starts, ends), _periods(session, p.id)
        ),
        Conflict,
    )
    row = Shift(
        professional_id=p.id,
        establishment_code=code,
        service=service,
        kind=data.kind.value,
        starts_at=starts,
        ends_at=ends,
        created_at=utcnow(),
        created_by=principal.username,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        principal,
        "shift.create",
        "professional",
        str(p.id),
        details={"shift": row.id, "establishment": code, "service": service},
    )
    out = _shift_out(row, p)
    session.commit()
    return out


def cancel_shift(
    session: Session, principal: Principal, shift_id: int, data: ShiftCancel
) -> ShiftOut:
    where = places(session)
    row = session.get(Shift, shift_id)
    if row is None or row.cancelled_at is not None:
        raise NotFound("Garde introuvable ou déjà annulée.", code="shift_not_found")
    _write_at(principal, row.establishment_code, where)
    row.cancelled_at = utcnow()
    row.cancelled_by = principal.username
    row.cancel_reason = data.reason
    session.flush()
    audit.record(
        session,
        principal,
        "shift.cancel",
        "professional",
        str(row.professional_id),
        reason=data.reason,
        details={"shift": row.id},
    )
    out = _shift_out(row, _get(session, row.professional_id))
    session.commit()
    return out


def parse_month(text: str | None) -> tuple[date, date]:
    """``2025-10`` → (first day, first day of the next month); this month when empty."""
    if text:
        try:
            year, month = (int(x) for x in text.split("-"))
            first = date(year, month, 1)
        except ValueError as exc:
            raise Invalid(
                "Mois invalide : « {month} » (AAAA-MM attendu).", code="invalid_month", month=text
            ) from exc
    else:
        first = today().replace(day=1)
    nxt = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, nxt


def roster(
    session: Session, principal: Principal, code: str, service: str, month: str | None = None
) -> RosterOut:
    """The on-call roster of a service for a month, with the staff who may take duties."""
    require(principal, Permission.WORKFORCE_READ)
    where = places(session)
    code = _establishment(code, where)
    if not _covers(principal, code, where):
        raise Forbidden(
            "L'établissement {establishment} est hors de votre périmètre.",
            code="out_of_scope",
            establishment=code,
        )
    service = _service(service, code, where)
    first, nxt = parse_month(month)
    start = datetime.combine(first, datetime.min.time(), LOCAL).astimezone(UTC)
    end = datetime.combine(nxt, datetime.min.time(), LOCAL).astimezone(UTC)
    rows = session.execute(
        select(Shift, Professional)
        .join(Professional, Professional.id == Shift.professional_id)
        .where(
            Shift.establishment_code == code,
            Shift.service == service,
            Shift.cancelled_at.is_(None),
            Shift.starts_at >= start,
            Shift.starts_at < end,
        )
        .order_by(Shift.starts_at, Professional.family_name)
    ).all()
    staff = session.scalars(
        select(Professional)
        .join(Assignment, Assignment.professional_id == Professional.id)
        .where(
            Assignment.establishment_code == code,
            Assignment.service == service,
            Assignment.start_on < nxt,
            or_(Assignment.end_on.is_(None), Assignment.end_on >= first),
        )
        .order_by(Professional.category, Professional.family_name)
        .distinct()
    ).all()
    audit.record(
        session,
        principal,
        "roster.read",
        "establishment",
        code,
        details={"service": service, "month": first.isoformat()[:7]},
    )
    out = RosterOut(
        establishment=code,
        establishment_name=where.name(code),
        service=service,
        service_name=where.service_name(service),
        month=first.isoformat()[:7],
        shifts=[_shift_out(s, p) for s, p in rows],
        staff=[_brief(p, code, where) for p in staff],
    )
    session.commit()
    return out


# --- mobility ------------------------------------------------------------------------------


def _snap(r: MobilityRequest, where: Places) -> rules.MobilitySnapshot:
    return rules.MobilitySnapshot(
        state=MobilityState(r.state),
        from_establishment=r.from_establishment,
        from_province=where.province_of.get(r.from_establishment, ""),
        to_establishment=r.to_establishment,
        to_province=where.province_of.get(r.to_establishment, ""),
        submitted_at=r.submitted_at,
        releasing_opinion=Opinion(r.releasing_opinion) if r.releasing_opinion else None,
        receiving_opinion=Opinion(r.receiving_opinion) if r.receiving_opinion else None,
        effective_on=r.effective_on,
        version=r.version,
    )


def _mobility_out(
    session: Session,
    principal: Principal,
    r: MobilityRequest,
    p: Professional,
    where: Places,
    now: datetime,
    *,
    events: bool = False,
) -> MobilityOut:
    snap = _snap(r, where)
    history: list[MobilityEventOut] = []
    if events:
        for e in session.scalars(
            select(MobilityEvent)
            .where(MobilityEvent.request_id == r.id)
            .order_by(MobilityEvent.at, MobilityEvent.id)
        ):
            history.append(
                MobilityEventOut(
                    action=MobilityAction(e.action),
                    action_label=MobilityAction(e.action).label,
                    from_state=MobilityState(e.from_state) if e.from_state else None,
                    to_state=MobilityState(e.to_state),
                    establishment=e.establishment_code,
                    opinion=Opinion(e.opinion) if e.opinion else None,
                    actor=e.actor,
                    at=e.at,
                    reason=e.reason,
                    days_since_request=round((e.at - r.submitted_at).total_seconds() / 86400, 2),
                )
            )
    return MobilityOut(
        id=r.id,
        professional_id=p.id,
        professional_name=_name(p),
        category=Category(p.category),
        specialty=p.specialty,
        kind=MobilityKind(r.kind),
        initiator=Initiator(r.initiator),
        from_establishment=r.from_establishment,
        from_establishment_name=where.name(r.from_establishment),
        from_service=r.from_service,
        to_establishment=r.to_establishment,
        to_establishment_name=where.name(r.to_establishment),
        to_service=r.to_service,
        share=r.share,
        wished_on=r.wished_on,
        motive=r.motive,
        state=snap.state,
        state_label=snap.state.label,
        version=r.version,
        submitted_at=r.submitted_at,
        submitted_by=r.submitted_by,
        opinion_deadline=snap.opinion_deadline,
        releasing_opinion=snap.releasing_opinion,
        receiving_opinion=snap.receiving_opinion,
        decided_at=r.decided_at,
        effective_on=r.effective_on,
        decision_days=round((r.decided_at - r.submitted_at).total_seconds() / 86400, 1)
        if r.decided_at
        else None,
        allowed_actions=rules.allowed_actions(principal, snap, now),
        events=history,
    )


def _event(
    session: Session,
    r: MobilityRequest,
    action: MobilityAction,
    before: MobilityState | None,
    actor: str,
    at: datetime,
    *,
    establishment: str | None = None,
    opinion: Opinion | None = None,
    reason: str | None = None,
) -> None:
    session.add(
        MobilityEvent(
            request_id=r.id,
            action=action.value,
            from_state=before.value if before else None,
            to_state=r.state,
            establishment_code=establishment,
            opinion=opinion.value if opinion else None,
            actor=actor,
            at=at,
            reason=reason,
        )
    )


def submit_mobility(session: Session, principal: Principal, data: MobilityIn) -> MobilityOut:
    """A request to move (or share) a professional: by the region, or by either establishment."""
    require(principal, Permission.WORKFORCE_WRITE)
    where = places(session)
    p = _get(session, data.professional_id, lock=True)
    day = today()
    periods = [x for x in _periods(session, p.id) if x.active_on(day)]
    origin = (
        _establishment(data.from_establishment, where)
        if data.from_establishment
        else (rules.main_assignment(periods, day) or Period("", "", 0, day)).establishment
    )
    held = [x for x in periods if x.establishment == origin]
    if not held:
        raise Conflict(
            "Ce professionnel n'a pas d'affectation en cours à {establishment}.",
            code="not_assigned",
            establishment=origin or "—",
        )
    target = _establishment(data.to_establishment, where)
    if target == origin:
        raise Invalid("L'établissement d'accueil est celui d'origine.", code="same_establishment")
    if target not in where.open:
        raise Conflict(
            "L'établissement {establishment} n'est pas en service.",
            code="establishment_closed",
            establishment=target,
        )
    service = _service(data.to_service, target, where)
    if data.kind is MobilityKind.SHARE and data.share >= sum(x.share for x in held):
        raise Invalid(
            "Une mise à disposition partielle laisse une part du temps à l'établissement "
            "d'origine.",
            code="invalid_share",
        )
    now = utcnow()
    snap = rules.MobilitySnapshot(
        MobilityState.AWAITING_OPINIONS,
        origin,
        where.province_of[origin],
        target,
        where.province_of[target],
        now,
    )
    if not rules.may_submit(principal, snap):
        raise Forbidden(
            "Seuls la région et les deux établissements concernés déposent cette demande.",
            code="out_of_scope",
        )
    pending = session.scalar(
        select(MobilityRequest.id).where(
            MobilityRequest.professional_id == p.id,
            MobilityRequest.state.in_([s.value for s in MobilityState if s.is_open]),
        )
    )
    if pending is not None:
        raise Conflict(
            "Une demande de mobilité est déjà en cours pour ce professionnel (n° {request}).",
            code="request_open",
            request=str(pending),
        )
    r = MobilityRequest(
        professional_id=p.id,
        kind=data.kind.value,
        initiator=data.initiator.value,
        from_establishment=origin,
        from_service=held[0].service,
        to_establishment=target,
        to_service=service,
        share=data.share if data.kind is MobilityKind.SHARE else sum(x.share for x in held),
        wished_on=data.wished_on,
        motive=data.motive.strip(),
        state=MobilityState.AWAITING_OPINIONS.value,
        version=1,
        submitted_at=now,
        submitted_by=principal.username,
        updated_at=now,
    )
    session.add(r)
    session.flush()
    _event(session, r, MobilityAction.SUBMIT, None, principal.username, now, reason=r.motive)
    audit.record(
        session,
        principal,
        "mobility.submit",
        "mobility_request",
        str(r.id),
        details={"professional": p.id, "from": origin, "to": target},
    )
    out = _mobility_out(session, principal, r, p, where, now, events=True)
    session.commit()
    return out


def _take_effect(
    session: Session, r: MobilityRequest, p: Professional, actor: str, where: Places
) -> None:
    """Move the assignment: the old ends the day before the effective date, the new starts."""
    assert r.effective_on is not None
    start = r.effective_on
    rows = session.scalars(
        select(Assignment).where(
            Assignment.professional_id == p.id,
            Assignment.establishment_code == r.from_establishment,
            _active(start),
        )
    ).all()
    reason = f"mobilité n° {r.id}"
    moved = 0
    for row in rows:
        if row.start_on >= start:
            continue
        keep = max(0, row.share - r.share) if r.kind == MobilityKind.SHARE.value else 0
        end_on, old_end = start - timedelta(days=1), row.end_on
        _end(row, end_on, actor, reason)
        moved += row.share - keep
        if keep:
            session.add(
                Assignment(
                    professional_id=p.id,
                    establishment_code=row.establishment_code,
                    service=row.service,
                    category=row.category,
                    share=keep,
                    start_on=start,
                    end_on=old_end,
                    origin=f"mobility:{r.id}",
                    created_at=utcnow(),
                    created_by=actor,
                )
            )
        if r.kind == MobilityKind.SHARE.value:
            break
    session.flush()
    new = Period(r.to_establishment, r.to_service, moved or r.share, start)
    _refuse(rules.check_assignment(new, _periods(session, p.id)), Conflict)
    session.add(
        Assignment(
            professional_id=p.id,
            establishment_code=r.to_establishment,
            service=r.to_service,
            category=p.category,
            share=new.share,
            start_on=start,
            origin=f"mobility:{r.id}",
            created_at=utcnow(),
            created_by=actor,
        )
    )


def mobility_step(
    session: Session, principal: Principal, request_id: int, data: MobilityStepIn
) -> MobilityOut:
    """One step of the workflow, timed, with who and why; a stale page is refused."""
    where = places(session)
    query = select(MobilityRequest).where(MobilityRequest.id == request_id)
    if lock_for_update(session):
        query = query.with_for_update()
    r = session.scalars(query).one_or_none()
    if r is None:
        raise NotFound("Demande de mobilité introuvable.", code="mobility_not_found")
    if data.expected_version is not None and data.expected_version != r.version:
        raise Conflict(
            "La demande a changé depuis que vous l'avez ouverte : rechargez la page.",
            code="stale_version",
        )
    p = _get(session, r.professional_id)
    now = utcnow()
    day = today()
    snap = _snap(r, where)
    try:
        step = rules.apply_step(
            snap,
            data.action,
            principal,
            now,
            opinion=data.opinion,
            effective_on=data.effective_on,
            today=day,
        )
    except rules.StepRefused as exc:
        kind: type[DomainError] = {403: Forbidden, 422: Invalid}.get(exc.status, Conflict)
        raise kind("{detail}", code=exc.code, detail=exc.message) from exc
    reason = (data.reason or "").strip() or None
    if data.action is MobilityAction.REJECT and not reason:
        raise Invalid("Un refus est motivé.", code="reason_required")
    if step.establishment and data.opinion is Opinion.UNFAVOURABLE and not reason:
        raise Invalid("Un avis défavorable est motivé.", code="reason_required")
    before = snap.state
    nxt = step.snapshot
    done = session.execute(
        update(MobilityRequest)
        .where(MobilityRequest.id == r.id, MobilityRequest.version == r.version)
        .values(
            state=nxt.state.value,
            version=nxt.version,
            releasing_opinion=nxt.releasing_opinion.value if nxt.releasing_opinion else None,
            receiving_opinion=nxt.receiving_opinion.value if nxt.receiving_opinion else None,
            effective_on=nxt.effective_on,
            decided_at=now
            if data.action in (MobilityAction.APPROVE, MobilityAction.REJECT)
            else r.decided_at,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(
            "Quelqu'un a agi sur cette demande en même temps : rechargez la page.",
            code="stale_version",
        )
    session.refresh(r)
    _event(
        session,
        r,
        data.action,
        before,
        principal.username,
        now,
        establishment=step.establishment,
        opinion=data.opinion if step.establishment else None,
        reason=reason,
    )
    if data.action is MobilityAction.TAKE_EFFECT:
        _take_effect(session, r, p, principal.username, where)
    elif data.action is MobilityAction.APPROVE and nxt.effective_on and nxt.effective_on <= day:
        # Effective at once: the move is recorded in the same transaction as the decision.
        _apply_effect(session, r, p, principal, where, now, day)
    audit.record(
        session,
        principal,
        f"mobility.{data.action.value}",
        "mobility_request",
        str(r.id),
        reason=reason,
        details={"state": r.state, "professional": p.id},
    )
    out = _mobility_out(session, principal, r, p, where, now, events=True)
    session.commit()
    return out


def _apply_effect(
    session: Session,
    r: MobilityRequest,
    p: Professional,
    principal: Principal,
    where: Places,
    now: datetime,
    day: date,
) -> None:
    step = rules.apply_step(_snap(r, where), MobilityAction.TAKE_EFFECT, principal, now, today=day)
    r.state = step.snapshot.state.value
    r.version = step.snapshot.version
    r.updated_at = now
    session.flush()
    _event(session, r, MobilityAction.TAKE_EFFECT, MobilityState.APPROVED, principal.username, now)
    _take_effect(session, r, p, principal.username, where)


def apply_due_mobility(session: Session, principal: Principal, day: date | None = None) -> int:
    """Approved requests whose effective date has come take effect (a scheduler's job)."""
    if not rules.is_regional(principal):
        raise Forbidden("La prise d'effet est enregistrée par la région.", code="regional_decision")
    where = places(session)
    day = day or today()
    due = session.scalars(
        select(MobilityRequest)
        .where(
            MobilityRequest.state == MobilityState.APPROVED.value,
            MobilityRequest.effective_on <= day,
        )
        .order_by(MobilityRequest.id)
    ).all()
    now = utcnow()
    for r in due:
        _apply_effect(session, r, _get(session, r.professional_id), principal, where, now, day)
        audit.record(session, principal, "mobility.take_effect", "mobility_request", str(r.id))
    session.commit()
    return len(due)


def get_mobility(session: Session, principal: Principal, request_id: int) -> MobilityOut:
    require(principal, Permission.WORKFORCE_READ)
    where = places(session)
    r = session.get(MobilityRequest, request_id)
    if r is None:
        raise NotFound("Demande de mobilité introuvable.", code="mobility_not_found")
    codes = _scope_codes(principal, where)
    if codes is not None and not {r.from_establishment, r.to_establishment} & codes:
        raise Forbidden("Cette demande ne concerne pas votre périmètre.", code="out_of_scope")
    p = _get(session, r.professional_id)
    audit.record(session, principal, "mobility.read", "mobility_request", str(r.id))
    out = _mobility_out(session, principal, r, p, where, utcnow(), events=True)
    session.commit()
    return out


def mobility_inbox(
    session: Session,
    principal: Principal,
    *,
    state: MobilityState | None = None,
    mine: bool = True,
    limit: int = 200,
) -> list[MobilityOut]:
    """The requests awaiting this person's step (``mine``), or all those of their scope."""
    require(principal, Permission.WORKFORCE_READ)
    where = places(session)
    now = utcnow()
    codes = _scope_codes(principal, where)
    query = select(MobilityRequest, Professional).join(
        Professional, Professional.id == MobilityRequest.professional_id
    )
    if codes is not None:
        listed = sorted(codes)
        query = query.where(
            or_(
                MobilityRequest.from_establishment.in_(listed),
                MobilityRequest.to_establishment.in_(listed),
            )
        )
    if state is not None:
        query = query.where(MobilityRequest.state == state.value)
    elif mine:
        query = query.where(
            MobilityRequest.state.in_([s.value for s in MobilityState if s.is_open])
        )
    rows = session.execute(query.order_by(MobilityRequest.submitted_at).limit(5000)).all()
    out: list[MobilityOut] = []
    for r, p in rows:
        if mine and state is None and not rules.awaits(principal, _snap(r, where), now):
            continue
        out.append(_mobility_out(session, principal, r, p, where, now))
        if len(out) >= limit:
            break
    audit.record(
        session,
        principal,
        "mobility.inbox",
        "mobility_request",
        None,
        details={"results": len(out)},
    )
    session.commit()
    return out


def mobility_delays(
    session: Session, principal: Principal, since: datetime | None = None
) -> DelayStatsOut:
    """The reform's indicator: how long the regional decision takes."""
    require(principal, Permission.AGGREGATES_READ)
    since = since or utcnow() - timedelta(days=365)
    rows = session.execute(
        select(MobilityRequest.submitted_at, MobilityRequest.decided_at).where(
            MobilityRequest.decided_at.is_not(None), MobilityRequest.decided_at >= since
        )
    ).all()
    stats = rules.delay_stats([(d - s).total_seconds() / 86400 for s, d in rows if d is not None])
    open_ = session.scalar(
        select(func.count(MobilityRequest.id)).where(
            MobilityRequest.state.in_(
                [MobilityState.AWAITING_OPINIONS.value, MobilityState.AWAITING_DECISION.value]
            )
        )
    )
    return DelayStatsOut(
        decided=stats.decided,
        median_days=stats.median_days,
        p90_days=stats.p90_days,
        within_target=stats.within_target,
        target_days=rules.DECISION_TARGET_DAYS,
        open_requests=int(open_ or 0),
    )


# --- norms -------------------------------------------------------------------------------


# A published version never changes (append-only in the database too): its lines are
# read once per process and database.
_NORMS: dict[tuple[int, int, datetime | None], list[rules.NormLine]] = {}


def _norm_lines(session: Session, number: int) -> list[rules.NormLine]:
    # Keyed by when the version was published too: a database emptied and filled again
    # (tests, a rebuilt demo) may reuse a number, never its timestamp.
    published = session.scalar(select(NormVersion.created_at).where(NormVersion.number == number))
    key = (id(session.get_bind()), number, published)
    cached = _NORMS.get(key)
    if cached is None:
        rows = session.execute(
            select(
                NormLine.establishment_type, NormLine.service, NormLine.category, NormLine.required
            )
            .where(NormLine.version == number)
            .order_by(NormLine.establishment_type, NormLine.service, NormLine.category)
        ).all()
        cached = [
            rules.NormLine(EstablishmentType(t), s, Category(c), float(r)) for t, s, c, r in rows
        ]
        if cached:
            if len(_NORMS) > 64:
                _NORMS.clear()
            _NORMS[key] = cached
    return list(cached)


def norm_version_for(session: Session, day: date) -> int | None:
    """The version in force on a day: the latest one valid from that day or before."""
    return session.scalar(
        select(NormVersion.number)
        .where(NormVersion.valid_from <= day)
        .order_by(NormVersion.valid_from.desc(), NormVersion.number.desc())
        .limit(1)
    )


def _version_out(session: Session, v: NormVersion) -> NormVersionOut:
    count = session.scalar(select(func.count()).where(NormLine.version == v.number)) or 0
    return NormVersionOut(
        number=v.number,
        valid_from=v.valid_from,
        based_on=v.based_on,
        created_at=v.created_at,
        created_by=v.created_by,
        reason=v.reason,
        lines=int(count),
    )


def list_norm_versions(session: Session, principal: Principal) -> list[NormVersionOut]:
    require(principal, Permission.AGGREGATES_READ)
    versions = session.scalars(select(NormVersion).order_by(NormVersion.number.desc())).all()
    return [_version_out(session, v) for v in versions]


def norm_lines(
    session: Session, principal: Principal, number: int | None = None
) -> tuple[int, list[rules.NormLine]]:
    require(principal, Permission.AGGREGATES_READ)
    number = number or norm_version_for(session, today()) or _latest_norms(session)
    if number is None or session.get(NormVersion, number) is None:
        raise NotFound("Aucune version des normes n'est publiée.", code="norms_not_found")
    return number, _norm_lines(session, number)


def _latest_norms(session: Session) -> int | None:
    return session.scalar(select(func.max(NormVersion.number)))


def publish_norms(
    session: Session,
    principal: Principal,
    lines: Sequence[rules.NormLine],
    *,
    valid_from: date,
    reason: str,
    based_on: int | None = None,
    commit: bool = True,
) -> NormVersionOut:
    """A new version of the norms, whole; versions are never changed once published."""
    require(principal, Permission.WORKFORCE_WRITE)
    if principal.scope.kind is not ScopeKind.GST:
        raise Forbidden("Les normes sont fixées par la région.", code="regional_decision")
    _refuse(rules.validate_norms(lines, SPECIALTY_CODES))
    number = (_latest_norms(session) or 0) + 1
    version = NormVersion(
        number=number,
        valid_from=valid_from,
        based_on=based_on,
        created_at=utcnow(),
        created_by=principal.username,
        reason=reason,
    )
    session.add(version)
    session.flush()
    session.add_all(
        NormLine(
            version=number,
            establishment_type=line.establishment_type.value,
            service=line.service,
            category=line.category.value,
            required=line.required,
        )
        for line in lines
        if line.required > 0
    )
    session.flush()
    audit.record(
        session,
        principal,
        "norms.publish",
        "norm_version",
        str(number),
        reason=reason,
        details={"lines": len(lines), "based_on": based_on},
    )
    out = _version_out(session, version)
    if commit:
        session.commit()
    return out


def amend_norms(session: Session, principal: Principal, data: NormVersionIn) -> NormVersionOut:
    """A new version from the current one with some lines changed (0 removes a line)."""
    base = _latest_norms(session)
    current = {
        (n.establishment_type, n.service, n.category): n
        for n in (_norm_lines(session, base) if base else [])
    }
    for change in data.changes:
        try:
            type_ = EstablishmentType(change.establishment_type)
        except ValueError as exc:
            raise Invalid(
                "Type d'établissement inconnu : {type}",
                code="unknown_type",
                type=change.establishment_type,
            ) from exc
        key = (type_, change.service, change.category)
        current[key] = rules.NormLine(type_, change.service, change.category, change.required)
    return publish_norms(
        session,
        principal,
        list(current.values()),
        valid_from=data.valid_from,
        reason=data.reason,
        based_on=base,
    )


def norm_line_in(line: rules.NormLine) -> NormLineIn:
    return NormLineIn(
        establishment_type=line.establishment_type.value,
        service=line.service,
        category=line.category,
        required=line.required,
    )


# --- gaps, density, overview ---------------------------------------------------------------


def present_fte(session: Session, day: date) -> dict[tuple[str, str, Category], float]:
    """Full-time equivalents at work on a day by (establishment, service, category).

    Read from ``ix_workforce_assignment_staffing`` alone (no join, no sort).
    """
    rows = session.execute(
        select(
            Assignment.establishment_code,
            Assignment.service,
            Assignment.category,
            func.sum(Assignment.share),
        )
        .where(_active(day))
        .group_by(Assignment.establishment_code, Assignment.service, Assignment.category)
    ).all()
    return {(c, s, Category(cat)): int(total) / 100 for c, s, cat, total in rows}


def _totals_dict(t: rules.GapTotals) -> dict[str, Any]:
    return {
        "required": t.required,
        "present": t.present,
        "deficit": t.deficit,
        "surplus": t.surplus,
        "gap": t.gap,
        "lines_below": t.lines_below,
    }


def gap_report(
    session: Session,
    principal: Principal,
    *,
    as_of: date | None = None,
    version: int | None = None,
    service: str | None = None,
    category: Category | None = None,
    province: str | None = None,
    with_lines: bool = True,
) -> GapReport:
    """Staff present against the norm, for every establishment, province and the region.

    Reproducible: the same ``version`` and ``as_of`` give the same report later,
    since versions of the norms never change and assignments keep their periods.
    """
    require(principal, Permission.AGGREGATES_READ)
    day = as_of or today()
    number = version or norm_version_for(session, day) or _latest_norms(session)
    if number is None or session.get(NormVersion, number) is None:
        raise NotFound("Aucune version des normes n'est publiée.", code="norms_not_found")
    where = places(session)
    codes = sorted(
        c for c in where.open if not province or where.province_of.get(c) == province.upper()
    )
    sites = [rules.Site(c, where.types[c], where.province_of[c], where.services[c]) for c in codes]
    lines = rules.gap_lines(sites, _norm_lines(session, number), present_fte(session, day))
    if service is not None:
        lines = [line for line in lines if line.service == service]
    if category is not None:
        lines = [line for line in lines if line.category is category]
    summary = rules.summarise(lines)
    establishments = sorted(
        (
            {
                "establishment": code,
                "name": where.name(code),
                "type": where.types[code].value,
                "province": where.province_of[code],
                **_totals_dict(t),
            }
            for code, t in summary.by_establishment.items()
        ),
        key=lambda e: (-e["deficit"], e["gap"], e["establishment"]),
    )
    return GapReport(
        norms_version=number,
        as_of=day,
        service=service,
        category=category,
        region=_totals_dict(summary.region),
        by_province={k: _totals_dict(v) for k, v in summary.by_province.items()},
        by_category={k: _totals_dict(v) for k, v in summary.by_category.items()},
        establishments=establishments,
        lines=[
            {
                "establishment": line.establishment,
                "province": line.province,
                "service": line.service,
                "category": line.category,
                "required": line.required,
                "present": line.present,
                "gap": line.gap,
            }
            for line in lines
        ]
        if with_lines
        else [],
    )


def headcount(session: Session, day: date) -> dict[tuple[str, Category], int]:
    """Professionals at work on a day by (province, category), each once per province."""
    where = places(session)
    rows = session.execute(
        select(Assignment.establishment_code, Assignment.professional_id, Professional.category)
        .join(Professional, Professional.id == Assignment.professional_id)
        .where(_active(day))
    ).all()
    seen: set[tuple[str, int]] = set()
    out: Counter[tuple[str, Category]] = Counter()
    for code, pid, cat in rows:
        province = where.province_of.get(code, "")
        if (province, pid) in seen:
            continue
        seen.add((province, pid))
        out[(province, Category(cat))] += 1
    return dict(out)


def _density_row(area: str, name: str, population: int, counts: Mapping[str, int]) -> DensityOut:
    total = sum(counts.values())
    return DensityOut(
        area=area,
        name=name,
        population=population,
        physicians=counts.get("physicians", 0),
        nurses=counts.get("nurses", 0),
        midwives=counts.get("midwives", 0),
        total=total,
        density=rules.density(total, population),
        threshold=rules.WHO_THRESHOLD,
    )


def _hires_per_year(session: Session, day: date) -> dict[str, float]:
    """The recruitment flow of the last twelve months, by density group."""
    rows = session.execute(
        select(Professional.category, func.count())
        .where(Professional.hired_on > day - timedelta(days=365), Professional.hired_on <= day)
        .group_by(Professional.category)
    ).all()
    out: dict[str, float] = defaultdict(float)
    for cat, n in rows:
        group = Category(cat).density_group
        if group:
            out[group] += int(n)
    return dict(out)


def overview(
    session: Session,
    principal: Principal,
    *,
    as_of: date | None = None,
    hires_per_year: Mapping[str, float] | None = None,
) -> OverviewOut:
    """The workforce at a glance: numbers, distribution, density, the 2030 projection."""
    require(principal, Permission.AGGREGATES_READ)
    day = as_of or today()
    total = session.scalar(select(func.count(Professional.id))) or 0
    counts = headcount(session, day)
    provinces = territory.list_provinces(session)
    assigned = session.scalar(
        select(func.count(func.distinct(Assignment.professional_id))).where(_active(day))
    )
    by_category: Counter[str] = Counter()
    by_province: dict[str, Counter[str]] = {p.code: Counter() for p in provinces}
    for (province, category), n in counts.items():
        by_province.setdefault(province, Counter())[category.value] += n
    # The region counts each professional once, even one shared between two provinces.
    for name, n in session.execute(
        select(Professional.category, func.count(func.distinct(Professional.id)))
        .join(Assignment, Assignment.professional_id == Professional.id)
        .where(_active(day))
        .group_by(Professional.category)
    ):
        by_category[name] = int(n)
    density_rows = []
    for p in provinces:
        groups: Counter[str] = Counter()
        for name, n in by_province[p.code].items():
            group = Category(name).density_group
            if group:
                groups[group] += n
        density_rows.append(_density_row(p.code, p.name, p.population_2024, groups))
    region_groups: Counter[str] = Counter()
    for name, n in by_category.items():
        group = Category(name).density_group
        if group:
            region_groups[group] += n
    region = next(
        (r for r in territory.list_regions(session) if r.code == get_settings().gst_code), None
    )
    population = region.population_2024 if region else sum(p.population_2024 for p in provinces)
    density_rows.append(
        _density_row(
            get_settings().gst_code, region.name if region else "", population, region_groups
        )
    )
    pop_2014 = sum(p.population_2014 for p in provinces)
    growth = (population / pop_2014) ** (1 / 10) - 1 if pop_2014 else 0.0
    stock = [
        (Category(cat).density_group or "", birth.year)
        for cat, birth in session.execute(
            select(Professional.category, Professional.birth_date).where(
                Professional.category.in_([c.value for c in rules.DENSITY_CATEGORIES]),
                Professional.id.in_(select(Assignment.professional_id).where(_active(day))),
            )
        )
        if birth is not None
    ]
    hires = dict(hires_per_year) if hires_per_year is not None else _hires_per_year(session, day)
    projection = rules.project(
        stock,
        start_year=day.year,
        population=population,
        population_growth=growth,
        hires_per_year=hires,
    )
    return OverviewOut(
        as_of=day,
        professionals=int(total),
        assigned=int(assigned or 0),
        by_category={c.value: by_category.get(c.value, 0) for c in Category},
        by_province={
            k: {c.value: v.get(c.value, 0) for c in Category} for k, v in by_province.items()
        },
        density=density_rows,
        threshold=rules.WHO_THRESHOLD,
        projection=[
            ProjectionYearOut(
                year=y.year,
                physicians=y.headcount.get("physicians", 0),
                nurses=y.headcount.get("nurses", 0),
                midwives=y.headcount.get("midwives", 0),
                retirements=sum(y.retirements.values()),
                recruitments=sum(y.recruitments.values()),
                population=y.population,
                density=y.density,
            )
            for y in projection.years
        ],
        needed_2030=projection.needed_in_last_year,
        hires_per_year={k: round(v, 1) for k, v in hires.items()},
        mobility=mobility_delays(session, principal),
    )


# --- import ----------------------------------------------------------------------------

IMPORT_COLUMNS = (
    "inpe",
    "cin",
    "family_name",
    "given_name",
    "sex",
    "birth_date",
    "category",
    "specialty",
    "grade",
    "status",
    "hired_on",
    "establishment",
    "service",
    "share",
    "start_on",
)
REQUIRED_COLUMNS = ("family_name", "given_name", "sex", "category")


# An import's outcomes are the registry's: one shape for every `parcours import …`.
RowOutcome = territory.RowOutcome
ImportReport = territory.ImportReport


_SEX = {
    "f": Sex.FEMALE,
    "femme": Sex.FEMALE,
    "female": Sex.FEMALE,
    "m": Sex.MALE,
    "h": Sex.MALE,
    "homme": Sex.MALE,
    "male": Sex.MALE,
}


def row_to_input(row: Mapping[str, str]) -> ProfessionalIn:
    """One CSV row as a professional; every unreadable cell is named, in French."""
    problems: list[str] = []

    def cell(name: str) -> str:
        return (row.get(name) or "").strip()

    def day(name: str, label: str) -> date | None:
        value = cell(name)
        if not value:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            problems.append(f"{label} invalide : « {value} » (AAAA-MM-JJ attendu)")
            return None

    for name, message in (
        ("family_name", "le nom est obligatoire"),
        ("given_name", "le prénom est obligatoire"),
        ("category", "la catégorie est obligatoire"),
    ):
        if not cell(name):
            problems.append(message)
    sex = _SEX.get(cell("sex").lower())
    if sex is None:
        problems.append(f"sexe inconnu : « {cell('sex')} » (F ou M)")
    category: Category | None = None
    if cell("category"):
        try:
            category = Category(cell("category"))
        except ValueError:
            problems.append(f"catégorie inconnue : « {cell('category')} »")
    status = EmploymentStatus.TENURED
    if cell("status"):
        try:
            status = EmploymentStatus(cell("status"))
        except ValueError:
            problems.append(f"statut inconnu : « {cell('status')} »")
    birth = day("birth_date", "date de naissance")
    hired = day("hired_on", "date d'entrée")
    assignment = None
    if cell("establishment"):
        share = 100
        if cell("share"):
            try:
                share = int(cell("share"))
            except ValueError:
                problems.append(f"quotité invalide : « {cell('share')} » (entier attendu)")
            if not 1 <= share <= 100:
                problems.append(f"quotité invalide : {share} % (de 1 à 100 %)")
        start = day("start_on", "date de début d'affectation") or hired or today()
        assignment = AssignmentIn(
            establishment=cell("establishment"),
            service=cell("service"),
            share=max(1, min(share, 100)),
            start_on=start,
        )
    if problems or sex is None or category is None:
        raise Invalid("{problems}", code="invalid_row", problems="; ".join(problems))
    return ProfessionalIn(
        inpe=cell("inpe") or None,
        cin=cell("cin") or None,
        family_name=cell("family_name"),
        given_name=cell("given_name"),
        sex=sex,
        birth_date=birth,
        category=category,
        specialty=cell("specialty") or None,
        grade=cell("grade"),
        status=status,
        hired_on=hired,
        assignment=assignment,
    )


def _explain(exc: Exception) -> str:
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'ligne'} : valeur invalide"
            for err in exc.errors()
        )
    if isinstance(exc, DomainError):
        return exc.render()
    return str(exc)


def import_rows(
    session: Session, principal: Principal, rows: Iterable[tuple[int, Mapping[str, str]]]
) -> Iterator[RowOutcome]:
    """Import ``(line, row)`` pairs, yielding each outcome; each row is its own savepoint.

    Idempotent by INPE: a known INPE is left as it is (``unchanged``), so a file
    imported twice registers nobody twice. Bad rows are reported with their
    line and reason; the good ones are kept.
    """
    for line, row in rows:
        try:
            data = row_to_input(row)
            inpe = rules.normalise_inpe(data.inpe)
            if inpe and session.scalar(select(Professional.id).where(Professional.inpe == inpe)):
                yield RowOutcome(line, "unchanged")
                continue
            with session.begin_nested():
                create_professional(session, principal, data, commit=False)
            yield RowOutcome(line, "created")
        except (ValueError, DomainError) as exc:
            yield RowOutcome(line, "rejected", _explain(exc))
    session.commit()


def read_csv(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """Rows of a CSV file with the line each starts on (the header is line 1)."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise Invalid(
                "Colonnes manquantes : {columns}",
                code="missing_columns",
                columns=", ".join(missing),
            )
        for row in reader:
            yield reader.line_num, row
