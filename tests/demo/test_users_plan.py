"""One demo account per role, with usernames that do not depend on the seed."""

from __future__ import annotations

import random

from parcours.access.rules import Role, ScopeKind
from parcours.demo.establishments import EstablishmentRef
from parcours.demo.territory_plan import plan_territory
from parcours.demo.users_plan import UserPlan, place_slug, plan_users


def _users(seed: int) -> list[UserPlan]:
    plan = plan_territory(random.Random(seed))
    refs = {
        e.code: EstablishmentRef(
            e.code, e.name, e.type, e.province, e.town, e.latitude, e.longitude
        )
        for e in plan.establishments
    }
    return plan_users(refs)


def test_one_account_per_role_with_its_scope() -> None:
    users = {u.username: u for u in _users(2025)}
    assert sorted(u.role for u in users.values()) == sorted(
        [*Role, Role.ESTABLISHMENT_ADMIN, Role.CLINICIAN]
    )
    assert set(users) == {
        "admin.region",
        "admin.chu",
        "admin.alhoceima",
        "medecin.tetouan",
        "infirmier.babberred",
        "accueil.benimakada",
        "rh.region",
        "finance.region",
        "analyste.ministere",
    }
    assert users["admin.chu"].scope.values == {"CHU-TNG-01"}
    assert users["admin.alhoceima"].scope.values == {"HP-HOC-01"}
    assert users["medecin.tetouan"].scope.kind is ScopeKind.PROVINCE
    assert users["medecin.tetouan"].scope.values == {"TET"}
    assert users["infirmier.babberred"].scope.values == {"CSR2-CHE-001"}
    assert users["accueil.benimakada"].scope.values == {"CSU2-TNG-001"}
    for name in ("admin.region", "rh.region", "finance.region", "analyste.ministere"):
        assert users[name].scope.kind is ScopeKind.GST


def test_usernames_do_not_depend_on_the_seed() -> None:
    assert [u.username for u in _users(1)] == [u.username for u in _users(2025)]


def test_place_slug() -> None:
    assert place_slug("Centre de santé rural Bab Berred 1") == "babberred"
    assert place_slug("Centre de santé urbain Beni Makada") == "benimakada"
    assert place_slug("Al Hoceïma") == "alhoceima"
    assert place_slug("Hôpital de proximité d'Asilah") == "asilah"
