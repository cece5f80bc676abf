"""Step ``finance``: the 2025 and 2026 budgets with a year of execution, the transitional
action programme and the region's reform projects.

The plan is drawn by :mod:`parcours.demo.finance_plan` over the registry's network (the
hospitals' beds weigh their budgets). The lines are opened and the programme, actions,
projects, transfers and counter-entries recorded through ``finance.service``; the tens of
thousands of movements of the ledger go in by ``finance.service.bulk_load`` (same rules,
bulk insert). The new hospitals under construction are added to the registry through
``territory.service`` with their planned beds, so that they appear on its pages and count
in the capacity once their project is delivered. All in the step's own transaction with
its marker.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from parcours.access.rules import Principal, Role, Scope, ScopeKind
from parcours.demo import finance_plan
from parcours.demo.pipeline import Counts, DemoContext, Step
from parcours.finance import service as finance
from parcours.finance.models import BudgetLine, Movement
from parcours.finance.rules import ActionStatus, ProjectStatus
from parcours.finance.schemas import (
    ActionIn,
    ActionIndicator,
    ActionUpdate,
    CounterIn,
    DecisionIn,
    LineIn,
    Milestone,
    ProgrammeIn,
    ProjectIn,
    ProjectReportIn,
    TransferIn,
)
from parcours.territory import service as territory
from parcours.territory.rules import Category, EstablishmentType, Status
from parcours.territory.schemas import EstablishmentIn, ServiceIn

PLAN_KEY = "finance.plan"
REQUESTER = "finance.region"


def guard(ctx: DemoContext) -> str | None:
    count = ctx.session.scalar(select(func.count(BudgetLine.id))) or 0
    if count:
        return (
            f"la base contient déjà {count} ligne(s) budgétaire(s) qui ne viennent pas de la démo"
        )
    return None


def _units(ctx: DemoContext) -> tuple[list[finance_plan.Unit], str | None, dict[str, str]]:
    nodes = [n for n in territory.network(ctx.session) if n.is_open]
    units = [finance_plan.Unit(None, Decimal(0))]
    chu = None
    by_province: dict[str, str] = {}
    for n in sorted(nodes, key=lambda n: n.code):
        if n.type.category is Category.HEALTH_CENTRE:
            continue
        beds = Decimal(max(sum(n.services.values()), 20))
        if n.type is EstablishmentType.CHU:
            chu = n.code
            beds *= finance_plan.CHU_WEIGHT
        if n.type is EstablishmentType.PROVINCIAL_HOSPITAL:
            by_province.setdefault(n.province, n.code)
        units.append(finance_plan.Unit(n.code, beds))
    return units, chu, by_province


def build(ctx: DemoContext) -> Counts:
    session = ctx.session
    today = finance.today()
    units, chu, provincial = _units(ctx)
    plan = finance_plan.plan_budget(
        units, today=today, seed=ctx.rng.randrange(2**31), scale=ctx.scale
    )
    ctx.results[PLAN_KEY] = plan
    officer = finance.system_finance("demo")
    requester = Principal(0, REQUESTER, Role.FINANCE_OFFICER, Scope(ScopeKind.GST), "cli")

    ctx.reporter.start("Finances : budgets 2025 et 2026", len(plan.movements))
    line_ids: list[int] = []
    for line in plan.lines:
        out = finance.create_line(
            session,
            officer,
            LineIn(year=line.year, establishment=line.establishment, code=line.code),
            commit=False,
        )
        line_ids.append(out.id)
    loaded = finance.bulk_load(
        session,
        officer,
        (
            finance.BulkMovement(line_ids[m.line], m.kind, m.amount, m.day, m.reason, m.reference)
            for m in plan.movements
        ),
    )
    ctx.reporter.advance(loaded)
    # Two purchase orders typed on the wrong line, corrected by counter-entries.
    for reference in plan.mistakes:
        movement_id = session.scalar(
            select(Movement.id).where(
                Movement.reference == reference, Movement.kind == "commitment"
            )
        )
        if movement_id is not None:
            finance.counter_entry(
                session,
                requester,
                movement_id,
                CounterIn(reason="Bon de commande saisi sur la mauvaise ligne"),
                commit=False,
            )
    for t in plan.transfers:
        asked = finance.request_transfer(
            session,
            requester,
            TransferIn(
                from_line=line_ids[t.from_line],
                to_line=line_ids[t.to_line],
                amount=t.amount,
                reason=t.reason,
            ),
            commit=False,
        )
        if t.decision is not None:
            finance.decide_transfer(
                session,
                officer,
                asked.id,
                DecisionIn(approve=t.decision, reason=t.decision_reason),
                commit=False,
            )

    # The transitional action programme.
    hospitals = sorted(u.code for u in units if u.code is not None and u.code != chu)
    actions = finance_plan.plan_actions(hospitals, chu, today=today, seed=ctx.rng.randrange(2**31))
    finance.create_programme(
        session,
        officer,
        ProgrammeIn(
            code=finance_plan.PROGRAMME_CODE,
            title=finance_plan.PROGRAMME_TITLE,
            description=(
                "Actions de la période de transition : transfert des compétences des "
                "établissements au GST, budget et paie unifiés, système d'information "
                "régional, organisation des filières de soins."
            ),
            starts_on=min(a.deadline for a in actions).replace(day=1),
            ends_on=max(a.deadline for a in actions),
        ),
        commit=False,
    )
    for a in actions:
        created = finance.add_action(
            session,
            officer,
            finance_plan.PROGRAMME_CODE,
            ActionIn(
                title=a.title,
                owner=a.owner,
                establishment=a.establishment,
                deadline=a.deadline,
                milestones=[Milestone(label=m, due=d, done=done) for m, d, done in a.milestones],
                indicators=[ActionIndicator(name=n, target=t, value=v) for n, t, v in a.indicators],
                funding_lines=a.funding_lines,
            ),
            commit=False,
        )
        if a.status is ActionStatus.DONE:
            finance.update_action(
                session,
                officer,
                created.id,
                ActionUpdate(status=ActionStatus.IN_PROGRESS, progress_pct=50, note="Lancée"),
                commit=False,
            )
        if a.status is not ActionStatus.PLANNED:
            finance.update_action(
                session,
                officer,
                created.id,
                ActionUpdate(
                    status=a.status,
                    progress_pct=a.progress,
                    completed_on=a.completed_on,
                    note={
                        ActionStatus.DONE: "Action réalisée",
                        ActionStatus.CANCELLED: "Reportée au programme suivant",
                    }.get(a.status, "Point d'avancement mensuel"),
                ),
                commit=False,
            )

    # The reform projects, with the new hospitals under construction in the registry.
    new, projects = finance_plan.plan_projects(chu, provincial.get("HOC"), provincial.get("LAR"))
    taken = set(territory.province_of_establishments(session))
    for e in new:
        if e.code in taken:
            continue
        territory.create_establishment(
            session,
            ctx.principal,
            EstablishmentIn(
                code=e.code,
                name=e.name,
                type=EstablishmentType(e.type),
                province=e.province,
                town=e.town,
                latitude=e.latitude,
                longitude=e.longitude,
                status=Status.UNDER_CONSTRUCTION,
                planned_opening_on=e.planned_opening_on,
                services=[ServiceIn(specialty=s, beds=b) for s, b in e.services],
            ),
            commit=False,
        )
    for p in projects:
        finance.create_project(
            session,
            officer,
            ProjectIn(
                code=p.code,
                title=p.title,
                kind=p.kind,
                establishment=p.establishment,
                beds_planned=p.beds,
                budget=p.budget,
                planned_start=p.planned_start,
                planned_end=p.planned_end,
                forecast_end=p.forecast_end,
            ),
            commit=False,
        )
        finance.report_project(
            session,
            officer,
            p.code,
            ProjectReportIn(
                status=ProjectStatus.IN_PROGRESS,
                physical_pct=min(p.physical, 99),
                spent=(p.budget * p.spent_share).quantize(Decimal("0.01")),
                forecast_end=p.forecast_end,
                note=p.note,
            ),
            commit=False,
        )
        if p.status is ProjectStatus.DELIVERED:
            finance.report_project(
                session,
                officer,
                p.code,
                ProjectReportIn(
                    status=ProjectStatus.DELIVERED,
                    physical_pct=100,
                    spent=(p.budget * p.spent_share).quantize(Decimal("0.01")),
                    delivered_on=p.delivered_on,
                    note=p.note,
                ),
                commit=False,
            )
    return {
        "lignes budgétaires": len(plan.lines),
        "mouvements": loaded
        + len(plan.mistakes)
        + 2 * sum(1 for t in plan.transfers if t.decision),
        "virements": len(plan.transfers),
        "actions": len(actions),
        "projets": len(projects),
    }


STEP = Step(name="finance", label="Finances", build=build, guard=guard)
