"""The finance over HTTP on both databases: JSON API (codes, French messages, CSRF), pages in
French, and the exports holding the page's totals."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from parcours.access.rules import Role
from parcours.finance import service
from parcours.finance.rules import ProjectKind
from parcours.finance.schemas import ActionIn, ProgrammeIn, ProjectIn
from parcours.territory import service as territory
from parcours.territory.schemas import EstablishmentIn
from tests.conftest import MakeUser, login
from tests.finance.conftest import SYSTEM, YEAR, Budget
from tests.web.markup import parse


def _error(response: httpx2.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"]
    assert error["message"]
    return error


def _amount(text: str) -> Decimal:
    """An amount as the page prints it (1 234 567,89) back to a Decimal."""
    return Decimal(text.replace("\u202f", "").replace(" ", "").replace(",", "."))


@pytest.fixture
def officers(app_client: TestClient, budget: Budget, make_user: MakeUser) -> TestClient:
    make_user("finance.region", Role.FINANCE_OFFICER)
    make_user("finance.controle", Role.FINANCE_OFFICER)
    make_user("finance.chu", Role.FINANCE_OFFICER, "establishment:CHU-TNG")
    make_user("analyste", Role.ANALYST)
    return app_client


def test_api_commitment_overrun_and_transfer(officers: TestClient, budget: Budget) -> None:
    client = officers
    csrf = login(client, "finance.chu")
    headers = {"X-CSRF-Token": csrf}
    url = f"/api/v1/finance/lines/{budget.chu_medicines}/movements"
    body = {"kind": "commitment", "amount": "600000.50", "reason": "Marché de médicaments"}
    assert client.post(url, json=body).status_code == 403  # no CSRF header
    ok = client.post(url, json=body, headers=headers)
    assert ok.status_code == 201, ok.text
    assert ok.json()["delta"] == "600000.50"  # exact, as a string
    error = _error(client.post(url, json=body, headers=headers), 409)
    assert error["code"] == "credit_exceeded"
    assert "Crédit insuffisant" in error["message"]
    error = _error(
        client.post(url, json=body | {"amount": 600000.5}, headers=headers), 422
    )  # a float is not an amount
    other = f"/api/v1/finance/lines/{budget.hoc_maintenance}/movements"
    assert _error(client.post(other, json=body, headers=headers), 403)["code"] == "out_of_scope"
    line = client.get(f"/api/v1/finance/lines/{budget.chu_medicines}").json()["line"]
    assert line["available"] == "399999.50"
    asked = client.post(
        "/api/v1/finance/transfers",
        json={
            "from_line": budget.chu_salaries,
            "to_line": budget.chu_medicines,
            "amount": "100000",
            "reason": "Renfort médicaments",
        },
        headers=headers,
    )
    assert asked.status_code == 201, asked.text
    decision = f"/api/v1/finance/transfers/{asked.json()['id']}/decision"
    error = _error(
        client.post(decision, json={"approve": True, "reason": "moi-même"}, headers=headers), 409
    )
    assert error["code"] == "four_eyes"
    client.post("/logout", data={"csrf_token": csrf})
    csrf = login(client, "finance.controle")
    done = client.post(
        decision, json={"approve": True, "reason": "Visa"}, headers={"X-CSRF-Token": csrf}
    )
    assert done.status_code == 200, done.text
    assert done.json()["to_line"]["allocated"] == "1100000.00"


def test_the_analyst_sees_no_budget(officers: TestClient) -> None:
    login(officers, "analyste")
    error = _error(officers.get(f"/api/v1/finance/execution?year={YEAR}"), 403)
    assert error["code"] == "permission_denied"


def _page_totals(html: str) -> dict[str, Decimal]:
    row = parse(html).find("tr", id="total-row")
    return {
        cell.get("data-total") or "": _amount(cell.text)
        for cell in row.find_all("th")
        if cell.get("data-total")
    }


def test_the_xlsx_and_csv_exports_hold_the_page_totals(
    officers: TestClient, db: Session, budget: Budget
) -> None:
    for line_id, amount in ((budget.chu_medicines, "123456.78"), (budget.hq_digital, "0.05")):
        service.record_movement(
            db,
            SYSTEM,
            line_id,
            service.MovementIn(kind="commitment", amount=Decimal(amount), reason="achat"),  # type: ignore[arg-type]
        )
    login(officers, "finance.region")
    page = officers.get(f"/finance?year={YEAR}&month=12")
    assert page.status_code == 200
    shown = _page_totals(page.text)
    assert shown["allocated"] == Decimal("7050000.00")
    assert shown["committed"] == Decimal("123456.83")
    xlsx = officers.get(f"/finance/export?format=xlsx&year={YEAR}&month=12")
    assert xlsx.status_code == 200
    assert xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    header = [c.value for c in sheet[1]]
    rows = [list(r) for r in sheet.iter_rows(min_row=2, values_only=True)]
    total = rows[-1]
    assert total[header.index("etablissement")] == "TOTAL"

    def cell(row: list[Any], name: str) -> Decimal:
        return Decimal(str(row[header.index(name)])).quantize(Decimal("0.01"))

    assert cell(total, "credits_ouverts") == shown["allocated"]
    assert cell(total, "engagements") == shown["committed"]
    assert cell(total, "paiements") == shown["paid"]
    assert cell(total, "disponible") == shown["available"]
    # and the lines add up to the total
    lines = sum(cell(r, "engagements") for r in rows[:-1])
    assert lines == shown["committed"]
    assert len(rows) - 1 == len(
        parse(page.text).find("table", id="line-table").find("tbody").find_all("tr")
    )
    csv_file = officers.get(f"/finance/export?format=csv&year={YEAR}&month=12")
    reader = list(csv.DictReader(io.StringIO(csv_file.text.lstrip("\ufeff")), delimiter=";"))
    assert Decimal(reader[-1]["engagements"]) == shown["committed"]
    assert Decimal(reader[-1]["credits_ouverts"]) == shown["allocated"]


def test_pages_in_french_with_chart_and_a_refused_commitment(
    officers: TestClient, budget: Budget
) -> None:
    csrf = login(officers, "finance.region")
    page = officers.get(f"/finance?year={YEAR}")
    assert "Exécution du budget" in page.text
    assert "<svg" in page.text
    assert "execution-chart" in page.text
    line = officers.get(f"/finance/lines/{budget.hoc_maintenance}")
    assert line.status_code == 200
    refused = officers.post(
        f"/finance/lines/{budget.hoc_maintenance}/movements",
        data={
            "csrf_token": csrf,
            "kind": "commitment",
            "amount": "250 000,01",
            "reason": "Contrat de maintenance",
        },
    )
    assert refused.status_code == 409
    assert "Crédit insuffisant" in refused.text
    ok = officers.post(
        f"/finance/lines/{budget.hoc_maintenance}/movements",
        data={
            "csrf_token": csrf,
            "kind": "commitment",
            "amount": "125 000,00",
            "reason": "Contrat de maintenance",
        },
    )
    assert ok.status_code == 200
    kpi = parse(ok.text).find("strong", data_kpi="commitment-rate")
    assert kpi.text == "50,0 %"  # the reader folds the no-break space
    arabic = officers.get(f"/finance?year={YEAR}&lang=ar")
    assert 'dir="rtl"' in arabic.text
    assert officers.get("/finance/transfers").status_code == 200


def test_programme_and_project_pages(officers: TestClient, db: Session, budget: Budget) -> None:
    service.create_programme(
        db,
        SYSTEM,
        ProgrammeIn(
            code="PAT-2026",
            title="Programme transitoire",
            starts_on=date(YEAR, 1, 1),
            ends_on=date(YEAR, 12, 31),
        ),
    )
    late = service.add_action(
        db,
        SYSTEM,
        "PAT-2026",
        ActionIn(
            title="Unifier la paie",
            owner="Direction des RH",
            deadline=date(2020, 1, 31),
            funding_lines=["personnel.salaries"],
        ),
    )
    territory.create_establishment(
        db,
        territory_admin(),
        EstablishmentIn(
            code="HP-TNG-NEW",
            name="Nouvel hôpital de Tanger",
            type="provincial_hospital",  # type: ignore[arg-type]
            province="TNG",
            status="under_construction",  # type: ignore[arg-type]
            services=[{"specialty": "general_surgery", "beds": 120}],  # type: ignore[list-item]
        ),
    )
    service.create_project(
        db,
        SYSTEM,
        ProjectIn(
            code="PRJ-TNG",
            title="Construction du nouvel hôpital de Tanger",
            kind=ProjectKind.CONSTRUCTION,
            establishment="HP-TNG-NEW",
            beds_planned=120,
            budget=Decimal("350000000"),
            planned_start=date(2024, 1, 1),
            planned_end=date(2026, 6, 30),
        ),
    )
    login(officers, "finance.region")
    summary = officers.get("/finance/programmes")
    assert "Unifier la paie" in summary.text
    page = officers.get("/finance/programmes/PAT-2026")
    row = parse(page.text).find("tr", data_action=str(late.id))
    assert "late" in (row.get("class") or "")
    action = officers.get(f"/finance/actions/{late.id}")
    assert parse(action.text).find("h1", id="action").get("data-late") == "yes"
    projects = officers.get("/finance/projects")
    assert "Nouvel hôpital de Tanger" in projects.text
    assert "projects-chart" in projects.text
    project = officers.get("/finance/projects/PRJ-TNG")
    assert parse(project.text).find("span", id="registry-status").get("data-status") == (
        "under_construction"
    )


def territory_admin() -> Any:
    from parcours.access.rules import system_principal

    return system_principal("test")


def test_page_forms_counter_entry_transfer_decision_action_and_project(
    officers: TestClient, db: Session, budget: Budget
) -> None:
    wrong = service.record_movement(
        db,
        SYSTEM,
        budget.chu_medicines,
        service.MovementIn(kind="commitment", amount=Decimal("5000"), reason="erreur"),  # type: ignore[arg-type]
    )
    csrf = login(officers, "finance.region")
    done = officers.post(
        f"/finance/movements/{wrong.id}/counter-entry",
        data={"csrf_token": csrf, "line_id": str(budget.chu_medicines), "reason": "mauvaise ligne"},
    )
    assert done.status_code == 200
    row = parse(done.text).find("tr", data_movement=str(wrong.id))
    assert "contre-passé" in row.text
    assert parse(done.text).find("strong", data_kpi="committed").text == "0,00"

    asked = officers.post(
        "/finance/transfers",
        data={
            "csrf_token": csrf,
            "from_line": str(budget.chu_salaries),
            "to_line": str(budget.chu_medicines),
            "amount": "20 000",
            "reason": "Renfort",
        },
    )
    assert asked.status_code == 200
    page = parse(asked.text)
    (line,) = page.find("table", id="transfer-table").find("tbody").find_all("tr")
    assert line.get("data-state") == "requested"
    assert not line.find_all("form")  # the requester cannot decide
    officers.post("/logout", data={"csrf_token": csrf})
    csrf = login(officers, "finance.controle")
    listing = parse(officers.get("/finance/transfers").text)
    form = listing.find("form", class_="decision-form")
    decided = officers.post(
        form.get("action") or "",
        data={"csrf_token": csrf, "decision": "approve", "reason": "Visa"},
    )
    assert decided.status_code == 200
    row = parse(decided.text).find("table", id="transfer-table").find("tbody").find("tr")
    assert row.get("data-state") == "approved"
    assert service.line_file(db, SYSTEM, budget.chu_medicines).line.allocated == Decimal(
        "1020000.00"
    )

    service.create_programme(
        db,
        SYSTEM,
        ProgrammeIn(
            code="PAT-X", title="Programme", starts_on=date(YEAR, 1, 1), ends_on=date(YEAR, 12, 31)
        ),
    )
    action = service.add_action(
        db,
        SYSTEM,
        "PAT-X",
        ActionIn(title="Unifier la paie", owner="RH", deadline=date(YEAR, 3, 31)),
    )
    refused = officers.post(
        f"/finance/actions/{action.id}",
        data={"csrf_token": csrf, "status": "done", "progress_pct": "80", "note": "presque"},
    )
    assert refused.status_code == 409
    assert "100 %" in refused.text
    ok = officers.post(
        f"/finance/actions/{action.id}",
        data={
            "csrf_token": csrf,
            "status": "done",
            "progress_pct": "100",
            "note": "Paie unifiée",
            "expected_version": str(action.version),
        },
    )
    assert ok.status_code == 200
    assert parse(ok.text).find("h1", id="action").get("data-status") == "done"

    service.create_project(
        db,
        SYSTEM,
        ProjectIn(
            code="PRJ-SIH",
            title="Système d'information unifié",
            kind=ProjectKind.DIGITAL,
            budget=Decimal("95000000"),
            planned_start=date(2025, 10, 1),
            planned_end=date(2027, 6, 30),
        ),
    )
    reported = officers.post(
        "/finance/projects/PRJ-SIH",
        data={
            "csrf_token": csrf,
            "status": "in_progress",
            "physical_pct": "40",
            "spent": "38 000 000,00",
            "forecast_end": "2027-09-30",
            "note": "CHU déployé",
        },
    )
    assert reported.status_code == 200
    project = service.get_project(db, SYSTEM, "PRJ-SIH")
    assert project.spent == Decimal("38000000.00")
    assert project.delay_days == (date(2027, 9, 30) - date(2027, 6, 30)).days
