"""HTML routes of the access context: login and logout, the users' administration, the audit trail.

The administration pages call the same use cases as the JSON API
(``service.create_user``, ``service.set_active``, ``audit.list_events``); a
refused request comes back on the page with the service's own message.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping, Sequence
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session
from starlette.responses import Response

from parcours.access import audit, service
from parcours.access.rules import GRANTABLE_ROLES, Permission, Principal, Role, Scope, ScopeKind
from parcours.config import get_settings
from parcours.errors import DomainError, Unauthenticated
from parcours.territory import service as territory
from parcours.web.deps import SESSION_COOKIE, CheckedForm, PageUser, SessionDep, client_ip
from parcours.web.i18n import gettext_ as _
from parcours.web.pages import explain, pager
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
    context: dict[str, object] = {
        "csrf_token": token,
        "next": next_,
        "error": error,
        "expired": reason == "session_expired",
    }
    if request.method == "POST":
        # A refused sign-in answers the POST: the language switch must lead back to this
        # form (and where it was going), not to a page that would bounce to it again.
        context["page_url"] = f"/login?next={quote(next_, safe='/')}"
    response = render(request, "access/login.html", context, status_code=status)
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


# --- users -----------------------------------------------------------------


def _users_page(
    request: Request,
    db: Session,
    principal: Principal,
    *,
    form: Mapping[str, str] | None = None,
    problems: Sequence[str] = (),
    status_code: int = 200,
) -> Response:
    province_of = territory.province_of_establishments(db)
    users = service.list_users(db, principal, province_of)
    return render(
        request,
        "access/users.html",
        {
            "users": [(u, service.scope_of(u), Role(u.role)) for u in users],
            "roles": [r for r in Role if r in GRANTABLE_ROLES.get(principal.role, frozenset())],
            "scope_kinds": list(ScopeKind),
            "provinces": territory.list_provinces(db),
            "form": form or {"scope_kind": principal.scope.kind.value},
            "problems": problems,
            "created": request.query_params.get("created"),
            "me": principal.username,
            "page_url": "/admin/users",
        },
        status_code=status_code,
    )


@router.get("/admin/users")
def users_page(request: Request, db: SessionDep, user: PageUser) -> Response:
    service.require(user.principal, Permission.USERS_MANAGE)
    return _users_page(request, db, user.principal)


def _parse_scope(form: Mapping[str, str], problems: list[str]) -> Scope | None:
    try:
        kind = ScopeKind((form.get("scope_kind") or "gst").strip())
    except ValueError:
        problems.append(_("Périmètre inconnu."))
        return None
    raw = (form.get("scope_codes") or "").replace(";", ",").replace(" ", ",")
    codes = frozenset(c.strip().upper() for c in raw.split(",") if c.strip())
    if kind is ScopeKind.GST:
        return Scope(kind)
    if not codes:
        problems.append(_("Indiquez au moins un code de province ou d'établissement."))
        return None
    return Scope(kind, codes)


@router.post("/admin/users")
def users_create(request: Request, db: SessionDep, user: PageUser, form: CheckedForm) -> Response:
    principal = user.principal
    service.require(principal, Permission.USERS_MANAGE)
    kept = {k: v for k, v in form.items() if k not in ("password", "csrf_token")}
    problems: list[str] = []
    try:
        role = Role(form.get("role") or "")
    except ValueError:
        problems.append(_("Choisissez un rôle."))
    scope = _parse_scope(form, problems)
    if problems or scope is None:
        return _users_page(request, db, principal, form=kept, problems=problems, status_code=422)
    try:
        created = service.create_user(
            db,
            principal,
            username=form.get("username") or "",
            password=form.get("password") or "",
            role=role,
            scope=scope,
            full_name=(form.get("full_name") or "").strip()[:200],
            province_of=territory.province_of_establishments(db),
            province_codes={p.code for p in territory.list_provinces(db)},
        )
    except DomainError as exc:
        db.rollback()
        return _users_page(
            request, db, principal, form=kept, problems=[explain(exc)], status_code=exc.status_code
        )
    return RedirectResponse(f"/admin/users?created={quote(created.username)}", status_code=303)


@router.post("/admin/users/{username}/active")
def users_set_active(
    request: Request, db: SessionDep, user: PageUser, form: CheckedForm, username: str
) -> Response:
    principal = user.principal
    try:
        service.set_active(
            db,
            principal,
            username,
            form.get("active") == "1",
            territory.province_of_establishments(db),
            reason=(form.get("reason") or "").strip()[:1000] or None,
        )
    except DomainError as exc:
        db.rollback()
        if not principal.can(Permission.USERS_MANAGE):
            raise
        return _users_page(
            request, db, principal, problems=[explain(exc)], status_code=exc.status_code
        )
    return RedirectResponse("/admin/users", status_code=303)


# --- audit -----------------------------------------------------------------

AUDIT_PAGE_SIZE = 50


@router.get("/admin/audit")
def audit_page(request: Request, db: SessionDep, user: PageUser) -> Response:
    service.require(user.principal, Permission.AUDIT_READ)
    params = request.query_params
    filters = {
        name: (params.get(name) or "").strip()[:120]
        for name in ("actor", "entity_type", "entity_id")
    }
    try:
        page = max(int(params.get("page") or 1), 1)
    except ValueError:
        page = 1
    total, events = audit.list_events(
        db,
        actor=filters["actor"] or None,
        entity_type=filters["entity_type"] or None,
        entity_id=filters["entity_id"] or None,
        limit=AUDIT_PAGE_SIZE,
        offset=(page - 1) * AUDIT_PAGE_SIZE,
    )
    kept = {k: v for k, v in filters.items() if v}
    report = audit.verify(db) if params.get("verify") else None
    return render(
        request,
        "access/audit.html",
        {
            "events": events,
            "total": total,
            "filters": filters,
            "pager": pager("/admin/audit", kept, page, AUDIT_PAGE_SIZE, total),
            "report": report,
        },
    )
