"""The Arabic catalogue: complete for the interface, faithful to placeholders, right to left."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient

from parcours.access import rules as access_rules
from parcours.access.rules import Role
from parcours.pathways import encounter, pathway_map, referral, routing
from parcours.territory import rules as territory_rules
from parcours.web.i18n import current_locale, gettext_, labels_of, ngettext_
from tests.conftest import MakeUser, login
from tests.web.markup import parse

ROOT = Path(__file__).resolve().parents[2]
ARABIC = re.compile(r"[\u0600-\u06ff]")
PLACEHOLDER = re.compile(r"\{\w+\}|%\(\w+\)s")


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    po = resources.files("parcours.web") / "translations/ar/LC_MESSAGES/messages.po"
    with po.open("rb") as handle:
        return read_po(handle, locale="ar")


def translated(catalog: Catalog) -> dict[str, str]:
    return {
        m.id if isinstance(m.id, str) else m.id[0]: m.string
        if isinstance(m.string, str)
        else m.string[-1]
        for m in catalog
        if m.id and m.string and (m.string if isinstance(m.string, str) else all(m.string))
    }


def test_every_label_of_the_rules_is_translated(catalog: Catalog) -> None:
    done = translated(catalog)
    labels = [
        label
        for module in (territory_rules, access_rules, referral, routing, encounter, pathway_map)
        for label in labels_of(module)
    ]
    assert "Hôpital de proximité" in labels
    assert "Administrateur régional" in labels
    assert "Cardiologie" in labels
    assert "Terminée (contre-référence)" in labels
    missing = [label for label in labels if label not in done]
    assert not missing, missing


def test_every_text_of_the_pages_is_translated(catalog: Catalog) -> None:
    """What the templates and the page modules show is in the catalogue (see babel.cfg)."""
    with (ROOT / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    done = translated(catalog)
    ours = ("templates/", "web/", "/pages.py", "territory/rules.py", "access/rules.py")
    missing = []
    for filename, _line, message, _comments, _context in extract_from_dir(
        str(ROOT / "src"), method_map, options_map
    ):
        key = message if isinstance(message, str) else message[0]
        if any(part in filename for part in ours) and key not in done:
            missing.append(f"{filename}: {key}")
    assert not missing, "\n".join(missing)


def test_translations_keep_their_placeholders(catalog: Catalog) -> None:
    for message in catalog:
        if not message.id or not message.string:
            continue
        source = message.id if isinstance(message.id, str) else message.id[1]
        targets = [message.string] if isinstance(message.string, str) else list(message.string)
        wanted = sorted(PLACEHOLDER.findall(source))
        for target in targets:
            found = sorted(PLACEHOLDER.findall(target))
            # A plural form may spell the number out ("حدثان") and drop it.
            if isinstance(message.id, tuple):
                assert set(found) <= set(wanted), (source, target)
            else:
                assert found == wanted, (source, target)
            assert ARABIC.search(target), (source, target)


def test_arabic_plural_forms_follow_the_number() -> None:
    token = current_locale.set("ar")
    try:
        one = ngettext_("%(num)s établissement", "%(num)s établissements", 1)
        two = ngettext_("%(num)s établissement", "%(num)s établissements", 2)
        five = ngettext_("%(num)s établissement", "%(num)s établissements", 5)
        assert len({one, two, five}) == 3
        assert gettext_("Vue régionale") == "النظرة الجهوية"
    finally:
        current_locale.reset(token)
    assert gettext_("Vue régionale") == "Vue régionale"


def test_login_page_in_arabic_is_right_to_left(app_client: TestClient) -> None:
    response = app_client.get("/login?lang=ar")
    doc = parse(response.text)
    html = doc.find("html")
    assert html.get("dir") == "rtl"
    assert html.get("lang") == "ar"
    assert ARABIC.search(doc.find("h1").text)
    assert response.cookies.get("parcours_lang") == "ar"


@pytest.mark.usefixtures("small_region")
def test_arabic_pages_translate_navigation_labels_and_keep_the_hooks(
    app_client: TestClient, make_user: MakeUser
) -> None:
    make_user("admin.region", Role.REGIONAL_ADMIN)
    login(app_client, "admin.region")
    doc = parse(app_client.get("/overview?lang=ar").text)
    assert doc.find("html").get("dir") == "rtl"
    nav = {a.get("href"): a.text for a in doc.find("nav", class_="mainnav").find_all("a")}
    assert nav["/overview"] == "النظرة الجهوية"
    assert nav["/establishments"] == "المؤسسات الصحية"
    assert nav["/admin/users"] == "المستخدمون"
    assert nav["/admin/audit"] == "سجل التدقيق"
    assert doc.find("strong", data_kpi="chu").text == "1"
    assert "المستشفى الجهوي" in doc.find("table", id="by-type-table").text
    # The choice sticks: the next page, without ?lang, is Arabic too.
    listing = parse(app_client.get("/establishments?type=regional_hospital").text)
    assert listing.find("html").get("dir") == "rtl"
    row = listing.find("table", id="establishments").find("tbody").find("tr")
    assert "المستشفى الجهوي" in row.text
    assert "Hôpital régional Saniat Rmel" in row.text  # names stay as registered
    detail = parse(app_client.get("/establishments/HP-TET-01").text)
    assert "أمراض القلب والشرايين" in detail.find("table", id="services").text
    back = parse(app_client.get("/overview?lang=fr").text)
    assert back.find("html").get("dir") == "ltr"
