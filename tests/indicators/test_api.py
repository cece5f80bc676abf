"""Indicators over HTTP on both databases: API, exports for the ministry, pages, permissions."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from parcours.access.rules import Role
from parcours.indicators import service
from tests.conftest import MakeUser, login
from tests.indicators.test_service import _pathways
from tests.web.markup import parse

ADX = "{urn:ihe:qrph:adx:2015}"


@pytest.fixture(autouse=True)
def _no_background_refresh(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests refresh when they mean to, not when the server's timer does."""
    monkeypatch.setenv("PARCOURS_INDICATORS_REFRESH_SECONDS", "0")


@pytest.fixture
def filled(db: Session, small_region: dict[str, str]) -> None:
    service.ensure_shipped_indicators(db)
    _pathways(db)
    service.refresh(db)


@pytest.mark.usefixtures("filled")
def test_api_values_definitions_and_a_refused_expression(
    app_client: TestClient, make_user: MakeUser
) -> None:
    make_user("analyste", Role.ANALYST)
    make_user("admin", Role.REGIONAL_ADMIN)
    login(app_client, "analyste")
    values = app_client.get("/api/v1/indicators/values", params={"period": "2025-11"})
    assert values.status_code == 200, values.text
    by_code = {v["indicator"]: v for v in values.json()}
    assert by_code["REF_DELAI_MED"]["value"] == 6.0
    assert by_code["DMS"]["value"] is None
    assert by_code["DMS"]["suppressed"] is True
    one = app_client.get("/api/v1/indicators/REF_DANS_DELAI")
    assert one.json()["denominator"] == "count(referral_due)"
    parts = app_client.get(
        "/api/v1/indicators/REF_DANS_DELAI/breakdown",
        params={"dimension": "priority", "period": "2025-11"},
    )
    urgent = {p["member"]: p for p in parts.json()}["urgent"]
    assert urgent == {"member": "urgent", "value": None, "suppressed": True}  # 4 of 5 persons
    body = {"code": "TEST", "name": "Test", "numerator": "count(referral_sent)"}
    refused = app_client.post("/api/v1/indicators", json=body)
    assert refused.status_code in (401, 403)  # no CSRF header, then no permission

    app_client.cookies.clear()
    csrf = login(app_client, "admin")
    headers = {"X-CSRF-Token": csrf}
    bad = app_client.post(
        "/api/v1/indicators",
        json={**body, "numerator": "count(referral_sent) ; DROP TABLE referral"},
        headers=headers,
    )
    assert bad.status_code == 422
    error = bad.json()["error"]
    assert error["code"] == "invalid_expression"
    assert "Numérateur" in error["message"]
    assert "Syntaxe invalide" in error["message"]
    unknown = app_client.post(
        "/api/v1/indicators", json={**body, "numerator": "__import__('os')"}, headers=headers
    )
    assert unknown.status_code == 422
    assert "Fonction inconnue « __import__ »" in unknown.json()["error"]["message"]
    made = app_client.post(
        "/api/v1/indicators",
        json={**body, "numerator": 'count(referral_sent, priority="urgent")'},
        headers=headers,
    )
    assert made.status_code == 201, made.text
    again = app_client.get("/api/v1/indicators/values", params={"period": "2025-11"})
    assert {v["indicator"]: v for v in again.json()}["TEST"]["value"] == 5.0


@pytest.mark.usefixtures("filled")
def test_exports_for_the_ministry(app_client: TestClient, make_user: MakeUser) -> None:
    make_user("analyste", Role.ANALYST)
    login(app_client, "analyste")
    adx = app_client.get("/api/v1/indicators/export", params={"format": "adx", "period": "2025-11"})
    assert adx.status_code == 200
    root = ET.fromstring(adx.content)  # noqa: S314 - our own export
    assert root.tag == f"{ADX}adx"
    groups = {g.get("orgUnit"): g for g in root.iter(f"{ADX}group")}
    assert groups["TTA"].get("period") == "2025-11-01/P1M"
    values = {d.get("dataElement"): d.get("value") for d in groups["TTA"]}
    assert values["REF_DELAI_MED"] == "6"
    assert "DMS" not in values  # two stays: suppressed, left out
    dvs = app_client.get(
        "/api/v1/indicators/export", params={"format": "json", "period": "2025-11"}
    )
    data = dvs.json()
    assert data["period"] == "202511"
    assert {"dataElement": "REF_DELAI_MED", "period": "202511", "orgUnit": "CHU-TNG",
            "value": "6"} in data["dataValues"]  # fmt: skip
    csv_text = app_client.get("/api/v1/indicators/export", params={"format": "csv"}).text
    assert csv_text.splitlines()[0].startswith("indicateur;nom;niveau")
    book = app_client.get(
        "/api/v1/indicators/export", params={"format": "xlsx", "period": "2025-11"}
    )
    sheet = load_workbook(io.BytesIO(book.content)).active
    assert sheet is not None
    assert next(c.value for c in next(sheet.iter_rows(max_row=1))) == "indicateur"


@pytest.mark.usefixtures("filled")
def test_pages_dashboard_drill_down_definitions_and_form(
    app_client: TestClient, make_user: MakeUser
) -> None:
    make_user("admin", Role.REGIONAL_ADMIN)
    login(app_client, "admin")
    page = app_client.get("/indicators", params={"period": "2025-11"})
    assert page.status_code == 200, page.text
    doc = parse(page.text)
    before_after = doc.find("section", id="before-after")
    assert before_after.find("strong", data_kpi="after").text == "6,0"
    row = doc.find("tr", data_indicator="REF_DELAI_MED")
    assert row.find_all("td")[1].get("data-value") == "6.0"
    assert (
        doc.find("tr", data_unit="TNG")
        .find("a")
        .get("href", "")
        .startswith("/indicators/provinces/TNG")
    )
    province = app_client.get("/indicators/provinces/TNG", params={"period": "2025-11"})
    assert province.status_code == 200
    assert parse(province.text).find("tr", data_unit="CHU-TNG")
    est = app_client.get("/indicators/establishments/CHU-TNG", params={"period": "2025-11"})
    assert est.status_code == 200
    for theme in ("pathways", "beds", "workforce", "finance"):
        assert app_client.get(f"/indicators/themes/{theme}").status_code == 200
    definition = app_client.get("/indicators/definitions/CONTRE_REF")
    assert "count(counter_referral_returned)" in definition.text
    table = app_client.get(
        "/indicators/table.csv", params={"level": "province", "code": "TNG", "period": "2025-11"}
    )
    assert "REF_DELAI_MED;" in table.text
    assert ";CHU-TNG;" in table.text
    pdf = app_client.get("/indicators/report.pdf", params={"period": "2025-11"})
    assert pdf.content.startswith(b"%PDF")
    form_page = app_client.get("/indicators/definitions")
    token = parse(form_page.text).find("form", id="add-indicator").find("input", name="csrf_token")
    refused = app_client.post(
        "/indicators/definitions",
        data={
            "csrf_token": token.get("value"),
            "code": "X1",
            "name": "X",
            "numerator": "median(referral_sent)",
        },
    )
    assert refused.status_code == 422
    assert "« median » demande une mesure de délai" in refused.text
    arabic = app_client.get("/indicators", params={"period": "2025-11", "lang": "ar"})
    assert arabic.status_code == 200
    assert 'dir="rtl"' in arabic.text
