"""Pages that belong to no context: the home redirect and the health probe."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import RedirectResponse
from sqlalchemy import text

from parcours.web.deps import SessionDep

router = APIRouter()


@router.get("/", include_in_schema=False)
def home() -> RedirectResponse:
    return RedirectResponse("/overview", status_code=303)


@router.get("/healthz", include_in_schema=False)
def health(db: SessionDep) -> dict[str, str]:
    db.execute(text("SELECT 1"))
    return {"status": "ok"}
