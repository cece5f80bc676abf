"""The care pathways' JSON API: the referral lifecycle, errors, routing, map, timeline, inbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from parcours.access import service as access
from parcours.access.rules import Role, system_principal
from parcours.territory import service as territory
from tests.conftest import MakeUser, login
from tests.pathways.conftest import CENTRE, CHU, PROVINCIAL, REGIONAL, Network, known_at


def _error(response: httpx2.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    error: dict[str, Any] = body["error"]
    assert error["code"] == code
    assert error["message"]
    return error


@pytest.fixture
def tokens(db: Session, network: Network, make_user: MakeUser) -> dict[str, dict[str, str]]:
    """Bearer headers for a nurse of the centre, a cardiologist of the hospital, an analyst."""
    people = {
        "nurse": (Role.CLINICIAN, f"establishment:{CENTRE}"),
        "cardio": (Role.CLINICIAN, f"establishment:{PROVINCIAL}"),
        "desk": (Role.ADMISSION_AGENT, f"establishment:{PROVINCIAL}"),
        "analyst": (Role.ANALYST, "gst"),
        "admin": (Role.REGIONAL_ADMIN, "gst"),
    }
    headers: dict[str, dict[str, str]] = {}
    for name, (role, scope) in people.items():
        make_user(name, role, scope)
        raw = access.issue_token(
            db,
            system_principal("test"),
            name,
            province_of=territory.province_of_establishments(db),
        )
        headers[name] = {"Authorization": f"Bearer {raw}"}
    return headers


def _referral(network: Network, **values: Any) -> dict[str, Any]:
    return {
        "person_id": network.person,
        "source": CENTRE,
        "specialty": "cardiology",
        "priority": "priority",
        "reason": "Douleur thoracique d'effort",
        "clinical_summary": "ECG : sous-décalage ST en V4-V6.",
        "attachments": [{"name": "ecg-2026-03-02.pdf", "size_bytes": 48211}],
    } | values


def test_the_referral_lifecycle_through_the_api(
    app_client: TestClient, network: Network, tokens: dict[str, dict[str, str]]
) -> None:
    created = app_client.post("/api/v1/referrals", json=_referral(network), headers=tokens["nurse"])
    assert created.status_code == 201, created.text
    body = created.json()
    rid = body["id"]
    assert (body["state"], body["destination"], body["along_map"]) == ("sent", PROVINCIAL, True)
    assert body["attachments"][0]["name"] == "ecg-2026-03-02.pdf"

    def move(who: str, **payload: Any) -> httpx2.Response:
        return app_client.post(
            f"/api/v1/referrals/{rid}/transitions", json=payload, headers=tokens[who]
        )

    accepted = move("cardio", action="accept", expected_version=2)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["state"] == "accepted"
    # the same click again, on the page the user still had: the version moved on
    _error(move("cardio", action="accept", expected_version=2), 409, "stale_version")
    _error(move("cardio", action="accept"), 409, "not_allowed_from_state")
    _error(move("desk", action="schedule"), 422, "appointment_required")
    soon = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    assert move("desk", action="schedule", appointment_at=soon).status_code == 200
    assert move("desk", action="arrive").status_code == 200
    _error(move("cardio", action="complete"), 422, "counter_referral_required")
    done = move("cardio", action="complete", counter_referral="Angor stable, traitement ajusté.")
    assert done.json()["state"] == "completed"

    read = app_client.get(f"/api/v1/referrals/{rid}", headers=tokens["nurse"])
    assert read.status_code == 200
    history = read.json()["history"]
    assert [h["to_state"] for h in history] == [
        "draft",
        "sent",
        "accepted",
        "appointment_scheduled",
        "patient_arrived",
        "completed",
    ]
    assert history[2]["by"] == "cardio"

    inbox = app_client.get(f"/api/v1/establishments/{CENTRE}/inbox", headers=tokens["nurse"])
    assert inbox.status_code == 200
    assert [r["id"] for r in inbox.json()["counter_referrals"]] == [rid]
    assert inbox.json()["counter_referrals_total"] == 1
    second = app_client.get(
        f"/api/v1/establishments/{CENTRE}/inbox?counter_referrals=2", headers=tokens["nurse"]
    )
    assert (second.json()["counter_referrals"], second.json()["pages"]["counter_referrals"]) == (
        [],
        2,
    )
    _error(
        app_client.get(
            f"/api/v1/establishments/{CENTRE}/inbox?incoming=0", headers=tokens["nurse"]
        ),
        422,
        "validation_error",
    )

    line = app_client.get(f"/api/v1/persons/{network.person}/timeline", headers=tokens["nurse"])
    assert line.status_code == 200
    assert next(i["type"] for i in line.json()["items"]) == "counter_referral"


def test_errors_are_json_with_a_code(
    app_client: TestClient, network: Network, tokens: dict[str, dict[str, str]]
) -> None:
    _error(
        app_client.post("/api/v1/referrals", json=_referral(network)),
        401,
        "authentication_required",
    )
    _error(
        app_client.post("/api/v1/referrals", json=_referral(network), headers=tokens["analyst"]),
        403,
        "permission_denied",
    )
    _error(
        app_client.post(
            "/api/v1/referrals", json=_referral(network, source=CHU), headers=tokens["nurse"]
        ),
        403,
        "out_of_scope",
    )
    _error(
        app_client.post(
            "/api/v1/referrals", json=_referral(network, priority="asap"), headers=tokens["nurse"]
        ),
        422,
        "validation_error",
    )
    _error(
        app_client.get("/api/v1/referrals/999999", headers=tokens["nurse"]),
        404,
        "referral_not_found",
    )
    rid = app_client.post(
        "/api/v1/referrals", json=_referral(network), headers=tokens["nurse"]
    ).json()["id"]
    _error(
        app_client.post(
            f"/api/v1/referrals/{rid}/transitions",
            json={"action": "expire"},
            headers=tokens["cardio"],
        ),
        403,
        "system_only",
    )
    _error(
        app_client.get(f"/api/v1/referrals/{rid}", headers=tokens["analyst"]),
        403,
        "permission_denied",
    )


def test_routing_map_and_beds_need_no_personal_data(
    app_client: TestClient, network: Network, tokens: dict[str, dict[str, str]]
) -> None:
    routed = app_client.get(
        "/api/v1/routing",
        params={"from": CENTRE, "specialty": "cardiology", "priority": "routine"},
        headers=tokens["analyst"],
    )
    assert routed.status_code == 200, routed.text
    proposals = routed.json()["proposals"]
    assert proposals[0]["code"] == PROVINCIAL
    assert proposals[0]["designated"]
    assert {p["code"] for p in proposals} == {PROVINCIAL, REGIONAL, CHU}
    assert all(p["reasons"] for p in proposals)
    _error(
        app_client.get(
            "/api/v1/routing",
            params={"from": CENTRE, "specialty": "nope"},
            headers=tokens["analyst"],
        ),
        422,
        "unknown_specialty",
    )
    app_client.post("/api/v1/referrals", json=_referral(network), headers=tokens["nurse"])
    drawn = app_client.get(
        "/api/v1/pathway-map", params={"specialty": "cardiology"}, headers=tokens["analyst"]
    )
    assert drawn.status_code == 200
    assert drawn.json()["flows"] == [
        {
            "source": CENTRE,
            "destination": PROVINCIAL,
            "referrals": 1,
            "along_map": 1,
            "outside_map": 0,
        }
    ]
    beds = app_client.get(
        "/api/v1/beds", params={"specialty": "cardiology"}, headers=tokens["analyst"]
    )
    assert beds.status_code == 200
    assert beds.json()["declared"] == 1 + 3 + 4


def test_the_map_is_amended_by_the_regional_administration_only(
    app_client: TestClient, network: Network, tokens: dict[str, dict[str, str]]
) -> None:
    change = {
        "reason": "Cardiologie de Chefchaouen fermée pour travaux",
        "add": [{"source": CENTRE, "specialty": "cardiology", "destination": REGIONAL}],
    }
    _error(
        app_client.post("/api/v1/pathway-map/versions", json=change, headers=tokens["cardio"]),
        403,
        "permission_denied",
    )
    made = app_client.post("/api/v1/pathway-map/versions", json=change, headers=tokens["admin"])
    assert made.status_code == 201, made.text
    assert made.json()["number"] == 2
    _error(
        app_client.post("/api/v1/pathway-map/versions", json=change, headers=tokens["admin"]),
        422,
        "map_no_change",
    )
    routed = app_client.get(
        "/api/v1/routing",
        params={"from": CENTRE, "specialty": "cardiology"},
        headers=tokens["nurse"],
    )
    assert routed.json()["designated"] == REGIONAL
    assert routed.json()["map_version"] == 2


def test_encounters_through_the_api(
    app_client: TestClient, db: Session, network: Network, tokens: dict[str, dict[str, str]]
) -> None:
    venue = {"person_id": network.person, "establishment": PROVINCIAL, "kind": "consultation"}
    _error(
        app_client.post("/api/v1/encounters", json=venue, headers=tokens["desk"]),
        403,
        "person_not_known_here",
    )
    known_at(db, network.person, PROVINCIAL)  # the desk registers her at the hospital first
    admitted = app_client.post(
        "/api/v1/encounters",
        json={
            "person_id": network.person,
            "establishment": PROVINCIAL,
            "kind": "admission",
            "specialty": "cardiology",
            "bed_label": "C-12",
        },
        headers=tokens["desk"],
    )
    assert admitted.status_code == 201, admitted.text
    stay = admitted.json()
    _error(
        app_client.post(
            "/api/v1/encounters",
            json={
                "person_id": network.person,
                "establishment": PROVINCIAL,
                "kind": "admission",
                "specialty": "cardiology",
            },
            headers=tokens["desk"],
        ),
        409,
        "service_full",
    )
    out = app_client.post(
        f"/api/v1/encounters/{stay['id']}/discharge",
        json={"mode": "against_advice", "diagnoses": ["I20.0"]},
        headers=tokens["cardio"],
    )
    assert out.status_code == 200, out.text
    assert out.json()["discharge_mode"] == "against_advice"
    assert out.json()["diagnoses"][0]["code"] == "I20.0"


def test_the_browser_session_needs_the_csrf_header_to_write(
    app_client: TestClient, network: Network, make_user: MakeUser
) -> None:
    make_user("nurse.web", Role.CLINICIAN, f"establishment:{CENTRE}")
    csrf = login(app_client, "nurse.web")
    _error(app_client.post("/api/v1/referrals", json=_referral(network)), 403, "csrf_invalid")
    ok = app_client.post(
        "/api/v1/referrals", json=_referral(network), headers={"X-CSRF-Token": csrf}
    )
    assert ok.status_code == 201, ok.text
