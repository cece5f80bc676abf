"""JSON routes of the indicators (``/api/v1/indicators``): definitions, values, exports."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from parcours.access.rules import Permission
from parcours.access.service import require
from parcours.indicators import rules, service
from parcours.indicators.rules import Definition, Dimension
from parcours.indicators.schemas import (
    DefinitionIn,
    DefinitionOut,
    MeasureOut,
    MemberValueOut,
    RefreshOut,
    ValueOut,
)
from parcours.web.deps import ApiPrincipal, SessionDep

router = APIRouter(prefix="/api/v1/indicators", tags=["indicators"])

Level = Annotated[str, Query(pattern="^(region|province|establishment)$")]
PeriodQ = Annotated[str | None, Query(max_length=8, description="AAAA-MM, AAAA-T1…T4 ou AAAA")]


def definition_out(info: service.IndicatorInfo) -> DefinitionOut:
    d = info.d
    return DefinitionOut(
        code=d.code,
        name=d.name,
        definition=d.definition,
        numerator=d.numerator,
        denominator=d.denominator,
        unit=d.unit,
        scale=d.scale,
        direction=d.direction,
        theme=d.theme,
        target=d.target,
        dimensions=list(d.dimensions),
        shipped=info.shipped,
        about_persons=info.checked.about_persons,
        measures=sorted(info.checked.measures),
        created_by=info.created_by,
    )


def to_rule(body: DefinitionIn) -> Definition:
    return Definition(
        code=body.code,
        name=body.name,
        definition=body.definition,
        numerator=body.numerator,
        denominator=body.denominator,
        unit=body.unit,
        scale=body.scale,
        direction=body.direction,
        theme=body.theme,
        target=body.target,
        dimensions=tuple(body.dimensions),
    )


@router.get("", response_model=list[DefinitionOut])
def list_definitions(db: SessionDep, principal: ApiPrincipal) -> list[DefinitionOut]:
    require(principal, Permission.AGGREGATES_READ)
    return [definition_out(i) for i in service.list_indicators(db)]


@router.post("", response_model=DefinitionOut, status_code=201)
def create_definition(db: SessionDep, principal: ApiPrincipal, body: DefinitionIn) -> DefinitionOut:
    """Add an indicator; an expression the language refuses gets a 422 naming the fault."""
    return definition_out(service.create_indicator(db, principal, to_rule(body)))


@router.get("/measures", response_model=list[MeasureOut])
def measures(principal: ApiPrincipal) -> list[MeasureOut]:
    """The catalogue the expressions may use."""
    require(principal, Permission.AGGREGATES_READ)
    return [
        MeasureOut(
            code=m.code,
            label=m.label,
            source=m.source.value,
            unit=m.unit.value,
            counted_at=m.unit_of,
            distribution=m.distribution,
            dimensions=sorted(d.value for d in m.dimensions),
            about_persons=m.about_persons,
        )
        for m in rules.MEASURES.values()
    ]


@router.get("/values", response_model=list[ValueOut])
def values(
    db: SessionDep,
    principal: ApiPrincipal,
    level: Level = "region",
    code: Annotated[str | None, Query(max_length=40)] = None,
    period: PeriodQ = None,
) -> list[ValueOut]:
    """Every indicator for one unit and period (small cells: no value, ``suppressed``)."""
    chosen = service.parse_period(period)
    board = service.dashboard(db, principal, level=level, code=code, period=chosen)
    return [
        ValueOut(
            indicator=r.info.d.code,
            name=r.info.d.name,
            unit=r.info.d.unit,
            level=board.unit.level,
            unit_code=board.unit.code,
            period=chosen.key,
            value=None if r.value.shown is None else round(r.value.shown, 4),
            suppressed=r.value.suppressed,
            target=r.info.d.target,
            direction=r.info.d.direction,
        )
        for r in board.rows
    ]


@router.get("/export")
def export(
    db: SessionDep,
    principal: ApiPrincipal,
    format: Annotated[str, Query(pattern="^(adx|json|csv|xlsx)$")] = "adx",
    period: PeriodQ = None,
    data_set: Annotated[str, Query(max_length=40)] = "PARCOURS_GST",
) -> Response:
    """Values of every indicator and unit: ADX, DHIS2 dataValueSets JSON, CSV or XLSX."""
    chosen = service.parse_period(period)
    rows = service.export_rows(db, principal, chosen)
    name = f"indicateurs-{chosen.key}"
    if format == "adx":
        return Response(service.to_adx(rows, chosen, data_set), media_type="application/adx+xml")
    if format == "json":
        body = json.dumps(service.to_data_value_set(rows, chosen, data_set), ensure_ascii=False)
        return Response(body, media_type="application/json")
    if format == "xlsx":
        return Response(
            service.to_xlsx(rows),
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
        )
    return Response(
        service.to_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


@router.post("/refresh", response_model=RefreshOut)
def refresh(db: SessionDep, principal: ApiPrincipal, full: bool = False) -> RefreshOut:
    """Apply what is new since the watermarks now (``full``: rebuild every cell)."""
    require(principal, Permission.INDICATORS_MANAGE)
    out = service.refresh(db, full=full)
    return RefreshOut(
        full=out.full, facts=out.facts, stays_closed=out.stays_closed, seconds=out.seconds
    )


@router.get("/{code}", response_model=DefinitionOut)
def get_definition(db: SessionDep, principal: ApiPrincipal, code: str) -> DefinitionOut:
    require(principal, Permission.AGGREGATES_READ)
    return definition_out(service.get_indicator(db, code))


@router.get("/{code}/breakdown", response_model=list[MemberValueOut])
def breakdown(
    db: SessionDep,
    principal: ApiPrincipal,
    code: str,
    dimension: Dimension,
    level: Level = "region",
    unit: Annotated[str | None, Query(max_length=40)] = None,
    period: PeriodQ = None,
) -> list[MemberValueOut]:
    parts = service.breakdown(
        db,
        principal,
        code,
        level=level,
        unit_code=unit,
        period=service.parse_period(period),
        dimension=dimension,
    )
    return [
        MemberValueOut(
            member=m,
            value=None if v.shown is None else round(v.shown, 4),
            suppressed=v.suppressed,
        )
        for m, v in parts
    ]
