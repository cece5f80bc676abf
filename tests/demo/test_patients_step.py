"""The demo's patients: planned from the seed, registered through the real MPI, truth kept apart."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from parcours.db import make_session_factory
from parcours.demo import pipeline
from parcours.demo.models import DemoPatientTruth
from parcours.demo.patients_plan import SHOWCASE_NAME, SHOWCASES, plan_patients
from parcours.demo.pipeline import step_rng
from parcours.demo.steps import STEPS
from parcours.demo.steps.patients import desk_principal
from parcours.demo.steps.territory import _ref
from parcours.demo.territory_plan import plan_territory
from parcours.patients import service
from parcours.patients.models import PatientSourceRecord
from parcours.territory.rules import Category


def region(seed: int = 7) -> dict[str, object]:
    return {e.code: _ref(e) for e in plan_territory(step_rng(seed, "territory")).establishments}


def test_the_plan_is_the_same_for_a_seed_and_changes_with_it() -> None:
    establishments = region()
    first = plan_patients(establishments, 400, seed=7)  # type: ignore[arg-type]
    again = plan_patients(establishments, 400, seed=7)  # type: ignore[arg-type]
    other = plan_patients(establishments, 400, seed=8)  # type: ignore[arg-type]
    assert first.registrations == again.registrations
    assert first.registrations != other.registrations


def test_each_person_is_registered_where_such_a_person_would_be() -> None:
    establishments = region()
    plan = plan_patients(establishments, 1500, seed=7)  # type: ignore[arg-type]
    keys = [r.record.record_id for r in plan.registrations]
    assert len(keys) == len(set(keys))
    assert all(r.record.establishment in establishments for r in plan.registrations)
    # each establishment numbers its own patients
    ipps = Counter((r.record.establishment, r.record.local_id) for r in plan.registrations)
    assert max(ipps.values()) == 1
    by_person = plan.by_person()
    assert len(by_person) == 1500 + len(SHOWCASES)
    first_sites = [
        establishments[regs[0].record.establishment]  # type: ignore[attr-defined]
        for person, regs in by_person.items()
        if not person.startswith("SHOW-")
    ]
    assert all(e.type.category is Category.HEALTH_CENTRE for e in first_sites)
    several = [regs for regs in by_person.values() if len(regs) > 1]
    assert len(several) > 700  # most people are seen at more than one desk
    chu_share = sum(r.record.establishment.startswith("CHU-") for r in plan.registrations) / len(
        plan.registrations
    )
    assert 0.03 < chu_share < 0.25


def test_the_showcase_person_is_at_the_agents_centre_and_the_regional_hospital() -> None:
    plan = plan_patients(region(), 10, seed=7)  # type: ignore[arg-type]
    elamrani = plan.by_person()["SHOW-ELAMRANI"]
    assert [
        (r.record.establishment, r.record.given_name, r.record.family_name) for r in elamrani
    ] == [
        ("CSU2-TNG-001", "Mohammed", "Elamrani"),
        ("HR-TNG-01", "Mhamed", "El Amrani"),
    ]
    assert {r.record.birth_date for r in elamrani} == {"1978-03-14"}
    assert f"{elamrani[0].record.given_name} {elamrani[0].record.family_name}" == SHOWCASE_NAME


def test_the_step_registers_through_the_mpi_and_keeps_the_truth_apart(engine: Engine) -> None:
    factory = make_session_factory(engine)
    with factory() as db:
        run = pipeline.run(db, STEPS, seed=7, scale=0.1)
    outcome = {o.name: o for o in run.outcomes}["patients"]
    assert outcome.status == "built"
    counts = outcome.counts
    desk = counts["desk_link"] + counts["desk_review"] + counts["desk_new"]
    assert counts["records"] == counts["loaded"] + desk
    assert counts["rejected"] == 0
    assert counts["desk_link"] > 0
    assert counts["desk_new"] > 0

    principal = desk_principal()
    with factory() as db:
        records = db.scalar(select(func.count()).select_from(PatientSourceRecord))
        rows = db.execute(select(DemoPatientTruth.record_key, DemoPatientTruth.true_person))
        truth = {row.record_key: row.true_person for row in rows}
        assert records == counts["records"] == len(truth)
        keys = set(db.scalars(select(PatientSourceRecord.record_key)))
        assert keys == set(truth)

        found = service.search_persons(db, principal, q="mhamed el amrani")
        matches = [p for p in found.items if p.birth_date == "1978-03-14"]
        assert len(matches) == 1
        person = service.get_person(db, principal, matches[0].person_id)
        assert sorted(r.establishment or "" for r in person.records) == [
            "CSU2-TNG-001",
            "HR-TNG-01",
        ]
        assert {truth[r.record_key] for r in person.records} == {"SHOW-ELAMRANI"}

        assert service.list_reviews(db, principal, status="open").total > 0

    with factory() as db:
        again = pipeline.run(db, STEPS, seed=7, scale=0.1)
        assert again.already_built
        assert db.scalar(select(func.count()).select_from(PatientSourceRecord)) == records
