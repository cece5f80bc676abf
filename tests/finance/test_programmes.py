"""Action programmes and reform projects on both databases: late actions, completion, the
facts for the indicators, and a delivered hospital whose beds then count in the capacity."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from parcours.access.rules import system_principal
from parcours.errors import Conflict, Forbidden, Invalid
from parcours.finance import facts, service
from parcours.finance.rules import ActionStatus, ProjectKind, ProjectStatus
from parcours.finance.schemas import ActionIn, ActionUpdate, ProgrammeIn, ProjectIn, ProjectReportIn
from parcours.territory import service as territory
from parcours.territory.schemas import EstablishmentIn
from tests.finance.conftest import CHU, REGION, SYSTEM, YEAR

AS_OF = date(YEAR, 6, 30)


@pytest.fixture
def programme(db: Session, small_region: dict[str, str]) -> dict[str, int]:
    service.create_programme(
        db,
        SYSTEM,
        ProgrammeIn(
            code="PAT-2026",
            title="Programme d'action transitoire 2026",
            starts_on=date(YEAR, 1, 1),
            ends_on=date(YEAR, 12, 31),
        ),
    )
    ids = {}
    for key, establishment, deadline, status in (
        ("payroll", None, date(YEAR, 3, 31), ActionStatus.IN_PROGRESS),
        ("his", "CHU-TNG", date(YEAR, 5, 31), ActionStatus.DONE),
        ("stock", "HP-HOC-01", date(YEAR, 4, 30), ActionStatus.CANCELLED),
        ("later", "CHU-TNG", date(YEAR, 11, 30), ActionStatus.PLANNED),
    ):
        ids[key] = service.add_action(
            db,
            SYSTEM,
            "PAT-2026",
            ActionIn(
                title=f"Action {key}",
                owner="Direction régionale",
                establishment=establishment,
                deadline=deadline,
                status=status,
                funding_lines=["investment.digital"],
                milestones=[{"label": "cahier des charges", "due": date(YEAR, 2, 1)}],  # type: ignore[list-item]
            ),
        ).id
    return ids


def test_late_actions_and_completion(db: Session, programme: dict[str, int]) -> None:
    file = service.programme_file(db, REGION, "PAT-2026", as_of=AS_OF)
    late = {a.id for a in file.actions if a.late}
    assert late == {programme["payroll"]}
    payroll = next(a for a in file.actions if a.id == programme["payroll"])
    assert payroll.days_late == (AS_OF - date(YEAR, 3, 31)).days
    # due by 30 June and not cancelled: payroll and his; done: his.
    assert (file.programme.due, file.programme.completion) == (2, Decimal("0.5000"))
    summary = service.programme_summary(db, REGION, as_of=AS_OF)
    assert [a.id for a in summary.late] == [programme["payroll"]]
    region = next(u for u in summary.units if u.establishment is None)
    assert (region.actions, region.late) == (1, 1)


def test_an_establishment_sees_its_actions_and_the_regions(
    db: Session, programme: dict[str, int]
) -> None:
    file = service.programme_file(db, CHU, "PAT-2026", as_of=AS_OF)
    assert {a.establishment for a in file.actions} == {None, "CHU-TNG"}
    with pytest.raises(Forbidden):
        service.update_action(
            db,
            CHU,
            programme["payroll"],
            ActionUpdate(status=ActionStatus.DONE, progress_pct=100, note="fait"),
        )


def test_an_action_moves_forward_with_its_history(db: Session, programme: dict[str, int]) -> None:
    with pytest.raises(Conflict) as refused:
        service.update_action(
            db,
            REGION,
            programme["payroll"],
            ActionUpdate(status=ActionStatus.DONE, progress_pct=80, note="presque"),
        )
    db.rollback()
    assert refused.value.code == "done_is_complete"
    done = service.update_action(
        db,
        REGION,
        programme["payroll"],
        ActionUpdate(status=ActionStatus.DONE, progress_pct=100, note="Paie unifiée en juin"),
    )
    assert done.completed_on is not None
    file = service.get_action(db, REGION, programme["payroll"])
    assert [e.status for e in file.events] == [ActionStatus.IN_PROGRESS, ActionStatus.DONE]
    with pytest.raises(Conflict):  # a cancelled action stays cancelled
        service.update_action(
            db,
            REGION,
            programme["stock"],
            ActionUpdate(status=ActionStatus.IN_PROGRESS, progress_pct=10, note="reprise"),
        )
    db.rollback()


def test_action_facts_for_the_indicators(db: Session, programme: dict[str, int]) -> None:
    found = {f.action_id: f for f in facts.action_facts(db)}
    assert set(found) == set(programme.values())
    his = found[programme["his"]]
    assert (his.programme_code, his.establishment_code, his.status) == (
        "PAT-2026",
        "CHU-TNG",
        "done",
    )
    assert his.progress_pct == 100
    assert his.completed_on is not None
    assert found[programme["payroll"]].establishment_code is None


def test_a_delivered_hospital_adds_its_beds_to_the_capacity(
    db: Session, small_region: dict[str, str]
) -> None:
    territory.create_establishment(
        db,
        system_principal("test"),
        EstablishmentIn(
            code="HP-TNG-NEW",
            name="Nouvel hôpital provincial de Tanger",
            type="provincial_hospital",  # type: ignore[arg-type]
            province="TNG",
            status="under_construction",  # type: ignore[arg-type]
            services=[  # type: ignore[list-item]
                {"specialty": "general_surgery", "beds": 150},
                {"specialty": "paediatrics", "beds": 100},
            ],
        ),
    )
    before = service.portfolio(db, REGION).capacity_beds
    project = service.create_project(
        db,
        REGION,
        ProjectIn(
            code="PRJ-HP-TNG",
            title="Construction du nouvel hôpital provincial de Tanger",
            kind=ProjectKind.CONSTRUCTION,
            establishment="HP-TNG-NEW",
            beds_planned=250,
            budget=Decimal("480000000.00"),
            planned_start=date(2024, 1, 15),
            planned_end=date(2026, 9, 30),
        ),
    )
    assert project.establishment_status == "under_construction"
    assert (project.registry_beds, project.beds_in_service) == (250, 0)
    started = service.report_project(
        db,
        REGION,
        "PRJ-HP-TNG",
        ProjectReportIn(
            status=ProjectStatus.IN_PROGRESS,
            physical_pct=85,
            spent=Decimal("360000000.00"),
            forecast_end=date(2026, 12, 15),
            note="Gros œuvre achevé",
        ),
    )
    assert started.delay_days == (date(2026, 12, 15) - date(2026, 9, 30)).days
    assert started.financial_pct == Decimal("0.7500")
    with pytest.raises(Conflict):  # delivered means physically complete
        service.report_project(
            db,
            REGION,
            "PRJ-HP-TNG",
            ProjectReportIn(
                status=ProjectStatus.DELIVERED, physical_pct=95, spent=Decimal(0), note="livré"
            ),
        )
    db.rollback()
    assert service.portfolio(db, REGION).capacity_beds == before
    delivered = service.report_project(
        db,
        REGION,
        "PRJ-HP-TNG",
        ProjectReportIn(
            status=ProjectStatus.DELIVERED,
            physical_pct=100,
            spent=Decimal("471250000.00"),
            delivered_on=date(2026, 11, 20),
            note="Réception provisoire prononcée",
        ),
    )
    assert delivered.establishment_status == "open"
    assert delivered.beds_in_service == 250
    after = service.portfolio(db, REGION)
    assert after.capacity_beds == before + 250
    assert after.beds_delivered == 250
    est = territory.get_establishment(db, system_principal("test"), "HP-TNG-NEW")
    assert est.opened_on == date(2026, 11, 20)
    history = territory.history(db, system_principal("test"), "HP-TNG-NEW")
    assert any("PRJ-HP-TNG" in (v.reason or "") for v in history)


def test_an_infrastructure_project_names_its_establishment(
    db: Session, small_region: dict[str, str]
) -> None:
    with pytest.raises(Invalid):
        service.create_project(
            db,
            REGION,
            ProjectIn(
                code="PRJ-X",
                title="Hôpital sans adresse",
                kind=ProjectKind.CONSTRUCTION,
                budget=Decimal(1),
                planned_start=date(2025, 1, 1),
                planned_end=date(2026, 1, 1),
            ),
        )
