"""A small staffed region for the workforce's service, API and page tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy.orm import Session

from parcours.access.rules import Principal, Role, Scope, ScopeKind
from parcours.territory.rules import EstablishmentType
from parcours.workforce import rules, service
from parcours.workforce.rules import Category, Sex
from parcours.workforce.schemas import AssignmentIn, ProfessionalIn

SYSTEM = service.system_hr("test")


def principal(role: Role, scope: str = "gst", username: str | None = None) -> Principal:
    kind, _, values = scope.partition(":")
    return Principal(
        99,
        username or f"{role.value}:{scope}",
        role,
        Scope(ScopeKind(kind), frozenset(v for v in values.split(",") if v)),
    )


REGION_HR = principal(Role.HR_OFFICER, username="rh.region")
CHU_HR = principal(Role.HR_OFFICER, "establishment:CHU-TNG", "rh.chu")
HOC_HR = principal(Role.HR_OFFICER, "establishment:HP-HOC-01", "rh.hoc")
TET_HR = principal(Role.HR_OFFICER, "establishment:HP-TET-01", "rh.tet")
ANALYST = principal(Role.ANALYST, username="analyste")

NORMS = [
    rules.NormLine(EstablishmentType.CHU, "cardiology", Category.SPECIALIST, 2),
    rules.NormLine(EstablishmentType.CHU, "emergency", Category.GENERAL_PRACTITIONER, 2),
    rules.NormLine(
        EstablishmentType.PROVINCIAL_HOSPITAL, "general_surgery", Category.SPECIALIST, 2
    ),
    rules.NormLine(EstablishmentType.PROVINCIAL_HOSPITAL, "", Category.PHARMACIST, 1),
    rules.NormLine(EstablishmentType.REGIONAL_HOSPITAL, "cardiology", Category.SPECIALIST, 1),
    rules.NormLine(EstablishmentType.CSR_2, "", Category.NURSE, 2),
]


@dataclass(frozen=True)
class Staffed:
    surgeon_chu: int  # specialist in general surgery at the CHU (cardiology service)
    cardiologist_chu: int
    nurse_csr: int
    pharmacist_hoc: int


def register(
    db: Session,
    family: str,
    category: Category,
    establishment: str,
    service_code: str = "",
    *,
    specialty: str | None = None,
    share: int = 100,
    start: date = date(2020, 1, 1),
    birth: date = date(1980, 5, 17),
    inpe: str | None = None,
    who: Principal = SYSTEM,
) -> int:
    p = service.create_professional(
        db,
        who,
        ProfessionalIn(
            inpe=inpe,
            family_name=family,
            given_name="Salma",
            sex=Sex.FEMALE,
            birth_date=birth,
            category=category,
            specialty=specialty,
            hired_on=start,
            assignment=AssignmentIn(
                establishment=establishment, service=service_code, share=share, start_on=start
            ),
        ),
    )
    return p.id


@pytest.fixture
def staffed(db: Session, small_region: dict[str, str]) -> Staffed:
    service.publish_norms(db, SYSTEM, NORMS, valid_from=date(2020, 1, 1), reason="normes 2020")
    return Staffed(
        surgeon_chu=register(
            db,
            "El Amrani",
            Category.SPECIALIST,
            "CHU-TNG",
            "cardiology",
            specialty="general_surgery",
        ),
        cardiologist_chu=register(
            db,
            "Bennani",
            Category.SPECIALIST,
            "CHU-TNG",
            "cardiology",
            specialty="cardiology",
            inpe="123456789",
        ),
        nurse_csr=register(db, "Riffi", Category.NURSE, "CSR-TET-01"),
        pharmacist_hoc=register(db, "Tazi", Category.PHARMACIST, "HP-HOC-01"),
    )
