"""Rules of the FHIR façade that need no framework: SMART scopes, search
prefixes, ETags, and how a Task status maps onto a referral's action.

Kept pure so that the policy a system is held to can be read and tested alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

#: the resource types the façade serves; the CapabilityStatement is built from it
RESOURCE_TYPES = (
    "Patient",
    "Organization",
    "Location",
    "HealthcareService",
    "Practitioner",
    "PractitionerRole",
    "Encounter",
    "EpisodeOfCare",
    "ServiceRequest",
    "Task",
    "Condition",
    "AuditEvent",
)

_SCOPE = re.compile(r"^system/(\*|[A-Z][A-Za-z]+)\.(read|write|\*)$")


class ScopeError(ValueError):
    """A scope string that is not a SMART backend-services scope."""


@dataclass(frozen=True)
class SmartScope:
    """``system/<Type|*>.<read|write|*>`` (SMART App Launch v1 syntax)."""

    resource: str
    access: str

    def allows(self, resource: str, access: str) -> bool:
        return self.resource in ("*", resource) and self.access in ("*", access)

    def __str__(self) -> str:
        return f"system/{self.resource}.{self.access}"


def parse_scopes(text: str) -> list[SmartScope]:
    """Read a space-separated scope list; raises ScopeError on an unknown form."""
    out: list[SmartScope] = []
    for word in text.split():
        m = _SCOPE.match(word)
        if m is None:
            raise ScopeError(word)
        resource = m.group(1)
        if resource != "*" and resource not in RESOURCE_TYPES:
            raise ScopeError(word)
        out.append(SmartScope(resource, m.group(2)))
    return out


def granted(requested: list[SmartScope], allowed: list[SmartScope]) -> list[SmartScope]:
    """What a client gets of what it asked: each requested scope a registered one
    covers; a wide request (``system/*.read``) is narrowed to the registered scopes
    inside it."""
    out: list[SmartScope] = []
    for want in requested:
        if any(a.allows(want.resource, want.access) for a in allowed):
            out.append(want)
        else:
            out.extend(a for a in allowed if want.allows(a.resource, a.access))
    return list(dict.fromkeys(out))


def allows(scopes: list[SmartScope], resource: str, access: str) -> bool:
    return any(s.allows(resource, access) for s in scopes)


# --- search prefixes -------------------------------------------------------------------

_PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")
_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}))?.*)?)?)?$")


class SearchError(ValueError):
    """A search value that cannot be read; the message names the parameter."""


@dataclass(frozen=True)
class DateRange:
    """A date search value as the half-open interval [start, end) it stands for."""

    prefix: str
    start: datetime
    end: datetime

    def matches(self, moment: datetime) -> bool:
        """Whether one instant satisfies the comparison (FHIR §3.1.1.4.2, for points)."""
        if self.prefix == "eq":
            return self.start <= moment < self.end
        if self.prefix == "ne":
            return not (self.start <= moment < self.end)
        if self.prefix in ("gt", "sa"):
            return moment >= self.end
        if self.prefix in ("lt", "eb"):
            return moment < self.start
        if self.prefix == "ge":
            return moment >= self.start
        if self.prefix == "le":
            return moment < self.end
        return self.start - timedelta(days=1) <= moment < self.end + timedelta(days=1)


def parse_date(name: str, text: str) -> DateRange:
    prefix = "eq"
    if text[:2] in _PREFIXES:
        prefix, text = text[:2], text[2:]
    m = _DATE.match(text)
    if m is None:
        raise SearchError(f"{name}: date illisible « {text} »")
    year, month, day, hour, minute, second = m.groups()
    try:
        if day is not None and hour is not None:
            start = datetime(
                int(year),
                int(month),
                int(day),
                int(hour),
                int(minute),
                int(second or 0),
                tzinfo=UTC,
            )
            end = start + timedelta(seconds=1 if second else 60)
        elif day is not None:
            start = datetime(int(year), int(month), int(day), tzinfo=UTC)
            end = start + timedelta(days=1)
        elif month is not None:
            start = datetime(int(year), int(month), 1, tzinfo=UTC)
            end = datetime(int(year) + int(month) // 12, int(month) % 12 + 1, 1, tzinfo=UTC)
        else:
            start = datetime(int(year), 1, 1, tzinfo=UTC)
            end = datetime(int(year) + 1, 1, 1, tzinfo=UTC)
    except ValueError as exc:
        raise SearchError(f"{name}: date impossible « {text} »") from exc
    return DateRange(prefix, start, end)


def as_moment(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


# --- versions -----------------------------------------------------------------------------


def parse_etag(text: str | None) -> int | None:
    """``W/"3"`` (or ``3``) → 3; None when absent; SearchError when unreadable."""
    if text is None or not text.strip():
        return None
    value = text.strip()
    if value.startswith("W/"):
        value = value[2:]
    value = value.strip('"')
    if not value.isdigit():
        raise SearchError(f"If-Match: version illisible « {text} »")
    return int(value)


def etag(version: int) -> str:
    return f'W/"{version}"'


# --- Task status → referral action -----------------------------------------------------------

#: the referral action a requested Task.status stands for (the state machine decides
#: whether it is allowed from where the referral is)
TASK_STATUS_ACTIONS: dict[str, str] = {
    "requested": "send",
    "received": "receive",
    "accepted": "accept",
    "rejected": "refuse",
    "ready": "schedule",
    "in-progress": "arrive",
    "completed": "complete",
    "cancelled": "cancel",
}
