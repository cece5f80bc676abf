"""The access policy and the audit chain, as pure rules (no database)."""

from __future__ import annotations

from typing import Any

import pytest

from parcours.access.rules import (
    GENESIS_HASH,
    GRANTABLE_ROLES,
    ROLE_PERMISSIONS,
    Permission,
    Principal,
    Role,
    Scope,
    ScopeKind,
    audit_digest,
    parse_scope,
    system_principal,
    verify_chain,
)

GST = Scope(ScopeKind.GST)
PROVINCE_TNG_TET = Scope(ScopeKind.PROVINCE, frozenset({"TNG", "TET"}))
ONLY_HP_TET = Scope(ScopeKind.ESTABLISHMENT, frozenset({"HP-TET-01"}))
PROVINCE_OF = {"CHU-TNG": "TNG", "HP-TET-01": "TET", "HP-HOC-01": "HOC"}


# --- roles and permissions ---------------------------------------------------


def test_every_role_has_a_french_label_and_permissions() -> None:
    for role in Role:
        assert role.label
        assert Permission.TERRITORY_READ in ROLE_PERMISSIONS[role]
        assert Permission.AGGREGATES_READ in ROLE_PERMISSIONS[role]


def test_analyst_reads_aggregates_only() -> None:
    analyst = ROLE_PERMISSIONS[Role.ANALYST]
    assert analyst == {Permission.TERRITORY_READ, Permission.AGGREGATES_READ}
    for forbidden in (
        Permission.PATIENT_READ,
        Permission.PATIENT_WRITE,
        Permission.CLINICAL_READ,
        Permission.CLINICAL_WRITE,
        Permission.ESTABLISHMENT_CREATE,
        Permission.ESTABLISHMENT_UPDATE,
        Permission.USERS_MANAGE,
        Permission.AUDIT_READ,
    ):
        assert forbidden not in analyst


@pytest.mark.parametrize(
    ("role", "granted", "refused"),
    [
        (
            Role.REGIONAL_ADMIN,
            {Permission.ESTABLISHMENT_CREATE, Permission.USERS_MANAGE, Permission.AUDIT_READ},
            {Permission.PATIENT_READ, Permission.CLINICAL_WRITE},
        ),
        (
            Role.ESTABLISHMENT_ADMIN,
            {Permission.ESTABLISHMENT_UPDATE, Permission.USERS_MANAGE},
            {Permission.ESTABLISHMENT_CREATE, Permission.AUDIT_READ, Permission.PATIENT_READ},
        ),
        (
            Role.CLINICIAN,
            {Permission.PATIENT_READ, Permission.CLINICAL_WRITE},
            {Permission.ESTABLISHMENT_UPDATE, Permission.USERS_MANAGE, Permission.AUDIT_READ},
        ),
        (
            Role.ADMISSION_AGENT,
            {Permission.PATIENT_READ, Permission.PATIENT_WRITE},
            {Permission.CLINICAL_READ, Permission.CLINICAL_WRITE},
        ),
        (
            Role.HR_OFFICER,
            {Permission.WORKFORCE_READ, Permission.WORKFORCE_WRITE},
            {Permission.FINANCE_WRITE, Permission.PATIENT_READ},
        ),
        (
            Role.FINANCE_OFFICER,
            {Permission.FINANCE_READ, Permission.FINANCE_WRITE},
            {Permission.WORKFORCE_WRITE, Permission.PATIENT_READ},
        ),
    ],
)
def test_role_permissions(role: Role, granted: set[Permission], refused: set[Permission]) -> None:
    principal = Principal(1, "u", role, GST)
    for permission in granted:
        assert principal.can(permission), permission
    for permission in refused:
        assert not principal.can(permission), permission


