"""Use cases of the establishment registry on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from parcours.access.models import AuditEvent
from parcours.access.rules import Principal, Role, Scope, ScopeKind, system_principal
from parcours.errors import Conflict, Forbidden, Invalid, NotFound
from parcours.territory import service
from parcours.territory.models import Establishment, EstablishmentService, EstablishmentVersion
from parcours.territory.rules import Category, EstablishmentType, Status
from parcours.territory.schemas import CloseIn, EstablishmentIn, EstablishmentUpdate
from parcours.territory.service import EstablishmentFilter

SYSTEM = system_principal("test")
ANALYST = Principal(3, "analyst", Role.ANALYST, Scope(ScopeKind.GST))
TET_ADMIN = Principal(
    4,
    "tet.admin",
    Role.ESTABLISHMENT_ADMIN,
    Scope(ScopeKind.ESTABLISHMENT, frozenset({"HP-TET-01"})),
)
TET_PROVINCE_ADMIN = Principal(
    5, "tet.province", Role.ESTABLISHMENT_ADMIN, Scope(ScopeKind.PROVINCE, frozenset({"TET"}))
)
PROVINCES = {"TNG", "MDF", "TET", "FAN", "LAR", "HOC", "CHE", "OUZ"}


def _new(**overrides: Any) -> EstablishmentIn:
    data: dict[str, Any] = {
        "code": " hp-mdf-01 ",
        "name": "Hôpital de proximité de Fnideq",
        "type": "proximity_hospital",
        "province": "mdf",
        "town": "Fnideq",
        "latitude": 35.85,
        "longitude": -5.36,
        "catchment_population": 80000,
        "opened_on": "2012-05-01",
        "services": [{"specialty": "emergency", "beds": 12}, {"specialty": "paediatrics"}],
    } | overrides
    return EstablishmentIn.model_validate(data)


def _audit(db: Session, action: str, entity_id: str) -> list[AuditEvent]:
    return list(
        db.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == action, AuditEvent.entity_id == entity_id)
            .order_by(AuditEvent.id)
        )
    )


def _codes(db: Session, principal: Principal = ANALYST, **filters: Any) -> list[str]:
    page = service.search_establishments(db, principal, EstablishmentFilter(**filters), 1, 200)
    return sorted(item.code for item in page.items)


# --- reference data ------------------------------------------------------------


def test_reference_data_is_loaded_once(db: Session) -> None:
    service.ensure_reference_data(db)  # a second time changes nothing
    provinces = service.list_provinces(db)
    assert {p.code for p in provinces} == PROVINCES
    assert sum(p.population_2024 for p in provinces) > 4_000_000
    assert len(service.list_regions(db)) == 12
    assert next(s.code for s in service.list_specialties(db)) == "general_medicine"
    assert {c.name for c in service.list_communes(db, "HOC")} >= {"Al Hoceïma", "Imzouren"}


# --- create --------------------------------------------------------------------


def test_create_normalises_the_code_and_keeps_version_history_and_audit(db: Session) -> None:
    est = service.create_establishment(db, SYSTEM, _new())
    assert (est.code, est.province_code, est.version) == ("HP-MDF-01", "MDF", 1)
    assert (est.category, est.care_level) == ("hospital", 2)
    assert est.search_name == "hopital de proximite de fnideq"
    out = service.get_establishment(db, ANALYST, "hp-mdf-01")
    assert out.beds == 12
    assert [(s.specialty, s.beds) for s in out.services] == [("emergency", 12), ("paediatrics", 0)]
    assert out.services[0].specialty_name == "Urgences"
    assert out.province_name == "M'diq-Fnideq"
    [version] = service.history(db, ANALYST, "HP-MDF-01")
    assert (version.version, version.change, version.changed_by) == (1, "create", "system:test")
    assert version.changes["name"] == [None, "Hôpital de proximité de Fnideq"]
    [event] = _audit(db, "establishment.create", "HP-MDF-01")
    assert event.actor == "system:test"


def test_a_duplicate_code_is_a_conflict(db: Session) -> None:
    service.create_establishment(db, SYSTEM, _new())
    with pytest.raises(Conflict) as caught:
        service.create_establishment(db, SYSTEM, _new(code="HP-MDF-01", name="Autre"))
    assert caught.value.code == "establishment_exists"
    assert caught.value.status_code == 409


def test_invalid_data_lists_every_problem(db: Session) -> None:
    with pytest.raises(Invalid) as caught:
        service.create_establishment(
            db,
            SYSTEM,
            _new(
                code="h_1",
                type="csu_1",
                latitude=95.0,
                province="XXX",
                services=[{"specialty": "astrology"}, {"specialty": "general_medicine", "beds": 3}],
            ),
        )
    assert caught.value.status_code == 422
    message = caught.value.render()
    for fragment in (
        "code « H_1 » invalide",
        "latitude hors limites",
        "spécialité inconnue : astrology",
        "n'a pas de lits",
        "province inconnue : XXX",
    ):
        assert fragment in message
    db.rollback()
    assert db.scalar(select(func.count()).select_from(Establishment)) == 0
    assert db.scalar(select(func.count()).select_from(AuditEvent)) == 0


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"province": "RAB"}, "province inconnue : RAB"),
        ({"services": [{"specialty": "telepathy"}]}, "spécialité inconnue : telepathy"),
    ],
)
def test_unknown_province_or_specialty_is_refused(
    db: Session, overrides: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(Invalid) as caught:
        service.create_establishment(db, SYSTEM, _new(**overrides))
    assert fragment in caught.value.render()


def test_only_the_regional_admin_creates(db: Session) -> None:
    for principal in (ANALYST, TET_ADMIN, TET_PROVINCE_ADMIN):
        with pytest.raises(Forbidden) as caught:
            service.create_establishment(db, principal, _new(province="TET", code="HP-TET-09"))
        assert caught.value.code == "permission_denied"
    db.rollback()
    assert db.scalar(select(func.count()).select_from(Establishment)) == 0


# --- update --------------------------------------------------------------------


def test_update_with_reason_makes_version_2_with_exactly_the_changed_fields(
    db: Session, small_region: dict[str, str]
) -> None:
    est = service.update_establishment(
        db,
        SYSTEM,
        "hp-tet-01",
        EstablishmentUpdate(
            name="Hôpital régional Saniat Rmel de Tétouan",
            phone="0539000000",
            services=[
                {"specialty": "cardiology", "beds": 24},
                {"specialty": "paediatrics", "beds": 30},
            ],  # type: ignore[list-item]
            reason="recensement des lits 2026",
        ),
    )
    assert est.version == 2
    assert est.search_name == "hopital regional saniat rmel de tetouan"
    first, second = service.history(db, ANALYST, "HP-TET-01")
    assert first.change == "create"
    assert (second.version, second.change, second.reason) == (
        2,
        "update",
        "recensement des lits 2026",
    )
    assert second.changes == {
        "name": ["Hôpital régional Saniat Rmel", "Hôpital régional Saniat Rmel de Tétouan"],
        "phone": ["", "0539000000"],
        "services": [{"cardiology": 20, "paediatrics": 30}, {"cardiology": 24, "paediatrics": 30}],
    }
    [event] = _audit(db, "establishment.update", "HP-TET-01")
    assert event.reason == "recensement des lits 2026"
    assert event.details == {"fields": ["name", "phone", "services"]}


def test_a_no_op_update_creates_no_version(db: Session, small_region: dict[str, str]) -> None:
    est = service.update_establishment(
        db,
        SYSTEM,
        "HP-TET-01",
        EstablishmentUpdate(
            name="Hôpital régional Saniat Rmel",
            type=EstablishmentType.REGIONAL_HOSPITAL,
            services=[
                {"specialty": "paediatrics", "beds": 30},
                {"specialty": "cardiology", "beds": 20},
            ],  # type: ignore[list-item]
            reason="rien",
        ),
    )
    assert est.version == 1
    db.commit()
    assert len(service.history(db, ANALYST, "HP-TET-01")) == 1
    assert _audit(db, "establishment.update", "HP-TET-01") == []


def test_services_are_replaced_and_can_be_removed(
    db: Session, small_region: dict[str, str]
) -> None:
    service.update_establishment(
        db,
        SYSTEM,
        "CHU-TNG",
        EstablishmentUpdate(services=[{"specialty": "oncology", "beds": 50}]),  # type: ignore[list-item]
    )
    out = service.get_establishment(db, ANALYST, "CHU-TNG")
    assert [(s.specialty, s.beds) for s in out.services] == [("oncology", 50)]
    assert (
        db.scalar(
            select(func.count())
            .select_from(EstablishmentService)
            .where(EstablishmentService.specialty_code == "cardiology")
        )
        == 1
    )  # only HP-TET-01's cardiology remains


def test_an_invalid_update_changes_nothing(db: Session, small_region: dict[str, str]) -> None:
    with pytest.raises(Invalid):
        service.update_establishment(
            db, SYSTEM, "HP-TET-01", EstablishmentUpdate(latitude=200.0, name="Renamed")
        )
    db.rollback()
    out = service.get_establishment(db, ANALYST, "HP-TET-01")
    assert (out.name, out.latitude, out.version) == ("Hôpital régional Saniat Rmel", 35.57, 1)


def test_reclassifying_is_regional(db: Session, small_region: dict[str, str]) -> None:
    with pytest.raises(Forbidden):
        service.update_establishment(
            db, TET_ADMIN, "HP-TET-01", EstablishmentUpdate(type=EstablishmentType.CHU)
        )
    db.rollback()
    est = service.update_establishment(
        db, SYSTEM, "HP-TET-01", EstablishmentUpdate(type=EstablishmentType.SPECIALISED_HOSPITAL)
    )
    assert (est.type, est.category, est.care_level) == ("specialised_hospital", "hospital", 3)


def test_an_unknown_code_is_not_found(db: Session) -> None:
    with pytest.raises(NotFound) as caught:
        service.update_establishment(db, SYSTEM, "NOPE-1", EstablishmentUpdate(name="x"))
    assert caught.value.code == "establishment_not_found"
    with pytest.raises(NotFound):
        service.get_establishment(db, ANALYST, "NOPE-1")


# --- scope ---------------------------------------------------------------------


def test_an_out_of_scope_establishment_is_refused(
    db: Session, small_region: dict[str, str]
) -> None:
    with pytest.raises(Forbidden) as caught:
        service.update_establishment(db, TET_ADMIN, "HP-HOC-01", EstablishmentUpdate(name="Pris"))
    assert caught.value.code == "out_of_scope"
    with pytest.raises(Forbidden) as caught:
        service.close_establishment(
            db, TET_ADMIN, "HP-HOC-01", CloseIn(closed_on=date(2026, 1, 1), reason="test")
        )
    assert caught.value.code == "out_of_scope"
    db.rollback()
    out = service.get_establishment(db, ANALYST, "HP-HOC-01")
    assert (out.name, out.version, out.status) == ("Hôpital Mohammed V d'Al Hoceïma", 1, "open")
    assert _audit(db, "establishment.update", "HP-HOC-01") == []
    assert _audit(db, "establishment.close", "HP-HOC-01") == []

    # Inside the scope, the same admin may.
    est = service.update_establishment(db, TET_ADMIN, "HP-TET-01", EstablishmentUpdate(phone="05"))
    assert est.version == 2


def test_a_province_admin_updates_inside_the_province_only(
    db: Session, small_region: dict[str, str]
) -> None:
    for code in ("HP-TET-01", "CSR-TET-01"):
        est = service.update_establishment(
            db, TET_PROVINCE_ADMIN, code, EstablishmentUpdate(phone="0539")
        )
        assert est.version == 2
    for code in ("HP-HOC-01", "CHU-TNG"):
        with pytest.raises(Forbidden):
            service.update_establishment(
                db, TET_PROVINCE_ADMIN, code, EstablishmentUpdate(phone="0539")
            )
        db.rollback()
    # Nor may it move one of its establishments out of the province.
    with pytest.raises(Forbidden) as caught:
        service.update_establishment(
            db, TET_PROVINCE_ADMIN, "CSR-TET-01", EstablishmentUpdate(province="HOC")
        )
    assert caught.value.code == "permission_denied"


def test_moving_an_establishment_to_another_province_is_regional(
    db: Session, small_region: dict[str, str]
) -> None:
    # An establishment-scoped admin covers its establishment wherever it lies, so the
    # scope alone would let it move out of its province: the move itself is refused.
    with pytest.raises(Forbidden) as caught:
        service.update_establishment(
            db, TET_ADMIN, "HP-TET-01", EstablishmentUpdate(province="HOC", reason="erreur")
        )
    assert caught.value.code == "permission_denied"
    db.rollback()
    assert service.get_establishment(db, ANALYST, "HP-TET-01").province == "TET"
    # Restating the current province is not a move.
    est = service.update_establishment(
        db, TET_ADMIN, "HP-TET-01", EstablishmentUpdate(province="tet", phone="0539")
    )
    assert (est.province_code, est.version) == ("TET", 2)
    moved = service.update_establishment(
        db, SYSTEM, "HP-TET-01", EstablishmentUpdate(province="HOC")
    )
    assert moved.province_code == "HOC"


def test_reading_needs_no_scope(db: Session, small_region: dict[str, str]) -> None:
    assert service.get_establishment(db, TET_ADMIN, "HP-HOC-01").code == "HP-HOC-01"
    assert len(_codes(db, TET_ADMIN)) == 6


# --- status --------------------------------------------------------------------


def test_closing_through_update_is_refused(db: Session, small_region: dict[str, str]) -> None:
    with pytest.raises(Conflict) as caught:
        service.update_establishment(
            db, SYSTEM, "DR-HOC-01", EstablishmentUpdate(status=Status.CLOSED)
        )
    assert caught.value.code == "use_close"


def test_close_keeps_the_row_its_services_and_history(
    db: Session, small_region: dict[str, str]
) -> None:
    est = service.close_establishment(
        db, SYSTEM, "hp-hoc-01", CloseIn(closed_on=date(2026, 6, 30), reason="regroupement")
    )
    assert (est.status, est.closed_on, est.version) == ("closed", date(2026, 6, 30), 2)
    out = service.get_establishment(db, ANALYST, "HP-HOC-01")
    assert [s.specialty for s in out.services] == ["general_surgery", "obstetrics_gynaecology"]
    assert db.scalar(select(func.count()).select_from(Establishment)) == 6
    last = service.history(db, ANALYST, "HP-HOC-01")[-1]
    assert (last.change, last.reason) == ("close", "regroupement")
    assert last.changes == {"closed_on": [None, "2026-06-30"], "status": ["open", "closed"]}
    [event] = _audit(db, "establishment.close", "HP-HOC-01")
    assert event.reason == "regroupement"

    with pytest.raises(Conflict) as caught:
        service.close_establishment(
            db, SYSTEM, "HP-HOC-01", CloseIn(closed_on=date(2026, 7, 1), reason="encore")
        )
    assert caught.value.code == "already_closed"
    assert caught.value.status_code == 409


def test_a_closed_establishment_can_still_be_corrected(
    db: Session, small_region: dict[str, str]
) -> None:
    service.close_establishment(
        db, SYSTEM, "DR-HOC-01", CloseIn(closed_on=date(2026, 1, 31), reason="travaux")
    )
    est = service.update_establishment(
        db, SYSTEM, "DR-HOC-01", EstablishmentUpdate(phone="0539 80 00 00", reason="annuaire")
    )
    assert (est.status, est.closed_on, est.phone, est.version) == (
        "closed",
        date(2026, 1, 31),
        "0539 80 00 00",
        3,
    )
    # Sending its current status along is not a new closing either.
    est = service.update_establishment(
        db, SYSTEM, "DR-HOC-01", EstablishmentUpdate(status=Status.CLOSED, town="Beni Bouayach")
    )
    assert (est.status, est.town) == ("closed", "Beni Bouayach")


def test_services_null_means_no_change(db: Session, small_region: dict[str, str]) -> None:
    est = service.update_establishment(
        db, SYSTEM, "CHU-TNG", EstablishmentUpdate(services=None, phone="05")
    )
    assert est.version == 2
    out = service.get_establishment(db, ANALYST, "CHU-TNG")
    assert [s.specialty for s in out.services] == ["cardiology", "emergency", "neurosurgery"]


def test_a_closing_date_before_the_opening_is_refused(db: Session) -> None:
    service.create_establishment(db, SYSTEM, _new())
    with pytest.raises(Invalid):
        service.close_establishment(
            db, SYSTEM, "HP-MDF-01", CloseIn(closed_on=date(2000, 1, 1), reason="erreur")
        )


def test_a_closed_establishment_leaves_the_counts_but_stays_searchable(
    db: Session, small_region: dict[str, str]
) -> None:
    service.close_establishment(
        db, SYSTEM, "HP-HOC-01", CloseIn(closed_on=date(2026, 6, 30), reason="regroupement")
    )
    summary = service.summary(db, ANALYST)
    assert summary.total == 5
    assert summary.by_category == {"chu": 1, "hospital": 1, "health_centre": 3}
    assert summary.by_type["provincial_hospital"] == 0
    assert summary.by_province["HOC"] == 1
    assert summary.by_status["closed"] == 1
    assert summary.beds == 60 + 40 + 30 + 20 + 30 + 4
    assert _codes(db, status=Status.CLOSED) == ["HP-HOC-01"]
    assert "HP-HOC-01" in _codes(db, q="hoceima")
    assert "HP-HOC-01" not in {p.code for p in service.map_points(db, ANALYST)}


def test_status_transitions_through_update(db: Session) -> None:
    service.create_establishment(
        db, SYSTEM, _new(status="planned", opened_on=None, planned_opening_on="2027-01-01")
    )
    est = service.update_establishment(
        db, SYSTEM, "HP-MDF-01", EstablishmentUpdate(status=Status.UNDER_CONSTRUCTION)
    )
    assert est.status == "under_construction"
    with pytest.raises(Conflict) as caught:
        service.update_establishment(
            db, SYSTEM, "HP-MDF-01", EstablishmentUpdate(status=Status.PLANNED)
        )
    assert caught.value.code == "status_transition"
    db.rollback()
    est = service.update_establishment(
        db,
        SYSTEM,
        "HP-MDF-01",
        EstablishmentUpdate(status=Status.OPEN, opened_on=date(2027, 3, 1)),
    )
    assert (est.status, est.version) == ("open", 3)


def test_a_reopened_establishment_is_open_again(db: Session, small_region: dict[str, str]) -> None:
    service.close_establishment(
        db, SYSTEM, "DR-HOC-01", CloseIn(closed_on=date(2026, 1, 31), reason="travaux")
    )
    est = service.update_establishment(
        db, SYSTEM, "DR-HOC-01", EstablishmentUpdate(status=Status.OPEN, reason="réouverture")
    )
    assert est.status == "open"
    assert est.closed_on is None
    last = service.history(db, ANALYST, "DR-HOC-01")[-1]
    assert (last.change, last.reason) == ("update", "réouverture")
    assert last.changes == {"closed_on": ["2026-01-31", None], "status": ["closed", "open"]}
    assert service.summary(db, ANALYST).total == 6


# --- search ----------------------------------------------------------------------


def test_search_by_name_is_accent_and_case_insensitive(
    db: Session, small_region: dict[str, str]
) -> None:
    assert _codes(db, q="hopital") == ["HP-HOC-01", "HP-TET-01"]
    assert _codes(db, q="HÔPITAL") == ["HP-HOC-01", "HP-TET-01"]
    assert _codes(db, q="hoceima") == ["HP-HOC-01"]
    assert _codes(db, q="  saniat  rmel ") == ["HP-TET-01"]
    assert _codes(db, q="no such place") == []


def test_search_by_exact_code(db: Session, small_region: dict[str, str]) -> None:
    assert _codes(db, q="csr-tet-01") == ["CSR-TET-01"]
    assert _codes(db, q="CHU-TNG") == ["CHU-TNG"]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"type": EstablishmentType.CHU}, ["CHU-TNG"]),
        ({"type": EstablishmentType.CSR_2}, ["CSR-TET-01"]),
        ({"category": Category.HOSPITAL}, ["HP-HOC-01", "HP-TET-01"]),
        ({"category": Category.HEALTH_CENTRE}, ["CSR-TET-01", "CSU-TNG-01", "DR-HOC-01"]),
        ({"care_level": 4}, ["CHU-TNG"]),
        ({"care_level": 2}, ["HP-HOC-01"]),
        ({"care_level": 1}, ["CSR-TET-01", "CSU-TNG-01", "DR-HOC-01"]),
        ({"province": "tet"}, ["CSR-TET-01", "HP-TET-01"]),
        ({"province": "OUZ"}, []),
        ({"specialty": "cardiology"}, ["CHU-TNG", "HP-TET-01"]),
        ({"specialty": "general_medicine"}, ["CSR-TET-01", "CSU-TNG-01", "DR-HOC-01"]),
        (
            {"status": Status.OPEN},
            sorted(["CHU-TNG", "HP-TET-01", "HP-HOC-01", "CSU-TNG-01", "CSR-TET-01", "DR-HOC-01"]),
        ),
        ({"status": Status.PLANNED}, []),
        ({"province": "TNG", "specialty": "general_medicine"}, ["CSU-TNG-01"]),
        ({"q": "centre", "province": "TET"}, ["CSR-TET-01"]),
    ],
)
def test_search_filters(
    db: Session, small_region: dict[str, str], filters: dict[str, Any], expected: list[str]
) -> None:
    assert _codes(db, **filters) == expected


def test_search_orders_by_care_level_and_pages(db: Session, small_region: dict[str, str]) -> None:
    first = service.search_establishments(db, ANALYST, EstablishmentFilter(), page=1, page_size=4)
    assert (first.total, first.page, first.page_size) == (6, 1, 4)
    assert [i.code for i in first.items][:2] == ["CHU-TNG", "HP-TET-01"]
    assert first.items[0].beds == 130
    assert first.items[0].type_label == "Centre hospitalier universitaire"
    second = service.search_establishments(db, ANALYST, EstablishmentFilter(), page=2, page_size=4)
    assert second.total == 6
    assert len(second.items) == 2
    codes = [i.code for i in first.items + second.items]
    assert len(set(codes)) == 6
    beyond = service.search_establishments(db, ANALYST, EstablishmentFilter(), page=3, page_size=4)
    assert (beyond.total, beyond.items) == (6, [])
    clamped = service.search_establishments(
        db, ANALYST, EstablishmentFilter(), page=0, page_size=10_000
    )
    assert (clamped.page, clamped.page_size, len(clamped.items)) == (1, 200, 6)


# --- summary -------------------------------------------------------------------


def test_summary_counts_the_chu_apart_from_the_hospitals(
    db: Session, small_region: dict[str, str]
) -> None:
    summary = service.summary(db, ANALYST)
    assert summary.gst == "GST Tanger-Tétouan-Al Hoceïma"
    assert summary.total == 6
    assert summary.by_category == {"chu": 1, "hospital": 2, "health_centre": 3}
    assert set(summary.by_type) == {t.value for t in EstablishmentType}
    assert summary.by_type["chu"] == 1
    assert summary.by_type["regional_hospital"] == 1
    assert summary.by_type["provincial_hospital"] == 1
    assert summary.by_type["proximity_hospital"] == 0
    assert sum(summary.by_type.values()) == 6
    assert summary.by_province == dict.fromkeys(PROVINCES, 0) | {"TNG": 2, "TET": 2, "HOC": 2}
    assert summary.by_care_level == {"1": 3, "2": 1, "3": 1, "4": 1}
    assert summary.beds == 130 + 50 + 45 + 4
    assert summary.population == sum(p.population_2024 for p in service.list_provinces(db))


def test_summary_of_an_empty_registry(db: Session) -> None:
    summary = service.summary(db, ANALYST)
    assert summary.total == 0
    assert summary.by_category == {"chu": 0, "hospital": 0, "health_centre": 0}
    assert set(summary.by_province) == PROVINCES
    assert summary.beds == 0


def test_map_points_and_province_lookup(db: Session, small_region: dict[str, str]) -> None:
    points = service.map_points(db, ANALYST)
    assert len(points) == 6
    chu = next(p for p in points if p.code == "CHU-TNG")
    assert (chu.latitude, chu.longitude, chu.type) == (35.73, -5.85, EstablishmentType.CHU)
    assert service.province_of_establishments(db) == small_region


def test_history_records_every_version(db: Session, small_region: dict[str, str]) -> None:
    for phone in ("01", "02"):
        service.update_establishment(db, SYSTEM, "CSU-TNG-01", EstablishmentUpdate(phone=phone))
    versions = db.scalars(
        select(EstablishmentVersion.version)
        .join(Establishment)
        .where(Establishment.code == "CSU-TNG-01")
        .order_by(EstablishmentVersion.version)
    ).all()
    assert versions == [1, 2, 3]
    history = service.history(db, ANALYST, "CSU-TNG-01")
    assert [h.changes for h in history[1:]] == [{"phone": ["", "01"]}, {"phone": ["01", "02"]}]
