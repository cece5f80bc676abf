"""The translation layer: French source text, catalogues per locale (Arabic first).

Messages are written in French in the code and templates (the users' working
language); other locales translate them through gettext catalogues kept as
``.po`` files and compiled in memory at start-up, so no build step is needed.

Updating the Arabic catalogue after changing texts (from the repository root)::

    pybabel extract -F babel.cfg -o messages.pot src
    pybabel update -i messages.pot -D messages -d src/parcours/web/translations -l ar
    # translate the new or fuzzy entries of .../ar/LC_MESSAGES/messages.po; delete messages.pot

``babel.cfg`` reads ``_()``/``gettext_()`` in Python and templates, the messages
of ``DomainError`` subclasses (shown to users, translated by the error
handlers), and, through :func:`extract_labels`, the labels that ``rules.py``
modules keep in enums and tables (types, statuses, roles…), which templates
translate at run time with ``_(value.label)``.
"""

from __future__ import annotations

import gettext
import importlib
from collections.abc import Collection, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import is_dataclass
from enum import Enum
from functools import lru_cache
from importlib import resources
from io import BytesIO
from pathlib import Path
from types import ModuleType
from typing import IO, Any

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


# --- extraction (a development tool, used by ``pybabel extract``) ---------


def labels_of(module: ModuleType) -> Iterator[str]:
    """The user-facing labels a rules module holds by convention.

    ``label`` of the members of its enums, values of its ``*_LABELS`` tables,
    and ``name`` of the entries of its controlled lists (tuples of dataclasses
    with a ``code`` and a ``name``, like the specialties).
    """
    for attribute, value in vars(module).items():
        if isinstance(value, type) and issubclass(value, Enum):
            if value.__module__ != module.__name__ or not hasattr(value, "label"):
                continue
            for member in value:
                label = getattr(member, "label", None)
                if isinstance(label, str):
                    yield label
        elif attribute.endswith("_LABELS") and isinstance(value, Mapping):
            yield from (v for v in value.values() if isinstance(v, str))
        elif isinstance(value, tuple) and value and all(is_dataclass(v) for v in value):
            for entry in value:
                if hasattr(entry, "code") and isinstance(getattr(entry, "name", None), str):
                    yield entry.name


def _module_name(path: Path) -> str:
    parts = [path.stem]
    folder = path.parent
    while (folder / "__init__.py").is_file():
        parts.insert(0, folder.name)
        folder = folder.parent
    return ".".join(parts)


def extract_labels(
    fileobj: IO[bytes], keywords: Any, comment_tags: Collection[str], options: Any
) -> Iterator[tuple[Any, ...]]:
    """Babel extraction method for ``rules.py`` files: keyword calls, then labels."""
    from babel.messages.extract import extract_python

    yield from extract_python(fileobj, keywords, comment_tags, options)
    module = importlib.import_module(_module_name(Path(fileobj.name).resolve()))
    for label in dict.fromkeys(labels_of(module)):
        yield 0, None, label, [f"label from {module.__name__}"]
