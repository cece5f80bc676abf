"""The demo pipeline on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from parcours.access import audit
from parcours.access import service as access
from parcours.access.models import AuditEvent
from parcours.access.rules import system_principal
from parcours.db import make_session_factory
from parcours.demo import pipeline
from parcours.demo.pipeline import Counts, DemoContext, Step, step_rng
from parcours.demo.reference import load_reference
from parcours.demo.steps import STEPS
from parcours.demo.steps.users import PLAN_KEY as USERS_PLAN
from parcours.demo.users_plan import DEMO_PASSWORD, UserPlan
from parcours.errors import Conflict, Invalid
from parcours.territory import service as territory

READER = system_principal("test")


def _audit_rows(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(AuditEvent)) or 0


def test_builds_the_region_logs_every_role_in_and_runs_again_as_a_no_op(engine: Engine) -> None:
    factory = make_session_factory(engine)
    with factory() as db:
        first = pipeline.run(db, STEPS, seed=2025, scale=0.1)
    assert [(o.name, o.status) for o in first.outcomes] == [
        ("territory", "built"),
        ("users", "built"),
        ("patients", "built"),
        ("pathways", "built"),
        ("workforce", "built"),
        ("finance", "built"),
        ("indicators", "built"),
    ]
    assert first.outcomes[0].counts["created"] == 318

    with factory() as db:
        summary = territory.summary(db, READER)
        assert summary.by_category == {"chu": 1, "hospital": 22, "health_centre": 295}
        assert summary.by_status["open"] == 318 == summary.total
        assert all(n > 0 for n in summary.by_province.values())
        assert len(summary.by_province) == 8
        # Written through the use case: a real history and audit trail.
        versions = territory.history(db, READER, "CHU-TNG-01")
        assert [(v.version, v.changed_by) for v in versions] == [(1, "system:demo")]
        _, created = audit.list_events(db, entity_type="establishment", entity_id="HP-HOC-01")
        assert [e.action for e in created] == ["establishment.create"]
        # The reference the plan reads agrees with what the database holds.
        assert {p.code: p.population_2024 for p in territory.list_provinces(db)} == {
            p.code: p.population_2024 for p in load_reference().provinces
        }

        plans: list[UserPlan] = first.context.results[USERS_PLAN]
        assert len({p.role for p in plans}) == 7
        for plan in plans:
            opened = access.login(db, plan.username, DEMO_PASSWORD)
            assert opened.principal.role is plan.role
            assert opened.principal.scope == plan.scope
        assert audit.verify(db).ok
        rows_before = _audit_rows(db)

    with factory() as db:
        again = pipeline.run(db, STEPS, seed=2025, scale=0.1)
        assert again.already_built
        assert [o.seed for o in again.outcomes] == [2025] * len(STEPS)
        # recalled for later steps: the registry's, with the hospitals the finance step
        # added as under construction (its reform projects)
        building = territory.summary(db, READER).by_status.get("under_construction", 0)
        assert building == 5
        assert len(again.context.establishments) == 318 + building
        assert [p.username for p in again.context.results[USERS_PLAN]] == [
            p.username for p in plans
        ]
        assert _audit_rows(db) == rows_before
        assert territory.summary(db, READER).total == 318

    # A step added later runs alone on an existing demo, with what earlier steps made.
    seen: dict[str, int] = {}

    def probe(ctx: DemoContext) -> Counts:
        seen["establishments"] = len(ctx.establishments)
        seen["users"] = len(ctx.results[USERS_PLAN])
        return {"probed": 1}

    with factory() as db:
        grown = pipeline.run(db, (*STEPS, Step("probe", "Sonde", probe)), seed=2025, scale=0.1)
    assert [o.status for o in grown.outcomes] == [*["already_built"] * len(STEPS), "built"]
    assert seen == {"establishments": 318 + building, "users": 9}


def test_refuses_a_registry_it_did_not_build_and_force_adds_beside_it(
    db: Session, small_region: dict[str, str]
) -> None:
    territory_only = STEPS[:1]
    with pytest.raises(Conflict) as refused:
        pipeline.run(db, territory_only, seed=2025)
    assert refused.value.code == "demo_refused"
    assert territory.summary(db, READER).total == 6

    result = pipeline.run(db, territory_only, seed=2025, force=True)
    # HP-HOC-01 was already taken by the existing registry: left as it was.
    assert result.outcomes[0].counts["skipped"] == 1
    assert territory.summary(db, READER).total == 6 + 317
    kept = territory.get_establishment(db, READER, "HP-HOC-01")
    assert kept.version == 1
    assert {s.specialty for s in kept.services} == {"general_surgery", "obstetrics_gynaecology"}
    assert len(result.context.establishments) == 323


def test_scale_must_be_positive(db: Session) -> None:
    with pytest.raises(Invalid):
        pipeline.run(db, STEPS, seed=1, scale=0)


def test_each_step_draws_from_its_own_generator() -> None:
    assert step_rng(2025, "territory").random() == step_rng(2025, "territory").random()
    assert step_rng(2025, "territory").random() != step_rng(2025, "users").random()
    assert step_rng(2025, "territory").random() != step_rng(2026, "territory").random()
