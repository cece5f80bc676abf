"""The workforce over HTTP: JSON API (errors with a machine code and a French message) and pages."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient

from parcours.access.rules import Role
from tests.conftest import MakeUser, login
from tests.web.markup import parse
from tests.workforce.conftest import Staffed


def _error(response: httpx2.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"]
    assert error["message"]
    return error


@pytest.fixture
def hr(app_client: TestClient, staffed: Staffed, make_user: MakeUser) -> tuple[TestClient, str]:
    make_user("rh.region", Role.HR_OFFICER)
    make_user("rh.chu", Role.HR_OFFICER, "establishment:CHU-TNG")
    make_user("rh.hoc", Role.HR_OFFICER, "establishment:HP-HOC-01")
    make_user("analyste", Role.ANALYST)
    return app_client, login(app_client, "rh.chu")


def test_api_mobility_journey_and_refusals(hr: tuple[TestClient, str], staffed: Staffed) -> None:
    client, csrf = hr
    headers = {"X-CSRF-Token": csrf}
    body = {
        "professional_id": staffed.surgeon_chu,
        "to_establishment": "HP-HOC-01",
        "to_service": "general_surgery",
        "motive": "renfort",
    }
    created = client.post("/api/v1/workforce/mobility", json=body, headers=headers)
    assert created.status_code == 201, created.text
    request = created.json()
    assert request["state"] == "awaiting_opinions"
    assert request["allowed_actions"] == ["releasing_opinion", "withdraw"]
    url = f"/api/v1/workforce/mobility/{request['id']}/steps"
    error = _error(client.post(url, json={"action": "approve"}, headers=headers), 403)
    assert error["code"] == "regional_decision"
    assert "direction régionale" in error["message"]
    error = _error(
        client.post(
            url, json={"action": "receiving_opinion", "opinion": "favourable"}, headers=headers
        ),
        403,
    )
    assert error["code"] == "not_your_establishment"
    ok = client.post(
        url, json={"action": "releasing_opinion", "opinion": "favourable"}, headers=headers
    )
    assert ok.status_code == 200, ok.text
    _error(client.post(url, json={"action": "fly"}, headers=headers), 422)
    assert (
        _error(client.post("/api/v1/workforce/mobility", json=body, headers=headers), 409)["code"]
        == "request_open"
    )
    # Without the CSRF header a session cannot write.
    assert client.post(url, json={"action": "withdraw"}).status_code == 403


def test_api_assignments_rosters_and_gaps(hr: tuple[TestClient, str], staffed: Staffed) -> None:
    client, csrf = hr
    headers = {"X-CSRF-Token": csrf}
    pid = staffed.cardiologist_chu
    over = client.post(
        f"/api/v1/workforce/professionals/{pid}/assignments",
        json={
            "establishment": "CHU-TNG",
            "service": "emergency",
            "share": 50,
            "start_on": "2025-01-01",
        },
        headers=headers,
    )
    assert _error(over, 409)["code"] == "share_over_100"
    night = {
        "professional_id": pid,
        "establishment": "CHU-TNG",
        "service": "cardiology",
        "kind": "garde",
        "starts_at": "2025-11-03T20:00:00",
        "ends_at": "2025-11-04T08:00:00",
    }
    assert client.post("/api/v1/workforce/shifts", json=night, headers=headers).status_code == 201
    morning = night | {"starts_at": "2025-11-04T12:00:00", "ends_at": "2025-11-04T18:00:00"}
    assert (
        _error(client.post("/api/v1/workforce/shifts", json=morning, headers=headers), 409)["code"]
        == "rest_after_night"
    )
    roster = client.get("/api/v1/workforce/rosters/CHU-TNG/cardiology?month=2025-11").json()
    assert len(roster["shifts"]) == 1
    gaps = client.get("/api/v1/workforce/gaps?specialty=cardiology").json()
    assert gaps["norms_version"] == 1
    assert {e["establishment"] for e in gaps["establishments"]} == {"CHU-TNG", "HP-TET-01"}
    assert (
        _error(client.get("/api/v1/workforce/professionals/99999"), 404)["code"]
        == "professional_not_found"
    )
    bad = client.post("/api/v1/workforce/professionals", json={"family_name": "X"}, headers=headers)
    assert _error(bad, 422)["code"] == "validation_error"
    versions = client.post(
        "/api/v1/workforce/norms",
        json={
            "valid_from": "2030-01-01",
            "reason": "x",
            "changes": [{"establishment_type": "chu", "category": "nurse", "required": 3}],
        },
        headers=headers,
    )
    assert _error(versions, 403)["code"] == "regional_decision"


def test_pages_in_french_and_arabic(hr: tuple[TestClient, str], staffed: Staffed) -> None:
    client, _csrf = hr
    login(client, "rh.region")
    overview = parse(client.get("/workforce").text)
    assert overview.find("strong", data_kpi="professionals").text == "4"
    assert overview.find("table", id="density").find("tfoot")
    gaps = parse(client.get("/workforce/gaps?specialty=general_surgery").text)
    row = gaps.find("table", id="gap-table").find("tr", data_establishment="HP-HOC-01")
    assert row is not None
    assert gaps.find("svg") is not None
    file = parse(client.get(f"/workforce/professionals/{staffed.surgeon_chu}").text)
    assert file.find("form", id="mobility-form") is not None
    form = client.post(
        f"/workforce/professionals/{staffed.surgeon_chu}/mobility",
        data={
            "csrf_token": client.get("/api/v1/me").json()["csrf_token"],
            "to_establishment": "HP-HOC-01",
            "to_service": "general_surgery",
            "motive": "renfort",
            "kind": "transfer",
            "initiator": "region",
        },
        follow_redirects=False,
    )
    assert form.status_code == 303, form.text
    page = parse(client.get(form.headers["location"]).text)
    assert page.find("h1", id="mobility-request").get("data-state") == "awaiting_opinions"
    for url in (
        "/workforce/mobility?view=all",
        "/workforce/norms",
        "/workforce/establishments/CHU-TNG",
        "/workforce/rosters/CHU-TNG/cardiology",
        "/workforce/professionals?q=bennani",
    ):
        assert client.get(url).status_code == 200, url
    arabic = parse(client.get("/workforce?lang=ar").text)
    assert arabic.find("html").get("dir") == "rtl"
    assert "الموارد البشرية" in arabic.find("h1").text


def test_the_analyst_sees_aggregates_but_no_names(
    hr: tuple[TestClient, str], staffed: Staffed
) -> None:
    client, _csrf = hr
    login(client, "analyste")
    assert client.get("/workforce").status_code == 200
    assert client.get("/api/v1/workforce/gaps?lines=false").status_code == 200
    assert client.get(f"/workforce/professionals/{staffed.nurse_csr}").status_code == 403
    assert _error(client.get("/api/v1/workforce/professionals"), 403)["code"] == "permission_denied"