def test_can_at_needs_both_permission_and_scope() -> None:
    admin = Principal(1, "a", Role.ESTABLISHMENT_ADMIN, ONLY_HP_TET)
    assert admin.can_at(Permission.ESTABLISHMENT_UPDATE, "HP-TET-01", "TET")
    assert not admin.can_at(Permission.ESTABLISHMENT_UPDATE, "HP-HOC-01", "HOC")
    assert not admin.can_at(Permission.ESTABLISHMENT_CREATE, "HP-TET-01", "TET")


def test_grantable_roles() -> None:
    assert GRANTABLE_ROLES[Role.REGIONAL_ADMIN] == frozenset(Role)
    assert GRANTABLE_ROLES[Role.ESTABLISHMENT_ADMIN] == {
        Role.ESTABLISHMENT_ADMIN,
        Role.CLINICIAN,
        Role.ADMISSION_AGENT,
    }
    # Only administrators hand out roles.
    for role in set(Role) - {Role.REGIONAL_ADMIN, Role.ESTABLISHMENT_ADMIN}:
        assert role not in GRANTABLE_ROLES
        assert Permission.USERS_MANAGE not in ROLE_PERMISSIONS[role]


def test_system_principal_is_a_gst_wide_regional_admin_on_the_cli() -> None:
    system = system_principal("import")
    assert system.username == "system:import"
    assert system.role is Role.REGIONAL_ADMIN
    assert system.scope == GST
    assert system.channel == "cli"


# --- scope -------------------------------------------------------------------


def test_gst_scope_covers_everything() -> None:
    assert GST.covers("HP-HOC-01", "HOC")
    assert GST.covers("ANY", "ANY")


def test_province_scope_covers_by_province_only() -> None:
    assert PROVINCE_TNG_TET.covers("HP-TET-01", "TET")
    assert PROVINCE_TNG_TET.covers("CHU-TNG", "TNG")
    assert not PROVINCE_TNG_TET.covers("HP-HOC-01", "HOC")
    # An establishment code that happens to equal a province code does not count.
    assert not PROVINCE_TNG_TET.covers("TET", "HOC")


def test_establishment_scope_covers_by_code_only() -> None:
    assert ONLY_HP_TET.covers("HP-TET-01", "TET")
    assert not ONLY_HP_TET.covers("CSR-TET-01", "TET")
    assert not ONLY_HP_TET.covers("HP-HOC-01", "HOC")


