"""Use cases of the access context on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from parcours.access import service
from parcours.access.models import ApiToken, AuditEvent, User, UserSession
from parcours.access.rules import Permission, Role, Scope, ScopeKind, system_principal
from parcours.config import get_settings
from parcours.db import utcnow
from parcours.errors import Conflict, Forbidden, Invalid, NotFound, Unauthenticated
from parcours.territory import service as territory
from tests.conftest import PASSWORD, MakeUser


def _events(db: Session, action: str) -> list[AuditEvent]:
    db.expire_all()
    return list(
        db.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
    )


def _principal(db: Session, username: str) -> service.Principal:
    return service.principal_of(service.get_user(db, username), "session")


def _create(db: Session, actor: service.Principal, username: str, role: Role, scope: Scope) -> None:
    service.create_user(
        db,
        actor,
        username=username,
        password=PASSWORD,
        role=role,
        scope=scope,
        province_of=territory.province_of_establishments(db),
        province_codes={p.code for p in territory.list_provinces(db)},
    )


# --- users -------------------------------------------------------------------


def test_create_user_normalises_hashes_and_audits(db: Session) -> None:
    service.create_user(
        db,
        system_principal("test"),
        username="  Amina.Benali ",
        password=PASSWORD,
        role=Role.CLINICIAN,
        scope=Scope(ScopeKind.PROVINCE, frozenset({"TNG"})),
        full_name="Amina Benali",
        province_of={},
        province_codes={"TNG"},
    )
    user = service.get_user(db, "amina.benali")
    assert user.password_hash is not None
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    assert service.scope_of(user) == Scope(ScopeKind.PROVINCE, frozenset({"TNG"}))
    [event] = _events(db, "user.create")
    assert event.entity_id == "amina.benali"
    assert event.actor == "system:test"
    assert event.details == {"role": "clinician", "scope": "Province(s) : TNG"}


@pytest.mark.parametrize(
    ("username", "password", "code"),
    [
        ("bad name", PASSWORD, "invalid_username"),
        ("x;drop", PASSWORD, "invalid_username"),
        ("", PASSWORD, "invalid_username"),
        ("shortpass", "123456789", "password_too_short"),
    ],
)
def test_create_user_refuses_bad_input(
    db: Session, username: str, password: str, code: str
) -> None:
    with pytest.raises(Invalid) as caught:
        service.create_user(
            db,
            system_principal("test"),
            username=username,
            password=password,
            role=Role.ANALYST,
            scope=Scope(ScopeKind.GST),
            province_of={},
            province_codes=set(),
        )
    assert caught.value.code == code
    db.rollback()
    assert db.scalar(select(func.count()).select_from(User)) == 0


def test_duplicate_username_is_a_conflict(db: Session, make_user: MakeUser) -> None:
    make_user("karim")
    with pytest.raises(Conflict) as caught:
        make_user("KARIM")
    assert caught.value.code == "username_taken"


def test_unknown_scope_codes_are_invalid(db: Session, small_region: dict[str, str]) -> None:
    system = system_principal("test")
    with pytest.raises(Invalid) as caught:
        _create(db, system, "x1", Role.CLINICIAN, Scope(ScopeKind.PROVINCE, frozenset({"XXX"})))
    assert caught.value.code == "unknown_scope_codes"
    with pytest.raises(Invalid):
        # A province code is not an establishment code.
        _create(
            db, system, "x2", Role.CLINICIAN, Scope(ScopeKind.ESTABLISHMENT, frozenset({"TNG"}))
        )


def test_establishment_admin_grants_only_within_role_and_scope(
    db: Session, small_region: dict[str, str], make_user: MakeUser
) -> None:
    make_user("tet.admin", Role.ESTABLISHMENT_ADMIN, "establishment:HP-TET-01")
    actor = _principal(db, "tet.admin")
    own = Scope(ScopeKind.ESTABLISHMENT, frozenset({"HP-TET-01"}))
    _create(db, actor, "tet.doctor", Role.CLINICIAN, own)
    assert service.get_user(db, "tet.doctor").role == "clinician"

    with pytest.raises(Forbidden) as caught:
        _create(db, actor, "boss", Role.REGIONAL_ADMIN, own)
    assert caught.value.code == "role_not_grantable"
    with pytest.raises(Forbidden) as caught:
        _create(db, actor, "hr", Role.HR_OFFICER, own)
    assert caught.value.code == "role_not_grantable"
    for wider in (
        Scope(ScopeKind.GST),
        Scope(ScopeKind.PROVINCE, frozenset({"TET"})),
        Scope(ScopeKind.ESTABLISHMENT, frozenset({"HP-TET-01", "HP-HOC-01"})),
    ):
        with pytest.raises(Forbidden) as caught:
            _create(db, actor, "wide", Role.CLINICIAN, wider)
        assert caught.value.code == "scope_not_grantable"


def test_roles_without_users_manage_cannot_create_users(db: Session, make_user: MakeUser) -> None:
    make_user("doc", Role.CLINICIAN)
    with pytest.raises(Forbidden) as caught:
        _create(db, _principal(db, "doc"), "other", Role.CLINICIAN, Scope(ScopeKind.GST))
    assert caught.value.code == "permission_denied"


def test_list_users_is_limited_to_the_admins_scope(
    db: Session, small_region: dict[str, str], make_user: MakeUser
) -> None:
    make_user("regional")
    make_user("tet.province.admin", Role.ESTABLISHMENT_ADMIN, "province:TET")
    make_user("tet.doctor", Role.CLINICIAN, "establishment:HP-TET-01")
    make_user("hoc.doctor", Role.CLINICIAN, "establishment:HP-HOC-01")
    everyone = service.list_users(db, _principal(db, "regional"), small_region)
    assert [u.username for u in everyone] == [
        "hoc.doctor",
        "regional",
        "tet.doctor",
        "tet.province.admin",
    ]
    mine = service.list_users(db, _principal(db, "tet.province.admin"), small_region)
    assert [u.username for u in mine] == ["tet.doctor", "tet.province.admin"]
    with pytest.raises(Forbidden):
        service.list_users(db, _principal(db, "tet.doctor"), small_region)


def test_require_names_the_missing_permission() -> None:
    analyst = service.Principal(1, "a", Role.ANALYST, Scope(ScopeKind.GST))
    with pytest.raises(Forbidden) as caught:
        service.require(analyst, Permission.PATIENT_READ)
    assert caught.value.code == "permission_denied"
    assert "patient.read" in caught.value.render()


# --- login -------------------------------------------------------------------


def test_login_opens_a_session_storing_only_hashes(db: Session, make_user: MakeUser) -> None:
    make_user("nadia", Role.CLINICIAN)
    opened = service.login(db, "Nadia", PASSWORD, ip="10.0.0.7", user_agent="pytest")
    assert opened.principal.username == "nadia"
    assert opened.principal.role is Role.CLINICIAN
    row = db.scalars(select(UserSession)).one()
    assert row.token_hash != opened.token
    assert opened.token not in row.token_hash
    assert row.csrf_token == opened.csrf_token
    assert row.ip == "10.0.0.7"
    [event] = _events(db, "auth.login")
    assert (event.outcome, event.actor, event.ip) == ("success", "nadia", "10.0.0.7")


def test_a_wrong_password_is_refused_and_audited(db: Session, make_user: MakeUser) -> None:
    make_user("nadia")
    with pytest.raises(Unauthenticated) as caught:
        service.login(db, "nadia", PASSWORD + "x", ip="10.0.0.9")
    assert caught.value.code == "bad_credentials"
    assert db.scalar(select(func.count()).select_from(UserSession)) == 0
    [event] = _events(db, "auth.login")
    assert (event.outcome, event.actor, event.entity_id) == ("failure", "nadia", "nadia")
    assert event.ip == "10.0.0.9"
    assert event.details == {"why": "bad_credentials"}
    assert service.get_user(db, "nadia").failed_logins == 1


def test_unknown_and_inactive_users_get_the_same_answer(db: Session, make_user: MakeUser) -> None:
    make_user("gone")
    service.set_active(db, system_principal("test"), "gone", False, {})
    messages = set()
    for username, password in (("nobody", PASSWORD), ("gone", PASSWORD), ("gone", "wrong")):
        with pytest.raises(Unauthenticated) as caught:
            service.login(db, username, password)
        messages.add((caught.value.code, caught.value.render()))
    assert messages == {("bad_credentials", "Identifiant ou mot de passe incorrect.")}
    assert [e.outcome for e in _events(db, "auth.login")] == ["failure"] * 3


def test_lockout_after_five_failures_refuses_even_the_right_password(
    db: Session, make_user: MakeUser
) -> None:
    make_user("target")
    for _ in range(service.MAX_FAILED_LOGINS):
        with pytest.raises(Unauthenticated):
            service.login(db, "target", "wrong-password")
    user = service.get_user(db, "target")
    assert user.locked_until is not None
    assert user.locked_until > utcnow() + timedelta(minutes=14)

    with pytest.raises(Unauthenticated):
        service.login(db, "target", PASSWORD)
    assert _events(db, "auth.login")[-1].details == {"why": "locked"}
    assert db.scalar(select(func.count()).select_from(UserSession)) == 0

    # Once the lock has run out, the right password opens a session again.
    db.execute(
        update(User)
        .where(User.username == "target")
        .values(locked_until=utcnow() - timedelta(seconds=1))
    )
    db.commit()
    opened = service.login(db, "target", PASSWORD)
    assert opened.principal.username == "target"
    user = service.get_user(db, "target")
    assert (user.failed_logins, user.locked_until) == (0, None)


def test_a_success_resets_the_failure_count(db: Session, make_user: MakeUser) -> None:
    make_user("target")
    for _ in range(service.MAX_FAILED_LOGINS - 1):
        with pytest.raises(Unauthenticated):
            service.login(db, "target", "wrong-password")
    service.login(db, "target", PASSWORD)
    with pytest.raises(Unauthenticated):
        service.login(db, "target", "wrong-password")
    user = service.get_user(db, "target")
    assert user.failed_logins == 1
    assert user.locked_until is None


# --- sessions ----------------------------------------------------------------


def test_resolve_session_gives_the_principal_and_csrf(db: Session, make_user: MakeUser) -> None:
    make_user("nadia", Role.ANALYST)
    opened = service.login(db, "nadia", PASSWORD)
    active = service.resolve_session(db, opened.token, ip="10.1.1.1")
    assert active.principal.username == "nadia"
    assert active.principal.role is Role.ANALYST
    assert active.principal.ip == "10.1.1.1"
    assert active.csrf_token == opened.csrf_token
    with pytest.raises(Unauthenticated) as caught:
        service.resolve_session(db, opened.token + "x")
    assert caught.value.code == "session_invalid"


def test_an_idle_session_expires(db: Session, make_user: MakeUser) -> None:
    make_user("nadia")
    opened = service.login(db, "nadia", PASSWORD)
    idle = timedelta(minutes=get_settings().session_idle_minutes)
    start = utcnow()
    service.resolve_session(db, opened.token, now=start + idle - timedelta(seconds=5))
    # That use slid the idle window forward ...
    service.resolve_session(db, opened.token, now=start + 2 * idle - timedelta(seconds=10))
    # ... but a full idle period without use ends the session.
    with pytest.raises(Unauthenticated) as caught:
        service.resolve_session(db, opened.token, now=start + 3 * idle)
    assert caught.value.code == "session_expired"


def test_an_active_session_still_ends_at_its_absolute_lifetime(
    db: Session, make_user: MakeUser
) -> None:
    make_user("nadia")
    opened = service.login(db, "nadia", PASSWORD)
    lifetime = timedelta(hours=get_settings().session_absolute_hours)
    start = utcnow()
    now = start
    while now + timedelta(minutes=20) < start + lifetime - timedelta(minutes=1):
        now += timedelta(minutes=20)
        service.resolve_session(db, opened.token, now=now)
    with pytest.raises(Unauthenticated) as caught:
        service.resolve_session(db, opened.token, now=start + lifetime + timedelta(seconds=1))
    assert caught.value.code == "session_expired"


def test_an_expired_session_row_is_refused(db: Session, make_user: MakeUser) -> None:
    """The same check when the clock is moved in the database rather than in the call."""
    make_user("nadia")
    opened = service.login(db, "nadia", PASSWORD)
    db.execute(update(UserSession).values(last_seen_at=utcnow() - timedelta(hours=1)))
    db.commit()
    with pytest.raises(Unauthenticated) as caught:
        service.resolve_session(db, opened.token)
    assert caught.value.code == "session_expired"


def test_logout_revokes_the_session(db: Session, make_user: MakeUser) -> None:
    make_user("nadia")
    opened = service.login(db, "nadia", PASSWORD)
    service.logout(db, opened.token)
    with pytest.raises(Unauthenticated) as caught:
        service.resolve_session(db, opened.token)
    assert caught.value.code == "session_invalid"
    assert [e.actor for e in _events(db, "auth.logout")] == ["nadia"]
    service.logout(db, opened.token)  # twice is harmless and not audited twice
    service.logout(db, "unknown-token")
    assert len(_events(db, "auth.logout")) == 1


def test_deactivating_a_user_revokes_their_sessions(db: Session, make_user: MakeUser) -> None:
    make_user("admin")
    make_user("leaver", Role.CLINICIAN)
    first = service.login(db, "leaver", PASSWORD)
    second = service.login(db, "leaver", PASSWORD)
    service.set_active(db, _principal(db, "admin"), "leaver", False, {}, reason="départ")
    for token in (first.token, second.token):
        with pytest.raises(Unauthenticated):
            service.resolve_session(db, token)
    assert (
        db.scalar(
            select(func.count()).select_from(UserSession).where(UserSession.revoked_at.is_(None))
        )
        == 0
    )
    [event] = _events(db, "user.deactivate")
    assert (event.actor, event.entity_id, event.reason) == ("admin", "leaver", "départ")
    with pytest.raises(Conflict):
        service.set_active(db, _principal(db, "admin"), "admin", False, {})


def test_a_session_of_a_user_deactivated_behind_its_back_is_refused(
    db: Session, make_user: MakeUser
) -> None:
    make_user("leaver")
    opened = service.login(db, "leaver", PASSWORD)
    db.execute(update(User).values(active=False))
    db.commit()
    with pytest.raises(Unauthenticated) as caught:
        service.resolve_session(db, opened.token)
    assert caught.value.code == "account_inactive"


def test_check_csrf() -> None:
    service.check_csrf("expected-token", "expected-token")
    for given in (None, "", "expected-tokeN", "other"):
        with pytest.raises(Forbidden) as caught:
            service.check_csrf("expected-token", given)
        assert caught.value.code == "csrf_invalid"


def test_set_password_resets_the_lock(db: Session, make_user: MakeUser) -> None:
    make_user("target")
    for _ in range(service.MAX_FAILED_LOGINS):
        with pytest.raises(Unauthenticated):
            service.login(db, "target", "wrong-password")
    service.set_password(
        db, system_principal("test"), "target", "un-nouveau-secret", province_of={}
    )
    service.login(db, "target", "un-nouveau-secret")
    with pytest.raises(Unauthenticated):
        service.login(db, "target", PASSWORD)
    with pytest.raises(Invalid):
        service.set_password(db, system_principal("test"), "target", "court", province_of={})


# --- API tokens --------------------------------------------------------------


def test_a_new_password_ends_the_users_sessions(db: Session, make_user: MakeUser) -> None:
    make_user("admin")
    make_user("nurse", Role.CLINICIAN)
    opened = service.login(db, "nurse", PASSWORD)
    service.set_password(db, _principal(db, "admin"), "nurse", "un-nouveau-secret", province_of={})
    with pytest.raises(Unauthenticated):
        service.resolve_session(db, opened.token)
    fresh = service.login(db, "nurse", "un-nouveau-secret")
    assert service.resolve_session(db, fresh.token).principal.username == "nurse"


def test_token_issue_use_and_revoke(db: Session, make_user: MakeUser) -> None:
    make_user("system.his", Role.ADMISSION_AGENT)
    raw = service.issue_token(
        db, system_principal("test"), "system.his", label="SIH", province_of={}
    )
    assert raw.startswith(service.TOKEN_PREFIX)
    row = db.scalars(select(ApiToken)).one()
    assert row.token_hash != raw
    assert row.prefix == raw[:12]
    assert row.expires_at is not None
    assert row.expires_at > utcnow() + timedelta(days=364)
    principal = service.resolve_token(db, raw, ip="10.2.2.2")
    assert (principal.username, principal.channel, principal.ip) == (
        "system.his",
        "token",
        "10.2.2.2",
    )
    assert _events(db, "token.issue")[0].details == {"prefix": raw[:12]}

    service.revoke_token(db, system_principal("test"), raw[:12], province_of={})
    with pytest.raises(Unauthenticated) as caught:
        service.resolve_token(db, raw)
    assert caught.value.code == "token_invalid"
    assert len(_events(db, "token.revoke")) == 1


def test_unknown_and_expired_tokens_are_refused(db: Session, make_user: MakeUser) -> None:
    make_user("system.his")
    raw = service.issue_token(db, system_principal("test"), "system.his", province_of={})
    for bad in ("", "pcr_nope", raw[:-1]):
        with pytest.raises(Unauthenticated):
            service.resolve_token(db, bad)
    db.execute(update(ApiToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.commit()
    with pytest.raises(Unauthenticated) as caught:
        service.resolve_token(db, raw)
    assert caught.value.code == "token_invalid"


def test_a_token_of_an_inactive_user_is_refused(db: Session, make_user: MakeUser) -> None:
    make_user("system.his")
    raw = service.issue_token(db, system_principal("test"), "system.his", province_of={})
    service.set_active(db, system_principal("test"), "system.his", False, {})
    with pytest.raises(Unauthenticated) as caught:
        service.resolve_token(db, raw)
    assert caught.value.code == "account_inactive"


def test_tokens_for_others_follow_the_grant_rules(
    db: Session, small_region: dict[str, str], make_user: MakeUser
) -> None:
    make_user("tet.admin", Role.ESTABLISHMENT_ADMIN, "establishment:HP-TET-01")
    make_user("regional")
    make_user("tet.doctor", Role.CLINICIAN, "establishment:HP-TET-01")
    actor = _principal(db, "tet.admin")
    assert service.issue_token(db, actor, "tet.doctor", province_of=small_region)
    assert service.issue_token(db, actor, "tet.admin", province_of=small_region)  # own token
    with pytest.raises(Forbidden):
        service.issue_token(db, actor, "regional", province_of=small_region)
    with pytest.raises(NotFound):
        service.issue_token(db, actor, "nobody", province_of=small_region)


def test_an_establishment_admin_cannot_reset_a_wider_users_password(
    db: Session, small_region: dict[str, str], make_user: MakeUser
) -> None:
    """Resetting a password is taking over the account: the grant rules apply."""
    make_user("regional")
    make_user("tet.admin", Role.ESTABLISHMENT_ADMIN, "establishment:HP-TET-01")
    make_user("tet.doctor", Role.CLINICIAN, "establishment:HP-TET-01")
    make_user("hoc.doctor", Role.CLINICIAN, "establishment:HP-HOC-01")
    actor = _principal(db, "tet.admin")
    for victim in ("regional", "hoc.doctor"):
        with pytest.raises(Forbidden):
            service.set_password(db, actor, victim, "pris-en-main-1", province_of=small_region)
        db.rollback()
        service.login(db, victim, PASSWORD)  # unchanged
    service.set_password(db, actor, "tet.doctor", "nouveau-secret-1", province_of=small_region)
    service.login(db, "tet.doctor", "nouveau-secret-1")
    # One's own password needs no grant.
    service.set_password(db, actor, "tet.admin", "mon-propre-secret", province_of=small_region)
    service.login(db, "tet.admin", "mon-propre-secret")
    analyst_doc = _principal(db, "hoc.doctor")
    with pytest.raises(Forbidden):
        service.set_password(db, analyst_doc, "tet.doctor", "x" * 12, province_of=small_region)


def test_an_establishment_admin_cannot_revoke_a_wider_users_token(
    db: Session, small_region: dict[str, str], make_user: MakeUser
) -> None:
    make_user("regional")
    make_user("tet.admin", Role.ESTABLISHMENT_ADMIN, "establishment:HP-TET-01")
    make_user("tet.doctor", Role.CLINICIAN, "establishment:HP-TET-01")
    regional_token = service.issue_token(
        db, system_principal("test"), "regional", province_of=small_region
    )
    doctor_token = service.issue_token(
        db, system_principal("test"), "tet.doctor", province_of=small_region
    )
    actor = _principal(db, "tet.admin")
    with pytest.raises(Forbidden):
        service.revoke_token(db, actor, regional_token[:12], province_of=small_region)
    db.rollback()
    assert service.resolve_token(db, regional_token).username == "regional"
    service.revoke_token(db, actor, doctor_token[:12], province_of=small_region)
    with pytest.raises(Unauthenticated):
        service.resolve_token(db, doctor_token)
