"""Importing establishments from CSV rows: good rows kept, bad rows reported, idempotent."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from parcours.access.models import AuditEvent
from parcours.access.rules import Principal, Role, Scope, ScopeKind, system_principal
from parcours.errors import Invalid
from parcours.territory import service
from parcours.territory.models import Establishment
from parcours.territory.schemas import CloseIn, EstablishmentUpdate
from parcours.territory.service import ImportReport, RowOutcome

HEADER = (
    "code,name,type,province,town,latitude,longitude,catchment_population,status,opened_on,services"
)

# Line 1 is the header, so the n-th row stands on line n + 1.
ROWS = [
    (
        "HP-LAR-01,Hôpital Lalla Meryem,provincial_hospital,LAR,Larache,35.19,-6.15,500000,open,"
        "1990-01-01,emergency:20;paediatrics:15"
    ),
    (
        "CSU-LAR-01,Centre de santé urbain Larache 1,csu_1,lar,Larache,35.2,-6.16,,open,,"
        "general_medicine;vaccination"
    ),
    "CSR-OUZ-01,Centre de santé rural Zoumi,csr_2,OUZ,Zoumi,34.8,-5.35,12000,,,"
    "general_medicine:0;deliveries:4",
    "BAD-TYPE-01,Clinique inconnue,hopital,LAR,Larache,35.2,-6.1,,open,,",
    "BAD-NAME-01,,csu_1,LAR,Larache,35.2,-6.1,,open,,",
    "BAD-LAT-01,Centre mal placé,csu_1,LAR,Larache,abc,-6.1,,open,,",
    "BAD-PROV-01,Centre hors région,csu_1,RAB,Rabat,34.0,-6.8,,open,,",
    "BAD-SPEC-01,Centre astrologique,csu_1,LAR,Larache,35.2,-6.1,,open,,astrology",
    "BAD-BEDS-01,Hôpital sans chiffres,provincial_hospital,LAR,Larache,35.2,-6.1,,open,,"
    "emergency:beaucoup",
]
GOOD_AND_BAD = "\n".join([HEADER, *ROWS]) + "\n"

EXPECTED_REJECTS = {
    5: "type inconnu : « hopital »",
    6: "le nom est obligatoire",
    7: "latitude invalide : « abc »",
    8: "province inconnue : RAB",
    9: "spécialité inconnue : astrology",
    10: "nombre de lits invalide pour emergency : « beaucoup »",
}

SYSTEM = system_principal("import")


def _rows(text: str) -> list[tuple[int, dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text))
    return [(reader.line_num, row) for row in reader]


def _run(db: Session, text: str, principal: Principal = SYSTEM) -> list[RowOutcome]:
    return list(service.import_rows(db, principal, _rows(text)))


def _count(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(Establishment)) or 0


def test_bad_rows_are_reported_and_good_rows_imported(db: Session) -> None:
    outcomes = _run(db, GOOD_AND_BAD)
    assert [(o.line, o.status) for o in outcomes[:3]] == [
        (2, "created"),
        (3, "created"),
        (4, "created"),
    ]
    rejected = {o.line: o.message for o in outcomes if o.status == "rejected"}
    assert set(rejected) == set(EXPECTED_REJECTS)
    for line, fragment in EXPECTED_REJECTS.items():
        assert fragment in rejected[line], (line, rejected[line])
        # The reason is for people: French, not a Python or pydantic message.
        for english in ("invalid literal", "could not convert", "is not a valid", "Field"):
            assert english not in rejected[line], rejected[line]

    db.expire_all()
    assert _count(db) == 3
    lar = service.get_establishment(db, SYSTEM, "HP-LAR-01")
    assert (lar.province, lar.town, lar.beds, lar.catchment_population) == (
        "LAR",
        "Larache",
        35,
        500000,
    )
    assert str(lar.opened_on) == "1990-01-01"
    csu = service.get_establishment(db, SYSTEM, "CSU-LAR-01")
    assert (csu.province, csu.catchment_population, csu.opened_on) == ("LAR", None, None)
    assert [s.specialty for s in csu.services] == ["general_medicine", "vaccination"]
    assert service.get_establishment(db, SYSTEM, "CSR-OUZ-01").status == "open"
    assert (
        db.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "establishment.create")
        )
        == 3
    )


def test_reimport_is_idempotent_and_a_changed_row_is_updated(db: Session) -> None:
    _run(db, GOOD_AND_BAD)
    again = _run(db, GOOD_AND_BAD)
    assert [o.status for o in again[:3]] == ["unchanged"] * 3
    db.expire_all()
    assert _count(db) == 3
    assert service.get_establishment(db, SYSTEM, "HP-LAR-01").version == 1

    changed = GOOD_AND_BAD.replace("emergency:20;paediatrics:15", "emergency:25;paediatrics:15")
    third = _run(db, changed)
    assert [o.status for o in third[:3]] == ["updated", "unchanged", "unchanged"]
    db.expire_all()
    lar = service.get_establishment(db, SYSTEM, "HP-LAR-01")
    assert (lar.version, lar.beds) == (2, 40)
    last = service.history(db, SYSTEM, "HP-LAR-01")[-1]
    assert last.reason == "import CSV"
    assert last.changes == {
        "services": [{"emergency": 20, "paediatrics": 15}, {"emergency": 25, "paediatrics": 15}]
    }


def test_closing_through_an_import_is_refused(db: Session) -> None:
    _run(db, GOOD_AND_BAD)
    closed = GOOD_AND_BAD.replace("Larache,35.2,-6.16,,open,,", "Larache,35.2,-6.16,,closed,,")
    outcomes = _run(db, closed)
    assert outcomes[1].status == "rejected"
    assert "fermeture" in outcomes[1].message
    db.expire_all()
    assert service.get_establishment(db, SYSTEM, "CSU-LAR-01").status == "open"


def test_an_import_respects_the_importers_scope(db: Session) -> None:
    _run(db, GOOD_AND_BAD)
    admin = Principal(
        9,
        "lar.admin",
        Role.ESTABLISHMENT_ADMIN,
        Scope(ScopeKind.ESTABLISHMENT, frozenset({"HP-LAR-01"})),
    )
    changed = GOOD_AND_BAD.replace("Hôpital Lalla Meryem", "Hôpital Lalla Meryem de Larache")
    changed = changed.replace("Centre de santé urbain Larache 1", "CSU Larache 1")
    outcomes = _run(db, changed, admin)
    assert (outcomes[0].status, outcomes[1].status) == ("updated", "rejected")
    assert "hors de votre périmètre" in outcomes[1].message


@pytest.mark.parametrize(
    ("cells", "fragment"),
    [
        ("X-1,Nom,csu_1,LAR,,35,-6,beaucoup,open,,", "population desservie invalide"),
        (
            "X-1,Nom,csu_1,LAR,,35,-6,-5,open,,",
            "catchment_population : doit être supérieur ou égal à 0",
        ),
        ("X-1,Nom,csu_1,LAR,,35,-6,,open,,emergency:-2", "beds : doit être supérieur ou égal à 0"),
        ("X-1,Nom,csu_1,LAR,,35,-6,,ouvert,,", "statut inconnu : « ouvert »"),
        ("X-1,Nom,csu_1,LAR,,35,-6,,open,2020-13-45,", "date d'ouverture invalide"),
        ("X-1,Nom,csu_1,LAR,,35,,,open,,", "latitude et longitude vont ensemble"),
        (",Nom,csu_1,LAR,,35,-6,,open,,", "le code est obligatoire"),
        ("X-1,Nom,,LAR,,35,-6,,open,,", "le type est obligatoire"),
        ("X-1,Nom,csu_1,,,35,-6,,open,,", "la province est obligatoire"),
    ],
)
def test_each_bad_cell_is_explained(db: Session, cells: str, fragment: str) -> None:
    [outcome] = _run(db, f"{HEADER}\n{cells}\n")
    assert outcome.status == "rejected"
    assert outcome.line == 2
    assert fragment in outcome.message, outcome.message


def test_every_problem_of_a_row_is_reported_at_once(db: Session) -> None:
    [outcome] = _run(db, f"{HEADER}\nX-1,,nope,LAR,,north,west,many,open,,\n")
    for fragment in (
        "le nom est obligatoire",
        "type inconnu",
        "latitude",
        "longitude",
        "population",
    ):
        assert fragment in outcome.message


def test_read_csv_numbers_lines_and_checks_columns(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("\ufeff" + GOOD_AND_BAD, encoding="utf-8")  # a spreadsheet's BOM is fine
    rows = list(service.read_csv(path))
    assert [line for line, _ in rows] == list(range(2, 11))
    assert rows[0][1]["code"] == "HP-LAR-01"

    path.write_text("code,nom,type\nX,Y,csu_1\n", encoding="utf-8")
    with pytest.raises(Invalid) as caught:
        list(service.read_csv(path))
    assert caught.value.code == "missing_columns"
    assert caught.value.render() == "Colonnes manquantes : name, province"


def test_import_report_counts() -> None:
    report = ImportReport()
    for outcome in (
        RowOutcome(2, "created"),
        RowOutcome(3, "rejected", "non"),
        RowOutcome(4, "created"),
    ):
        report.add(outcome)
    assert report.counts == {"created": 2, "rejected": 1}
    assert report.rejected == [RowOutcome(3, "rejected", "non")]


def test_reimport_leaves_fields_the_csv_does_not_carry(db: Session) -> None:
    """Phone, address and the Arabic name are kept up in the application, not in the CSV."""
    _run(db, GOOD_AND_BAD)
    service.update_establishment(
        db,
        SYSTEM,
        "HP-LAR-01",
        EstablishmentUpdate(
            phone="0539 91 00 00", address="Avenue Hassan II", name_ar="مستشفى للا مريم"
        ),
    )
    outcomes = _run(db, GOOD_AND_BAD)
    assert outcomes[0].status == "unchanged"
    db.expire_all()
    lar = service.get_establishment(db, SYSTEM, "HP-LAR-01")
    assert (lar.phone, lar.address, lar.name_ar, lar.version) == (
        "0539 91 00 00",
        "Avenue Hassan II",
        "مستشفى للا مريم",
        2,
    )


def test_reimport_with_fewer_columns_changes_only_those(db: Session) -> None:
    _run(db, GOOD_AND_BAD)
    outcomes = _run(
        db, "code,name,type,province\nHP-LAR-01,Hôpital Lalla Meryem,provincial_hospital,LAR\n"
    )
    assert outcomes[0].status == "unchanged"
    db.expire_all()
    lar = service.get_establishment(db, SYSTEM, "HP-LAR-01")
    assert (lar.town, lar.latitude, lar.beds) == ("Larache", 35.19, 35)


def test_an_empty_status_cell_does_not_reopen_a_closed_establishment(db: Session) -> None:
    _run(db, GOOD_AND_BAD)
    service.close_establishment(
        db, SYSTEM, "CSR-OUZ-01", CloseIn(closed_on=date(2026, 1, 31), reason="travaux")
    )
    outcomes = _run(db, GOOD_AND_BAD)  # CSR-OUZ-01's status cell is empty
    assert outcomes[2].status == "unchanged"
    db.expire_all()
    assert service.get_establishment(db, SYSTEM, "CSR-OUZ-01").status == "closed"
