"""JSON routes of the access context: who am I, users, tokens and the audit trail."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from parcours.access import audit, service
from parcours.access.models import AuditEvent, User
from parcours.access.rules import ROLE_PERMISSIONS, Permission, Role, Scope
from parcours.access.schemas import (
    AuditEventOut,
    AuditPage,
    MeOut,
    TokenIn,
    TokenOut,
    UserIn,
    UserOut,
    VerifyOut,
)
from parcours.errors import Invalid
from parcours.territory import service as territory
from parcours.web.deps import SESSION_COOKIE, ApiPrincipal, SessionDep

router = APIRouter(prefix="/api/v1", tags=["access"])


def user_out(user: User) -> UserOut:
    scope = service.scope_of(user)
    return UserOut(
        username=user.username,
        full_name=user.full_name,
        role=user.role,
        role_label=Role(user.role).label,
        scope_kind=scope.kind,
        scope_codes=sorted(scope.values),
        active=user.active,
        created_at=user.created_at,
    )


def audit_out(event: AuditEvent) -> AuditEventOut:
    return AuditEventOut(
        id=event.id,
        occurred_at=event.occurred_at,
        actor=event.actor,
        channel=event.channel,
        action=event.action,
        entity_type=event.entity_type,
        entity_id=event.entity_id,
        outcome=event.outcome,
        reason=event.reason,
        ip=event.ip,
        details=event.details,
    )


@router.get("/me", response_model=MeOut)
def me(request: Request, db: SessionDep, principal: ApiPrincipal) -> MeOut:
    csrf = None
    cookie = request.cookies.get(SESSION_COOKIE)
    if principal.channel == "session" and cookie:
        csrf = service.resolve_session(db, cookie).csrf_token
    return MeOut(
        username=principal.username,
        role=principal.role,
        role_label=principal.role.label,
        scope=principal.scope.describe(),
        permissions=sorted(p.value for p in ROLE_PERMISSIONS[principal.role]),
        channel=principal.channel,
        csrf_token=csrf,
    )


@router.get("/users", response_model=list[UserOut])
def list_users(db: SessionDep, principal: ApiPrincipal) -> list[UserOut]:
    province_of = territory.province_of_establishments(db)
    return [user_out(u) for u in service.list_users(db, principal, province_of)]


@router.post("/users", response_model=UserOut, status_code=201)
def create_user(db: SessionDep, principal: ApiPrincipal, body: UserIn) -> UserOut:
    codes = frozenset(c.strip().upper() for c in body.scope_codes if c.strip())
    try:
        scope = Scope(body.scope_kind, codes)
    except ValueError as exc:
        raise Invalid(
            "Périmètre invalide : « gst » ne nomme aucun code, une province ou un "
            "établissement en nomme au moins un.",
            code="invalid_scope",
        ) from exc
    user = service.create_user(
        db,
        principal,
        username=body.username,
        password=body.password,
        role=body.role,
        scope=scope,
        full_name=body.full_name,
        province_of=territory.province_of_establishments(db),
        province_codes={p.code for p in territory.list_provinces(db)},
    )
    return user_out(user)


@router.post("/users/{username}/tokens", response_model=TokenOut, status_code=201)
def issue_token(db: SessionDep, principal: ApiPrincipal, username: str, body: TokenIn) -> TokenOut:
    raw = service.issue_token(
        db,
        principal,
        username,
        label=body.label,
        days=body.days,
        province_of=territory.province_of_establishments(db),
    )
    return TokenOut(token=raw)


@router.get("/audit", response_model=AuditPage)
def list_audit(
    db: SessionDep,
    principal: ApiPrincipal,
    entity_type: Annotated[str | None, Query(max_length=60)] = None,
    entity_id: Annotated[str | None, Query(max_length=120)] = None,
    actor: Annotated[str | None, Query(max_length=120)] = None,
    action: Annotated[str | None, Query(max_length=60)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> AuditPage:
    service.require(principal, Permission.AUDIT_READ)
    total, events = audit.list_events(
        db,
        entity_type=entity_type,
        entity_id=entity_id,
        actor=actor,
        action=action,
        limit=limit,
        offset=offset,
    )
    return AuditPage(total=total, items=[audit_out(e) for e in events])


@router.get("/audit/verify", response_model=VerifyOut)
def verify_audit(db: SessionDep, principal: ApiPrincipal) -> VerifyOut:
    service.require(principal, Permission.AUDIT_READ)
    report = audit.verify(db)
    return VerifyOut(
        ok=report.ok,
        checked=report.checked,
        breaks=[{"event_id": b.event_id, "reason": b.reason} for b in report.breaks],
    )
