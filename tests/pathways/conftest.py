"""A small stored network for the pathway service, API and page tests.

Chefchaouen (CHE) has a rural centre and a provincial hospital with one
cardiology bed; Tétouan a regional hospital with cardiology; Tanger the CHU
and an urban centre. A patient, Fatima Zahra El Idrissi, is registered at the
rural centre.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session

from parcours.access.rules import Principal, Role, parse_scope, system_principal
from parcours.patients import service as patients
from parcours.patients.schemas import RecordIn
from parcours.territory import service as territory
from parcours.territory.schemas import EstablishmentIn

CENTRE = "CSR-CHE-01"
PROVINCIAL = "HP-CHE-01"
REGIONAL = "HR-TET-01"
CHU = "CHU-TNG-01"
URBAN = "CSU-TNG-01"

_ROWS = [
    (
        CHU,
        "CHU Mohammed VI de Tanger",
        "chu",
        "TNG",
        35.73,
        -5.85,
        {"cardiology": 4, "emergency": 10, "neurosurgery": 6, "paediatrics": 10},
    ),
    (
        REGIONAL,
        "Hôpital régional Saniat Rmel",
        "regional_hospital",
        "TET",
        35.57,
        -5.37,
        {"cardiology": 3, "paediatrics": 8, "emergency": 6},
    ),
    (
        PROVINCIAL,
        "Hôpital provincial de Chefchaouen",
        "provincial_hospital",
        "CHE",
        35.17,
        -5.26,
        {"cardiology": 1, "general_medicine": 10, "emergency": 4},
    ),
    (
        CENTRE,
        "Centre de santé rural Bab Taza",
        "csr_2",
        "CHE",
        35.06,
        -5.20,
        {"general_medicine": 0},
    ),
    (
        URBAN,
        "Centre de santé urbain Tanger Medina",
        "csu_1",
        "TNG",
        35.78,
        -5.81,
        {"general_medicine": 0},
    ),
]


@dataclass(frozen=True)
class Network:
    person: str  # public id of the patient registered at the centre
    nurse: Principal  # clinician of the rural centre
    cardiologist: Principal  # clinician of the provincial hospital
    regional: Principal  # clinician of the regional hospital
    chu: Principal  # clinician of the CHU
    desk: Principal  # admission agent of the provincial hospital
    gst: Principal  # the system, GST-wide


def clinician(code: str, username: str, role: Role = Role.CLINICIAN) -> Principal:
    return Principal(11, username, role, parse_scope(f"establishment:{code}"), "session")


def register(db: Session, establishment: str = CENTRE, **values: str) -> str:
    data = {
        "establishment": establishment,
        "given_name": "Fatima Zahra",
        "family_name": "El Idrissi",
        "sex": "F",
        "birth_date": "1961",
        "commune": "Bab Taza",
    } | values
    agent = Principal(9, "desk", Role.ADMISSION_AGENT, parse_scope("gst"), "session")
    return patients.register_record(db, agent, RecordIn(**data)).person_id  # type: ignore[arg-type]


def known_at(db: Session, person_id: str, establishment: str, **values: str) -> None:
    """The desk of ``establishment`` registers its own record of the person, as it does when
    a patient first comes (the conftest's default person, with the values of ``register``);
    the MPI links it to the same person."""
    assert register(db, establishment, **values) == person_id


@pytest.fixture
def network(db: Session) -> Network:
    return build_network(db)


def build_network(db: Session) -> Network:
    system = system_principal("test")
    for code, name, type_, province, lat, lon, services in _ROWS:
        territory.create_establishment(
            db,
            system,
            EstablishmentIn(
                code=code,
                name=name,
                type=type_,
                province=province,
                latitude=lat,
                longitude=lon,
                catchment_population=30000,
                services=[{"specialty": s, "beds": b} for s, b in services.items()],  # type: ignore[misc]
            ),
        )
    return Network(
        person=register(db),
        nurse=clinician(CENTRE, "infirmiere.babtaza"),
        cardiologist=clinician(PROVINCIAL, "cardio.chefchaouen"),
        regional=clinician(REGIONAL, "cardio.tetouan"),
        chu=clinician(CHU, "medecin.chu"),
        desk=clinician(PROVINCIAL, "admission.chefchaouen", Role.ADMISSION_AGENT),
        gst=system,
    )
