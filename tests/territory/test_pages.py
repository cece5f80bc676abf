"""The registry's pages through HTTP, as a browser uses them (SQLite and PostgreSQL)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from parcours.access.rules import Role
from tests.conftest import MakeUser, login
from tests.web.markup import Element, parse

pytestmark = pytest.mark.usefixtures("small_region")


def page(client: TestClient, url: str, status: int = 200) -> Element:
    response = client.get(url)
    assert response.status_code == status, response.text[:500]
    return parse(response.text)


def listed(doc: Element) -> list[str]:
    links = doc.find("table", id="establishments").find_all("a", class_="establishment-link")
    return sorted((a.get("href") or "").rsplit("/", 1)[-1] for a in links)


def total(doc: Element) -> int:
    return int(doc.find("p", id="result-count").get("data-total") or -1)


@pytest.fixture
def admin(app_client: TestClient, make_user: MakeUser) -> str:
    """A regional administrator signed in; returns the session's CSRF token."""
    make_user("admin.region", Role.REGIONAL_ADMIN)
    return login(app_client, "admin.region")


def edit_form(doc: Element) -> dict[str, str]:
    """The edit form's fields as the browser would submit them untouched."""
    form = doc.find("form", id="edit-form")
    data: dict[str, str] = {}
    for field in form.find_all("input"):
        name = field.get("name")
        if not name:
            continue
        if field.get("type") == "checkbox":
            if "checked" in field.attrs:
                data[name] = "on"
        else:
            data[name] = field.get("value") or ""
    for select in form.find_all("select"):
        chosen = [o for o in select.find_all("option") if "selected" in o.attrs]
        data[select.get("name") or ""] = chosen[0].get("value") or "" if chosen else ""
    for area in form.find_all("textarea"):
        data[area.get("name") or ""] = area.text
    return data


