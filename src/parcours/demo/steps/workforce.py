"""Step ``workforce``: about 7,000 professionals, their assignments, rosters and a year of mobility.

The plan is drawn by :func:`parcours.demo.workforce_plan.plan_workforce` over
the registry's network (types and services of the establishments); the first
version of the norms is published through ``workforce.service.publish_norms``;
two establishment HR accounts are created through ``access.service``
(``rh.chu`` for the CHU, ``rh.alhoceima`` for the provincial hospital of Al
Hoceïma) beside the GST-wide ``rh.region`` of the users step. The rows go in
by bulk inserts (``parcours.bulk_store``), audited once per batch, in the
step's own transaction with its marker.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Table, func, select

from parcours import bulk_store
from parcours.access import audit
from parcours.access import service as access
from parcours.access.rules import Role, Scope, ScopeKind
from parcours.db import utcnow
from parcours.demo.pipeline import Counts, DemoContext, Step
from parcours.demo.users_plan import DEMO_PASSWORD
from parcours.demo.workforce_plan import Site, WorkforcePlan, plan_workforce
from parcours.errors import NotFound
from parcours.territory import service as territory
from parcours.territory.rules import EstablishmentType
from parcours.workforce import rules
from parcours.workforce import service as workforce
from parcours.workforce.models import (
    Assignment,
    MobilityEvent,
    MobilityRequest,
    Professional,
    ProfessionalVersion,
    Qualification,
    Shift,
)

PLAN_KEY = "workforce.plan"
ACTOR = "system:demo"
BATCH = 2_000
NORMS_FROM = date(2024, 1, 1)


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


def _hr_accounts(ctx: DemoContext) -> dict[str, str]:
    """Establishment HR accounts, by establishment code: the CHU and Al Hoceïma's hospital."""
    codes = sorted(ctx.establishments)
    chu = next((c for c in codes if ctx.establishments[c].type is EstablishmentType.CHU), None)
    hoc = next(
        (
            c
            for c in codes
            if ctx.establishments[c].type is EstablishmentType.PROVINCIAL_HOSPITAL
            and ctx.establishments[c].province == "HOC"
        ),
        None,
    )
    wanted = {code: name for code, name in ((chu, "rh.chu"), (hoc, "rh.alhoceima")) if code}
    province_of = territory.province_of_establishments(ctx.session)
    provinces = {p.code for p in territory.list_provinces(ctx.session)}
    for code, username in wanted.items():
        try:
            access.get_user(ctx.session, username)
        except NotFound:
            access.create_user(
                ctx.session,
                ctx.principal,
                username=username,
                password=DEMO_PASSWORD,
                role=Role.HR_OFFICER,
                scope=Scope(ScopeKind.ESTABLISHMENT, frozenset({code})),
                full_name={"rh.chu": "Siham Kettani", "rh.alhoceima": "Ayoub Aarab"}[username],
                province_of=province_of,
                province_codes=provinces,
            )
    return wanted


def guard(ctx: DemoContext) -> str | None:
    count = ctx.session.scalar(select(func.count(Professional.id))) or 0
    if count:
        return f"la base contient déjà {count} professionnel(s) qui ne viennent pas de la démo"
    return None


def _utc(local: datetime) -> datetime:
    return local.replace(tzinfo=workforce.LOCAL).astimezone(UTC)


