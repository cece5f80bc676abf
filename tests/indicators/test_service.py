"""Each shipped indicator on a small fixed data set, worked out by hand, on both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from parcours.access.rules import Role, Scope, ScopeKind, system_principal
from parcours.errors import Invalid
from parcours.finance.facts import ActionFact, BudgetExecutionFact
from parcours.indicators import rules, service
from parcours.indicators.rules import Definition, Dimension, Direction, Period, Theme
from parcours.workforce.models import (
    Assignment,
    MobilityEvent,
    MobilityRequest,
    NormLine,
    NormVersion,
    Professional,
)
from tests.indicators.support import T0, Facts, at

NOV = Period("month", 2025, 11)
DEC = Period("month", 2025, 12)
SYSTEM = system_principal("test")


def _pathways(db: Session) -> dict[str, int]:
    """Six referrals CSU-TNG-01 → CHU-TNG sent on 3 November 2025, a redirect, seven arrivals."""
    f = Facts(db)
    ids: dict[str, int] = {}
    for i, hours in enumerate((2, 4, 6, 8, 100), start=1):
        steps = [
            ("accept", "accepted", hours),
            ("schedule", "appointment_scheduled", hours + 0.5),
            ("arrive", "patient_arrived", hours + 1),
        ]
        if i <= 4:
            steps.append(("complete", "completed", hours + 2))
        ids[f"R{i}"] = f.referral(
            priority="urgent",
            designated="CHU-TNG" if i <= 4 else "HP-TET-01",
            steps=steps,
            appointment_days=i,
        )
    ids["R6"] = f.referral(designated="CHU-TNG", steps=[("expire", "expired", 80)])
    ids["R7"] = f.referral(
        sent_at=at(10, 9), designated="HP-TET-01", parent_id=ids["R6"], due_hours=None
    )
    ids["E1"] = f.encounter("CHU-TNG", "admission", at(1), at(4), referral_id=ids["R1"])
    ids["E2"] = f.encounter("CHU-TNG", "admission", at(10), at(15))
    ids["E3"] = f.encounter("CHU-TNG", "admission", at(28), None)  # still in hospital
    for day in (20, 21, 22):
        f.encounter("CHU-TNG", "emergency", at(day, 10), at(day, 12))
    f.encounter("CHU-TNG", "emergency", at(5, 10), at(5, 11), referral_id=ids["R2"])
    f.encounter("CHU-TNG", "consultation", at(6, 10), at(6, 11))
    db.commit()
    return ids


def _value(db: Session, code: str, level: str = "region", unit: str | None = None,
           period: Period = NOV) -> service.Value:  # fmt: skip
    tree = service.tree(db)
    reader = service.Reader(db, tree, today=date(2026, 12, 1))
    return service.value_of(reader, service.get_indicator(db, code), tree.unit(level, unit),
                            period.months)  # fmt: skip


@pytest.mark.usefixtures("small_region")
def test_pathway_and_bed_indicators_by_hand(db: Session) -> None:
    service.ensure_shipped_indicators(db)
    ids = _pathways(db)
    out = service.refresh(db)
    assert out.facts["referral_events"] > 0

    def v(code: str, *args: object) -> float | None:
        return _value(db, code, *args).value  # type: ignore[arg-type]

    # answers after 2, 4, 6, 8 and 100 hours: nearest-rank median 6 h, 90th centile 100 h
    assert v("REF_DELAI_MED") == 6.0
    assert v("REF_DELAI_P90") == 100.0
    # first appointments 1 to 5 days after sending
    assert v("REF_DELAI_RDV") == 3.0
    # due: five answered and one expired; answered before the 72 h deadline: four
    assert v("REF_DANS_DELAI") == pytest.approx(400 / 6)
    # four counter-referrals back for five patients arrived
    assert v("CONTRE_REF") == pytest.approx(80.0)
    # judged: the six sent from the centre, not the redirect; along the map: five of them
    assert v("CONFORMITE_CARTE", "establishment", "CSU-TNG-01") == pytest.approx(500 / 6)
    # urgent: sent → arrival 3, 5, 7, 9 and 101 hours
    assert v("TRANSFERT_URGENT") == 7.0
    # seven arrivals at the CHU (consultations are not arrivals), five without a referral
    assert v("CONTOURNEMENT", "establishment", "CHU-TNG") == pytest.approx(500 / 7)
    # November: stays of 3 and 5 days ended; the open one counts 3 days of beds so far
    assert v("DMS") == 4.0
    assert v("TAUX_OCCUPATION", "establishment", "CHU-TNG") == pytest.approx(100 * 11 / (130 * 30))
    beds = 130 + 20 + 30 + 25 + 20 + 4
    assert v("TAUX_OCCUPATION") == pytest.approx(100 * 11 / (beds * 30))
    # the province of Tangier holds the CHU and the centre; Tétouan none of these facts
    assert v("REF_DELAI_MED", "province", "TNG") == 6.0
    assert v("REF_DELAI_MED", "province", "TET") is None

    # The stay ends on 3 December: its 5 days count in December's length of stay, and
    # November's bed-days stay at 11 (now from the finished stay, not twice).
    Facts(db).discharge(ids["E3"], at(3, month=12))
    db.commit()
    again = service.refresh(db)
    assert again.stays_closed == 1
    assert v("DMS", "region", None, DEC) == 5.0
    assert v("TAUX_OCCUPATION", "establishment", "CHU-TNG") == pytest.approx(100 * 11 / (130 * 30))
    assert v("TAUX_OCCUPATION", "establishment", "CHU-TNG", DEC) == pytest.approx(
        100 * 2 / (130 * 31)
    )
    # nothing new: a third refresh changes nothing
    before = _value(db, "REF_DELAI_MED")
    assert service.refresh(db).facts["referral_events"] == 0
    assert _value(db, "REF_DELAI_MED") == before


@pytest.mark.usefixtures("small_region")
def test_small_cells_are_suppressed_in_outputs_about_persons(db: Session) -> None:
    service.ensure_shipped_indicators(db)
    _pathways(db)
    service.refresh(db)
    # two stays ended in November: the value is known but not shown
    dms = _value(db, "DMS")
    assert dms.value == 4.0
    assert dms.suppressed
    assert dms.shown is None
    # five answers: shown
    assert _value(db, "REF_DELAI_MED").shown == 6.0
    rows = service.export_rows(db, SYSTEM, NOV, levels=("region",))
    by_code = {r.indicator: r for r in rows}
    assert by_code["DMS"].value is None
    assert by_code["DMS"].suppressed
    assert by_code["REF_DELAI_MED"].value == 6.0
    assert "DMS" not in service.to_adx(rows, NOV, "PARCOURS")
    csv_text = service.to_csv(rows)
    assert "DMS;" in csv_text
    assert ";4.0;" not in csv_text.split("DMS;", 1)[1].split("\n", 1)[0]
    # beds are not persons: occupancy is shown whatever its size
    occupancy = _value(db, "TAUX_OCCUPATION")
    assert occupancy.shown is not None


def _workforce(db: Session) -> None:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    db.add(NormVersion(number=1, valid_from=date(2024, 1, 1), created_at=now, created_by="t",
                       reason="test"))  # fmt: skip
    db.flush()
    db.add(NormLine(version=1, establishment_type="chu", service="cardiology",
                    category="specialist", required=4.0))  # fmt: skip
    people = []
    for i, (category, code, service_) in enumerate(
        [("specialist", "CHU-TNG", "cardiology")] * 3
        + [("nurse", "CSU-TNG-01", "general_medicine"), ("administrative", "CHU-TNG", "")]
    ):
        p = Professional(
            family_name=f"N{i}",
            given_name="P",
            search_name=f"n{i}",
            sex="F",
            category=category,
            status="active",
            created_at=now,
            updated_at=now,
        )
        db.add(p)
        db.flush()
        people.append(p.id)
        db.add(Assignment(professional_id=p.id, establishment_code=code, service=service_,
                          category=category, share=100, start_on=date(2025, 1, 1),
                          created_at=now, created_by="t"))  # fmt: skip
    for days in (10, 20, 30, 40, 50):
        submitted = datetime(2025, 11, 20, tzinfo=UTC) - timedelta(days=days)
        r = MobilityRequest(professional_id=people[0], kind="transfer", initiator="professional",
                            from_establishment="CHU-TNG", to_establishment="HP-TET-01",
                            state="approved", submitted_at=submitted, submitted_by="t",
                            updated_at=submitted)  # fmt: skip
        db.add(r)
        db.flush()
        db.add(MobilityEvent(request_id=r.id, action="submit", from_state=None,
                             to_state="awaiting_decision", actor="t", at=submitted))  # fmt: skip
        db.add(MobilityEvent(request_id=r.id, action="approve", from_state="awaiting_decision",
                             to_state="approved", actor="t",
                             at=datetime(2025, 11, 20, tzinfo=UTC)))  # fmt: skip
    db.commit()


@pytest.mark.usefixtures("small_region")
def test_workforce_indicators_by_hand(db: Session) -> None:
    service.ensure_shipped_indicators(db)
    _workforce(db)
    service.refresh(db)
    service._STATE_CACHE.clear()
    # decisions 10, 20, 30, 40 and 50 days after submission: median 30 days
    assert _value(db, "MOBILITE_DELAI").value == 30.0
    assert _value(db, "MOBILITE_DELAI", "establishment", "HP-TET-01").value == 30.0
    assert _value(db, "MOBILITE_DELAI", "establishment", "CHU-TNG").value is None
    # three cardiologists for a norm of four at the CHU
    assert _value(db, "COUVERTURE_NORMES", "establishment", "CHU-TNG").value == 75.0
    # three physicians at the CHU for its 20,000 inhabitants; the administrator is not counted
    assert _value(db, "DENSITE", "establishment", "CHU-TNG").value == pytest.approx(1.5)
    tree = service.tree(db)
    population = sum(tree.province_population.values())
    assert _value(db, "DENSITE").value == pytest.approx(4 * 10000 / population)


def test_budget_execution_and_action_programme_by_hand() -> None:
    tree = service.Tree("TTA", "GST", {"TNG": "Tanger", "TET": "Tétouan"}, {"TNG": 1, "TET": 1},
                        {"CHU": ("CHU", "TNG"), "HP": ("HP", "TET")}, {}, {}, {})  # fmt: skip
    region, tng = tree.unit("region"), tree.unit("province", "TNG")
    d = Decimal
    budget = [
        BudgetExecutionFact("CHU", 2025, 1, "personnel", d("1000.00"), d("0"), d("100.00")),
        BudgetExecutionFact("CHU", 2025, 6, "operating", d("0"), d("0"), d("300.00")),
        BudgetExecutionFact("CHU", 2025, 12, "operating", d("0"), d("0"), d("500.00")),
        BudgetExecutionFact("HP", 2025, 2, "personnel", d("500.00"), d("0"), d("50.00")),
        BudgetExecutionFact(None, 2025, 1, "investment", d("500.00"), d("0"), d("0")),
        BudgetExecutionFact("CHU", 2024, 3, "personnel", d("9999.00"), d("0"), d("9999.00")),
    ]
    june = date(2025, 6, 30)
    # the CHU's province to the end of June: 400 paid of 1,000 allocated
    assert service.budget_sum(budget, "paid", tng, tree, june) == d("400.00")
    assert service.budget_sum(budget, "allocated", tng, tree, june) == d("1000.00")
    # the region adds the other hospital and the seat's lines: 450 of 2,000
    assert service.budget_sum(budget, "paid", region, tree, june) == d("450.00")
    assert service.budget_sum(budget, "allocated", region, tree, june) == d("2000.00")
    actions = [
        ActionFact(1, "PAT", "CHU", date(2025, 3, 1), "done", date(2025, 2, 1), 100),
        ActionFact(2, "PAT", "CHU", date(2025, 4, 1), "in_progress", None, 50),
        ActionFact(3, "PAT", "CHU", date(2025, 5, 1), "cancelled", None, 0),
        ActionFact(4, "PAT", "CHU", date(2025, 9, 1), "done", date(2025, 5, 1), 100),
        ActionFact(5, "PAT", None, date(2025, 1, 1), "done", date(2025, 1, 1), 100),
    ]
    # due by June in Tangier, cancelled left out: actions 1 and 2, one done
    assert service.action_counts(actions, tng, tree, june) == (2, 1)
    assert service.action_counts(actions, region, tree, june) == (3, 2)


@pytest.mark.usefixtures("small_region")
def test_before_after_the_pilot_compares_equal_windows(db: Session) -> None:
    service.ensure_shipped_indicators(db)
    f = Facts(db)
    for month, hours in ((8, 30), (9, 40), (10, 10), (11, 12)):
        for k in range(5):
            f.referral(sent_at=datetime(2025, month, 2 + k, tzinfo=UTC), designated="CHU-TNG",
                       steps=[("accept", "accepted", hours)])  # fmt: skip
    db.commit()
    service.refresh(db)
    tree = service.tree(db)
    reader = service.Reader(db, tree)
    info = service.get_indicator(db, "REF_DELAI_MED")
    comparison = service.compare(reader, info, tree.unit("region"), 202511)
    assert comparison is not None
    assert comparison.before_months == [202508, 202509]
    assert comparison.after_months == [202510, 202511]
    # before: five at 30 h and five at 40 h → rank 5 of 10 is 30; after: rank 5 is 10
    assert comparison.before.value == 30.0
    assert comparison.after.value == 10.0
    assert comparison.improved is True


@pytest.mark.usefixtures("small_region")
def test_an_administrator_adds_an_indicator_and_a_bad_one_is_refused(db: Session) -> None:
    service.ensure_shipped_indicators(db)
    _pathways(db)
    service.refresh(db)
    d = Definition("REF_URGENTES", "Références urgentes reçues", "Nombre de références urgentes.",
                   'count(referral_received, priority="urgent")', None, "références", 1.0,
                   Direction.HIGHER, Theme.PATHWAYS)  # fmt: skip
    info = service.create_indicator(db, SYSTEM, d)
    assert info.d.code == "REF_URGENTES"
    assert _value(db, "REF_URGENTES").value == 5.0
    bad = Definition("MAUVAIS", "Mauvais", "", "count(referals)", None, "", 1.0,
                     Direction.HIGHER, Theme.PATHWAYS)  # fmt: skip
    with pytest.raises(Invalid) as caught:
        service.create_indicator(db, SYSTEM, bad)
    assert caught.value.status_code == 422
    assert "Mesure inconnue « referals »" in caught.value.render()
    analyst = SYSTEM.__class__(9, "analyste", Role.ANALYST, Scope(ScopeKind.GST))
    from parcours.errors import Forbidden

    with pytest.raises(Forbidden):
        service.create_indicator(db, analyst, d)


@pytest.mark.usefixtures("small_region")
def test_breakdown_by_priority_and_the_dashboard(db: Session) -> None:
    service.ensure_shipped_indicators(db)
    _pathways(db)
    service.refresh(db)
    parts = dict(
        service.breakdown(
            db,
            SYSTEM,
            "REF_DANS_DELAI",
            level="region",
            unit_code=None,
            period=NOV,
            dimension=Dimension.PRIORITY,
        )
    )
    assert parts["urgent"].value == pytest.approx(80.0)
    assert parts["routine"].value == 0.0
    board = service.dashboard(db, SYSTEM, period=NOV)
    assert {c.code for c, _ in board.children} == set(service.tree(db).provinces) >= {"TNG"}
    rows = {r.info.d.code: r for r in board.rows}
    assert rows["REF_DELAI_MED"].value.value == 6.0
    assert len(rows["REF_DELAI_MED"].series) == 12
    assert set(rules.MEASURES) >= rows["DMS"].info.checked.measures
    drill = service.dashboard(db, SYSTEM, level="province", code="TNG", period=NOV)
    assert {c.code for c, _ in drill.children} == {"CHU-TNG", "CSU-TNG-01"}
    assert drill.parent is not None
    assert drill.parent.level == "region"


def test_shipped_definitions_cover_the_reform() -> None:
    codes = {d.code for d in rules.SHIPPED}
    assert len(codes) == len(rules.SHIPPED) == 15
    for d in rules.SHIPPED:
        rules.check_definition(d)
        assert d.definition
        assert d.name
    assert T0.tzinfo is UTC
