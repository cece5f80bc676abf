"""The administration pages through HTTP: users and the audit trail (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from parcours.access.rules import Role
from tests.conftest import PASSWORD, MakeUser, login
from tests.web.markup import Element, parse

pytestmark = pytest.mark.usefixtures("small_region")


def users_table(client: TestClient) -> dict[str, Element]:
    response = client.get("/admin/users")
    assert response.status_code == 200, response.text[:500]
    rows = parse(response.text).find("table", id="users").find("tbody").find_all("tr")
    return {row.get("data-username") or "": row for row in rows}


def new_user(csrf: str, **fields: str) -> dict[str, str]:
    return {
        "csrf_token": csrf,
        "username": "agent.tet",
        "full_name": "Salma Bakkali",
        "password": PASSWORD,
        "role": "admission_agent",
        "scope_kind": "establishment",
        "scope_codes": "HP-TET-01",
    } | fields


def test_nav_shows_administration_only_to_those_allowed(
    app_client: TestClient, make_user: MakeUser
) -> None:
    make_user("dr.amrani", Role.CLINICIAN)
    login(app_client, "dr.amrani")
    nav = parse(app_client.get("/overview").text).find("nav", class_="mainnav")
    hrefs = [a.get("href") for a in nav.find_all("a")]
    assert hrefs[:2] == ["/overview", "/establishments"]
    assert not [h for h in hrefs if (h or "").startswith("/admin/")]
    header = parse(app_client.get("/overview").text).find("header")
    assert "Clinicien" in header.text
    logout = header.find("form", class_="logout")
    assert logout.get("action") == "/logout"
    assert logout.find("input", name="csrf_token").get("value")


def test_users_and_audit_pages_are_forbidden_to_a_clinician(
    app_client: TestClient, make_user: MakeUser
) -> None:
    make_user("dr.amrani", Role.CLINICIAN)
    csrf = login(app_client, "dr.amrani")
    response = app_client.get("/admin/users")
    assert response.status_code == 403
    assert "text/html" in response.headers["content-type"]
    assert "users.manage" in parse(response.text).find("p", class_="error").text
    assert app_client.get("/admin/audit").status_code == 403
    created = app_client.post("/admin/users", data=new_user(csrf))
    assert created.status_code == 403
    assert (
        app_client.post("/admin/users/dr.amrani/active", data={"csrf_token": csrf}).status_code
        == 403
    )


def test_admin_pages_require_login(app_client: TestClient) -> None:
    for url in ("/admin/users", "/admin/audit"):
        response = app_client.get(url, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login")


def test_regional_admin_lists_and_creates_users(
    app_client: TestClient, make_user: MakeUser
) -> None:
    make_user("admin.region", Role.REGIONAL_ADMIN)
    make_user("dr.amrani", Role.CLINICIAN, "province:TNG")
    csrf = login(app_client, "admin.region")
    rows = users_table(app_client)
    assert set(rows) == {"admin.region", "dr.amrani"}
    assert "Clinicien" in rows["dr.amrani"].text
    assert "TNG" in rows["dr.amrani"].text
    page = parse(app_client.get("/admin/users").text)
    form = page.find("form", id="create-user")
    roles = [o.get("value") for o in form.find("select", name="role").find_all("option")]
    assert set(roles) == {"", *(r.value for r in Role)}

    response = app_client.post("/admin/users", data=new_user(csrf), follow_redirects=False)
    assert response.status_code == 303, response.text[:500]
    rows = users_table(app_client)
    assert "Salma Bakkali" in rows["agent.tet"].text
    assert "HP-TET-01" in rows["agent.tet"].text
    me = app_client.get("/api/v1/users").json()
    assert {u["username"] for u in me} == {"admin.region", "dr.amrani", "agent.tet"}
    # The new account signs in.
    other = TestClient(app_client.app, base_url="http://testserver")
    login(other, "agent.tet")


def test_refused_creation_comes_back_with_the_message_and_the_input(
    app_client: TestClient, make_user: MakeUser
) -> None:
    make_user("admin.region", Role.REGIONAL_ADMIN)
    csrf = login(app_client, "admin.region")
    short = app_client.post("/admin/users", data=new_user(csrf, password="court"))
    assert short.status_code == 422
    doc = parse(short.text)
    assert "mot de passe" in doc.find("div", class_="error").text
    form = doc.find("form", id="create-user")
    assert form.find("input", name="username").get("value") == "agent.tet"
    assert form.find("input", name="password").get("value") is None  # never echoed
    unknown = app_client.post("/admin/users", data=new_user(csrf, scope_codes="HP-XXX-99"))
    assert unknown.status_code == 422
    assert "HP-XXX-99" in parse(unknown.text).find("div", class_="error").text
    no_codes = app_client.post("/admin/users", data=new_user(csrf, scope_codes=""))
    assert no_codes.status_code == 422
    no_role = app_client.post("/admin/users", data=new_user(csrf, role=""))
    assert no_role.status_code == 422
    without_csrf = app_client.post("/admin/users", data=new_user(""))
    assert without_csrf.status_code == 403
    assert "agent.tet" not in users_table(app_client)


def test_establishment_admin_grants_only_what_they_hold(
    app_client: TestClient, make_user: MakeUser
) -> None:
    make_user("admin.hp-tet", Role.ESTABLISHMENT_ADMIN, "establishment:HP-TET-01")
    make_user("dr.elidrissi", Role.CLINICIAN, "establishment:HP-TET-01")
    make_user("dr.amrani", Role.CLINICIAN, "province:TNG")
    csrf = login(app_client, "admin.hp-tet")
    assert set(users_table(app_client)) == {"admin.hp-tet", "dr.elidrissi"}
    page = parse(app_client.get("/admin/users").text)
    roles = {o.get("value") for o in page.find("select", name="role").find_all("option")}
    assert roles == {"", "establishment_admin", "clinician", "admission_agent"}
    assert not page.find("nav", class_="mainnav").find_all("a", href="/admin/audit")
    too_high = app_client.post("/admin/users", data=new_user(csrf, role="regional_admin"))
    assert too_high.status_code == 403
    assert "rôle" in parse(too_high.text).find("div", class_="error").text
    elsewhere = app_client.post("/admin/users", data=new_user(csrf, scope_codes="HP-HOC-01"))
    assert elsewhere.status_code == 403
    ok = app_client.post("/admin/users", data=new_user(csrf), follow_redirects=False)
    assert ok.status_code == 303
    assert app_client.get("/admin/audit").status_code == 403


def test_deactivate_and_reactivate_a_user(app_client: TestClient, make_user: MakeUser) -> None:
    make_user("admin.region", Role.REGIONAL_ADMIN)
    make_user("dr.amrani", Role.CLINICIAN)
    csrf = login(app_client, "admin.region")
    rows = users_table(app_client)
    assert not rows["admin.region"].find_all("form")  # no button to lock oneself out
    action = rows["dr.amrani"].find("form").get("action")
    assert action == "/admin/users/dr.amrani/active"
    response = app_client.post(
        action, data={"csrf_token": csrf, "active": "0"}, follow_redirects=False
    )
    assert response.status_code == 303
    row = users_table(app_client)["dr.amrani"]
    assert "Désactivé" in row.text
    other = TestClient(app_client.app, base_url="http://testserver")
    other.get("/login")
    refused = other.post(
        "/login",
        data={
            "username": "dr.amrani",
            "password": PASSWORD,
            "csrf_token": other.cookies.get("parcours_login_csrf") or "",
        },
    )
    assert refused.status_code == 401
    assert app_client.post(action, data={"csrf_token": csrf, "active": "1"}).status_code == 200
    assert "Actif" in users_table(app_client)["dr.amrani"].text
    myself = app_client.post(
        "/admin/users/admin.region/active", data={"csrf_token": csrf, "active": "0"}
    )
    assert myself.status_code == 409
    assert "propre compte" in parse(myself.text).find("div", class_="error").text


def test_audit_page_lists_filters_and_verifies_the_chain(
    app_client: TestClient, make_user: MakeUser
) -> None:
    make_user("admin.region", Role.REGIONAL_ADMIN)
    csrf = login(app_client, "admin.region")
    app_client.post(
        "/establishments/DR-HOC-01/close",
        data={"csrf_token": csrf, "closed_on": "2026-03-01", "reason": "regroupement"},
    )
    response = app_client.get("/admin/audit")
    assert response.status_code == 200
    doc = parse(response.text)
    total = int(doc.find("p", id="event-count").get("data-total") or 0)
    assert total >= 9  # 6 creations, a user, a login, a close
    actions = [
        r.find_all("td")[3].text
        for r in doc.find("table", id="audit-events").find("tbody").find_all("tr")
    ]
    assert actions[0] == "establishment.close"  # newest first
    assert not doc.find_all("p", id="chain-status")
    assert doc.find("button", id="verify-chain")

    mine = parse(app_client.get("/admin/audit?actor=admin.region").text)
    rows = mine.find("table", id="audit-events").find("tbody").find_all("tr")
    assert rows
    assert all("admin.region" in r.find_all("td")[2].text for r in rows)
    one = parse(app_client.get("/admin/audit?entity_type=establishment&entity_id=DR-HOC-01").text)
    assert int(one.find("p", id="event-count").get("data-total") or 0) == 2
    assert "regroupement" in one.find("table", id="audit-events").text

    checked = parse(app_client.get("/admin/audit?verify=1").text)
    status = checked.find(id="chain-status")
    assert status.get("data-ok") == "true"
    assert "intègre" in status.text


def _language_links(doc: Element) -> dict[str, str]:
    return {
        a.get("hreflang") or "": a.get("href") or ""
        for a in doc.find("nav", class_="lang").find_all("a")
    }


def test_after_a_refused_sign_in_the_language_switch_stays_on_the_form(
    app_client: TestClient, make_user: MakeUser
) -> None:
    make_user("agent.tet", Role.ADMISSION_AGENT)
    app_client.get("/login?next=/establishments%3Fprovince%3DTET")
    token = app_client.cookies.get("parcours_login_csrf") or ""
    refused = app_client.post(
        "/login",
        data={
            "username": "agent.tet",
            "password": PASSWORD + "-faux",
            "csrf_token": token,
            "next": "/establishments?province=TET",
        },
    )
    assert refused.status_code == 401
    links = _language_links(parse(refused.text))
    # Not /overview, which would bounce to the form and lose where the user was going.
    assert links["ar"] == "/login?next=/establishments%3Fprovince%3DTET&lang=ar"
    switched = app_client.get(links["ar"])
    assert switched.status_code == 200
    doc = parse(switched.text)
    assert doc.find("html").get("dir") == "rtl"
    assert doc.find("input", name="next").get("value") == "/establishments?province=TET"


def test_the_language_switch_of_the_form_keeps_its_query(app_client: TestClient) -> None:
    doc = parse(app_client.get("/login?next=/overview&reason=session_expired").text)
    links = _language_links(doc)
    assert links["ar"] == "/login?next=%2Foverview&reason=session_expired&lang=ar"
