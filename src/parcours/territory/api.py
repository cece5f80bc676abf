"""JSON routes of the establishment registry (``/api/v1``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from parcours.access.rules import Permission
from parcours.access.service import require
from parcours.territory import service
from parcours.territory.rules import Category, EstablishmentType, Status
from parcours.territory.schemas import (
    CloseIn,
    EstablishmentIn,
    EstablishmentOut,
    EstablishmentUpdate,
    Page,
    ProvinceOut,
    SpecialtyOut,
    Summary,
    VersionOut,
)
from parcours.web.deps import ApiPrincipal, SessionDep

router = APIRouter(prefix="/api/v1", tags=["territory"])


@router.get("/establishments", response_model=Page)
def list_establishments(
    db: SessionDep,
    principal: ApiPrincipal,
    q: Annotated[str | None, Query(max_length=100, description="nom ou code")] = None,
    type: EstablishmentType | None = None,
    category: Category | None = None,
    care_level: Annotated[int | None, Query(ge=1, le=4)] = None,
    province: Annotated[str | None, Query(max_length=8)] = None,
    specialty: Annotated[str | None, Query(max_length=40)] = None,
    status: Status | None = None,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page:
    filters = service.EstablishmentFilter(
        q=q,
        type=type,
        category=category,
        care_level=care_level,
        province=province,
        specialty=specialty,
        status=status,
    )
    return service.search_establishments(db, principal, filters, page, page_size)


@router.post("/establishments", response_model=EstablishmentOut, status_code=201)
def create_establishment(
    db: SessionDep, principal: ApiPrincipal, body: EstablishmentIn
) -> EstablishmentOut:
    est = service.create_establishment(db, principal, body)
    return service.to_out(db, est)


@router.get("/establishments/{code}", response_model=EstablishmentOut)
def get_establishment(db: SessionDep, principal: ApiPrincipal, code: str) -> EstablishmentOut:
    return service.get_establishment(db, principal, code)


@router.patch("/establishments/{code}", response_model=EstablishmentOut)
def update_establishment(
    db: SessionDep, principal: ApiPrincipal, code: str, body: EstablishmentUpdate
) -> EstablishmentOut:
    est = service.update_establishment(db, principal, code, body)
    return service.to_out(db, est)


@router.post("/establishments/{code}/close", response_model=EstablishmentOut)
def close_establishment(
    db: SessionDep, principal: ApiPrincipal, code: str, body: CloseIn
) -> EstablishmentOut:
    est = service.close_establishment(db, principal, code, body)
    return service.to_out(db, est)


@router.get("/establishments/{code}/history", response_model=list[VersionOut])
def establishment_history(db: SessionDep, principal: ApiPrincipal, code: str) -> list[VersionOut]:
    return service.history(db, principal, code)


@router.get("/territory/summary", response_model=Summary)
def territory_summary(db: SessionDep, principal: ApiPrincipal) -> Summary:
    return service.summary(db, principal)


@router.get("/territory/provinces", response_model=list[ProvinceOut])
def provinces(db: SessionDep, principal: ApiPrincipal) -> list[ProvinceOut]:
    require(principal, Permission.TERRITORY_READ)
    return [
        ProvinceOut(
            code=p.code,
            name=p.name,
            kind=p.kind,
            chef_lieu=p.chef_lieu,
            population_2024=p.population_2024,
            latitude=p.latitude,
            longitude=p.longitude,
        )
        for p in service.list_provinces(db)
    ]


@router.get("/territory/specialties", response_model=list[SpecialtyOut])
def specialties(db: SessionDep, principal: ApiPrincipal) -> list[SpecialtyOut]:
    require(principal, Permission.TERRITORY_READ)
    return [
        SpecialtyOut(code=s.code, name=s.name, hospital_only=s.hospital_only)
        for s in service.list_specialties(db)
    ]
