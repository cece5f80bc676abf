"""How a referral's snapshot (the state machine's value) lands in its table row.

The service writes one referral at a time and the bulk loader writes thousands;
both must set the same columns from the same snapshot, so the mapping lives here.
"""

from __future__ import annotations

from typing import Any

from parcours.pathways.referral import ReferralSnapshot

#: The columns of ``referral`` that the state machine moves (the rest are set at creation).
SNAPSHOT_COLUMNS = (
    "state",
    "version",
    "sent_at",
    "answer_due_at",
    "received_at",
    "answered_at",
    "appointment_at",
    "scheduled_at",
    "arrived_at",
    "closed_at",
    "closing_reason",
    "redirected_to",
    "counter_referral",
    "last_event_at",
)


def snapshot_columns(snapshot: ReferralSnapshot) -> dict[str, Any]:
    """The row's values for ``SNAPSHOT_COLUMNS``, the state as its stored code."""
    values = {name: getattr(snapshot, name) for name in SNAPSHOT_COLUMNS}
    values["state"] = snapshot.state.value
    return values
