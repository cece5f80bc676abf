"""Request dependencies shared by every context's routes.

``SessionDep`` is the unit of work of one request; ``ApiPrincipal`` accepts a
bearer token or the session cookie (with the CSRF header for unsafe methods);
``PageUser`` accepts the session cookie only and sends the browser to the
login page when it is missing or expired.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from parcours.access import service as access
from parcours.access.rules import Principal
from parcours.errors import Unauthenticated

SESSION_COOKIE = "parcours_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class LoginRequired(Exception):
    """A page needs a signed-in user; the handler redirects to the login page."""

    def __init__(self, reason: str = "") -> None:
        super().__init__(reason)
        self.reason = reason


def get_db(request: Request) -> Iterator[Session]:
    factory: sessionmaker[Session] = request.app.state.session_factory
    session = factory()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


SessionDep = Annotated[Session, Depends(get_db)]


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _api_principal(request: Request, db: SessionDep) -> Principal:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return access.resolve_token(db, header[7:].strip(), client_ip(request))
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise Unauthenticated("Authentification requise.", code="authentication_required")
    active = access.resolve_session(db, cookie, client_ip(request))
    if request.method not in SAFE_METHODS:
        access.check_csrf(active.csrf_token, request.headers.get(CSRF_HEADER))
    return active.principal


ApiPrincipal = Annotated[Principal, Depends(_api_principal)]


def _page_user(request: Request, db: SessionDep) -> access.ActiveSession:
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise LoginRequired()
    try:
        active = access.resolve_session(db, cookie, client_ip(request))
    except Unauthenticated as exc:
        raise LoginRequired(exc.code) from exc
    request.state.user = active
    return active


PageUser = Annotated[access.ActiveSession, Depends(_page_user)]


async def form_with_csrf(request: Request, user: PageUser) -> dict[str, str]:
    """The submitted form, once its CSRF token matches the session's."""
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    access.check_csrf(user.csrf_token, fields.get("csrf_token"))
    return fields


CheckedForm = Annotated[dict[str, str], Depends(form_with_csrf)]
