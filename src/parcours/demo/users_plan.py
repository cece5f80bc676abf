"""One demo account per role, each with the scope that role has in a real GST.

Usernames do not depend on the seed: the establishments they are scoped to
are ones every seed places (the CHU; the provincial hospital of Al Hoceïma;
the first level-2 rural centre of Chefchaouen, at Bab Berred; the first
level-2 urban centre of Tanger, in Beni Makada), so that the README can name
them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from parcours.access.rules import Role, Scope, ScopeKind
from parcours.demo.establishments import EstablishmentRef
from parcours.territory.rules import EstablishmentType, search_key

DEMO_PASSWORD = "parcours-demo"  # noqa: S105 - published on purpose: it is the demo's


@dataclass(frozen=True)
class UserPlan:
    username: str
    role: Role
    scope: Scope
    full_name: str


_PREFIXES = re.compile(
    r"^(centre de sante (urbain|rural)|dispensaire rural|hopital( de proximite)?( d| de)?)\s+"
)


def place_slug(text: str) -> str:
    """``Centre de santé rural Bab Berred 1`` → ``babberred``; ``Al Hoceïma`` → ``alhoceima``."""
    key = _PREFIXES.sub("", search_key(text))
    key = re.sub(r"\s+\d+$", "", key)
    return key.replace(" ", "")


def _first(
    establishments: Mapping[str, EstablishmentRef],
    type_: EstablishmentType,
    province: str | None = None,
) -> EstablishmentRef:
    candidates = sorted(
        (
            e
            for e in establishments.values()
            if e.type is type_ and (province is None or e.province == province)
        ),
        key=lambda e: e.code,
    )
    if not candidates:
        if province is not None:
            return _first(establishments, type_)
        raise LookupError(f"no {type_.value} among the establishments")
    return candidates[0]


def plan_users(establishments: Mapping[str, EstablishmentRef]) -> list[UserPlan]:
    gst = Scope(ScopeKind.GST)

    def at(e: EstablishmentRef) -> Scope:
        return Scope(ScopeKind.ESTABLISHMENT, frozenset({e.code}))

    chu = _first(establishments, EstablishmentType.CHU)
    hospital = _first(establishments, EstablishmentType.PROVINCIAL_HOSPITAL, "HOC")
    rural = _first(establishments, EstablishmentType.CSR_2, "CHE")
    urban = _first(establishments, EstablishmentType.CSU_2, "TNG")
    return [
        UserPlan("admin.region", Role.REGIONAL_ADMIN, gst, "Karim Bennani"),
        UserPlan("admin.chu", Role.ESTABLISHMENT_ADMIN, at(chu), "Nadia Tazi"),
        UserPlan(
            f"admin.{place_slug(hospital.town)}",
            Role.ESTABLISHMENT_ADMIN,
            at(hospital),
            "Omar El Khattabi",
        ),
        UserPlan(
            "medecin.tetouan",
            Role.CLINICIAN,
            Scope(ScopeKind.PROVINCE, frozenset({"TET"})),
            "Dr Hicham Touzani",
        ),
        UserPlan(f"infirmier.{place_slug(rural.name)}", Role.CLINICIAN, at(rural), "Rachid Riffi"),
        UserPlan(
            f"accueil.{place_slug(urban.name)}",
            Role.ADMISSION_AGENT,
            at(urban),
            "Fatima Zahra Bakkali",
        ),
        UserPlan("rh.region", Role.HR_OFFICER, gst, "Latifa Berrada"),
        UserPlan("finance.region", Role.FINANCE_OFFICER, gst, "Said Lahlou"),
        UserPlan("analyste.ministere", Role.ANALYST, gst, "Meryem Sqalli"),
    ]
