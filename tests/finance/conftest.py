"""A small budget on the test region for the finance's service, API and page tests."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from parcours.access.rules import Principal, Role, Scope, ScopeKind
from parcours.finance import service
from parcours.finance.rules import MovementKind
from parcours.finance.schemas import LineIn, MovementIn

YEAR = 2026
SYSTEM = service.system_finance("test")


def principal(role: Role, scope: str = "gst", username: str | None = None) -> Principal:
    kind, _, values = scope.partition(":")
    return Principal(
        99,
        username or f"{role.value}:{scope}",
        role,
        Scope(ScopeKind(kind), frozenset(v for v in values.split(",") if v)),
    )


REGION = principal(Role.FINANCE_OFFICER, username="finance.region")
REGION_2 = principal(Role.FINANCE_OFFICER, username="finance.controle")
CHU = principal(Role.FINANCE_OFFICER, "establishment:CHU-TNG", "finance.chu")
ADMIN = principal(Role.REGIONAL_ADMIN, username="admin.region")
ANALYST = principal(Role.ANALYST, username="analyste")


@dataclass(frozen=True)
class Budget:
    chu_medicines: int
    chu_salaries: int
    hoc_maintenance: int
    hq_digital: int


def open_line(db: Session, establishment: str | None, code: str, amount: str) -> int:
    line = service.create_line(
        db, SYSTEM, LineIn(year=YEAR, establishment=establishment, code=code)
    )
    service.record_movement(
        db,
        SYSTEM,
        line.id,
        MovementIn(
            kind=MovementKind.ALLOCATION, amount=Decimal(amount), reason="Dotation initiale 2026"
        ),
    )
    return line.id


@pytest.fixture
def budget(db: Session, small_region: dict[str, str]) -> Budget:
    return Budget(
        chu_medicines=open_line(db, "CHU-TNG", "operating.medicines", "1000000.00"),
        chu_salaries=open_line(db, "CHU-TNG", "personnel.salaries", "5000000.00"),
        hoc_maintenance=open_line(db, "HP-HOC-01", "operating.maintenance", "250000.00"),
        hq_digital=open_line(db, None, "investment.digital", "800000.00"),
    )
