"""Settings read from the environment (``PARCOURS_*``).

One immutable object, built once per process, so that the CLI, the web
application and the tests agree on where the data lives without passing paths
around.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PARCOURS_", frozen=True)

    database_url: str = "sqlite:///./parcours.db"
    # A session ends after this much idleness, and in any case after its absolute lifetime:
    # a shared admission-desk computer must not stay logged in overnight.
    session_idle_minutes: int = 30
    session_absolute_hours: int = 12
    # Set to true behind HTTPS so that the session cookie is never sent in clear.
    cookie_secure: bool = False
    default_locale: str = "fr"
    # The zone in which timestamps (stored in UTC) are shown to people.
    timezone: str = "Africa/Casablanca"
    gst_code: str = "TTA"
    gst_name: str = "GST Tanger-Tétouan-Al Hoceïma"
    page_size_max: int = 200
    # Master patient index: match probability at or above which a new record is linked
    # to a person automatically, and below which it is a new person (between: review).
    mpi_upper: float = 0.95
    mpi_lower: float = 0.30
    # Care pathways: hours a receiving establishment has to answer a referral, by
    # priority (None: the defaults of parcours.pathways.referral), and how often the
    # server sweeps unanswered referrals past their deadline to "expired" (0: never;
    # `parcours pathways expire` does the same from a scheduler).
    referral_deadline_urgent_hours: float | None = None
    referral_deadline_priority_hours: float | None = None
    referral_deadline_routine_hours: float | None = None
    expiry_sweep_minutes: float = 5.0
    # Routing: the median wait of a specialty is taken over the referrals scheduled in
    # this many past days.
    routing_wait_days: int = 90
    # The served process's garbage collector: its young generation is collected every this
    # many allocations (CPython's default is 700) once the start-up objects are frozen out
    # of it; 0 leaves the collector as CPython sets it. See parcours.web.collector.
    gc_young_threshold: int = 50_000


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
