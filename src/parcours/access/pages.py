"""HTML routes of the access context: login and logout."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from parcours.access import service
from parcours.config import get_settings
from parcours.errors import Unauthenticated
from parcours.web.deps import SESSION_COOKIE, CheckedForm, SessionDep, client_ip
from parcours.web.templating import render

router = APIRouter(include_in_schema=False)

LOGIN_CSRF_COOKIE = "parcours_login_csrf"


def _safe_next(target: str | None) -> str:
    """Only same-site paths: an open redirect would help phishing."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/overview"


def _login_page(request: Request, next_: str, error: str | None, status: int = 200) -> Response:
    token = secrets.token_urlsafe(32)
    reason = request.query_params.get("reason")
    response = render(
        request,
        "access/login.html",
        {
            "csrf_token": token,
            "next": next_,
            "error": error,
            "expired": reason == "session_expired",
        },
        status_code=status,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=get_settings().cookie_secure,
        path="/login",
    )
    return response


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:
    return _login_page(request, _safe_next(next), None)


@router.post("/login")
def login_submit(
    request: Request,
    db: SessionDep,
    username: Annotated[str, Form(max_length=80)],
    password: Annotated[str, Form(max_length=200)],
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=500)] = "/overview",
) -> Response:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, csrf_token):
        return _login_page(
            request, _safe_next(next), "Jeton anti-falsification (CSRF) manquant ou invalide.", 403
        )
    try:
        opened = service.login(
            db,
            username,
            password,
            ip=client_ip(request),
            user_agent=request.headers.get("user-agent"),
        )
    except Unauthenticated as exc:
        return _login_page(request, _safe_next(next), exc.message, 401)
    settings = get_settings()
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        opened.token,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
        max_age=settings.session_absolute_hours * 3600,
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, db: SessionDep, _form: CheckedForm) -> Response:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        service.logout(db, cookie)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
