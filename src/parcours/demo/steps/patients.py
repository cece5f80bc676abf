"""Step ``patients``: the region's patient registers, through the real MPI.

A GST does not start its master patient index empty: the establishments'
registers exist. So the step replays what a go-live does:

1. most registrations (``HISTORY_SHARE``) are the registers the establishments
   held before, loaded in bulk (``patients.service.load_records``, as
   ``parcours mpi load`` does); the model is estimated from them
   (``train``) and they are deduplicated (``dedupe``), which leaves its
   uncertain pairs in the review queue;
2. the rest are the desks' registrations since, one at a time through
   ``register_record``, as an admission agent's page does: each is matched,
   linked, queued for review or made a new person. The hand-written persons
   (``patients_plan.SHOWCASES``) come last, so that they meet a trained model.

The true person of each record goes to the demo's own table
(``demo_patient_truth``), never read by the matching code. A run interrupted
during the desk registrations is resumed by the next one, which skips the
records already registered (each truth row is committed with its record).
"""

from __future__ import annotations

from sqlalchemy import select

from parcours.access.rules import Principal, Role, Scope, ScopeKind
from parcours.demo.models import DemoPatientTruth
from parcours.demo.patients_plan import PERSONS, PatientPlan, Registration, plan_patients
from parcours.demo.pipeline import Counts, DemoContext, Step
from parcours.patients import service as patients
from parcours.patients.records import SourceRecord
from parcours.patients.schemas import RecordIn

PLAN_KEY = "patients.plan"
ACTOR = "system:demo"
#: Share of the generated registrations that predate the MPI (loaded in bulk).
HISTORY_SHARE = 0.8


def desk_principal() -> Principal:
    """The demo registers as the region's admission desks would (any establishment)."""
    return Principal(0, ACTOR, Role.ADMISSION_AGENT, Scope(ScopeKind.GST), "cli")


def record_in(record: SourceRecord) -> RecordIn:
    return RecordIn(
        record_id=record.record_id,
        establishment=record.establishment or None,
        local_id=record.local_id or None,
        cin=record.cin or None,
        amo_number=record.amo_number or None,
        given_name=record.given_name or None,
        family_name=record.family_name or None,
        given_name_ar=record.given_name_ar or None,
        family_name_ar=record.family_name_ar or None,
        sex=record.sex or None,
        birth_date=record.birth_date or None,
        phone=record.phone or None,
        address=record.address or None,
        commune=record.commune or None,
    )


def split(plan: PatientPlan) -> tuple[list[Registration], list[Registration]]:
    """(the registers loaded in bulk, the desk registrations after), showcases last."""
    crowd = [r for r in plan.registrations if not r.true_person.startswith("SHOW-")]
    shown = [r for r in plan.registrations if r.true_person.startswith("SHOW-")]
    cut = round(len(crowd) * HISTORY_SHARE)
    return crowd[:cut], crowd[cut:] + shown


def _load_history(ctx: DemoContext, history: list[Registration], done: set[str]) -> Counts:
    todo = [r for r in history if r.record.record_id not in done]
    counts: Counts = {"loaded": 0, "rejected": 0}
    if todo:
        ctx.reporter.start("Patients : registres existants (chargement)", len(todo))
        truth = {r.record.record_id: r.true_person for r in todo}
        rows = (r.record.to_row() for r in todo)
        for outcome in patients.load_records(ctx.session, rows, actor=ACTOR):
            if outcome.status == "rejected":
                counts["rejected"] += 1
            else:
                ctx.session.add(
                    DemoPatientTruth(
                        record_key=outcome.record_key, true_person=truth[outcome.record_key]
                    )
                )
                counts["loaded"] += 1
            ctx.reporter.advance()
        ctx.session.commit()
    if history:
        patients.train(ctx.session, actor=ACTOR)
        report = patients.dedupe(ctx.session, actor=ACTOR)
        counts["reviews_batch"] = report.reviews
    return counts


def build(ctx: DemoContext) -> Counts:
    seed = ctx.rng.randrange(2**31)
    plan = plan_patients(ctx.establishments, ctx.scaled(PERSONS), seed)
    ctx.results[PLAN_KEY] = plan
    history, desks = split(plan)
    done = set(ctx.session.scalars(select(DemoPatientTruth.record_key)))
    counts: Counts = {"persons": plan.persons}
    counts |= _load_history(ctx, history, done)

    principal = desk_principal()
    desk_counts: Counts = {"link": 0, "review": 0, "new": 0}
    ctx.reporter.start("Patients : enregistrements aux accueils", len(desks))
    for item in desks:
        key = item.record.record_id
        if key not in done:
            # the truth row rides in the registration's own transaction
            ctx.session.add(DemoPatientTruth(record_key=key, true_person=item.true_person))
            outcome = patients.register_record(ctx.session, principal, record_in(item.record))
            desk_counts[outcome.decision] += 1
        ctx.reporter.advance()
    counts |= {f"desk_{k}": v for k, v in desk_counts.items()}
    counts["records"] = len(plan.registrations)
    return counts


STEP = Step(name="patients", label="Patients", build=build)
