"""Step ``pathways``: eighteen months of care around the pilot's start, through the bulk loader.

The activity is planned by :func:`parcours.demo.pathways_plan.plan_activity`
over the persons the patients step left in the MPI (read through
``patients.service.record_directory``; the showcase persons recognised by the
demo's own truth table) and the network of the registry, following the
current version of the pathway map. It is written by
``parcours.pathways.bulk.load``, which plays each referral's script through
the state machine, opens the arrivals' encounters and recounts the census, in
the step's own transaction: the marker commits with it, so an interrupted run
leaves nothing half written. The plan ends at ``until`` (midnight UTC of the
day of the build unless given), with live work left in the inboxes of the demo
users' establishments.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from parcours.access.rules import ScopeKind
from parcours.db import utcnow
from parcours.demo.models import DemoPatientTruth
from parcours.demo.pathways_plan import ActivityPlan, RecordRef, plan_activity
from parcours.demo.pipeline import Counts, DemoContext, Step
from parcours.demo.users_plan import plan_users
from parcours.pathways import bulk, network
from parcours.pathways import service as pathways
from parcours.patients import service as patients

PLAN_KEY = "pathways.plan"
ACTOR = "system:demo"


def today() -> datetime:
    """Midnight UTC of the day of the build."""
    return utcnow().replace(hour=0, minute=0, second=0, microsecond=0)


def focus(ctx: DemoContext, net: network.Network) -> list[str]:
    """The establishments the demo users look at: their scopes, a province's main hospital."""
    codes: set[str] = set()
    for user in plan_users(ctx.establishments):
        if user.scope.kind is ScopeKind.ESTABLISHMENT:
            codes |= set(user.scope.values)
        elif user.scope.kind is ScopeKind.PROVINCE:
            for province in user.scope.values:
                hospitals = sorted(
                    (
                        e
                        for e in net.index.by_code.values()
                        if e.province == province and e.care_level in (2, 3) and e.is_open
                    ),
                    key=lambda e: (-e.care_level, e.code),
                )
                codes |= {e.code for e in hospitals[:1]}
    return sorted(codes)


def records(ctx: DemoContext) -> list[RecordRef]:
    shown = dict(
        ctx.session.execute(
            select(DemoPatientTruth.record_key, DemoPatientTruth.true_person).where(
                DemoPatientTruth.true_person.like("SHOW-%")
            )
        ).all()
    )
    return [
        RecordRef(
            record_id=entry.record_id,
            establishment=entry.establishment_code,
            person=shown.get(entry.record_key, entry.person_id),
            sex=entry.sex,
            birth_year=entry.birth_year,
        )
        for entry in patients.record_directory(ctx.session)
    ]


def plan(ctx: DemoContext, until: datetime | None = None) -> ActivityPlan:
    net = network.load(ctx.session)
    return plan_activity(
        net.index.by_code.values(),
        records(ctx),
        version=pathways.current_map(ctx.session),
        seed=ctx.rng.randrange(2**31),
        until=until or today(),
        scale=ctx.scale,
        focus=focus(ctx, net),
        deadlines=pathways.deadlines(),
    )


def guard(ctx: DemoContext) -> str | None:
    stored = bulk.activity_counts(ctx.session)
    if stored["encounters"] or stored["referrals"]:
        return (
            f"la base contient déjà {stored['encounters']} rencontre(s) et "
            f"{stored['referrals']} référence(s) qui ne viennent pas de la démo"
        )
    return None


def make_step(until: datetime | None = None) -> Step:
    """The step, ending its history at ``until`` (tests fix it; the demo takes today)."""

    def build(ctx: DemoContext) -> Counts:
        activity = plan(ctx, until)
        ctx.results[PLAN_KEY] = activity
        ctx.reporter.start(
            "Parcours de soins : rencontres et références",
            len(activity.referrals) + len(activity.encounters),
        )
        report = bulk.load(
            ctx.session,
            activity.encounters,
            activity.referrals,
            actor=ACTOR,
            version=pathways.current_map(ctx.session),
            deadlines=pathways.deadlines(),
            commit=False,
            progress=ctx.reporter.advance,
        )
        return {
            "consultations": report.by_kind.get("consultation", 0),
            "urgences": report.by_kind.get("emergency", 0),
            "hospitalisations": report.by_kind.get("admission", 0),
            "références": report.referrals,
            "réorientations": report.redirects,
            "lits occupés": report.census,
        }

    return Step(name="pathways", label="Parcours de soins", build=build, guard=guard)


STEP = make_step()
