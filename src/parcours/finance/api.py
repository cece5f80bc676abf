"""JSON routes of the GST's finance (``/api/v1/finance``): budget lines and their ledger,
transfers, the execution table and its exports, action programmes, reform projects.

Amounts travel as strings ("1234.50"): a JSON number would be a float on many clients.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from starlette.responses import Response

from parcours.finance import export, service
from parcours.finance.rules import Chapter, TransferState
from parcours.finance.schemas import (
    ActionIn,
    ActionOut,
    ActionUpdate,
    CounterIn,
    DecisionIn,
    ExecutionReport,
    LineFile,
    LineIn,
    LineOut,
    MovementIn,
    MovementOut,
    ProgrammeFile,
    ProgrammeIn,
    ProgrammeOut,
    ProgrammeSummary,
    ProjectIn,
    ProjectOut,
    ProjectPortfolio,
    ProjectReportIn,
    TransferIn,
    TransferOut,
)
from parcours.web.deps import ApiPrincipal, SessionDep

router = APIRouter(prefix="/api/v1/finance", tags=["finance"])

Year = Annotated[int, Query(ge=2000, le=2100)]
Unit = Annotated[str | None, Query(max_length=40, description="code, or GST for the HQ")]


@router.get("/lines", response_model=list[LineOut])
def list_lines(
    db: SessionDep,
    principal: ApiPrincipal,
    year: Year,
    establishment: Unit = None,
    chapter: Chapter | None = None,
) -> list[LineOut]:
    return service.list_lines(
        db, principal, year=year, establishment=establishment, chapter=chapter
    )


@router.post("/lines", response_model=LineOut, status_code=201)
def create_line(db: SessionDep, principal: ApiPrincipal, body: LineIn) -> LineOut:
    return service.create_line(db, principal, body)


@router.get("/lines/{line_id}", response_model=LineFile)
def line_file(db: SessionDep, principal: ApiPrincipal, line_id: int) -> LineFile:
    """The line's totals and its latest movements (newest first)."""
    return service.line_file(db, principal, line_id)


@router.post("/lines/{line_id}/movements", response_model=MovementOut, status_code=201)
def record_movement(
    db: SessionDep, principal: ApiPrincipal, line_id: int, body: MovementIn
) -> MovementOut:
    """Allocation, amendment, commitment, de-commitment, payment order or payment; an
    overrun is refused (409, ``credit_exceeded``)."""
    return service.record_movement(db, principal, line_id, body)


@router.post("/movements/{movement_id}/counter-entry", response_model=MovementOut, status_code=201)
def counter_entry(
    db: SessionDep, principal: ApiPrincipal, movement_id: int, body: CounterIn
) -> MovementOut:
    return service.counter_entry(db, principal, movement_id, body)


@router.get("/transfers", response_model=list[TransferOut])
def list_transfers(
    db: SessionDep, principal: ApiPrincipal, state: TransferState | None = None
) -> list[TransferOut]:
    return service.list_transfers(db, principal, state=state)


@router.post("/transfers", response_model=TransferOut, status_code=201)
def request_transfer(db: SessionDep, principal: ApiPrincipal, body: TransferIn) -> TransferOut:
    return service.request_transfer(db, principal, body)


@router.post("/transfers/{transfer_id}/decision", response_model=TransferOut)
def decide_transfer(
    db: SessionDep, principal: ApiPrincipal, transfer_id: int, body: DecisionIn
) -> TransferOut:
    """Approve or reject, with a reason, by someone other than the requester."""
    return service.decide_transfer(db, principal, transfer_id, body)


@router.get("/execution", response_model=ExecutionReport)
def execution(
    db: SessionDep,
    principal: ApiPrincipal,
    year: Year,
    establishment: Unit = None,
    through_month: Annotated[int | None, Query(ge=1, le=12)] = None,
) -> ExecutionReport:
    return service.execution(
        db, principal, year=year, establishment=establishment, through_month=through_month
    )


@router.get("/execution/export")
def execution_export(
    db: SessionDep,
    principal: ApiPrincipal,
    year: Year,
    format: Literal["csv", "xlsx"] = "xlsx",
    establishment: Unit = None,
    through_month: Annotated[int | None, Query(ge=1, le=12)] = None,
) -> Response:
    """The execution table as CSV or XLSX, from the same report as the page."""
    report = service.execution(
        db, principal, year=year, establishment=establishment, through_month=through_month
    )
    return export_response(report, format)


def export_response(report: ExecutionReport, format: str) -> Response:
    name = f"execution-{report.year}-{report.through_month:02d}"
    if format == "csv":
        return Response(
            export.execution_csv(report).encode("utf-8"),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    return Response(
        export.execution_xlsx(report),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
    )


@router.get("/programmes", response_model=ProgrammeSummary)
def programmes(db: SessionDep, principal: ApiPrincipal) -> ProgrammeSummary:
    """Every programme with its counts, the actions by establishment, the late actions."""
    return service.programme_summary(db, principal)


@router.post("/programmes", response_model=ProgrammeOut, status_code=201)
def create_programme(db: SessionDep, principal: ApiPrincipal, body: ProgrammeIn) -> ProgrammeOut:
    return service.create_programme(db, principal, body)


@router.get("/programmes/{code}", response_model=ProgrammeFile)
def programme(db: SessionDep, principal: ApiPrincipal, code: str) -> ProgrammeFile:
    return service.programme_file(db, principal, code)


@router.post("/programmes/{code}/actions", response_model=ActionOut, status_code=201)
def add_action(db: SessionDep, principal: ApiPrincipal, code: str, body: ActionIn) -> ActionOut:
    return service.add_action(db, principal, code, body)


@router.get("/actions/{action_id}", response_model=ActionOut)
def get_action(db: SessionDep, principal: ApiPrincipal, action_id: int) -> ActionOut:
    return service.get_action(db, principal, action_id)


@router.post("/actions/{action_id}/updates", response_model=ActionOut)
def update_action(
    db: SessionDep, principal: ApiPrincipal, action_id: int, body: ActionUpdate
) -> ActionOut:
    return service.update_action(db, principal, action_id, body)


@router.get("/projects", response_model=ProjectPortfolio)
def projects(db: SessionDep, principal: ApiPrincipal) -> ProjectPortfolio:
    return service.portfolio(db, principal)


@router.post("/projects", response_model=ProjectOut, status_code=201)
def create_project(db: SessionDep, principal: ApiPrincipal, body: ProjectIn) -> ProjectOut:
    return service.create_project(db, principal, body)


@router.get("/projects/{code}", response_model=ProjectOut)
def project(db: SessionDep, principal: ApiPrincipal, code: str) -> ProjectOut:
    return service.get_project(db, principal, code)


@router.post("/projects/{code}/reports", response_model=ProjectOut)
def report_project(
    db: SessionDep, principal: ApiPrincipal, code: str, body: ProjectReportIn
) -> ProjectOut:
    """A progress report; delivering an infrastructure project opens its establishment."""
    return service.report_project(db, principal, code, body)
