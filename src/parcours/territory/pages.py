"""HTML routes of the establishment registry (placeholder until the pages land)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from parcours.territory import service
from parcours.web.deps import PageUser, SessionDep
from parcours.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/overview")
def overview(request: Request, db: SessionDep, user: PageUser) -> Response:
    summary = service.summary(db, user.principal)
    return render(request, "territory/overview.html", {"summary": summary})
