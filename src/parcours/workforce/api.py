"""JSON routes of the regional workforce (``/api/v1/workforce``)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from parcours.web.deps import ApiPrincipal, SessionDep
from parcours.workforce import service
from parcours.workforce.rules import Category, MobilityState
from parcours.workforce.schemas import (
    AssignmentEnd,
    AssignmentIn,
    AssignmentOut,
    DelayStatsOut,
    GapReport,
    MobilityIn,
    MobilityOut,
    MobilityStepIn,
    NormLineIn,
    NormVersionIn,
    NormVersionOut,
    OverviewOut,
    ProfessionalFile,
    ProfessionalIn,
    ProfessionalPage,
    ProfessionalUpdate,
    QualificationIn,
    QualificationOut,
    RosterOut,
    ShiftCancel,
    ShiftIn,
    ShiftOut,
)

router = APIRouter(prefix="/api/v1/workforce", tags=["workforce"])


@router.get("/overview", response_model=OverviewOut)
def overview(db: SessionDep, principal: ApiPrincipal, as_of: date | None = None) -> OverviewOut:
    return service.overview(db, principal, as_of=as_of)


@router.get("/professionals", response_model=ProfessionalPage)
def list_professionals(
    db: SessionDep,
    principal: ApiPrincipal,
    q: Annotated[str | None, Query(max_length=100, description="nom ou INPE")] = None,
    category: Category | None = None,
    specialty: Annotated[str | None, Query(max_length=40)] = None,
    establishment: Annotated[str | None, Query(max_length=40)] = None,
    province: Annotated[str | None, Query(max_length=8)] = None,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> ProfessionalPage:
    filters = service.ProfessionalFilter(q, category, specialty, establishment, province)
    return service.search_professionals(db, principal, filters, page, page_size)


@router.post("/professionals", response_model=ProfessionalFile, status_code=201)
def create_professional(
    db: SessionDep, principal: ApiPrincipal, body: ProfessionalIn
) -> ProfessionalFile:
    created = service.create_professional(db, principal, body)
    return service.professional_file(db, principal, created.id)


@router.get("/professionals/{professional_id}", response_model=ProfessionalFile)
def professional_file(
    db: SessionDep, principal: ApiPrincipal, professional_id: int
) -> ProfessionalFile:
    """The professional's file (FHIR Practitioner with its PractitionerRoles)."""
    return service.professional_file(db, principal, professional_id)


@router.patch("/professionals/{professional_id}", response_model=ProfessionalFile)
def update_professional(
    db: SessionDep, principal: ApiPrincipal, professional_id: int, body: ProfessionalUpdate
) -> ProfessionalFile:
    service.update_professional(db, principal, professional_id, body)
    return service.professional_file(db, principal, professional_id)


@router.post(
    "/professionals/{professional_id}/qualifications",
    response_model=QualificationOut,
    status_code=201,
)
def add_qualification(
    db: SessionDep, principal: ApiPrincipal, professional_id: int, body: QualificationIn
) -> QualificationOut:
    return service.add_qualification(db, principal, professional_id, body)


@router.post(
    "/professionals/{professional_id}/assignments", response_model=AssignmentOut, status_code=201
)
def assign(
    db: SessionDep, principal: ApiPrincipal, professional_id: int, body: AssignmentIn
) -> AssignmentOut:
    return service.assign(db, principal, professional_id, body)


@router.post("/assignments/{assignment_id}/end", response_model=AssignmentOut)
def end_assignment(
    db: SessionDep, principal: ApiPrincipal, assignment_id: int, body: AssignmentEnd
) -> AssignmentOut:
    return service.end_assignment(db, principal, assignment_id, body)


@router.get("/establishments/{code}/staff", response_model=list[AssignmentOut])
def establishment_staff(
    db: SessionDep, principal: ApiPrincipal, code: str, as_of: date | None = None
) -> list[AssignmentOut]:
    return [line.assignment for line in service.establishment_staff(db, principal, code, as_of)]


@router.get("/rosters/{code}/{specialty}", response_model=RosterOut)
def roster(
    db: SessionDep,
    principal: ApiPrincipal,
    code: str,
    specialty: str,
    month: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$")] = None,
) -> RosterOut:
    return service.roster(db, principal, code, specialty, month)


@router.post("/shifts", response_model=ShiftOut, status_code=201)
def add_shift(db: SessionDep, principal: ApiPrincipal, body: ShiftIn) -> ShiftOut:
    return service.add_shift(db, principal, body)


@router.post("/shifts/{shift_id}/cancel", response_model=ShiftOut)
def cancel_shift(
    db: SessionDep, principal: ApiPrincipal, shift_id: int, body: ShiftCancel
) -> ShiftOut:
    return service.cancel_shift(db, principal, shift_id, body)


@router.get("/mobility", response_model=list[MobilityOut])
def mobility_inbox(
    db: SessionDep,
    principal: ApiPrincipal,
    state: MobilityState | None = None,
    mine: bool = True,
) -> list[MobilityOut]:
    """The requests awaiting the caller's step (``mine``), or all those of their scope."""
    return service.mobility_inbox(db, principal, state=state, mine=mine)


@router.post("/mobility", response_model=MobilityOut, status_code=201)
def submit_mobility(db: SessionDep, principal: ApiPrincipal, body: MobilityIn) -> MobilityOut:
    return service.submit_mobility(db, principal, body)


@router.get("/mobility/delays", response_model=DelayStatsOut)
def mobility_delays(db: SessionDep, principal: ApiPrincipal) -> DelayStatsOut:
    return service.mobility_delays(db, principal)


@router.get("/mobility/{request_id}", response_model=MobilityOut)
def get_mobility(db: SessionDep, principal: ApiPrincipal, request_id: int) -> MobilityOut:
    return service.get_mobility(db, principal, request_id)


@router.post("/mobility/{request_id}/steps", response_model=MobilityOut)
def mobility_step(
    db: SessionDep, principal: ApiPrincipal, request_id: int, body: MobilityStepIn
) -> MobilityOut:
    return service.mobility_step(db, principal, request_id, body)


@router.get("/norms", response_model=list[NormVersionOut])
def norm_versions(db: SessionDep, principal: ApiPrincipal) -> list[NormVersionOut]:
    return service.list_norm_versions(db, principal)


@router.get("/norms/{number}", response_model=list[NormLineIn])
def norm_lines(db: SessionDep, principal: ApiPrincipal, number: int) -> list[NormLineIn]:
    _, lines = service.norm_lines(db, principal, number)
    return [service.norm_line_in(line) for line in lines]


@router.post("/norms", response_model=NormVersionOut, status_code=201)
def amend_norms(db: SessionDep, principal: ApiPrincipal, body: NormVersionIn) -> NormVersionOut:
    """A new version of the norms from the current one; past versions never change."""
    return service.amend_norms(db, principal, body)


@router.get("/gaps", response_model=GapReport)
def gaps(
    db: SessionDep,
    principal: ApiPrincipal,
    as_of: date | None = None,
    version: Annotated[int | None, Query(ge=1)] = None,
    specialty: Annotated[str | None, Query(max_length=40)] = None,
    category: Category | None = None,
    province: Annotated[str | None, Query(max_length=8)] = None,
    lines: bool = True,
) -> GapReport:
    """Staff against the norm by establishment, province and region (reproducible by version)."""
    return service.gap_report(
        db,
        principal,
        as_of=as_of,
        version=version,
        service=specialty,
        category=category,
        province=province,
        with_lines=lines,
    )
