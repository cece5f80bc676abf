"""The one path by which every write, and every read of personal data, is recorded.

Entries are chained: each row's hash covers its content and the previous
row's hash, and ``audit_head`` keeps the newest link. Appending takes a
transaction-scoped advisory lock (PostgreSQL) or relies on the ``BEGIN
IMMEDIATE`` write lock (SQLite), so two concurrent writers can never fork the
chain, not even while racing to write the very first link.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from parcours.access.models import AuditEvent, AuditHead
from parcours.access.rules import GENESIS_HASH, ChainBreak, Principal, audit_digest, verify_chain
from parcours.db import lock_for_update, utcnow

# Any constant shared by every writer: PostgreSQL keys advisory locks by a bigint.
_APPEND_LOCK_KEY = 0x7061726361756474  # "parcaudt"


def _fields(event: AuditEvent) -> dict[str, Any]:
    return {
        "occurred_at": event.occurred_at.isoformat(),
        "actor": event.actor,
        "actor_id": event.actor_id,
        "channel": event.channel,
        "action": event.action,
        "entity_type": event.entity_type,
        "entity_id": event.entity_id,
        "outcome": event.outcome,
        "reason": event.reason,
        "ip": event.ip,
        "details": event.details,
    }


def record(
    session: Session,
    principal: Principal | None,
    action: str,
    entity_type: str,
    entity_id: str | None = None,
    *,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
    outcome: str = "success",
    actor: str | None = None,
    ip: str | None = None,
) -> AuditEvent:
    """Append one entry in the caller's transaction: it commits or rolls back with the act."""
    head_query = select(AuditHead).where(AuditHead.id == 1)
    if lock_for_update(session):
        # A row lock cannot serialise writers while the head row does not exist yet
        # (both would insert it); an advisory lock held until commit can.
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _APPEND_LOCK_KEY})
        head_query = head_query.with_for_update()
    head = session.scalars(head_query).one_or_none()
    prev_hash = head.last_hash if head else GENESIS_HASH
    event = AuditEvent(
        occurred_at=utcnow(),
        actor=actor or (principal.username if principal else "anonymous"),
        actor_id=principal.user_id if principal else None,
        channel=principal.channel if principal else "web",
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        outcome=outcome,
        reason=reason,
        ip=ip or (principal.ip if principal else None),
        details=details,
        prev_hash=prev_hash,
        hash="",
    )
    event.hash = audit_digest(prev_hash, _fields(event))
    session.add(event)
    session.flush()
    if head is None:
        session.add(AuditHead(id=1, last_event_id=event.id, last_hash=event.hash))
    else:
        head.last_event_id = event.id
        head.last_hash = event.hash
    session.flush()
    return event


@dataclass(frozen=True)
class VerifyReport:
    checked: int
    breaks: list[ChainBreak]

    @property
    def ok(self) -> bool:
        return not self.breaks


def _iter_rows(
    session: Session, batch: int = 5000
) -> Iterator[tuple[int, str, str, dict[str, Any]]]:
    last_id = 0
    while True:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(batch)
        ).all()
        if not events:
            return
        for event in events:
            yield event.id, event.prev_hash, event.hash, _fields(event)
        last_id = events[-1].id
        session.expunge_all()


def verify(session: Session) -> VerifyReport:
    head_row = session.scalars(select(AuditHead).where(AuditHead.id == 1)).one_or_none()
    head = (head_row.last_event_id, head_row.last_hash) if head_row else None
    rows = list(_iter_rows(session))
    if head is None and rows:
        return VerifyReport(len(rows), [ChainBreak(rows[0][0], "la tête de la chaîne a disparu")])
    return VerifyReport(len(rows), verify_chain(rows, head))


def list_events(
    session: Session,
    *,
    entity_type: str | None = None,
    entity_id: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[int, list[AuditEvent]]:
    query = select(AuditEvent)
    if entity_type:
        query = query.where(AuditEvent.entity_type == entity_type)
    if entity_id:
        query = query.where(AuditEvent.entity_id == entity_id)
    if actor:
        query = query.where(AuditEvent.actor == actor)
    if action:
        # "person.read" also finds "person.read.emergency": actions are dotted families.
        query = query.where(
            (AuditEvent.action == action) | AuditEvent.action.startswith(action + ".")
        )
    if since:
        query = query.where(AuditEvent.occurred_at >= since)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    events = session.scalars(query.order_by(AuditEvent.id.desc()).limit(limit).offset(offset)).all()
    return total, list(events)
