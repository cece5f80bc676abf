"""The server's background refresh of the aggregates, every few seconds.

Each run applies only what arrived since the watermarks (see service.refresh),
so a new referral shows in the dashboards within one period plus the run's
own time. ``PARCOURS_INDICATORS_REFRESH_SECONDS`` sets the period (default 2;
0 turns it off, for instance when a scheduler runs ``parcours indicators
refresh``). A failed run is logged and the next one tries again.
"""

from __future__ import annotations

import asyncio
import logging
import os

from sqlalchemy.orm import Session, sessionmaker

from parcours.db import session_scope
from parcours.indicators import service

log = logging.getLogger(__name__)


def period_seconds() -> float:
    try:
        return float(os.environ.get("PARCOURS_INDICATORS_REFRESH_SECONDS", "2"))
    except ValueError:
        return 2.0


def refresh_once(factory: sessionmaker[Session]) -> service.RefreshOut:
    with session_scope(factory) as session:
        service.ensure_shipped_indicators(session)
        return service.refresh(session)


async def run(factory: sessionmaker[Session], seconds: float) -> None:
    """Refresh every ``seconds`` until cancelled."""
    while True:
        await asyncio.sleep(seconds)
        try:
            out = await asyncio.to_thread(refresh_once, factory)
        except Exception:  # the server must outlive a failed refresh
            log.exception("indicators refresh failed")
            continue
        if any(out.facts.values()) or out.stays_closed:
            log.info("indicators refresh: %s in %.2f s", out.facts, out.seconds)
