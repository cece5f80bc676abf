"""One Jinja environment for every context's templates, with the translation layer."""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.responses import Response

from parcours import __version__
from parcours.config import get_settings
from parcours.web.i18n import LOCALES, current_locale, direction, gettext_, ngettext_
from parcours.web.place_names import place_name
from parcours.web.static_files import asset_url

TEMPLATES_DIR = str(resources.files("parcours.web") / "templates")

_env = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=select_autoescape(["html", "xml", "svg"]),
    extensions=["jinja2.ext.i18n"],
)
_env.install_gettext_callables(gettext_, ngettext_, newstyle=True)  # type: ignore[attr-defined]
templates = Jinja2Templates(env=_env)


def _number(value: int | float | None) -> str:
    """French thousands separator (narrow no-break space)."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.1f}".replace(",", "\u202f").replace(".", ",")
    return f"{value:,}".replace(",", "\u202f")


@lru_cache(maxsize=4)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _date(value: date | datetime | None) -> str:
    """Dates as read in Morocco: timestamps are stored in UTC and shown in local time
    (Africa/Casablanca, whose offset changes around Ramadan — hence the zone database)."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(_zone(get_settings().timezone))
        return value.strftime("%d/%m/%Y %H:%M")
    return value.strftime("%d/%m/%Y")


templates.env.filters["number"] = _number
templates.env.filters["fdate"] = _date
# Place names of the region in the reader's language (``_()`` would mark data as safe markup).
templates.env.filters["place"] = place_name
# Every asset URL carries its version, so that it can be cached for a year (static_files.py).
templates.env.globals["asset"] = asset_url


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> Response:
    locale = current_locale.get()
    user = getattr(request.state, "user", None)
    base = {
        "locale": locale,
        "dir": direction(locale),
        "locales": LOCALES,
        "settings": get_settings(),
        "version": __version__,
        "user": user,
        "csrf_token": user.csrf_token if user else request.cookies.get("parcours_login_csrf", ""),
        "path": request.url.path,
    }
    return templates.TemplateResponse(
        request, name, base | (context or {}), status_code=status_code
    )
