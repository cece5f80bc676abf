"""What enters and leaves the access context."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from parcours.access.rules import Role, ScopeKind


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=2, max_length=80)
    full_name: str = Field(default="", max_length=200)
    password: str = Field(min_length=1, max_length=200)
    role: Role
    scope_kind: ScopeKind = ScopeKind.GST
    scope_codes: list[str] = Field(default_factory=list)


class UserOut(BaseModel):
    username: str
    full_name: str
    role: Role
    role_label: str
    scope_kind: ScopeKind
    scope_codes: list[str]
    active: bool
    created_at: datetime


class MeOut(BaseModel):
    username: str
    role: Role
    role_label: str
    scope: str
    permissions: list[str]
    channel: str
    # For pages' scripts that call the JSON API with the session cookie.
    csrf_token: str | None = None


class TokenIn(BaseModel):
    label: str = Field(default="", max_length=120)
    # Every token expires: a forgotten system credential must not live forever.
    days: int = Field(default=365, ge=1, le=3650)


class TokenOut(BaseModel):
    token: str
    note: str = "Ce jeton n'est affiché qu'une fois : conservez-le."


class AuditEventOut(BaseModel):
    id: int
    occurred_at: datetime
    actor: str
    channel: str
    action: str
    entity_type: str
    entity_id: str | None
    outcome: str
    reason: str | None
    ip: str | None
    details: dict[str, Any] | None


class AuditPage(BaseModel):
    total: int
    items: list[AuditEventOut]


class VerifyOut(BaseModel):
    ok: bool
    checked: int
    breaks: list[dict[str, Any]]
