"""The server's periodic sweep of referrals left unanswered past their deadline.

A deadline is shown as overdue the moment it passes (inboxes compute it from
the clock); the sweep is what records the expiry in the referral's history,
as the system, so that indicators and the referring establishment see it.
It runs in a worker thread every ``PARCOURS_EXPIRY_SWEEP_MINUTES`` (0 turns
it off, for instance when a scheduler runs ``parcours pathways expire``).
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.orm import Session, sessionmaker

from parcours.db import session_scope
from parcours.pathways import service

log = logging.getLogger(__name__)


def sweep_once(factory: sessionmaker[Session]) -> int:
    with session_scope(factory) as session:
        return service.expire_overdue(session).expired


async def run(factory: sessionmaker[Session], minutes: float) -> None:
    """Sweep every ``minutes`` until cancelled; a failed sweep is logged and retried later."""
    while True:
        await asyncio.sleep(minutes * 60)
        try:
            expired = await asyncio.to_thread(sweep_once, factory)
        except Exception:  # the server must outlive a failed sweep
            log.exception("referral expiry sweep failed")
            continue
        if expired:
            log.info("referral expiry sweep: %d expired", expired)
