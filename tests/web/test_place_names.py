"""Place names in Arabic: the GST, provinces and towns through the catalogue, nothing else."""

from __future__ import annotations

import csv
import re
from importlib import resources

import pytest
from fastapi.testclient import TestClient

from parcours.access.rules import Role
from parcours.config import Settings
from parcours.web.i18n import current_locale
from parcours.web.place_names import PLACE_NAMES, place_name
from tests.conftest import MakeUser, login
from tests.web.markup import parse

ARABIC = re.compile(r"[\u0600-\u06ff]")


def _rows(name: str) -> list[dict[str, str]]:
    data = resources.files("parcours.territory") / "data" / name
    with data.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_the_list_follows_the_reference_data() -> None:
    provinces = _rows("tta_provinces.csv")
    wanted = {Settings().gst_name}
    wanted |= {row["name"] for row in provinces} | {row["chef_lieu"] for row in provinces}
    wanted |= {row["town"] for row in _rows("tta_towns.csv")}
    assert wanted <= PLACE_NAMES, wanted - PLACE_NAMES


def test_every_place_has_its_arabic_name() -> None:
    token = current_locale.set("ar")
    try:
        untranslated = [name for name in PLACE_NAMES if not ARABIC.search(place_name(name))]
        assert not untranslated
        assert place_name("GST Tanger-Tétouan-Al Hoceïma") == (
            "المجموعة الصحية الترابية لجهة طنجة تطوان الحسيمة"
        )
        assert place_name("M'diq-Fnideq") == "المضيق الفنيدق"
        # Anything else is data and stays as written, even when it matches an interface text.
        assert place_name("Type") == "Type"
        assert place_name("Douar Inconnu") == "Douar Inconnu"
        assert place_name("") == ""
    finally:
        current_locale.reset(token)
    assert place_name("Tétouan") == "Tétouan"


@pytest.mark.usefixtures("small_region")
def test_arabic_pages_name_the_gst_and_the_provinces_in_arabic(
    app_client: TestClient, make_user: MakeUser
) -> None:
    make_user("admin.region", Role.REGIONAL_ADMIN)
    login(app_client, "admin.region")
    doc = parse(app_client.get("/overview?lang=ar").text)
    gst = "المجموعة الصحية الترابية لجهة طنجة تطوان الحسيمة"
    assert doc.find("h1").text == gst
    assert gst in doc.find("header").text
    assert gst in doc.find("footer").text
    assert gst in doc.find("title").text
    provinces = doc.find("table", id="by-province-table").text
    assert "تطوان" in provinces
    assert "طنجة أصيلة" in provinces
    assert "Tanger-Assilah" not in provinces
    places = [t.text for t in doc.find("svg", class_="region-map").find_all("text", class_="place")]
    assert "الحسيمة" in places
    # Establishment names are data: as registered, in the map's tooltips and in the list.
    titles = [t.text for t in doc.find("svg", class_="region-map").find_all("title")]
    assert "Hôpital régional Saniat Rmel" in titles
    listing = parse(app_client.get("/establishments?province=TET").text)
    row = listing.find("tr", data_code="HP-TET-01")
    assert "Hôpital régional Saniat Rmel" in row.text
    assert "تطوان" in row.text
    french = parse(app_client.get("/overview?lang=fr").text)
    assert french.find("h1").text == "GST Tanger-Tétouan-Al Hoceïma"
