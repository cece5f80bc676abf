"""Who may do what, and where: roles, permissions and organisational scope.

Pure Python so that the access policy can be read and tested on its own. A
user holds one role and one scope; a permission says *what*, the scope says
*where* (the whole GST, some provinces, or some establishments).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Role(StrEnum):
    REGIONAL_ADMIN = "regional_admin"
    ESTABLISHMENT_ADMIN = "establishment_admin"
    CLINICIAN = "clinician"
    ADMISSION_AGENT = "admission_agent"
    HR_OFFICER = "hr_officer"
    FINANCE_OFFICER = "finance_officer"
    ANALYST = "analyst"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS: dict[Role, str] = {
    Role.REGIONAL_ADMIN: "Administrateur régional",
    Role.ESTABLISHMENT_ADMIN: "Administrateur d'établissement",
    Role.CLINICIAN: "Clinicien",
    Role.ADMISSION_AGENT: "Agent d'admission",
    Role.HR_OFFICER: "Gestionnaire RH",
    Role.FINANCE_OFFICER: "Gestionnaire financier",
    Role.ANALYST: "Analyste (agrégats seulement)",
}


class Permission(StrEnum):
    TERRITORY_READ = "territory.read"
    ESTABLISHMENT_CREATE = "establishment.create"
    ESTABLISHMENT_UPDATE = "establishment.update"
    USERS_MANAGE = "users.manage"
    AUDIT_READ = "audit.read"
    PATIENT_READ = "patient.read"
    PATIENT_WRITE = "patient.write"
    CLINICAL_READ = "clinical.read"
    CLINICAL_WRITE = "clinical.write"
    WORKFORCE_READ = "workforce.read"
    WORKFORCE_WRITE = "workforce.write"
    FINANCE_READ = "finance.read"
    FINANCE_WRITE = "finance.write"
    AGGREGATES_READ = "aggregates.read"
    PATHWAY_MAP_MANAGE = "pathway_map.manage"
    INDICATORS_MANAGE = "indicators.manage"


_EVERYONE = {Permission.TERRITORY_READ, Permission.AGGREGATES_READ}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.REGIONAL_ADMIN: frozenset(
        _EVERYONE
        | {
            Permission.ESTABLISHMENT_CREATE,
            Permission.ESTABLISHMENT_UPDATE,
            Permission.USERS_MANAGE,
            Permission.AUDIT_READ,
            Permission.WORKFORCE_READ,
            Permission.FINANCE_READ,
            Permission.PATHWAY_MAP_MANAGE,
            Permission.INDICATORS_MANAGE,
        }
    ),
    Role.ESTABLISHMENT_ADMIN: frozenset(
        _EVERYONE
        | {
            Permission.ESTABLISHMENT_UPDATE,
            Permission.USERS_MANAGE,
            Permission.WORKFORCE_READ,
        }
    ),
    Role.CLINICIAN: frozenset(
        _EVERYONE
        | {
            Permission.PATIENT_READ,
            Permission.PATIENT_WRITE,
            Permission.CLINICAL_READ,
            Permission.CLINICAL_WRITE,
        }
    ),
    Role.ADMISSION_AGENT: frozenset(
        _EVERYONE | {Permission.PATIENT_READ, Permission.PATIENT_WRITE}
    ),
    Role.HR_OFFICER: frozenset(_EVERYONE | {Permission.WORKFORCE_READ, Permission.WORKFORCE_WRITE}),
    Role.FINANCE_OFFICER: frozenset(
        _EVERYONE | {Permission.FINANCE_READ, Permission.FINANCE_WRITE}
    ),
    Role.ANALYST: frozenset(_EVERYONE),
}

# An administrator may only hand out roles that do not exceed their own.
GRANTABLE_ROLES: dict[Role, frozenset[Role]] = {
    Role.REGIONAL_ADMIN: frozenset(Role),
    Role.ESTABLISHMENT_ADMIN: frozenset(
        {Role.ESTABLISHMENT_ADMIN, Role.CLINICIAN, Role.ADMISSION_AGENT}
    ),
}


class ScopeKind(StrEnum):
    GST = "gst"
    PROVINCE = "province"
    ESTABLISHMENT = "establishment"

    @property
    def label(self) -> str:
        return {
            ScopeKind.GST: "Tout le GST",
            ScopeKind.PROVINCE: "Province(s)",
            ScopeKind.ESTABLISHMENT: "Établissement(s)",
        }[self]


@dataclass(frozen=True)
class Scope:
    """Where a user may act. ``values`` are province or establishment codes."""

    kind: ScopeKind
    values: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.kind is ScopeKind.GST and self.values:
            raise ValueError("a GST-wide scope names no province or establishment")
        if self.kind is not ScopeKind.GST and not self.values:
            raise ValueError("a province or establishment scope names at least one code")

    def covers(self, establishment_code: str, province_code: str) -> bool:
        if self.kind is ScopeKind.GST:
            return True
        if self.kind is ScopeKind.PROVINCE:
            return province_code in self.values
        return establishment_code in self.values

    def contains(self, other: Scope, province_of: Mapping[str, str]) -> bool:
        """Whether every place of ``other`` lies inside this scope.

        ``province_of`` maps establishment codes to their province, for
        comparing an establishment scope with a province scope.
        """
        if self.kind is ScopeKind.GST:
            return True
        if other.kind is ScopeKind.GST:
            return False
        if self.kind is ScopeKind.PROVINCE:
            if other.kind is ScopeKind.PROVINCE:
                return other.values <= self.values
            return all(province_of.get(code) in self.values for code in other.values)
        return other.kind is ScopeKind.ESTABLISHMENT and other.values <= self.values

    def describe(self) -> str:
        if self.kind is ScopeKind.GST:
            return self.kind.label
        return f"{self.kind.label} : {', '.join(sorted(self.values))}"


def parse_scope(text: str) -> Scope:
    """Read a scope as typed on the command line: ``gst``, ``province:TNG,TET``
    or ``establishment:HP-TNG-001``. Codes are upper-cased, as stored."""
    text = text.strip()
    if text in ("", "gst"):
        return Scope(ScopeKind.GST)
    kind_text, _, values_text = text.partition(":")
    try:
        kind = ScopeKind(kind_text)
    except ValueError as exc:
        raise ValueError(f"unknown scope kind {kind_text!r}") from exc
    values = frozenset(v.strip().upper() for v in values_text.split(",") if v.strip())
    return Scope(kind, values)


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of a use case: a person or a system."""

    user_id: int
    username: str
    role: Role
    scope: Scope
    channel: str = "session"  # session | token | cli
    ip: str | None = None

    def can(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS[self.role]

    def can_at(self, permission: Permission, establishment_code: str, province_code: str) -> bool:
        return self.can(permission) and self.scope.covers(establishment_code, province_code)


def system_principal(reason: str = "cli") -> Principal:
    """The identity under which operators act from the command line."""
    return Principal(0, f"system:{reason}", Role.REGIONAL_ADMIN, Scope(ScopeKind.GST), "cli")


# --- the audit chain -------------------------------------------------------

GENESIS_HASH = "0" * 64


def audit_digest(prev_hash: str, fields: dict[str, Any]) -> str:
    """Hash of one audit row chained to the previous one.

    Canonical JSON (sorted keys, no spaces) so that the digest depends only on
    the values, not on how a database driver happens to order or space them.
    """
    payload = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev_hash + "|" + payload).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ChainBreak:
    event_id: int
    reason: str


def verify_chain(
    rows: list[tuple[int, str, str, dict[str, Any]]],
    head: tuple[int, str] | None,
    start_hash: str = GENESIS_HASH,
) -> list[ChainBreak]:
    """Check ``(id, prev_hash, hash, fields)`` rows in id order against the head.

    A changed row fails its own digest; a removed row breaks the link of the
    next one; a removed tail no longer matches the recorded head.
    """
    breaks: list[ChainBreak] = []
    expected_prev = start_hash
    last: tuple[int, str] | None = None
    for event_id, prev_hash, digest, fields in rows:
        if prev_hash != expected_prev:
            breaks.append(ChainBreak(event_id, "le lien avec l'événement précédent est rompu"))
        if audit_digest(prev_hash, fields) != digest:
            breaks.append(ChainBreak(event_id, "le contenu ne correspond plus à son empreinte"))
        expected_prev = digest
        last = (event_id, digest)
    if head is not None and last != head:
        breaks.append(
            ChainBreak(head[0], "la fin de la chaîne ne correspond plus à la tête enregistrée")
        )
    return breaks
