"""Step ``territory``: the CHU, the 22 hospitals and the 295 health centres.

The plan is drawn by :func:`parcours.demo.territory_plan.plan_territory`; this
step only writes it through ``territory.service.create_establishment``, all
in one transaction with the step's marker, so that an interrupted run leaves
nothing half built.
"""

from __future__ import annotations

from parcours.demo.establishments import EstablishmentRef
from parcours.demo.pipeline import Counts, DemoContext, Step
from parcours.demo.territory_plan import EstablishmentPlan, plan_territory
from parcours.territory import service as territory
from parcours.territory.rules import EstablishmentType, Status
from parcours.territory.schemas import EstablishmentIn, ServiceIn

PLAN_KEY = "territory.plan"


def to_input(plan: EstablishmentPlan) -> EstablishmentIn:
    return EstablishmentIn(
        code=plan.code,
        name=plan.name,
        type=plan.type,
        province=plan.province,
        town=plan.town,
        address=plan.address,
        latitude=plan.latitude,
        longitude=plan.longitude,
        catchment_population=plan.catchment_population,
        status=Status.OPEN,
        services=[ServiceIn(specialty=s.specialty, beds=s.beds) for s in plan.services],
    )


def _ref(plan: EstablishmentPlan) -> EstablishmentRef:
    return EstablishmentRef(
        plan.code, plan.name, plan.type, plan.province, plan.town, plan.latitude, plan.longitude
    )


def guard(ctx: DemoContext) -> str | None:
    existing = len(territory.province_of_establishments(ctx.session))
    if existing:
        return (
            f"le registre contient déjà {existing} établissement(s) qui ne viennent pas de la démo"
        )
    return None


def build(ctx: DemoContext) -> Counts:
    plan = plan_territory(ctx.rng)
    ctx.results[PLAN_KEY] = plan
    taken = set(territory.province_of_establishments(ctx.session))
    ctx.reporter.start("Territoire : CHU, hôpitaux, centres de santé", len(plan.establishments))
    created = 0
    for item in plan.establishments:
        if item.code not in taken:  # only with --force beside existing data
            territory.create_establishment(ctx.session, ctx.principal, to_input(item), commit=False)
            ctx.establishments[item.code] = _ref(item)
            created += 1
        ctx.reporter.advance()
    if created < len(plan.establishments):
        recall(ctx)
    # Later steps iterate in code order, whether the territory was just built or recalled.
    ctx.establishments = dict(sorted(ctx.establishments.items()))
    counts: Counts = {"created": created, "skipped": len(plan.establishments) - created}
    for category, n in plan.count_by("category").items():
        counts[category] = n
    return counts


def recall(ctx: DemoContext) -> None:
    """Every establishment of the registry, demo or not, for the steps that follow."""
    page = 1
    while True:
        result = territory.search_establishments(
            ctx.session, ctx.principal, territory.EstablishmentFilter(), page=page, page_size=200
        )
        for e in result.items:
            ctx.establishments[e.code] = EstablishmentRef(
                e.code,
                e.name,
                EstablishmentType(e.type),
                e.province,
                e.town,
                e.latitude,
                e.longitude,
            )
        if page * result.page_size >= result.total:
            break
        page += 1
    ctx.establishments = dict(sorted(ctx.establishments.items()))


STEP = Step(
    name="territory",
    label="Territoire",
    build=build,
    recall=recall,
    guard=guard,
)