def test_overview_requires_login(app_client: TestClient) -> None:
    response = app_client.get("/overview", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith(
        ("/login?next=/overview", "/login?next=%2Foverview")
    )


def test_overview_shows_counts_tables_and_one_mark_per_placed_establishment(
    app_client: TestClient, admin: str
) -> None:
    doc = page(app_client, "/overview")
    kpi = {el.get("data-kpi"): el.text for el in doc.find_all("strong") if el.get("data-kpi")}
    assert kpi["chu"] == "1"
    assert kpi["hospital"] == "2"
    assert kpi["health_centre"] == "3"
    assert kpi["total"] == "6"
    assert re.sub(r"\D", "", kpi["beds"]) == str(60 + 40 + 30 + 20 + 30 + 25 + 20 + 4)
    svg = doc.find("svg", class_="region-map")
    marks = svg.find_all(class_="establishment")
    assert sorted(m.get("data-code") or "" for m in marks) == [
        "CHU-TNG", "CSR-TET-01", "CSU-TNG-01", "DR-HOC-01", "HP-HOC-01", "HP-TET-01",
    ]  # fmt: skip
    for mark in marks:
        assert mark.parent is not None
        assert mark.parent.tag == "a"
        assert mark.parent.get("href") == f"/establishments/{mark.get('data-code')}"
        assert mark.parent.find("title").text  # the tooltip, and the link's name
    # Centres are drawn first, hospitals over them, the CHU last (on top).
    order = [m.get("data-code") for m in marks]
    assert order[-1] == "CHU-TNG"
    assert max(order.index(c) for c in ("CSR-TET-01", "CSU-TNG-01", "DR-HOC-01")) < min(
        order.index(h) for h in ("HP-HOC-01", "HP-TET-01")
    )
    chu = next(m for m in marks if m.get("data-code") == "CHU-TNG")
    centre = next(m for m in marks if m.get("data-code") == "CSU-TNG-01")
    assert chu.get("data-type") == "chu"

    def symbol(mark: Element) -> Element:
        return svg.find("g", id=(mark.get("href") or "").lstrip("#"))

    drawn = [c for c in symbol(chu).find_all("circle") if c.get("fill")]
    assert [c.get("fill") for c in drawn] == ["#7b1fa2"]
    assert float(drawn[0].get("r") or 0) > float(
        next(c for c in symbol(centre).find_all("circle") if c.get("fill")).get("r") or 0
    )  # hospitals drawn larger
    # Land and sea: the coast is drawn, and said to be approximate.
    assert svg.find("path", class_="land").get("d")
    assert svg.find("path", class_="coast").get("d")
    assert "Trait de côte approximatif." in doc.find("figure", class_="map-figure").text
    assert doc.find("div", class_="map-frame").get("dir") == "ltr"  # west on the left, always
    places = [t.text for t in svg.find_all("text", class_="place")]
    assert "Tanger" in places
    assert "Al Hoceïma" in places
    assert svg.find("g", class_="scale").text.endswith("km")
    provinces = doc.find("table", id="by-province-table")
    tet = provinces.find("td", data_province="TET")
    assert tet.text == "2"
    levels = doc.find("table", id="by-care-level").text
    assert "Niveau 4" in levels


def test_closed_establishments_leave_the_map_and_the_counts(
    app_client: TestClient, admin: str
) -> None:
    response = app_client.post(
        "/establishments/DR-HOC-01/close",
        data={"csrf_token": admin, "closed_on": "2026-01-15", "reason": "regroupement"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    doc = page(app_client, "/overview")
    assert doc.find("strong", data_kpi="health_centre").text == "2"
    codes = [m.get("data-code") for m in doc.find_all(class_="establishment")]
    assert "DR-HOC-01" not in codes
    assert len(codes) == 5


def test_list_shows_everything_then_filters_narrow_it(app_client: TestClient, admin: str) -> None:
    doc = page(app_client, "/establishments")
    assert total(doc) == 6
    assert len(listed(doc)) == 6
    form = doc.find("form", id="filters")
    assert form.get("method") == "get"
    for name in ("type", "category", "province", "specialty", "status", "care_level"):
        assert form.find_all("select", name=name), name
    assert form.find_all("input", name="q")
    assert form.find_all("button", id="apply-filters")

    assert listed(page(app_client, "/establishments?type=regional_hospital")) == ["HP-TET-01"]
    assert listed(page(app_client, "/establishments?province=TET")) == ["CSR-TET-01", "HP-TET-01"]
    assert listed(page(app_client, "/establishments?specialty=cardiology")) == [
        "CHU-TNG",
        "HP-TET-01",
    ]
    assert listed(page(app_client, "/establishments?category=health_centre&province=HOC")) == [
        "DR-HOC-01"
    ]
    assert listed(page(app_client, "/establishments?care_level=4")) == ["CHU-TNG"]
    # Typed without accents or capitals, as people search.
    doc = page(app_client, "/establishments?q=hopital")
    assert listed(doc) == ["HP-HOC-01", "HP-TET-01"]
    assert total(doc) == 2
    assert doc.find("input", name="q").get("value") == "hopital"
    assert listed(page(app_client, "/establishments?q=hoceima&type=provincial_hospital")) == [
        "HP-HOC-01"
    ]


def test_list_keeps_search_at_hand_and_folds_the_other_filters_on_phones(
    app_client: TestClient, admin: str
) -> None:
    doc = page(app_client, "/establishments")
    form = doc.find("form", id="filters")
    more = form.find("details", class_="more-filters")
    # The name search and its button stay outside the fold; the six choices are inside it,
    # folded unless one is in use (a script opens it on wide screens).
    assert not more.find_all("input", name="q")
    assert not more.find_all("button", id="apply-filters")
    for name in ("type", "category", "province", "specialty", "status", "care_level"):
        assert more.find_all("select", name=name), name
    assert "data-open-wide" in more.attrs
    assert "open" not in more.attrs
    script = doc.find("script")
    assert (script.get("src") or "").startswith("/static/js/parcours.js?v=")
    filtered = page(app_client, "/establishments?province=TET").find(
        "details", class_="more-filters"
    )
    assert "open" in filtered.attrs
    searched = page(app_client, "/establishments?q=hopital").find("details", class_="more-filters")
    assert "open" not in searched.attrs
    # Rows become cards on a phone (CSS); the beds say what they count there.
    table = doc.find("table", id="establishments")
    assert "cards" in (table.get("class") or "").split()
    chu = table.find("tr", data_code="CHU-TNG")
    assert chu.find("span", class_="unit").text == "lits"
    assert chu.find("span", class_="swatch").get("style") == "background:#7b1fa2"


def test_list_ignores_unknown_choices_and_says_when_nothing_matches(
    app_client: TestClient, admin: str
) -> None:
    doc = page(app_client, "/establishments?type=castle&province=XX&page=abc")
    assert total(doc) == 6
    empty = page(app_client, "/establishments?q=introuvable")
    assert total(empty) == 0
    assert not empty.find_all("table", id="establishments")


def test_list_pages_keep_the_filters(
    app_client: TestClient, admin: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from parcours.territory import pages

    monkeypatch.setattr(pages, "PAGE_SIZE", 2)
    doc = page(app_client, "/establishments?category=health_centre")
    assert total(doc) == 3
    assert len(listed(doc)) == 2
    nxt = doc.find("a", rel="next").get("href") or ""
    assert "category=health_centre" in nxt
    assert "page=2" in nxt
    second = page(app_client, nxt)
    assert len(listed(second)) == 1
    assert set(listed(doc)).isdisjoint(listed(second))


def test_establishment_page_shows_identity_services_beds_and_history(
    app_client: TestClient, admin: str
) -> None:
    doc = page(app_client, "/establishments/HP-TET-01")
    assert doc.find("h1").text == "Hôpital régional Saniat Rmel"
    services = doc.find("table", id="services")
    rows = services.find("tbody").find_all("tr")
    assert [r.find_all("td")[0].text for r in rows] == ["Cardiologie", "Pédiatrie"]
    assert [r.find_all("td")[1].text for r in rows] == ["20", "30"]
    assert doc.find("td", id="total-beds").text == "50"
    assert "Tétouan" in doc.text
    locator = doc.find("svg", class_="locator-map")
    assert locator.find_all("circle", data_code="HP-TET-01")
    assert locator.find_all("path", class_="coast")
    history = doc.find("section", id="history")
    assert "Création" in history.text
    assert len(history.find_all("li", data_version="1")) == 1


def test_unknown_establishment_is_a_404_page(app_client: TestClient, admin: str) -> None:
    response = app_client.get("/establishments/NOPE-01")
    assert response.status_code == 404
    assert "text/html" in response.headers["content-type"]


def test_edit_with_reason_creates_a_version_shown_in_history(
    app_client: TestClient, admin: str
) -> None:
    doc = page(app_client, "/establishments/HP-TET-01")
    form = edit_form(doc)
    assert form["name"] == "Hôpital régional Saniat Rmel"
    assert form["svc_cardiology"] == "on"
    assert form["beds_paediatrics"] == "30"
    form |= {
        "phone": "0539 00 00 00",
        "beds_paediatrics": "36",
        "svc_emergency": "on",
        "beds_emergency": "12",
        "reason": "Ouverture des urgences",
    }
    del form["svc_cardiology"]
    response = app_client.post("/establishments/HP-TET-01/edit", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text[:800]
    assert response.headers["location"].startswith("/establishments/HP-TET-01")
    doc = page(app_client, response.headers["location"])
    rows = doc.find("table", id="services").find("tbody").find_all("tr")
    assert {r.find_all("td")[0].text: r.find_all("td")[1].text for r in rows} == {
        "Pédiatrie": "36",
        "Urgences": "12",
    }
    history = doc.find("section", id="history")
    latest = history.find("li", data_version="2")
    assert "Modification" in latest.text
    assert "admin.region" in latest.text
    assert "Ouverture des urgences" in latest.text
    assert "Téléphone" in latest.text
    assert "Service ajouté : Urgences (12 lits)" in latest.text
    assert "Service retiré : Cardiologie" in latest.text
    assert "Pédiatrie : lits 30 → 36" in latest.text
    api = app_client.get("/api/v1/establishments/HP-TET-01").json()
    assert api["version"] == 2
    assert api["phone"] == "0539 00 00 00"


def test_edit_without_reason_is_refused_and_keeps_the_input(
    app_client: TestClient, admin: str
) -> None:
    form = edit_form(page(app_client, "/establishments/HP-TET-01"))
    form |= {"name": "Nom changé", "reason": ""}
    response = app_client.post("/establishments/HP-TET-01/edit", data=form)
    assert response.status_code == 422
    doc = parse(response.text)
    assert "motif" in doc.find("div", class_="error").text
    assert doc.find("form", id="edit-form").find("input", name="name").get("value") == "Nom changé"
    assert app_client.get("/api/v1/establishments/HP-TET-01").json()["version"] == 1


def test_edit_refused_by_the_service_comes_back_with_its_message(
    app_client: TestClient, admin: str
) -> None:
    form = edit_form(page(app_client, "/establishments/CSU-TNG-01"))
    # A level-1 urban centre has no hospital beds: the registry's rule, not the page's.
    form |= {"beds_general_medicine": "5", "reason": "lits d'observation"}
    response = app_client.post("/establishments/CSU-TNG-01/edit", data=form)
    assert response.status_code == 422
    doc = parse(response.text)
    assert "lits" in doc.find("div", class_="error").text
    assert doc.find("input", name="beds_general_medicine").get("value") == "5"
    assert doc.find("textarea", name="reason").text == "lits d'observation"


def test_edit_with_bad_numbers_is_refused(app_client: TestClient, admin: str) -> None:
    form = edit_form(page(app_client, "/establishments/HP-TET-01"))
    form |= {"latitude": "nord", "catchment_population": "-4", "reason": "essai"}
    response = app_client.post("/establishments/HP-TET-01/edit", data=form)
    assert response.status_code == 422
    text = parse(response.text).find("div", class_="error").text
    assert "Latitude" in text
    assert "Population desservie" in text


def test_edit_without_csrf_token_is_forbidden(app_client: TestClient, admin: str) -> None:
    form = edit_form(page(app_client, "/establishments/HP-TET-01"))
    form["reason"] = "sans jeton"
    del form["csrf_token"]
    response = app_client.post("/establishments/HP-TET-01/edit", data=form)
    assert response.status_code == 403
    form["csrf_token"] = "faux"
    assert app_client.post("/establishments/HP-TET-01/edit", data=form).status_code == 403
    assert app_client.get("/api/v1/establishments/HP-TET-01").json()["version"] == 1


def test_establishment_admin_edits_own_establishment_only(
    app_client: TestClient, make_user: MakeUser
) -> None:
    make_user("admin.hp-tet", Role.ESTABLISHMENT_ADMIN, "establishment:HP-TET-01")
    csrf = login(app_client, "admin.hp-tet")
    own = page(app_client, "/establishments/HP-TET-01")
    assert own.find_all("form", id="edit-form")
    assert not own.find("form", id="edit-form").find_all("select", name="type")  # not regional
    other = page(app_client, "/establishments/HP-HOC-01")
    assert not other.find_all("form", id="edit-form")
    assert not other.find_all("form", id="close-form")

    form = edit_form(own) | {"reason": "essai hors périmètre", "phone": "0500"}
    form["csrf_token"] = csrf
    response = app_client.post("/establishments/HP-HOC-01/edit", data=form)
    assert response.status_code == 403
    assert "périmètre" in parse(response.text).find("div", class_="error").text
    closing = {"csrf_token": csrf, "closed_on": "2026-01-01", "reason": "hors périmètre"}
    assert app_client.post("/establishments/HP-HOC-01/close", data=closing).status_code == 403
    assert app_client.get("/api/v1/establishments/HP-HOC-01").json()["version"] == 1

    response = app_client.post("/establishments/HP-TET-01/edit", data=form, follow_redirects=False)
    assert response.status_code == 303


def test_clinician_sees_no_forms_and_cannot_post(
    app_client: TestClient, make_user: MakeUser
) -> None:
    make_user("dr.amrani", Role.CLINICIAN)
    csrf = login(app_client, "dr.amrani")
    doc = page(app_client, "/establishments/HP-TET-01")
    assert not doc.find_all("form", id="edit-form")
    response = app_client.post(
        "/establishments/HP-TET-01/edit",
        data={"csrf_token": csrf, "name": "x", "reason": "essai"},
    )
    assert response.status_code == 403
    assert app_client.get("/establishments/new").status_code == 403


def test_close_keeps_the_establishment_with_its_history(app_client: TestClient, admin: str) -> None:
    missing = app_client.post(
        "/establishments/CSR-TET-01/close", data={"csrf_token": admin, "closed_on": ""}
    )
    assert missing.status_code == 422
    response = app_client.post(
        "/establishments/CSR-TET-01/close",
        data={"csrf_token": admin, "closed_on": "2026-02-01", "reason": "Centre regroupé"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    doc = page(app_client, "/establishments/CSR-TET-01")
    assert "Fermé" in doc.text
    assert "01/02/2026" in doc.text
    assert not doc.find_all("form", id="close-form")
    latest = doc.find("li", data_version="2")
    assert "Fermeture" in latest.text
    assert "Centre regroupé" in latest.text
    closed = page(app_client, "/establishments?status=closed")
    assert listed(closed) == ["CSR-TET-01"]


def test_regional_admin_creates_an_establishment(app_client: TestClient, admin: str) -> None:
    doc = page(app_client, "/establishments/new")
    assert doc.find_all("form", id="create-establishment")
    data = {
        "csrf_token": admin,
        "code": "csu-lar-07",
        "name": "Centre de santé urbain Larache Centre",
        "type": "csu_2",
        "province": "LAR",
        "town": "Larache",
        "latitude": "35,19",
        "longitude": "-6.15",
        "catchment_population": "18000",
        "status": "open",
        "svc_general_medicine": "on",
        "svc_deliveries": "on",
        "beds_deliveries": "6",
    }
    response = app_client.post("/establishments/new", data=data, follow_redirects=False)
    assert response.status_code == 303, response.text[:800]
    assert response.headers["location"].startswith("/establishments/CSU-LAR-07")
    created = page(app_client, "/establishments/CSU-LAR-07")
    assert created.find("h1").text == "Centre de santé urbain Larache Centre"
    assert created.find("td", id="total-beds").text == "6"
    again = app_client.post("/establishments/new", data=data)
    assert again.status_code == 409
    assert "déjà attribué" in parse(again.text).find("div", class_="error").text
    assert parse(again.text).find("input", name="name").get("value") == data["name"]


def test_edit_form_of_a_closed_establishment_does_not_reopen_it_by_default(
    app_client: TestClient, admin: str
) -> None:
    app_client.post(
        "/establishments/DR-HOC-01/close",
        data={"csrf_token": admin, "closed_on": "2026-01-15", "reason": "regroupement"},
    )
    form = edit_form(page(app_client, "/establishments/DR-HOC-01"))
    assert form["status"] == "closed"
    reopened = form | {"status": "open", "reason": "réouverture après travaux"}
    response = app_client.post(
        "/establishments/DR-HOC-01/edit", data=reopened, follow_redirects=False
    )
    assert response.status_code == 303
    assert app_client.get("/api/v1/establishments/DR-HOC-01").json()["status"] == "open"


def test_zoom_map_is_drawn_for_the_dense_north_west_with_its_marks_left_to_the_browser() -> None:
    from parcours.territory import pages, service
    from parcours.territory.models import Commune, Province
    from parcours.territory.rules import EstablishmentType
    from parcours.web import svgmap

    def province(code: str, chef_lieu: str, lat: float, lon: float) -> Province:
        return Province(code=code, name=code, chef_lieu=chef_lieu, latitude=lat, longitude=lon)

    provinces = [
        province("TNG", "Tanger", 35.7595, -5.8340),
        province("TET", "Tétouan", 35.5785, -5.3684),
        province("HOC", "Al Hoceïma", 35.2517, -3.9372),
        province("OUZ", "Ouezzane", 34.7971, -5.5836),
    ]
    communes = [Commune(name="Martil", latitude=35.6167, longitude=-5.2750, urban=True)]
    near_tanger = [
        service.MapPoint(
            f"CSU1-TNG-{i:03d}", f"Centre {i}", EstablishmentType.CSU_1, 35.74 + i * 0.001, -5.83
        )
        for i in range(25)
    ]
    far = [service.MapPoint("HP-HOC-01", "Hôpital", EstablishmentType.PROVINCIAL_HOSPITAL,
                            35.24, -3.93)]  # fmt: skip
    assert str(pages.zoom_map(near_tanger[:5] + far, provinces, communes)) == ""  # too few

    zoom = parse(str(pages.zoom_map(near_tanger + far, provinces, communes))).find("svg")
    assert "zoom-map" in (zoom.get("class") or "").split()
    assert zoom.get("data-zoom-of") == "region-map"
    assert zoom.get("data-symbols") == "m z"
    assert not zoom.find_all("use")  # the marks come from the region map, once per page
    names = [t.text for t in zoom.find_all("text", class_="place")]
    assert sorted(names) == ["Martil", "Tanger", "Tétouan"]  # inside its frame only
    assert zoom.find("path", class_="coast")

    # A mark of the region map, moved by data-affine, lands where the zoom places it.
    region = parse(str(pages.region_map(near_tanger + far, provinces))).find("svg")
    mark = region.find("use", data_code="CSU1-TNG-000")
    ax, bx, ay, by = (float(v) for v in (zoom.get("data-affine") or "").split())
    target = svgmap.Projection(pages.ZOOM_BOUNDS, pages.REGION_WIDTH, None, pages.REGION_MARGIN)
    x, y = target.xy(35.74, -5.83)
    assert ax * float(mark.get("x") or 0) + bx == pytest.approx(x, abs=0.5)
    assert ay * float(mark.get("y") or 0) + by == pytest.approx(y, abs=0.5)
