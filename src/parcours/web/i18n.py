"""The translation layer: French source text, catalogues per locale (Arabic first).

Messages are written in French in the code and templates (the users' working
language); other locales translate them through gettext catalogues kept as
``.po`` files and compiled in memory at start-up, so no build step is needed.
"""

from __future__ import annotations

import gettext
from contextvars import ContextVar
from functools import lru_cache
from importlib import resources
from io import BytesIO

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES: dict[str, dict[str, str]] = {
    "fr": {"name": "Français", "dir": "ltr"},
    "ar": {"name": "العربية", "dir": "rtl"},
}
DEFAULT_LOCALE = "fr"

current_locale: ContextVar[str] = ContextVar("current_locale", default=DEFAULT_LOCALE)


@lru_cache(maxsize=len(LOCALES))
def translations(locale: str) -> gettext.NullTranslations:
    if locale == DEFAULT_LOCALE or locale not in LOCALES:
        return gettext.NullTranslations()
    po = resources.files("parcours.web") / "translations" / locale / "LC_MESSAGES" / "messages.po"
    if not po.is_file():
        return gettext.NullTranslations()
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def gettext_(message: str) -> str:
    return translations(current_locale.get()).gettext(message)


def ngettext_(singular: str, plural: str, n: int) -> str:
    return translations(current_locale.get()).ngettext(singular, plural, n)


_ = gettext_


def pick_locale(query: str | None, cookie: str | None, accept_language: str | None) -> str:
    for candidate in (query, cookie):
        if candidate in LOCALES:
            return candidate
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LOCALES:
            return code
    return DEFAULT_LOCALE


def direction(locale: str) -> str:
    return LOCALES.get(locale, LOCALES[DEFAULT_LOCALE])["dir"]
