"""Login, logout, sessions, CSRF and tokens through HTTP, as a browser or a system sees them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from parcours.access import service
from parcours.access.models import AuditEvent, User, UserSession
from parcours.access.rules import ROLE_PERMISSIONS, Role, system_principal
from parcours.db import utcnow
from parcours.web.deps import SESSION_COOKIE
from tests.conftest import PASSWORD, MakeUser, login

LOGIN_CSRF = "parcours_login_csrf"


def _login_events(db: Session) -> list[AuditEvent]:
    db.expire_all()
    events = list(
        db.scalars(
            select(AuditEvent).where(AuditEvent.action == "auth.login").order_by(AuditEvent.id)
        )
    )
    # End the read: on SQLite every transaction holds the write lock (BEGIN IMMEDIATE),
    # which would make the application's next request wait.
    db.commit()
    return events


def _form_token(client: TestClient) -> str:
    assert client.get("/login").status_code == 200
    token = client.cookies.get(LOGIN_CSRF)
    assert token
    return token


def _error(response: object) -> str:
    body = response.json()  # type: ignore[attr-defined]
    assert set(body) == {"error"}
    assert set(body["error"]) >= {"code", "message"}
    assert body["error"]["message"]
    return str(body["error"]["code"])


# --- login form --------------------------------------------------------------


def test_login_page_sets_a_strict_form_token(app_client: TestClient) -> None:
    page = app_client.get("/login")
    assert page.status_code == 200
    cookie = page.headers["set-cookie"]
    assert cookie.startswith(f"{LOGIN_CSRF}=")
    assert "HttpOnly" in cookie
    assert "samesite=strict" in cookie.lower()
    assert f'value="{app_client.cookies.get(LOGIN_CSRF)}"' in page.text


def test_right_password_opens_a_session_cookie(app_client: TestClient, make_user: MakeUser) -> None:
    make_user("nadia")
    token = _form_token(app_client)
    response = app_client.post(
        "/login",
        data={"username": "nadia", "password": PASSWORD, "csrf_token": token, "next": "/overview"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/overview"
    cookies = [v for k, v in response.headers.multi_items() if k == "set-cookie"]
    session_cookie = next(c for c in cookies if c.startswith(f"{SESSION_COOKIE}="))
    assert "HttpOnly" in session_cookie
    assert "samesite=lax" in session_cookie.lower()
    assert "Path=/" in session_cookie
    assert app_client.get("/overview").status_code == 200


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil"])
def test_login_never_redirects_off_site(
    app_client: TestClient, make_user: MakeUser, target: str
) -> None:
    make_user("nadia")
    response = app_client.post(
        "/login",
        data={
            "username": "nadia",
            "password": PASSWORD,
            "csrf_token": _form_token(app_client),
            "next": target,
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/overview"


def test_a_wrong_password_is_refused(
    app_client: TestClient, db: Session, make_user: MakeUser
) -> None:
    make_user("nadia")
    response = app_client.post(
        "/login",
        data={
            "username": "nadia",
            "password": "not-the-password",
            "csrf_token": _form_token(app_client),
        },
        follow_redirects=False,
    )
    assert response.status_code == 401
    assert "Identifiant ou mot de passe incorrect." in response.text
    assert SESSION_COOKIE not in response.cookies
    assert app_client.cookies.get(SESSION_COOKIE) is None
    assert app_client.get("/api/v1/me").status_code == 401
    [event] = _login_events(db)
    assert (event.outcome, event.actor) == ("failure", "nadia")
    assert event.ip == "testclient"
    assert db.scalars(select(UserSession)).first() is None


def test_lockout_refuses_the_right_password_through_the_form(
    app_client: TestClient, db: Session, make_user: MakeUser
) -> None:
    make_user("nadia")
    for _ in range(service.MAX_FAILED_LOGINS):
        response = app_client.post(
            "/login",
            data={"username": "nadia", "password": "wrong", "csrf_token": _form_token(app_client)},
        )
        assert response.status_code == 401
    response = app_client.post(
        "/login",
        data={"username": "nadia", "password": PASSWORD, "csrf_token": _form_token(app_client)},
        follow_redirects=False,
    )
    assert response.status_code == 401
    assert app_client.cookies.get(SESSION_COOKIE) is None
    assert _login_events(db)[-1].details == {"why": "locked"}


@pytest.mark.parametrize("case", ["missing", "wrong", "no_cookie"])
def test_a_missing_or_wrong_csrf_token_is_refused_on_the_login_form(
    app_client: TestClient, db: Session, make_user: MakeUser, case: str
) -> None:
    make_user("nadia")
    token = _form_token(app_client)
    data = {"username": "nadia", "password": PASSWORD}
    if case == "wrong":
        data["csrf_token"] = token[:-2] + "xx"
    elif case == "no_cookie":
        data["csrf_token"] = token
        app_client.cookies.delete(LOGIN_CSRF, path="/login")
        assert app_client.cookies.get(LOGIN_CSRF) is None
    response = app_client.post("/login", data=data, follow_redirects=False)
    assert response.status_code == 403
    assert "CSRF" in response.text
    assert app_client.cookies.get(SESSION_COOKIE) is None
    # The right password was never even checked.
    assert _login_events(db) == []


# --- logout and CSRF on session-authenticated writes ---------------------------


def test_logout_needs_the_csrf_token_and_revokes_the_session(
    app_client: TestClient, db: Session, make_user: MakeUser
) -> None:
    make_user("nadia")
    csrf = login(app_client, "nadia")
    cookie = app_client.cookies.get(SESSION_COOKIE)
    assert cookie

    for data in ({}, {"csrf_token": "forged"}):
        refused = app_client.post("/logout", data=data, follow_redirects=False)
        assert refused.status_code == 403
        assert app_client.get("/api/v1/me").status_code == 200  # still signed in

    response = app_client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert app_client.cookies.get(SESSION_COOKIE) is None
    # The old cookie, replayed, no longer opens anything.
    app_client.cookies.set(SESSION_COOKIE, cookie)
    replay = app_client.get("/api/v1/me")
    assert replay.status_code == 401
    assert _error(replay) == "session_invalid"
    row = db.scalars(select(UserSession)).one()
    assert row.revoked_at is not None


def test_logout_without_a_session_goes_to_the_login_page(app_client: TestClient) -> None:
    response = app_client.post("/logout", data={"csrf_token": "x"}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


def test_a_cookie_authenticated_json_write_needs_the_csrf_header(
    app_client: TestClient, db: Session, make_user: MakeUser
) -> None:
    make_user("regional")
    make_user("nadia", Role.CLINICIAN)
    csrf = login(app_client, "regional")
    url = "/api/v1/users/nadia/tokens"
    for headers in ({}, {"X-CSRF-Token": ""}, {"X-CSRF-Token": "forged"}):
        response = app_client.post(url, json={"label": "x"}, headers=headers)
        assert response.status_code == 403
        assert _error(response) == "csrf_invalid"
    db.expire_all()
    assert db.scalars(select(AuditEvent).where(AuditEvent.action == "token.issue")).first() is None
    db.commit()

    response = app_client.post(url, json={"label": "x"}, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 201
    assert response.json()["token"].startswith("pcr_")


def test_a_bearer_token_json_write_needs_no_csrf(
    app_client: TestClient, db: Session, make_user: MakeUser
) -> None:
    make_user("regional")
    make_user("nadia", Role.CLINICIAN)
    raw = service.issue_token(db, system_principal("test"), "regional", province_of={})
    response = app_client.post(
        "/api/v1/users/nadia/tokens",
        json={"label": "sih"},
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert response.status_code == 201
    me = app_client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"}).json()
    assert (me["username"], me["channel"], me["csrf_token"]) == ("regional", "token", None)


# --- expired sessions ----------------------------------------------------------


def _age_session(db: Session, *, idle: timedelta | None = None, lifetime: bool = False) -> None:
    now = utcnow()
    values: dict[str, object] = {}
    if idle is not None:
        values["last_seen_at"] = now - idle
    if lifetime:
        values["expires_at"] = now - timedelta(seconds=1)
    db.execute(update(UserSession).values(**values))
    db.commit()


@pytest.mark.parametrize("how", ["idle", "absolute"])
def test_an_expired_session_is_refused(
    app_client: TestClient, db: Session, make_user: MakeUser, how: str
) -> None:
    make_user("nadia")
    login(app_client, "nadia")
    assert app_client.get("/overview").status_code == 200
    if how == "idle":
        _age_session(db, idle=timedelta(minutes=31))
    else:
        _age_session(db, lifetime=True)

    page = app_client.get("/overview?province=TET", follow_redirects=False)
    assert page.status_code == 303
    location = page.headers["location"]
    assert location.startswith("/login?next=")
    assert "reason=session_expired" in location
    assert "%2Foverview" in location or "/overview" in location
    login_page = app_client.get(location)
    assert "Votre session a expiré" in login_page.text

    api = app_client.get("/api/v1/establishments")
    assert api.status_code == 401
    assert _error(api) == "session_expired"


def test_a_page_without_a_session_redirects_to_login(app_client: TestClient) -> None:
    page = app_client.get("/overview", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=/overview"


def test_deactivating_a_user_ends_their_browser_session(
    app_client: TestClient, db: Session, make_user: MakeUser
) -> None:
    make_user("nadia", Role.CLINICIAN)
    login(app_client, "nadia")
    service.set_active(db, system_principal("test"), "nadia", False, {})
    response = app_client.get("/api/v1/me")
    assert response.status_code == 401
    page = app_client.get("/overview", follow_redirects=False)
    assert page.status_code == 303


# --- tokens --------------------------------------------------------------------


def test_tokens_through_http(app_client: TestClient, db: Session, make_user: MakeUser) -> None:
    make_user("system.his", Role.ADMISSION_AGENT)
    raw = service.issue_token(db, system_principal("test"), "system.his", province_of={})
    bearer = {"Authorization": f"Bearer {raw}"}
    assert app_client.get("/api/v1/establishments", headers=bearer).status_code == 200

    for bad in ("Bearer pcr_unknown", "Bearer ", f"Bearer {raw}x"):
        response = app_client.get("/api/v1/establishments", headers={"Authorization": bad})
        assert response.status_code == 401
        assert _error(response) == "token_invalid"

    db.execute(update(User).where(User.username == "system.his").values(active=False))
    db.commit()
    response = app_client.get("/api/v1/establishments", headers=bearer)
    assert response.status_code == 401
    assert _error(response) == "account_inactive"

    db.execute(update(User).values(active=True))
    db.commit()
    service.revoke_token(db, system_principal("test"), raw[:12], province_of={})
    response = app_client.get("/api/v1/establishments", headers=bearer)
    assert response.status_code == 401
    assert _error(response) == "token_invalid"


def test_issuing_a_token_through_the_api(
    app_client: TestClient, small_region: dict[str, str], make_user: MakeUser
) -> None:
    make_user("tet.admin", Role.ESTABLISHMENT_ADMIN, "establishment:HP-TET-01")
    make_user("regional")
    csrf = login(app_client, "tet.admin")
    headers = {"X-CSRF-Token": csrf}
    own = app_client.post("/api/v1/users/tet.admin/tokens", json={"days": 30}, headers=headers)
    assert own.status_code == 201
    token = own.json()["token"]
    me = app_client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["username"] == "tet.admin"

    other = app_client.post("/api/v1/users/regional/tokens", json={}, headers=headers)
    assert other.status_code == 403
    assert _error(other) == "role_not_grantable"
    unknown = app_client.post("/api/v1/users/nobody/tokens", json={}, headers=headers)
    assert unknown.status_code == 404
    assert _error(unknown) == "user_not_found"
    for days in (0, None, 3651):  # every token expires, within ten years
        bad = app_client.post(
            "/api/v1/users/tet.admin/tokens", json={"days": days}, headers=headers
        )
        assert bad.status_code == 422
        assert _error(bad) == "validation_error"


# --- who am I, users, audit ----------------------------------------------------


def test_me(app_client: TestClient, small_region: dict[str, str], make_user: MakeUser) -> None:
    make_user("tet.admin", Role.ESTABLISHMENT_ADMIN, "establishment:HP-TET-01")
    csrf = login(app_client, "tet.admin")
    me = app_client.get("/api/v1/me").json()
    assert me == {
        "username": "tet.admin",
        "role": "establishment_admin",
        "role_label": "Administrateur d'établissement",
        "scope": "Établissement(s) : HP-TET-01",
        "permissions": sorted(p.value for p in ROLE_PERMISSIONS[Role.ESTABLISHMENT_ADMIN]),
        "channel": "session",
        "csrf_token": csrf,
    }
    assert "establishment.update" in me["permissions"]
    assert "establishment.create" not in me["permissions"]


def test_users_list_is_scoped(
    app_client: TestClient, small_region: dict[str, str], make_user: MakeUser
) -> None:
    make_user("regional")
    make_user("tet.admin", Role.ESTABLISHMENT_ADMIN, "province:TET")
    make_user("tet.doctor", Role.CLINICIAN, "establishment:HP-TET-01")
    make_user("hoc.doctor", Role.CLINICIAN, "establishment:HP-HOC-01")
    login(app_client, "tet.admin")
    users = app_client.get("/api/v1/users").json()
    assert [u["username"] for u in users] == ["tet.admin", "tet.doctor"]
    doctor = users[1]
    assert doctor["scope_kind"] == "establishment"
    assert doctor["scope_codes"] == ["HP-TET-01"]
    assert doctor["role_label"] == "Clinicien"
    assert "password_hash" not in doctor
    assert not any("argon2" in str(v) for u in users for v in u.values())

    app_client.cookies.clear()
    login(app_client, "regional")
    assert len(app_client.get("/api/v1/users").json()) == 4


def test_users_and_audit_are_refused_to_a_clinician(
    app_client: TestClient, make_user: MakeUser
) -> None:
    make_user("doc", Role.CLINICIAN)
    csrf = login(app_client, "doc")
    for url in ("/api/v1/users", "/api/v1/audit", "/api/v1/audit/verify"):
        response = app_client.get(url)
        assert response.status_code == 403, url
        assert _error(response) == "permission_denied"
    response = app_client.post(
        "/api/v1/users",
        json={"username": "other.doc", "password": PASSWORD, "role": "clinician"},
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status_code == 403
    assert _error(response) == "permission_denied"


def test_audit_api_for_the_regional_admin(
    app_client: TestClient, small_region: dict[str, str], make_user: MakeUser
) -> None:
    make_user("regional")
    login(app_client, "regional")
    page = app_client.get("/api/v1/audit", params={"entity_type": "establishment", "limit": 2})
    assert page.status_code == 200
    body = page.json()
    assert body["total"] == 6  # small_region created six establishments
    assert len(body["items"]) == 2
    item = body["items"][0]
    assert set(item) == {
        "id",
        "occurred_at",
        "actor",
        "channel",
        "action",
        "entity_type",
        "entity_id",
        "outcome",
        "reason",
        "ip",
        "details",
    }
    assert item["action"] == "establishment.create"
    assert "hash" not in item
    verify = app_client.get("/api/v1/audit/verify").json()
    assert verify["ok"] is True
    assert verify["breaks"] == []
    # 6 creations, one user creation and one login
    assert verify["checked"] == 8
    assert app_client.get("/api/v1/audit", params={"limit": 0}).status_code == 422
    # The action filter takes a dotted family: "auth" finds "auth.login".
    logins = app_client.get("/api/v1/audit", params={"action": "auth"}).json()
    assert [e["action"] for e in logins["items"]] == ["auth.login"]
    exact = app_client.get("/api/v1/audit", params={"action": "establishment.create"}).json()
    assert exact["total"] == 6
    assert (
        app_client.get("/api/v1/audit", params={"action": "establishment.cr"}).json()["total"] == 0
    )


# --- creating users through the API --------------------------------------------


def _new_user(**overrides: object) -> dict[str, object]:
    return {
        "username": "new.user",
        "password": PASSWORD,
        "role": "clinician",
        "scope_kind": "establishment",
        "scope_codes": ["HP-TET-01"],
    } | overrides


def test_create_user_through_the_api(
    app_client: TestClient, small_region: dict[str, str], make_user: MakeUser
) -> None:
    make_user("regional")
    csrf = login(app_client, "regional")
    response = app_client.post(
        "/api/v1/users",
        json=_new_user(scope_codes=["hp-tet-01"], full_name="Nouvel Utilisateur"),
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["username"], body["scope_codes"], body["active"]) == (
        "new.user",
        ["HP-TET-01"],
        True,
    )
    again = app_client.post("/api/v1/users", json=_new_user(), headers={"X-CSRF-Token": csrf})
    assert again.status_code == 409
    assert _error(again) == "username_taken"


@pytest.mark.parametrize(
    "overrides",
    [
        {"scope_kind": "establishment", "scope_codes": ["HP-NOPE-99"]},
        {"scope_kind": "province", "scope_codes": ["TNG", "XXX"]},
        {"scope_kind": "province", "scope_codes": ["HP-TET-01"]},
    ],
)
def test_create_user_with_unknown_scope_codes_is_422(
    app_client: TestClient,
    small_region: dict[str, str],
    make_user: MakeUser,
    overrides: dict[str, object],
) -> None:
    make_user("regional")
    csrf = login(app_client, "regional")
    response = app_client.post(
        "/api/v1/users", json=_new_user(**overrides), headers={"X-CSRF-Token": csrf}
    )
    assert response.status_code == 422
    assert _error(response) == "unknown_scope_codes"


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"scope_kind": "gst", "scope_codes": ["TNG"]}, "invalid_scope"),  # GST names nothing
        ({"scope_kind": "province", "scope_codes": []}, "invalid_scope"),  # provinces: one+
        ({"scope_kind": "establishment", "scope_codes": [" "]}, "invalid_scope"),
        ({"scope_kind": "region", "scope_codes": ["TTA"]}, "validation_error"),
        ({"role": "superuser"}, "validation_error"),
        ({"password": "court"}, "password_too_short"),
        ({"username": "bad name!"}, "invalid_username"),
        ({"unexpected": 1}, "validation_error"),
    ],
)
def test_create_user_with_bad_input_is_422(
    app_client: TestClient,
    small_region: dict[str, str],
    make_user: MakeUser,
    overrides: dict[str, object],
    code: str,
) -> None:
    make_user("regional")
    csrf = login(app_client, "regional")
    response = app_client.post(
        "/api/v1/users", json=_new_user(**overrides), headers={"X-CSRF-Token": csrf}
    )
    assert response.status_code == 422, response.text
    assert _error(response) == code


def test_an_establishment_admin_cannot_grant_more_than_they_hold(
    app_client: TestClient, db: Session, small_region: dict[str, str], make_user: MakeUser
) -> None:
    make_user("tet.admin", Role.ESTABLISHMENT_ADMIN, "establishment:HP-TET-01")
    csrf = login(app_client, "tet.admin")
    headers = {"X-CSRF-Token": csrf}
    cases = [
        (_new_user(role="regional_admin"), "role_not_grantable"),
        (_new_user(role="analyst"), "role_not_grantable"),
        (_new_user(scope_kind="gst", scope_codes=[]), "scope_not_grantable"),
        (_new_user(scope_kind="province", scope_codes=["TET"]), "scope_not_grantable"),
        (_new_user(scope_codes=["HP-TET-01", "HP-HOC-01"]), "scope_not_grantable"),
    ]
    for body, code in cases:
        response = app_client.post("/api/v1/users", json=body, headers=headers)
        assert response.status_code == 403, body
        assert _error(response) == code
    db.expire_all()
    assert db.scalars(select(User).where(User.username == "new.user")).first() is None
    db.commit()
    ok = app_client.post("/api/v1/users", json=_new_user(), headers=headers)
    assert ok.status_code == 201