def _load(
    ctx: DemoContext, model: Any, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    table = _table(model)
    for start in range(0, len(rows), BATCH):
        part = rows[start : start + BATCH]
        bulk_store.bulk_insert(ctx.session, table, columns, part)
        audit.record(
            ctx.session,
            ctx.principal,
            "workforce.demo_load",
            table.name,
            None,
            details={"rows": len(part), "from": start},
        )
        ctx.reporter.advance(len(part))


def write(ctx: DemoContext, plan: WorkforcePlan, actors: dict[str, str]) -> Counts:
    session = ctx.session
    now = utcnow()
    pro_ids = bulk_store.reserve_ids(session, _table(Professional), len(plan.professionals))
    pid = {p.key: pro_ids[i] for i, p in enumerate(plan.professionals)}
    pro_rows = []
    version_rows = []
    qualification_rows = []
    for p in plan.professionals:
        values = {
            "inpe": p.inpe,
            "cin": p.cin,
            "family_name": p.family_name,
            "given_name": p.given_name,
            "family_name_ar": None,
            "given_name_ar": None,
            "sex": p.sex,
            "birth_date": p.birth_date.isoformat(),
            "category": p.category.value,
            "specialty": p.specialty,
            "grade": p.grade,
            "status": p.status.value,
            "hired_on": p.hired_on.isoformat(),
            "phone": "",
            "email": "",
        }
        pro_rows.append(
            (
                pid[p.key], p.inpe, p.cin, p.family_name, p.given_name,
                rules.search_key(f"{p.family_name} {p.given_name}"), p.sex, p.birth_date,
                p.category.value, p.specialty, p.grade, p.status.value, p.hired_on, "", "", 1,
                now, now,
            )
        )  # fmt: skip
        version_rows.append((pid[p.key], 1, values, now, ACTOR, "create", "démonstration"))
        qualification_rows.append((pid[p.key], p.diploma, p.school, p.diploma_on, now, ACTOR))
    ctx.reporter.start("Ressources humaines : professionnels et affectations", 0)
    _load(
        ctx,
        Professional,
        ("id", "inpe", "cin", "family_name", "given_name", "search_name", "sex", "birth_date",
         "category", "specialty", "grade", "status", "hired_on", "phone", "email", "version",
         "created_at", "updated_at"),
        pro_rows,
    )  # fmt: skip
    _load(
        ctx,
        ProfessionalVersion,
        ("professional_id", "version", "snapshot", "changed_at", "changed_by", "change", "reason"),
        version_rows,
    )
    _load(
        ctx,
        Qualification,
        ("professional_id", "title", "institution", "obtained_on", "recorded_at", "recorded_by"),
        qualification_rows,
    )
    _load(
        ctx,
        Assignment,
        ("professional_id", "establishment_code", "service", "category", "share", "start_on",
         "end_on", "origin", "created_at", "created_by", "ended_at", "ended_by", "end_reason"),
        [
            (pid[a.professional], a.establishment, a.service,
             plan.professionals[a.professional].category.value, a.share, a.start_on, a.end_on,
             a.origin, now, ACTOR, now if a.end_on else None, ACTOR if a.end_on else None,
             a.end_reason)
            for a in plan.assignments
        ],
    )  # fmt: skip
    _load(
        ctx,
        Shift,
        ("professional_id", "establishment_code", "service", "kind", "starts_at", "ends_at",
         "created_at", "created_by"),
        [
            (pid[s.professional], s.establishment, s.service, s.kind.value, _utc(s.start),
             _utc(s.end), now, ACTOR)
            for s in plan.shifts
        ],
    )  # fmt: skip
    request_ids = bulk_store.reserve_ids(session, _table(MobilityRequest), len(plan.requests))

    def who(name: str) -> str:
        code = name.removeprefix("rh.").upper()
        return actors.get(code, name)

    _load(
        ctx,
        MobilityRequest,
        ("id", "professional_id", "kind", "initiator", "from_establishment", "from_service",
         "to_establishment", "to_service", "share", "wished_on", "motive", "state", "version",
         "submitted_at", "submitted_by", "releasing_opinion", "receiving_opinion", "decided_at",
         "effective_on", "updated_at"),
        [
            (rid, pid[r.professional], "transfer", r.initiator, r.from_establishment,
             r.from_service, r.to_establishment, r.to_service, r.share, None, r.motive,
             r.state.value, r.version, r.submitted_at, who(r.submitted_by),
             r.releasing_opinion.value if r.releasing_opinion else None,
             r.receiving_opinion.value if r.receiving_opinion else None, r.decided_at,
             r.effective_on, r.events[-1].at)
            for rid, r in zip(request_ids, plan.requests, strict=True)
        ],
    )  # fmt: skip
    _load(
        ctx,
        MobilityEvent,
        ("request_id", "action", "from_state", "to_state", "establishment_code", "opinion",
         "actor", "at", "reason"),
        [
            (rid, e.action.value, e.from_state.value if e.from_state else None, e.to_state.value,
             e.establishment, e.opinion.value if e.opinion else None, who(e.actor), e.at,
             e.reason)
            for rid, r in zip(request_ids, plan.requests, strict=True)
            for e in r.events
        ],
    )  # fmt: skip
    return {
        "professionnels": len(plan.professionals),
        "affectations": len(plan.assignments),
        "gardes": len(plan.shifts),
        "demandes de mobilité": len(plan.requests),
    }


def build(ctx: DemoContext) -> Counts:
    sites = [
        Site(n.code, n.type, n.province, frozenset(n.services))
        for n in territory.network(ctx.session)
        if n.is_open
    ]
    plan = plan_workforce(
        sites, seed=ctx.rng.randrange(2**31), today=workforce.today(), scale=ctx.scale
    )
    ctx.results[PLAN_KEY] = plan
    # Accounts first: create_user commits each one (a rerun skips those already made); the
    # rest is one transaction with the step's marker.
    actors = _hr_accounts(ctx)
    hr = workforce.system_hr("demo")
    workforce.publish_norms(
        ctx.session,
        hr,
        plan.norms,
        valid_from=NORMS_FROM,
        reason="normes de la démonstration (estimation)",
        commit=False,
    )
    return write(ctx, plan, actors)


STEP = Step(name="workforce", label="Ressources humaines", build=build, guard=guard)
