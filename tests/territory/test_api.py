"""The registry's JSON API (``/api/v1``): reading, writing with permissions, error shapes."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from parcours.access import service as access
from parcours.access.models import AuditEvent
from parcours.access.rules import Role, system_principal
from parcours.territory.rules import EstablishmentType
from tests.conftest import MakeUser, login

PROVINCES = {"TNG", "MDF", "TET", "FAN", "LAR", "HOC", "CHE", "OUZ"}


def _error(response: httpx2.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    error: dict[str, Any] = body["error"]
    assert isinstance(error["code"], str)
    assert isinstance(error["message"], str)
    assert error["message"]
    return error


def _audit_rows(db: Session, entity_id: str) -> list[tuple[str, str]]:
    db.expire_all()
    rows = [
        (e.action, e.actor)
        for e in db.scalars(select(AuditEvent).where(AuditEvent.entity_id == entity_id))
    ]
    db.commit()  # end the read (SQLite: every transaction holds the write lock)
    return rows


@pytest.fixture
def reader(app_client: TestClient, small_region: dict[str, str], make_user: MakeUser) -> TestClient:
    make_user("analyst", Role.ANALYST)
    login(app_client, "analyst")
    return app_client


def _signed_in(client: TestClient, username: str) -> dict[str, str]:
    client.cookies.clear()
    return {"X-CSRF-Token": login(client, username)}


def _new(**overrides: Any) -> dict[str, Any]:
    return {
        "code": "hp-mdf-01",
        "name": "Hôpital de proximité de Fnideq",
        "type": "proximity_hospital",
        "province": "MDF",
        "town": "Fnideq",
        "latitude": 35.85,
        "longitude": -5.36,
        "services": [{"specialty": "emergency", "beds": 12}],
    } | overrides


# --- reading -------------------------------------------------------------------


def test_list_establishments(reader: TestClient) -> None:
    response = reader.get("/api/v1/establishments")
    assert response.status_code == 200
    body = response.json()
    assert (body["total"], body["page"], body["page_size"]) == (6, 1, 50)
    assert [i["code"] for i in body["items"]][:1] == ["CHU-TNG"]
    assert body["items"][0] == {
        "code": "CHU-TNG",
        "name": "CHU Mohammed VI de Tanger",
        "type": "chu",
        "type_label": "Centre hospitalier universitaire",
        "category": "chu",
        "care_level": 4,
        "province": "TNG",
        "town": "",
        "status": "open",
        "latitude": 35.73,
        "longitude": -5.85,
        "beds": 130,
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"type": "regional_hospital"}, ["HP-TET-01"]),
        ({"province": "HOC"}, ["DR-HOC-01", "HP-HOC-01"]),
        ({"province": "hoc"}, ["DR-HOC-01", "HP-HOC-01"]),
        ({"specialty": "cardiology"}, ["CHU-TNG", "HP-TET-01"]),
        ({"q": "hopital"}, ["HP-HOC-01", "HP-TET-01"]),
        ({"q": "Hôpital"}, ["HP-HOC-01", "HP-TET-01"]),
        ({"q": "dr-hoc-01"}, ["DR-HOC-01"]),
        ({"category": "health_centre"}, ["CSR-TET-01", "CSU-TNG-01", "DR-HOC-01"]),
        ({"care_level": 3}, ["HP-TET-01"]),
        ({"status": "closed"}, []),
        ({"type": "csu_1", "province": "TNG", "specialty": "vaccination"}, ["CSU-TNG-01"]),
    ],
)
def test_list_filters(reader: TestClient, params: dict[str, Any], expected: list[str]) -> None:
    body = reader.get("/api/v1/establishments", params=params).json()
    assert sorted(i["code"] for i in body["items"]) == expected
    assert body["total"] == len(expected)


def test_list_pages(reader: TestClient) -> None:
    seen: list[str] = []
    for page in (1, 2, 3):
        body = reader.get("/api/v1/establishments", params={"page": page, "page_size": 2}).json()
        assert (body["total"], body["page"], body["page_size"]) == (6, page, 2)
        assert len(body["items"]) == 2
        seen += [i["code"] for i in body["items"]]
    assert len(set(seen)) == 6
    beyond = reader.get("/api/v1/establishments", params={"page": 4, "page_size": 2}).json()
    assert (beyond["total"], beyond["items"]) == (6, [])


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"type": "hospital"}, "query.type"),
        ({"care_level": 5}, "query.care_level"),
        ({"page": 0}, "query.page"),
        ({"page_size": 500}, "query.page_size"),
        ({"status": "gone"}, "query.status"),
        ({"q": "x" * 101}, "query.q"),
    ],
)
def test_bad_filters_are_422_with_details(
    reader: TestClient, params: dict[str, Any], field: str
) -> None:
    error = _error(reader.get("/api/v1/establishments", params=params), 422)
    assert error["code"] == "validation_error"
    assert [d["field"] for d in error["details"]] == [field]
    assert error["details"][0]["message"]


def test_get_one_establishment(reader: TestClient) -> None:
    body = reader.get("/api/v1/establishments/hp-tet-01").json()
    assert body["code"] == "HP-TET-01"
    assert body["province_name"] == "Tétouan"
    assert body["type_label"] == "Hôpital régional"
    assert body["status_label"] == "En service"
    assert body["version"] == 1
    assert body["beds"] == 50
    assert body["services"] == [
        {"specialty": "cardiology", "specialty_name": "Cardiologie", "beds": 20},
        {"specialty": "paediatrics", "specialty_name": "Pédiatrie", "beds": 30},
    ]


def test_an_unknown_establishment_is_a_json_404(reader: TestClient) -> None:
    error = _error(reader.get("/api/v1/establishments/NOPE-404"), 404)
    assert error["code"] == "establishment_not_found"
    assert "NOPE-404" in error["message"]
    error = _error(reader.get("/api/v1/no-such-route"), 404)
    assert error["code"] == "not_found"


def test_summary_shape(reader: TestClient) -> None:
    body = reader.get("/api/v1/territory/summary").json()
    assert body["total"] == 6
    assert body["by_category"] == {"chu": 1, "hospital": 2, "health_centre": 3}
    assert set(body["by_type"]) == {t.value for t in EstablishmentType}
    assert body["by_type"]["chu"] == 1
    assert sum(body["by_type"].values()) == 6
    assert body["by_province"] == dict.fromkeys(PROVINCES, 0) | {"TNG": 2, "TET": 2, "HOC": 2}
    assert body["by_care_level"] == {"1": 3, "2": 1, "3": 1, "4": 1}
    assert body["beds"] == 229
    assert isinstance(body["population"], int)


def test_reference_lists(reader: TestClient) -> None:
    provinces = reader.get("/api/v1/territory/provinces").json()
    assert {p["code"] for p in provinces} == PROVINCES
    assert all(p["population_2024"] > 0 for p in provinces)
    specialties = reader.get("/api/v1/territory/specialties").json()
    assert specialties[0] == {
        "code": "general_medicine",
        "name": "Médecine générale",
        "hospital_only": False,
    }


def test_reading_with_a_bearer_token(
    app_client: TestClient, db: Session, small_region: dict[str, str], make_user: MakeUser
) -> None:
    make_user("system.his", Role.ADMISSION_AGENT)
    raw = access.issue_token(db, system_principal("test"), "system.his", province_of=small_region)
    headers = {"Authorization": f"Bearer {raw}"}
    assert app_client.get("/api/v1/territory/summary", headers=headers).json()["total"] == 6
    one = app_client.get("/api/v1/establishments/CHU-TNG", headers=headers)
    assert one.json()["code"] == "CHU-TNG"


# --- writing -------------------------------------------------------------------


def test_the_regional_admin_creates_updates_and_closes(
    app_client: TestClient, db: Session, small_region: dict[str, str], make_user: MakeUser
) -> None:
    make_user("regional")
    headers = _signed_in(app_client, "regional")

    created = app_client.post("/api/v1/establishments", json=_new(), headers=headers)
    assert created.status_code == 201, created.text
    assert (created.json()["code"], created.json()["version"]) == ("HP-MDF-01", 1)

    duplicate = app_client.post("/api/v1/establishments", json=_new(), headers=headers)
    assert _error(duplicate, 409)["code"] == "establishment_exists"

    patched = app_client.patch(
        "/api/v1/establishments/HP-MDF-01",
        json={"phone": "0539 00 00 00", "reason": "annuaire"},
        headers=headers,
    )
    assert patched.status_code == 200
    assert (patched.json()["phone"], patched.json()["version"]) == ("0539 00 00 00", 2)

    closing = app_client.patch(
        "/api/v1/establishments/HP-MDF-01", json={"status": "closed"}, headers=headers
    )
    assert _error(closing, 409)["code"] == "use_close"

    closed = app_client.post(
        "/api/v1/establishments/HP-MDF-01/close",
        json={"closed_on": "2026-12-31", "reason": "regroupement"},
        headers=headers,
    )
    assert closed.status_code == 200
    assert (closed.json()["status"], closed.json()["closed_on"]) == ("closed", "2026-12-31")
    again = app_client.post(
        "/api/v1/establishments/HP-MDF-01/close",
        json={"closed_on": "2027-01-01", "reason": "encore"},
        headers=headers,
    )
    assert _error(again, 409)["code"] == "already_closed"

    history = app_client.get("/api/v1/establishments/HP-MDF-01/history").json()
    assert [(h["version"], h["change"]) for h in history] == [
        (1, "create"),
        (2, "update"),
        (3, "close"),
    ]
    assert history[1]["changes"] == {"phone": ["", "0539 00 00 00"]}
    assert history[1]["reason"] == "annuaire"
    assert [a for a, _ in _audit_rows(db, "HP-MDF-01")] == [
        "establishment.create",
        "establishment.update",
        "establishment.close",
    ]
    assert {actor for _, actor in _audit_rows(db, "HP-MDF-01")} == {"regional"}


def test_only_the_regional_admin_creates(
    app_client: TestClient, db: Session, small_region: dict[str, str], make_user: MakeUser
) -> None:
    make_user("mdf.admin", Role.ESTABLISHMENT_ADMIN, "province:MDF")
    make_user("doc", Role.CLINICIAN)
    for username in ("mdf.admin", "doc"):
        headers = _signed_in(app_client, username)
        response = app_client.post("/api/v1/establishments", json=_new(), headers=headers)
        assert _error(response, 403)["code"] == "permission_denied"
    assert _audit_rows(db, "HP-MDF-01") == []


def test_an_out_of_scope_establishment_is_refused(
    app_client: TestClient, db: Session, small_region: dict[str, str], make_user: MakeUser
) -> None:
    make_user("tet.admin", Role.ESTABLISHMENT_ADMIN, "establishment:HP-TET-01")
    headers = _signed_in(app_client, "tet.admin")
    before = app_client.get("/api/v1/establishments/HP-HOC-01").json()

    response = app_client.patch(
        "/api/v1/establishments/HP-HOC-01",
        json={"name": "Hôpital pris", "reason": "essai"},
        headers=headers,
    )
    error = _error(response, 403)
    assert error["code"] == "out_of_scope"
    assert "HP-HOC-01" in error["message"]
    closing = app_client.post(
        "/api/v1/establishments/HP-HOC-01/close",
        json={"closed_on": "2026-12-31", "reason": "essai"},
        headers=headers,
    )
    assert _error(closing, 403)["code"] == "out_of_scope"

    after = app_client.get("/api/v1/establishments/HP-HOC-01").json()
    assert after == before
    assert after["version"] == 1
    assert [a for a, _ in _audit_rows(db, "HP-HOC-01")] == ["establishment.create"]

    # Inside its scope the same admin may update.
    own = app_client.patch(
        "/api/v1/establishments/HP-TET-01", json={"phone": "0539"}, headers=headers
    )
    assert own.status_code == 200
    assert own.json()["version"] == 2


def test_a_province_admin_updates_inside_the_province_only(
    app_client: TestClient, small_region: dict[str, str], make_user: MakeUser
) -> None:
    make_user("tet.province", Role.ESTABLISHMENT_ADMIN, "province:TET")
    headers = _signed_in(app_client, "tet.province")
    for code in ("HP-TET-01", "CSR-TET-01"):
        response = app_client.patch(
            f"/api/v1/establishments/{code}", json={"town": "Tétouan"}, headers=headers
        )
        assert response.status_code == 200, code
    for code in ("HP-HOC-01", "CHU-TNG"):
        response = app_client.patch(
            f"/api/v1/establishments/{code}", json={"town": "Tétouan"}, headers=headers
        )
        assert _error(response, 403)["code"] == "out_of_scope"
    moved = app_client.patch(
        "/api/v1/establishments/CSR-TET-01", json={"province": "HOC"}, headers=headers
    )
    assert _error(moved, 403)["code"] == "permission_denied"  # moving is regional


def test_an_analyst_writes_nothing(reader: TestClient) -> None:
    csrf = reader.get("/api/v1/me").json()["csrf_token"]
    response = reader.patch(
        "/api/v1/establishments/HP-TET-01", json={"phone": "1"}, headers={"X-CSRF-Token": csrf}
    )
    assert _error(response, 403)["code"] == "permission_denied"


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"type": "hospital"}, ["body.type"]),
        ({"name": ""}, ["body.name"]),
        ({"code": "X"}, ["body.code"]),
        ({"catchment_population": -1}, ["body.catchment_population"]),
        ({"services": [{"specialty": "emergency", "beds": -1}]}, ["body.services.0.beds"]),
        ({"colour": "red"}, ["body.colour"]),
    ],
)
def test_schema_errors_are_422_validation_error_with_details(
    app_client: TestClient,
    small_region: dict[str, str],
    make_user: MakeUser,
    body: dict[str, Any],
    fields: list[str],
) -> None:
    make_user("regional")
    headers = _signed_in(app_client, "regional")
    response = app_client.post("/api/v1/establishments", json=_new(**body), headers=headers)
    error = _error(response, 422)
    assert error["code"] == "validation_error"
    assert [d["field"] for d in error["details"]] == fields


def test_domain_errors_are_422_with_every_problem(
    app_client: TestClient, small_region: dict[str, str], make_user: MakeUser
) -> None:
    make_user("regional")
    headers = _signed_in(app_client, "regional")
    response = app_client.post(
        "/api/v1/establishments",
        json=_new(province="RAB", latitude=95, services=[{"specialty": "astrology"}]),
        headers=headers,
    )
    error = _error(response, 422)
    assert error["code"] == "invalid_establishment"
    for fragment in ("province inconnue : RAB", "latitude hors limites", "astrology"):
        assert fragment in error["message"]
    patch = app_client.patch(
        "/api/v1/establishments/HP-TET-01", json={"latitude": None}, headers=headers
    )
    assert _error(patch, 422)["code"] == "invalid_establishment"
    missing = app_client.patch(
        "/api/v1/establishments/NOPE-1", json={"phone": "1"}, headers=headers
    )
    assert _error(missing, 404)["code"] == "establishment_not_found"


def test_a_write_records_who_when_what_from_where_and_why(
    app_client: TestClient, db: Session, small_region: dict[str, str], make_user: MakeUser
) -> None:
    make_user("regional")
    headers = _signed_in(app_client, "regional")
    response = app_client.patch(
        "/api/v1/establishments/CSU-TNG-01",
        json={"catchment_population": 25000, "reason": "recensement 2024"},
        headers=headers,
    )
    assert response.status_code == 200
    page = app_client.get(
        "/api/v1/audit", params={"entity_type": "establishment", "entity_id": "CSU-TNG-01"}
    ).json()
    newest = page["items"][0]
    assert newest["action"] == "establishment.update"
    assert (newest["actor"], newest["channel"], newest["ip"]) == (
        "regional",
        "session",
        "testclient",
    )
    assert newest["reason"] == "recensement 2024"
    assert newest["details"] == {"fields": ["catchment_population"]}
    assert newest["outcome"] == "success"
    assert newest["occurred_at"] >= page["items"][-1]["occurred_at"]