@pytest.mark.parametrize(
    ("outer", "inner", "expected"),
    [
        (GST, GST, True),
        (GST, PROVINCE_TNG_TET, True),
        (GST, ONLY_HP_TET, True),
        (PROVINCE_TNG_TET, GST, False),
        (ONLY_HP_TET, GST, False),
        (PROVINCE_TNG_TET, Scope(ScopeKind.PROVINCE, frozenset({"TET"})), True),
        (PROVINCE_TNG_TET, Scope(ScopeKind.PROVINCE, frozenset({"TET", "HOC"})), False),
        (PROVINCE_TNG_TET, ONLY_HP_TET, True),
        (PROVINCE_TNG_TET, Scope(ScopeKind.ESTABLISHMENT, frozenset({"HP-HOC-01"})), False),
        (
            PROVINCE_TNG_TET,
            Scope(ScopeKind.ESTABLISHMENT, frozenset({"HP-TET-01", "HP-HOC-01"})),
            False,
        ),
        # An establishment unknown to ``province_of`` is never inside a province scope.
        (PROVINCE_TNG_TET, Scope(ScopeKind.ESTABLISHMENT, frozenset({"NOWHERE"})), False),
        (ONLY_HP_TET, ONLY_HP_TET, True),
        (ONLY_HP_TET, Scope(ScopeKind.ESTABLISHMENT, frozenset({"HP-TET-01", "CHU-TNG"})), False),
        (ONLY_HP_TET, Scope(ScopeKind.PROVINCE, frozenset({"TET"})), False),
    ],
)
def test_scope_contains(outer: Scope, inner: Scope, expected: bool) -> None:
    assert outer.contains(inner, PROVINCE_OF) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("gst", GST),
        ("", GST),
        ("  gst  ", GST),
        ("province:TNG,TET", PROVINCE_TNG_TET),
        ("province: TNG , TET ,", PROVINCE_TNG_TET),
        ("establishment:HP-TET-01", ONLY_HP_TET),
        ("province:tng,Tet", PROVINCE_TNG_TET),
        ("establishment:hp-tet-01", ONLY_HP_TET),
    ],
)
def test_parse_scope(text: str, expected: Scope) -> None:
    assert parse_scope(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "region:TTA",  # unknown kind
        "province",  # no codes
        "province:",
        "establishment: , ",
        "gst:TNG",  # a GST scope names nothing
    ],
)
def test_parse_scope_refuses_bad_text(text: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the message differs by case
        parse_scope(text)


def test_scope_describe_is_french_and_sorted() -> None:
    assert GST.describe() == "Tout le GST"
    assert PROVINCE_TNG_TET.describe() == "Province(s) : TET, TNG"


# --- the audit chain ---------------------------------------------------------


def _fields(n: int) -> dict[str, Any]:
    return {
        "occurred_at": f"2026-01-01T00:00:0{n}+00:00",
        "actor": "alice",
        "action": "establishment.update",
        "entity_id": f"HP-{n}",
        "details": {"fields": ["name"], "n": n},
    }


def _chain(n: int) -> list[tuple[int, str, str, dict[str, Any]]]:
    rows = []
    prev = GENESIS_HASH
    for i in range(1, n + 1):
        fields = _fields(i)
        digest = audit_digest(prev, fields)
        rows.append((i, prev, digest, fields))
        prev = digest
    return rows


def test_audit_digest_is_deterministic_and_order_independent() -> None:
    a = {"x": 1, "y": "é", "z": None}
    b = {"z": None, "y": "é", "x": 1}
    assert audit_digest(GENESIS_HASH, a) == audit_digest(GENESIS_HASH, b)
    assert len(audit_digest(GENESIS_HASH, a)) == 64
    # It depends on the previous link and on every value.
    assert audit_digest("1" * 64, a) != audit_digest(GENESIS_HASH, a)
    assert audit_digest(GENESIS_HASH, a | {"x": 2}) != audit_digest(GENESIS_HASH, a)


def test_an_intact_chain_verifies() -> None:
    rows = _chain(4)
    assert verify_chain(rows, (4, rows[-1][2])) == []
    assert verify_chain([], None) == []


def test_a_changed_row_breaks_its_own_digest() -> None:
    rows = _chain(4)
    event_id, prev, digest, fields = rows[1]
    rows[1] = (event_id, prev, digest, fields | {"actor": "mallory"})
    breaks = verify_chain(rows, (4, rows[-1][2]))
    assert [b.event_id for b in breaks] == [2]
    assert "empreinte" in breaks[0].reason


def test_a_changed_row_with_a_recomputed_digest_breaks_the_next_link() -> None:
    rows = _chain(4)
    event_id, prev, _digest, fields = rows[1]
    forged = fields | {"actor": "mallory"}
    rows[1] = (event_id, prev, audit_digest(prev, forged), forged)
    breaks = verify_chain(rows, (4, rows[-1][2]))
    assert [b.event_id for b in breaks] == [3]
    assert "lien" in breaks[0].reason


def test_a_removed_middle_row_is_detected() -> None:
    rows = _chain(4)
    del rows[1]
    breaks = verify_chain(rows, (4, rows[-1][2]))
    assert [b.event_id for b in breaks] == [3]


def test_a_removed_tail_no_longer_matches_the_head() -> None:
    rows = _chain(4)
    head = (4, rows[-1][2])
    breaks = verify_chain(rows[:-1], head)
    assert [b.event_id for b in breaks] == [4]
    assert "tête" in breaks[0].reason
    # Every row removed: the head still tells.
    assert verify_chain([], head) != []
