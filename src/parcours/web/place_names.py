"""The region's place names in the reader's language: the GST, provinces, chefs-lieux, towns.

Names of places come from reference data (French spelling, as the ministry
writes them), so the templates cannot mark them for translation; they are
listed here for ``pybabel extract`` and translated through the catalogue like
any text. Only these names go through the catalogue: a locality typed into an
establishment's record is data, shown as registered, and must not be mistaken
for an interface text that happens to have the same spelling.

The list follows ``territory/data/tta_provinces.csv`` and ``tta_towns.csv`` (a
test checks it) and the default ``Settings.gst_name``.
"""

from __future__ import annotations

from parcours.web.i18n import gettext_


def _(text: str) -> str:
    """Marks a name for extraction; translation happens at display time."""
    return text


PLACE_NAMES: frozenset[str] = frozenset(
    {
        _("GST Tanger-Tétouan-Al Hoceïma"),
        # provinces and prefectures
        _("Tanger-Assilah"),
        _("M'diq-Fnideq"),
        _("Tétouan"),
        _("Fahs-Anjra"),
        _("Larache"),
        _("Al Hoceïma"),
        _("Chefchaouen"),
        _("Ouezzane"),
        # chefs-lieux and towns
        _("Tanger"),
        _("Asilah"),
        _("Gueznaia"),
        _("M'diq"),
        _("Fnideq"),
        _("Martil"),
        _("Oued Laou"),
        _("Ksar Sghir"),
        _("Anjra"),
        _("Ksar El Kébir"),
        _("Imzouren"),
        _("Beni Bouayach"),
        _("Targuist"),
        _("Bab Berred"),
        _("El Jebha"),
    }
)


def place_name(name: str | None) -> str:
    """``name`` in the reader's language when it is one of the region's known places."""
    if not name:
        return name or ""
    return gettext_(name) if name in PLACE_NAMES else name
