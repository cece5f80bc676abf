"""A small fixed region for the pathway tests: real TTA towns, invented codes.

Al Hoceïma (HOC) has a provincial hospital with cardiology and a proximity
hospital at Imzouren with general surgery only; Fahs-Anjra (FAN) has no
hospital; Tanger and Tétouan each have a regional hospital; the CHU is in
Tanger. Coordinates are the towns'.
"""

from __future__ import annotations

from datetime import UTC, datetime

from parcours.pathways.pathway_map import Establishment, MapVersion, initial_map
from parcours.territory.rules import EstablishmentType as T

T0 = datetime(2025, 10, 1, 8, 0, tzinfo=UTC)

TANGER = (35.7595, -5.8340)
TETOUAN = (35.5785, -5.3684)
HOCEIMA = (35.2517, -3.9372)
IMZOUREN = (35.1448, -3.8505)
BENI_BOUAYACH = (35.1000, -3.8300)
KSAR_SGHIR = (35.8400, -5.5600)
LARACHE = (35.1932, -6.1557)
CHEFCHAOUEN = (35.1688, -5.2636)


def est(
    code: str,
    type_: T,
    province: str,
    where: tuple[float, float] | None,
    services: dict[str, int],
    *,
    is_open: bool = True,
) -> Establishment:
    lat, lon = where if where else (None, None)
    return Establishment(
        code=code,
        type=type_,
        province=province,
        latitude=lat,
        longitude=lon,
        services=services,
        region="TTA",
        is_open=is_open,
        name=code,
    )


REGION: tuple[Establishment, ...] = (
    est(
        "CHU-TNG",
        T.CHU,
        "TNG",
        TANGER,
        {"cardiology": 60, "neurosurgery": 30, "general_surgery": 80, "oncology": 40},
    ),
    est(
        "HR-TNG",
        T.REGIONAL_HOSPITAL,
        "TNG",
        TANGER,
        {"cardiology": 30, "general_surgery": 50, "burns": 12},
    ),
    est(
        "HR-TET",
        T.REGIONAL_HOSPITAL,
        "TET",
        TETOUAN,
        {"cardiology": 25, "general_surgery": 40, "infectious_diseases": 20},
    ),
    est("HP-HOC", T.PROVINCIAL_HOSPITAL, "HOC", HOCEIMA, {"cardiology": 10, "general_surgery": 30}),
    est("HPR-IMZ", T.PROXIMITY_HOSPITAL, "HOC", IMZOUREN, {"general_surgery": 15}),
    est("HP-LAR", T.PROVINCIAL_HOSPITAL, "LAR", LARACHE, {"general_surgery": 30}),
    est("HP-CHE", T.PROVINCIAL_HOSPITAL, "CHE", CHEFCHAOUEN, {"general_surgery": 20}),
    est("HP-OLD", T.PROVINCIAL_HOSPITAL, "HOC", HOCEIMA, {"cardiology": 5}, is_open=False),
    est("CSR-HOC-01", T.CSR_2, "HOC", BENI_BOUAYACH, {"general_medicine": 0}),
    est("CSR-FAN-01", T.CSR_1, "FAN", KSAR_SGHIR, {"general_medicine": 0}),
    est("CSU-TNG-01", T.CSU_1, "TNG", TANGER, {"general_medicine": 0}),
)

BY_CODE = {e.code: e for e in REGION}

V1: MapVersion = initial_map("admin.region", T0)
