"""What browser journeys share: the live server's address and the steps every journey takes.

A new journey (patient search, referrals…) needs only the ``page`` fixture and
``sign_in``: the server, the demo region and the browser are the harness's job.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Page, expect

# `parcours demo` creates one user per role, all with this password (src/parcours/demo/).
DEMO_PASSWORD = "parcours-demo"
REGIONAL_ADMIN = "admin.region"
# Other demo accounts, for journeys that need a narrower scope.
CHU_ADMIN = "admin.chu"  # establishment administrator of CHU-TNG-01
CLINICIAN_TETOUAN = "medecin.tetouan"  # clinician, province of Tétouan
ADMISSION_AGENT = "accueil.benimakada"  # admission agent, CSU2-TNG-001
ANALYST = "analyste.ministere"  # aggregates only

# What the demo region holds (issue 2): the figures of the reform in Tanger–Tétouan–Al Hoceïma.
DEMO_COUNTS = {"chu": 1, "hospital": 22, "health_centre": 295}


# The ``new_page`` fixture: ``new_page(locale="ar-MA", width=390, height=900) -> Page``.
NewPage = Callable[..., Page]


@dataclass(frozen=True)
class LiveServer:
    """A `parcours serve` process over its own database, built the way `make demo` builds it."""

    url: str
    database_url: str
    log: Path


def sign_in(page: Page, username: str = REGIONAL_ADMIN, password: str = DEMO_PASSWORD) -> None:
    """Sign in through the login form, as a person would, and wait to land past it."""
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    expect(page).not_to_have_url(re.compile(r"/login"))


def sign_out(page: Page) -> None:
    """Use the logout button of the top bar (a CSRF-protected POST form)."""
    page.click("form.logout button[type=submit]")
    expect(page).to_have_url(re.compile(r"/login"))


def path_of(page: Page) -> str:
    """The current path, without scheme, host or query."""
    return re.sub(r"^[a-z]+://[^/]+", "", page.url).split("?", 1)[0]
