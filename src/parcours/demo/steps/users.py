"""Step ``users``: one demo account per role, through ``access.service.create_user``.

``create_user`` commits each account itself; a run interrupted here is
resumed by the next one, which skips the usernames already taken.
"""

from __future__ import annotations

from parcours.access import service as access
from parcours.demo.pipeline import Counts, DemoContext, Step
from parcours.demo.users_plan import DEMO_PASSWORD, UserPlan, plan_users
from parcours.errors import NotFound
from parcours.territory import service as territory

PLAN_KEY = "users.plan"


def _exists(ctx: DemoContext, username: str) -> bool:
    try:
        access.get_user(ctx.session, username)
    except NotFound:
        return False
    return True


def build(ctx: DemoContext) -> Counts:
    plans: list[UserPlan] = plan_users(ctx.establishments)
    ctx.results[PLAN_KEY] = plans
    province_of = territory.province_of_establishments(ctx.session)
    province_codes = {p.code for p in territory.list_provinces(ctx.session)}
    ctx.reporter.start("Comptes de démonstration (un par rôle)", len(plans))
    created = 0
    for plan in plans:
        if not _exists(ctx, plan.username):
            access.create_user(
                ctx.session,
                ctx.principal,
                username=plan.username,
                password=DEMO_PASSWORD,
                role=plan.role,
                scope=plan.scope,
                full_name=plan.full_name,
                province_of=province_of,
                province_codes=province_codes,
            )
            created += 1
        ctx.reporter.advance()
    return {"created": created, "skipped": len(plans) - created}


def recall(ctx: DemoContext) -> None:
    ctx.results[PLAN_KEY] = plan_users(ctx.establishments)


STEP = Step(name="users", label="Comptes", build=build, recall=recall)
