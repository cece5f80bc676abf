"""Use cases of the access context: users, login, sessions and API tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from parcours.access import audit
from parcours.access.models import ApiToken, User, UserScopeItem, UserSession
from parcours.access.passwords import MIN_LENGTH, hash_password, needs_rehash, verify_password
from parcours.access.rules import (
    GRANTABLE_ROLES,
    Permission,
    Principal,
    Role,
    Scope,
    ScopeKind,
)
from parcours.config import get_settings
from parcours.db import utcnow
from parcours.errors import Conflict, Forbidden, Invalid, NotFound, Unauthenticated

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
TOKEN_PREFIX = "pcr_"  # noqa: S105 - a visible prefix, not a secret


def _sha256(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def scope_of(user: User) -> Scope:
    kind = ScopeKind(user.scope_kind)
    return Scope(kind, frozenset(item.code for item in user.scope_items))


def principal_of(user: User, channel: str, ip: str | None = None) -> Principal:
    return Principal(user.id, user.username, Role(user.role), scope_of(user), channel, ip)


def require(principal: Principal, permission: Permission) -> None:
    if not principal.can(permission):
        raise Forbidden(
            "Votre rôle ne permet pas cette action ({permission}).",
            code="permission_denied",
            permission=permission.value,
        )


# --- users -----------------------------------------------------------------


def get_user(session: Session, username: str) -> User:
    user = session.scalars(select(User).where(User.username == username)).one_or_none()
    if user is None:
        raise NotFound(
            "Utilisateur introuvable : {username}", code="user_not_found", username=username
        )
    return user


def _check_grant(
    actor: Principal, role: Role, scope: Scope, province_of: Mapping[str, str]
) -> None:
    require(actor, Permission.USERS_MANAGE)
    if role not in GRANTABLE_ROLES.get(actor.role, frozenset()):
        raise Forbidden(
            "Vous ne pouvez pas attribuer le rôle {role}.",
            code="role_not_grantable",
            role=role.label,
        )
    if not actor.scope.contains(scope, province_of):
        raise Forbidden("Ce périmètre dépasse le vôtre.", code="scope_not_grantable")


def _check_codes(scope: Scope, known_codes: Mapping[str, str] | set[str]) -> None:
    unknown = sorted(code for code in scope.values if code not in known_codes)
    if unknown:
        raise Invalid(
            "Codes inconnus dans le périmètre : {codes}",
            code="unknown_scope_codes",
            codes=", ".join(unknown),
        )


def create_user(
    session: Session,
    actor: Principal,
    *,
    username: str,
    password: str,
    role: Role,
    scope: Scope,
    full_name: str = "",
    province_of: Mapping[str, str],
    province_codes: set[str],
) -> User:
    """Create a user; ``province_of`` maps every establishment code to its province."""
    _check_grant(actor, role, scope, province_of)
    known = province_codes if scope.kind is ScopeKind.PROVINCE else province_of
    _check_codes(scope, known)
    username = username.strip().lower()
    if (
        not username
        or len(username) > 80
        or not username.replace(".", "").replace("-", "").replace("_", "").isalnum()
    ):
        raise Invalid(
            "Identifiant invalide : lettres, chiffres, « . », « - » et « _ » seulement.",
            code="invalid_username",
        )
    if len(password) < MIN_LENGTH:
        raise Invalid(
            "Le mot de passe doit compter au moins {n} caractères.",
            code="password_too_short",
            n=MIN_LENGTH,
        )
    if session.scalars(select(User.id).where(User.username == username)).first() is not None:
        raise Conflict(
            "L'identifiant {username} existe déjà.", code="username_taken", username=username
        )
    user = User(
        username=username,
        full_name=full_name,
        password_hash=hash_password(password),
        role=role.value,
        scope_kind=scope.kind.value,
        created_at=utcnow(),
        scope_items=[UserScopeItem(code=code) for code in sorted(scope.values)],
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor,
        "user.create",
        "user",
        username,
        details={"role": role.value, "scope": scope.describe()},
    )
    session.commit()
    return user


def list_users(session: Session, actor: Principal, province_of: Mapping[str, str]) -> list[User]:
    """The users an administrator may see: those whose scope lies inside theirs."""
    require(actor, Permission.USERS_MANAGE)
    users = session.scalars(select(User).order_by(User.username)).all()
    return [u for u in users if actor.scope.contains(scope_of(u), province_of)]


def set_active(
    session: Session,
    actor: Principal,
    username: str,
    active: bool,
    province_of: Mapping[str, str],
    reason: str | None = None,
) -> User:
    user = get_user(session, username)
    _check_grant(actor, Role(user.role), scope_of(user), province_of)
    if user.id == actor.user_id and not active:
        raise Conflict(
            "Vous ne pouvez pas désactiver votre propre compte.", code="self_deactivation"
        )
    user.active = active
    if not active:
        _revoke_sessions(session, user.id)
    audit.record(
        session,
        actor,
        "user.activate" if active else "user.deactivate",
        "user",
        username,
        reason=reason,
    )
    session.commit()
    return user


def _revoke_sessions(session: Session, user_id: int) -> None:
    for open_session in session.scalars(
        select(UserSession).where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
    ):
        open_session.revoked_at = utcnow()


def set_password(
    session: Session,
    actor: Principal,
    username: str,
    password: str,
    *,
    province_of: Mapping[str, str],
) -> None:
    """Change one's own password, or reset another's within what one may grant.

    Resetting a password takes over the account, so an administrator may do it
    only for a user they could have created (role and scope within their own).
    """
    user = get_user(session, username)
    if actor.user_id != user.id:
        _check_grant(actor, Role(user.role), scope_of(user), province_of)
    if len(password) < MIN_LENGTH:
        raise Invalid(
            "Le mot de passe doit compter au moins {n} caractères.",
            code="password_too_short",
            n=MIN_LENGTH,
        )
    user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    # A new password ends the sessions opened with the old one (a stolen one among them).
    _revoke_sessions(session, user.id)
    audit.record(session, actor, "user.password", "user", username)
    session.commit()


# --- login and sessions ----------------------------------------------------


@dataclass(frozen=True)
class OpenedSession:
    token: str
    csrf_token: str
    principal: Principal


def login(
    session: Session,
    username: str,
    password: str,
    *,
    ip: str | None = None,
    user_agent: str | None = None,
) -> OpenedSession:
    """Check a password and open a session; every attempt is audited.

    The message is the same whether the user is unknown, inactive, locked or
    mistyped the password, so that it reveals nothing to someone probing.
    """
    now = utcnow()
    username = username.strip().lower()
    user = session.scalars(select(User).where(User.username == username)).one_or_none()
    password_ok = verify_password(user.password_hash if user else None, password)
    locked = user is not None and user.locked_until is not None and user.locked_until > now
    if user is None or not user.active or locked or not password_ok:
        if user is not None and not password_ok:
            user.failed_logins += 1
            if user.failed_logins >= MAX_FAILED_LOGINS:
                user.locked_until = now + LOCKOUT
                user.failed_logins = 0
        audit.record(
            session,
            None,
            "auth.login",
            "user",
            username,
            outcome="failure",
            ip=ip,
            actor=username or "anonymous",
            details={"why": "locked" if locked else "bad_credentials"},
        )
        session.commit()
        raise Unauthenticated("Identifiant ou mot de passe incorrect.", code="bad_credentials")
    assert user.password_hash is not None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    settings = get_settings()
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    session.add(
        UserSession(
            token_hash=_sha256(token),
            user_id=user.id,
            csrf_token=csrf,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=settings.session_absolute_hours),
            ip=ip,
            user_agent=(user_agent or "")[:300],
        )
    )
    principal = principal_of(user, "session", ip)
    audit.record(session, principal, "auth.login", "user", username)
    session.commit()
    return OpenedSession(token, csrf, principal)


@dataclass(frozen=True)
class ActiveSession:
    principal: Principal
    csrf_token: str
    full_name: str


def resolve_session(
    session: Session, token: str, ip: str | None = None, now: datetime | None = None
) -> ActiveSession:
    """The principal behind a session cookie, or 401 when it is unknown, revoked or expired."""
    now = now or utcnow()
    row = session.scalars(
        select(UserSession).where(UserSession.token_hash == _sha256(token))
    ).one_or_none()
    if row is None or row.revoked_at is not None:
        raise Unauthenticated("Session inconnue ou fermée.", code="session_invalid")
    idle = timedelta(minutes=get_settings().session_idle_minutes)
    if now >= row.expires_at or now - row.last_seen_at >= idle:
        raise Unauthenticated("Votre session a expiré ; reconnectez-vous.", code="session_expired")
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        raise Unauthenticated("Compte désactivé.", code="account_inactive")
    # Sliding idle timeout, written at most once a minute to keep reads cheap.
    if now - row.last_seen_at > timedelta(minutes=1):
        row.last_seen_at = now
        session.commit()
    return ActiveSession(principal_of(user, "session", ip), row.csrf_token, user.full_name)


def check_csrf(expected: str, given: str | None) -> None:
    if not given or not hmac.compare_digest(expected, given):
        raise Forbidden(
            "Jeton anti-falsification (CSRF) manquant ou invalide.", code="csrf_invalid"
        )


def logout(session: Session, token: str) -> None:
    row = session.scalars(
        select(UserSession).where(UserSession.token_hash == _sha256(token))
    ).one_or_none()
    if row is None or row.revoked_at is not None:
        return
    row.revoked_at = utcnow()
    user = session.get(User, row.user_id)
    if user is not None:
        audit.record(
            session, principal_of(user, "session", row.ip), "auth.logout", "user", user.username
        )
    session.commit()


# --- API tokens ------------------------------------------------------------


def issue_token(
    session: Session,
    actor: Principal,
    username: str,
    *,
    label: str = "",
    days: int = 365,
    province_of: Mapping[str, str],
) -> str:
    """A new bearer token for ``username``; the raw value is shown once and never stored."""
    user = get_user(session, username)
    if actor.user_id != user.id:
        _check_grant(actor, Role(user.role), scope_of(user), province_of)
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        ApiToken(
            token_hash=_sha256(raw),
            prefix=raw[:12],
            user_id=user.id,
            label=label,
            created_at=now,
            expires_at=now + timedelta(days=days),
        )
    )
    audit.record(session, actor, "token.issue", "user", username, details={"prefix": raw[:12]})
    session.commit()
    return raw


def resolve_token(session: Session, raw: str, ip: str | None = None) -> Principal:
    row = session.scalars(select(ApiToken).where(ApiToken.token_hash == _sha256(raw))).one_or_none()
    now = utcnow()
    if row is None or row.revoked_at is not None or (row.expires_at and row.expires_at <= now):
        raise Unauthenticated("Jeton d'API inconnu, révoqué ou expiré.", code="token_invalid")
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        raise Unauthenticated("Compte désactivé.", code="account_inactive")
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=5):
        row.last_used_at = now
        session.commit()
    return principal_of(user, "token", ip)


def revoke_token(
    session: Session, actor: Principal, prefix: str, *, province_of: Mapping[str, str]
) -> None:
    row = session.scalars(select(ApiToken).where(ApiToken.prefix == prefix)).one_or_none()
    if row is None:
        raise NotFound("Jeton introuvable.", code="token_not_found")
    if row.user_id != actor.user_id:
        owner = session.get(User, row.user_id)
        if owner is None:
            raise NotFound("Jeton introuvable.", code="token_not_found")
        _check_grant(actor, Role(owner.role), scope_of(owner), province_of)
    row.revoked_at = utcnow()
    audit.record(session, actor, "token.revoke", "api_token", prefix)
    session.commit()
