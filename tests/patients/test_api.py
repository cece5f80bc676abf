"""The MPI's JSON API: shapes, permissions, scope and error answers."""

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
from parcours.patients.fellegi_sunter import Model
from parcours.territory import service as territory
from tests.conftest import MakeUser, login
from tests.patients.test_service import install_model

MOHAMMED = {
    "establishment": "CHU-TNG",
    "local_id": "A1",
    "given_name": "Mohammed",
    "family_name": "Elamrani",
    "sex": "M",
    "birth_date": "1985-03-12",
    "phone": "0612345678",
    "cin": "K123456",
}


@pytest.fixture
def mpi_client(
    app_client: TestClient, db: Session, small_region: dict[str, str], model: Model
) -> TestClient:
    install_model(db, model)
    return app_client


def _error(response: httpx2.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    error: dict[str, Any] = body["error"]
    assert error["code"]
    assert error["message"]
    return error


def _agent(client: TestClient, make_user: MakeUser, name: str, scope: str) -> dict[str, str]:
    make_user(name, Role.ADMISSION_AGENT, scope)
    return {"X-CSRF-Token": login(client, name)}


def test_register_match_search_and_read(mpi_client: TestClient, make_user: MakeUser) -> None:
    headers = _agent(mpi_client, make_user, "desk", "province:TNG")
    created = mpi_client.post("/api/v1/patients/records", json=MOHAMMED, headers=headers)
    assert created.status_code == 201, created.text
    registration = created.json()
    assert set(registration) == {"record_key", "person_id", "decision", "candidates"}
    assert registration["decision"] == "new"
    person_id = registration["person_id"]
    assert person_id.startswith("P")
    assert len(person_id) == 9

    second = {
        **MOHAMMED,
        "establishment": "CSU-TNG-01",
        "local_id": "Z3",
        "given_name": "Mhamed",
        "family_name": "El Amrani",
        "cin": "k-123456",
    }
    matched = mpi_client.post("/api/v1/patients/match", json=second, headers=headers)
    assert matched.status_code == 200, matched.text
    candidate = matched.json()[0]
    assert candidate["person_id"] == person_id
    assert candidate["decision"] == "link"
    assert candidate["rule"] == "cin"
    assert {"field", "label", "level_label", "bits"} == set(candidate["fields"][0])
    linked = mpi_client.post("/api/v1/patients/records", json=second, headers=headers).json()
    assert (linked["decision"], linked["person_id"]) == ("link", person_id)

    found = mpi_client.get("/api/v1/persons", params={"q": "mhamed el amrani"})
    assert found.status_code == 200
    page = found.json()
    assert page["total"] == 1
    item = page["items"][0]
    assert item["person_id"] == person_id
    assert item["display_name"] == "Mohammed Elamrani"
    assert item["establishments"] == ["CHU-TNG", "CSU-TNG-01"]
    assert item["records"] == 2
    assert mpi_client.get("/api/v1/persons", params={"cin": "K 123456"}).json()["total"] == 1

    person = mpi_client.get(f"/api/v1/persons/{person_id}")
    assert person.status_code == 200
    body = person.json()
    assert [r["local_id"] for r in body["records"]] == ["A1", "Z3"]
    assert [e["action"] for e in body["history"]] == ["link", "link"]
    assert {"kind": "cin", "value": "K123456", "establishment": None} in body["identifiers"]


def test_links_unlink_and_undo(mpi_client: TestClient, make_user: MakeUser) -> None:
    headers = _agent(mpi_client, make_user, "desk", "gst")
    first = mpi_client.post("/api/v1/patients/records", json=MOHAMMED, headers=headers).json()
    other = mpi_client.post(
        "/api/v1/patients/records",
        json={**MOHAMMED, "local_id": "A2", "cin": "", "given_name": "Ali", "birth_date": "1950"},
        headers=headers,
    ).json()
    assert other["person_id"] != first["person_id"]
    linked = mpi_client.post(
        f"/api/v1/persons/{first['person_id']}/links",
        json={"record_key": other["record_key"], "reason": "même personne, vérifié"},
        headers=headers,
    )
    assert linked.status_code == 201, linked.text
    event = linked.json()
    assert (event["action"], event["rule"], event["actor"]) == ("link", "manual", "desk")
    again = mpi_client.post(
        f"/api/v1/persons/{first['person_id']}/links",
        json={"record_key": other["record_key"], "reason": "deux fois"},
        headers=headers,
    )
    assert _error(again, 409)["code"] == "already_linked"
    unlinked = mpi_client.post(
        f"/api/v1/patients/records/{other['record_key']}/unlink",
        json={"reason": "erreur"},
        headers=headers,
    )
    assert unlinked.status_code == 200, unlinked.text
    undone = mpi_client.post(
        f"/api/v1/patients/link-events/{unlinked.json()['id']}/undo",
        json={"reason": "retour"},
        headers=headers,
    )
    assert undone.status_code == 200, undone.text
    assert undone.json()["person_id"] == first["person_id"]
    missing = mpi_client.post(
        "/api/v1/patients/link-events/999999/undo", json={"reason": "rien"}, headers=headers
    )
    assert _error(missing, 404)["code"] == "event_not_found"
    no_reason = mpi_client.post(
        f"/api/v1/patients/records/{other['record_key']}/unlink", json={}, headers=headers
    )
    assert _error(no_reason, 422)["code"] == "validation_error"


def test_review_queue_over_the_api(mpi_client: TestClient, make_user: MakeUser) -> None:
    headers = _agent(mpi_client, make_user, "desk", "gst")
    mpi_client.post(
        "/api/v1/patients/records", json={**MOHAMMED, "cin": ""}, headers=headers
    ).raise_for_status()
    borderline = {
        "establishment": "HP-TET-01",
        "local_id": "B1",
        "given_name": "Mohamed",
        "family_name": "Amrani",
        "sex": "M",
        "birth_date": "1985-04-12",
    }
    registered = mpi_client.post("/api/v1/patients/records", json=borderline, headers=headers)
    assert registered.json()["decision"] == "review"
    queue = mpi_client.get("/api/v1/mpi/reviews").json()
    assert queue["total"] == 1
    review = queue["items"][0]
    assert review["status"] == "open"
    assert review["record"]["local_id"] == "B1"
    assert review["candidate"]["local_id"] == "A1"
    detail = mpi_client.get(f"/api/v1/mpi/reviews/{review['id']}")
    assert detail.json()["fields"]
    bad = mpi_client.post(
        f"/api/v1/mpi/reviews/{review['id']}/decision",
        json={"decision": "maybe", "reason": "?"},
        headers=headers,
    )
    assert _error(bad, 422)["code"] == "validation_error"
    decided = mpi_client.post(
        f"/api/v1/mpi/reviews/{review['id']}/decision",
        json={"decision": "keep_apart", "reason": "deux personnes"},
        headers=headers,
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "kept_apart"
    twice = mpi_client.post(
        f"/api/v1/mpi/reviews/{review['id']}/decision",
        json={"decision": "link", "reason": "finalement"},
        headers=headers,
    )
    assert _error(twice, 409)["code"] == "review_decided"
    assert _error(mpi_client.get("/api/v1/mpi/reviews/424242"), 404)["code"] == ("review_not_found")


def test_errors_permissions_and_scope(
    mpi_client: TestClient, make_user: MakeUser, db: Session
) -> None:
    assert _error(mpi_client.get("/api/v1/persons", params={"q": "x"}), 401)["code"] == (
        "authentication_required"
    )
    headers = _agent(mpi_client, make_user, "desk", "establishment:CHU-TNG")
    no_csrf = mpi_client.post("/api/v1/patients/records", json=MOHAMMED)
    assert _error(no_csrf, 403)["code"] == "csrf_invalid"
    person_id = mpi_client.post("/api/v1/patients/records", json=MOHAMMED, headers=headers).json()[
        "person_id"
    ]
    duplicate = mpi_client.post("/api/v1/patients/records", json=MOHAMMED, headers=headers)
    assert _error(duplicate, 409)["code"] == "local_id_exists"
    bad_date = mpi_client.post(
        "/api/v1/patients/records",
        json={**MOHAMMED, "local_id": "A9", "birth_date": "hier"},
        headers=headers,
    )
    assert _error(bad_date, 422)["code"] == "invalid_birth_date"
    elsewhere = mpi_client.post(
        "/api/v1/patients/records",
        json={**MOHAMMED, "establishment": "HP-TET-01", "local_id": "T1"},
        headers=headers,
    )
    assert _error(elsewhere, 403)["code"] == "out_of_scope"
    assert _error(mpi_client.get("/api/v1/persons/P99999999"), 404)["code"] == ("person_not_found")
    assert _error(mpi_client.get("/api/v1/persons"), 422)["code"] == "no_criteria"

    # another desk, far away, with a bearer token
    make_user("far", Role.CLINICIAN, "establishment:DR-HOC-01")
    token = access.issue_token(
        db,
        system_principal("test"),
        "far",
        province_of=territory.province_of_establishments(db),
    )
    bearer = {"Authorization": f"Bearer {token}"}
    with TestClient(mpi_client.app, base_url="http://testserver") as other:
        denied = other.get(f"/api/v1/persons/{person_id}", headers=bearer)
        assert _error(denied, 403)["code"] == "out_of_scope"
        allowed = other.get(
            f"/api/v1/persons/{person_id}", params={"reason": "urgence"}, headers=bearer
        )
        assert allowed.status_code == 200
        assert (
            other.get("/api/v1/persons", params={"q": "elamrani"}, headers=bearer).json()["total"]
            == 1
        )
    db.expire_all()
    actions = [
        (e.action, e.actor)
        for e in db.scalars(select(AuditEvent).where(AuditEvent.entity_id == person_id))
    ]
    db.commit()
    assert ("person.read.emergency", "far") in actions

    for role in (Role.ANALYST, Role.REGIONAL_ADMIN):
        name = f"user_{role.value}"
        make_user(name, role, "gst")
        with TestClient(mpi_client.app, base_url="http://testserver") as client:
            login(client, name)
            assert _error(client.get("/api/v1/persons", params={"q": "x"}), 403)["code"] == (
                "permission_denied"
            )
            assert _error(client.get(f"/api/v1/persons/{person_id}"), 403)["code"] == (
                "permission_denied"
            )
            assert _error(client.get("/api/v1/mpi/reviews"), 403)["code"] == "permission_denied"
