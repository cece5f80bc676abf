"""JSON routes of the care pathways (``/api/v1``): referrals, routing, the map, beds, timeline."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from parcours.pathways import service
from parcours.pathways.referral import Priority
from parcours.pathways.schemas import (
    CensusOut,
    DischargeIn,
    EncounterIn,
    EncounterOut,
    InboxOut,
    InboxPages,
    MapChangeIn,
    MapVersionOut,
    PathwayMapOut,
    ReferralIn,
    ReferralOut,
    RoutingOut,
    TimelineOut,
    TransitionIn,
)
from parcours.web.deps import ApiPrincipal, SessionDep

router = APIRouter(prefix="/api/v1", tags=["pathways"])

Code = Annotated[str, Query(min_length=1, max_length=40)]


@router.post("/referrals", response_model=ReferralOut, status_code=201)
def create_referral(db: SessionDep, principal: ApiPrincipal, body: ReferralIn) -> ReferralOut:
    """Draft a referral and send it (``send: false`` keeps a draft).

    Without ``destination`` the referral goes where the pathway map designates.
    """
    return service.create_referral(db, principal, body)


@router.get("/referrals/{referral_id}", response_model=ReferralOut)
def get_referral(db: SessionDep, principal: ApiPrincipal, referral_id: int) -> ReferralOut:
    """A referral with its whole history and the actions the caller may take now."""
    return service.get_referral(db, principal, referral_id)


@router.post("/referrals/{referral_id}/transitions", response_model=ReferralOut)
def transition(
    db: SessionDep, principal: ApiPrincipal, referral_id: int, body: TransitionIn
) -> ReferralOut:
    """Move a referral: 409 when the state forbids the action or somebody acted first,
    422 when an input is missing, 403 when the caller acts for the wrong side."""
    return service.transition(db, principal, referral_id, body)


@router.get("/routing", response_model=RoutingOut)
def routing(
    db: SessionDep,
    principal: ApiPrincipal,
    source: Annotated[str, Query(alias="from", min_length=1, max_length=40)],
    specialty: Code,
    priority: Priority = Priority.ROUTINE,
    needs_bed: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> RoutingOut:
    """Where to refer now: the map's designation first, then alternatives with their reasons."""
    return service.route(
        db, principal, source, specialty, priority, needs_bed=needs_bed, limit=limit
    )


@router.get("/pathway-map", response_model=PathwayMapOut)
def pathway_map(
    db: SessionDep,
    principal: ApiPrincipal,
    specialty: Code,
    start: datetime | None = None,
    end: datetime | None = None,
) -> PathwayMapOut:
    """A specialty's network: designated arrows, referral volumes over the period, bypasses."""
    return service.draw_map(db, principal, specialty, start=start, end=end)


@router.get("/pathway-map/versions", response_model=list[MapVersionOut])
def map_versions(db: SessionDep, principal: ApiPrincipal) -> list[MapVersionOut]:
    return service.list_map_versions(db, principal)


@router.post("/pathway-map/versions", response_model=MapVersionOut, status_code=201)
def amend_map(db: SessionDep, principal: ApiPrincipal, body: MapChangeIn) -> MapVersionOut:
    """Publish a new version of the map (regional administration), with its reason."""
    return service.amend_map(db, principal, body)


@router.get("/persons/{person_id}/timeline", response_model=TimelineOut)
def timeline(
    db: SessionDep,
    principal: ApiPrincipal,
    person_id: str,
    reason: Annotated[
        str | None, Query(max_length=500, description="motif d'un accès hors périmètre")
    ] = None,
) -> TimelineOut:
    return service.timeline(db, principal, person_id, reason=reason)


@router.get("/establishments/{code}/inbox", response_model=InboxOut)
def inbox(
    db: SessionDep,
    principal: ApiPrincipal,
    code: str,
    pages: Annotated[InboxPages, Query()],
) -> InboxOut:
    """Referrals to answer, referrals awaiting an answer or a report, reports come back;
    each list a page of ``page_size`` (``incoming``, ``outgoing``, ``counter_referrals`` say
    which page)."""
    return service.inbox(db, principal, code, pages=pages)


@router.post("/encounters", response_model=EncounterOut, status_code=201)
def record_encounter(db: SessionDep, principal: ApiPrincipal, body: EncounterIn) -> EncounterOut:
    """A consultation, an emergency visit or an admission (409 when the service is full)."""
    return service.record_encounter(db, principal, body)


@router.post("/encounters/{encounter_id}/discharge", response_model=EncounterOut)
def discharge(
    db: SessionDep, principal: ApiPrincipal, encounter_id: int, body: DischargeIn
) -> EncounterOut:
    return service.discharge(db, principal, encounter_id, body)


@router.get("/beds", response_model=CensusOut)
def beds(
    db: SessionDep,
    principal: ApiPrincipal,
    establishment: str | None = None,
    province: str | None = None,
    specialty: str | None = None,
) -> CensusOut:
    """Declared, occupied and free beds by service across the region."""
    return service.census(
        db, principal, establishment=establishment, province=province, specialty=specialty
    )
