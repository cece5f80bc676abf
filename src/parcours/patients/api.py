"""JSON routes of the master patient index (``/api/v1``)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from parcours.patients import service
from parcours.patients.schemas import (
    CandidateOut,
    DecisionIn,
    LinkEventOut,
    LinkIn,
    PersonOut,
    PersonPage,
    ReasonIn,
    RecordIn,
    Registration,
    ReviewOut,
    ReviewPage,
)
from parcours.web.deps import ApiPrincipal, SessionDep

router = APIRouter(prefix="/api/v1", tags=["patients"])


@router.post("/patients/records", response_model=Registration, status_code=201)
def register_record(db: SessionDep, principal: ApiPrincipal, body: RecordIn) -> Registration:
    """Register a record at an establishment; the answer gives its person and the decision."""
    return service.register_record(db, principal, body)


@router.post("/patients/match", response_model=list[CandidateOut])
def match_demographics(
    db: SessionDep,
    principal: ApiPrincipal,
    body: RecordIn,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> list[CandidateOut]:
    """Candidates with scores and explanations, without registering anything."""
    return service.match_demographics(db, principal, body, limit)


@router.get("/persons", response_model=PersonPage)
def search_persons(
    db: SessionDep,
    principal: ApiPrincipal,
    q: Annotated[str | None, Query(max_length=120, description="nom et prénom")] = None,
    cin: Annotated[str | None, Query(max_length=32)] = None,
    amo_number: Annotated[str | None, Query(max_length=32)] = None,
    birth_date: Annotated[str | None, Query(max_length=10, description="AAAA[-MM[-JJ]]")] = None,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 20,
) -> PersonPage:
    return service.search_persons(
        db,
        principal,
        q=q,
        cin=cin,
        amo_number=amo_number,
        birth_date=birth_date,
        page=page,
        page_size=page_size,
    )


@router.get("/persons/{person_id}", response_model=PersonOut)
def get_person(
    db: SessionDep,
    principal: ApiPrincipal,
    person_id: str,
    reason: Annotated[
        str | None, Query(max_length=500, description="motif d'un accès hors périmètre")
    ] = None,
) -> PersonOut:
    return service.get_person(db, principal, person_id, reason=reason)


@router.post("/persons/{person_id}/links", response_model=LinkEventOut, status_code=201)
def link_record(
    db: SessionDep, principal: ApiPrincipal, person_id: str, body: LinkIn
) -> LinkEventOut:
    return service.link_record(db, principal, body.record_key, person_id, body.reason)


@router.post("/patients/records/{record_key}/unlink", response_model=LinkEventOut)
def unlink_record(
    db: SessionDep, principal: ApiPrincipal, record_key: str, body: ReasonIn
) -> LinkEventOut:
    return service.unlink_record(db, principal, record_key, body.reason)


@router.post("/patients/link-events/{event_id}/undo", response_model=LinkEventOut)
def undo_event(
    db: SessionDep, principal: ApiPrincipal, event_id: int, body: ReasonIn
) -> LinkEventOut:
    return service.undo_event(db, principal, event_id, body.reason)


@router.get("/mpi/reviews", response_model=ReviewPage)
def list_reviews(
    db: SessionDep,
    principal: ApiPrincipal,
    status: Literal["open", "linked", "kept_apart"] = "open",
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 20,
) -> ReviewPage:
    return service.list_reviews(db, principal, status=status, page=page, page_size=page_size)


@router.get("/mpi/reviews/{review_id}", response_model=ReviewOut)
def get_review(db: SessionDep, principal: ApiPrincipal, review_id: int) -> ReviewOut:
    return service.get_review(db, principal, review_id)


@router.post("/mpi/reviews/{review_id}/decision", response_model=ReviewOut)
def decide_review(
    db: SessionDep, principal: ApiPrincipal, review_id: int, body: DecisionIn
) -> ReviewOut:
    return service.decide_review(db, principal, review_id, body.decision, body.reason)
