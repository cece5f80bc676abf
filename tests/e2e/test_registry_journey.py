"""Journeys through the establishment registry in a real browser (issue 2's acceptance).

The regional administrator signs in, reads the overview (figures and map),
filters the establishment list and opens one establishment. What the pages
show is checked against the JSON API of the same session: page and API call
the same service, so they must agree.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.support import (
    DEMO_COUNTS,
    DEMO_PASSWORD,
    REGIONAL_ADMIN,
    path_of,
    sign_in,
    sign_out,
)

pytestmark = pytest.mark.e2e

ARABIC = re.compile(r"[\u0600-\u06ff]")


def api(page: Page, path: str, /, **params: Any) -> Any:
    """GET a JSON API route with the page's session cookie."""
    query = urlencode({k: v for k, v in params.items() if v is not None})
    response = page.request.get(f"/api/v1{path}" + (f"?{query}" if query else ""))
    assert response.ok, f"{path}: {response.status} {response.text()}"
    return response.json()


def all_establishments(page: Page, **filters: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    number = 1
    while True:
        batch = api(page, "/establishments", page=number, page_size=200, **filters)
        items.extend(batch["items"])
        if len(items) >= batch["total"] or not batch["items"]:
            return items
        number += 1


def fold(text: str) -> str:
    """Case- and accent-insensitive form, as the registry's search compares names."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def kpi(page: Page, category: str) -> int:
    text = page.locator(f'[data-kpi="{category}"]').inner_text()
    return int(re.sub(r"\D", "", text))


def result_total(page: Page) -> int:
    total = page.locator("#result-count").get_attribute("data-total")
    assert total is not None, "#result-count has no data-total"
    assert total.isdigit(), f"#result-count[data-total] is {total!r}"
    return int(total)


def listed_codes(page: Page) -> list[str]:
    hrefs = page.locator("table#establishments a.establishment-link").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))"
    )
    return [href.rstrip("/").rsplit("/", 1)[-1] for href in hrefs]


def apply_filters(page: Page, **fields: str) -> None:
    form = page.locator("form#filters")
    for name, value in fields.items():
        control = form.locator(f"[name={name}]")
        if control.evaluate("e => e.tagName") == "SELECT":
            control.select_option(value)
        else:
            control.fill(value)
    page.click("#apply-filters")
    page.wait_for_load_state()


def test_admin_signs_in_reads_overview_filters_list_and_opens_an_establishment(
    page: Page,
) -> None:
    sign_in(page)
    assert path_of(page) == "/overview"

    # The figures of the overview are the registry's, and the demo's are the reform's.
    summary = api(page, "/territory/summary")
    for category in ("chu", "hospital", "health_centre"):
        assert kpi(page, category) == summary["by_category"][category], category
    assert {c: kpi(page, c) for c in DEMO_COUNTS} == DEMO_COUNTS

    # The map places every open establishment with coordinates, inside the drawing.
    everything = all_establishments(page)
    placed = [e for e in everything if e["status"] == "open" and e["latitude"] and e["longitude"]]
    region_map = page.locator("svg.region-map")
    expect(region_map).to_be_visible()
    marks = region_map.locator(".establishment")
    assert marks.count() >= len(placed)
    assert marks.count() >= sum(DEMO_COUNTS.values())
    box = region_map.bounding_box()
    assert box is not None
    assert box["width"] > 200, box
    assert box["height"] > 150, box
    centres = marks.evaluate_all(
        """marks => marks.map(m => {
            const r = m.getBoundingClientRect();
            return [r.x + r.width / 2, r.y + r.height / 2];
        })"""
    )
    outside = [
        c
        for c in centres
        if not (
            box["x"] - 1 <= c[0] <= box["x"] + box["width"] + 1
            and box["y"] - 1 <= c[1] <= box["y"] + box["height"] + 1
        )
    ]
    assert not outside, f"{len(outside)} marks drawn outside the map, e.g. {outside[:3]}"
    # Placed by their coordinates, not piled up: many distinct positions.
    distinct = {(round(x), round(y)) for x, y in centres}
    assert len(distinct) >= min(len(placed), 50) // 2, len(distinct)

    # The list, narrowed to the hospitals of one type in Tétouan.
    page.goto("/establishments")
    expect(page.locator("table#establishments")).to_be_visible()
    everyone = result_total(page)
    assert everyone == len(everything)
    tetouan_hospitals = [
        e for e in all_establishments(page, province="TET") if e["category"] == "hospital"
    ]
    assert tetouan_hospitals, "no hospital in Tétouan to filter on"
    chosen = tetouan_hospitals[0]
    apply_filters(page, province="TET", type=chosen["type"])
    expected = all_establishments(page, province="TET", type=chosen["type"])
    filtered = result_total(page)
    assert filtered == len(expected) < everyone
    assert sorted(listed_codes(page)) == sorted(e["code"] for e in expected)
    for row in page.locator("table#establishments tbody tr").all():
        text = fold(row.inner_text())
        assert fold(chosen["type_label"]) in text or fold(chosen["type"]) in text, text

    # A name typed without accents or capitals, the way people search.
    word = max(re.findall(r"[^\W\d_]{4,}", chosen["name"]), key=len)
    apply_filters(page, q=fold(word))
    expected = all_establishments(page, province="TET", type=chosen["type"], q=fold(word))
    assert result_total(page) == len(expected) <= filtered
    codes = listed_codes(page)
    assert chosen["code"] in codes
    assert sorted(codes) == sorted(e["code"] for e in expected)
    for row in page.locator("table#establishments tbody tr").all():
        assert fold(word) in fold(row.inner_text())

    # One establishment: its name, its services and their beds.
    page.locator(f'a.establishment-link[href$="/{chosen["code"]}"]').first.click()
    expect(page).to_have_url(re.compile(rf"/establishments/{re.escape(chosen['code'])}$"))
    detail = api(page, f"/establishments/{chosen['code']}")
    expect(page.locator("h1")).to_contain_text(detail["name"])
    services = page.locator("table#services tbody tr")
    assert services.count() == len(detail["services"]) > 0
    table_text = page.locator("table#services").inner_text()
    for service in detail["services"]:
        row = services.filter(has_text=service["specialty_name"])
        assert row.count() >= 1, f"{service['specialty_name']} missing from:\n{table_text}"
        assert re.search(rf"\b{service['beds']}\b", row.first.inner_text()), row.first.inner_text()
    assert detail["beds"] > 0


def test_wrong_password_is_refused_and_logout_ends_the_session(page: Page) -> None:
    login_page = page.goto("/login")
    assert login_page is not None
    assert login_page.ok
    page.fill("input[name=username]", REGIONAL_ADMIN)
    page.fill("input[name=password]", DEMO_PASSWORD + "-faux")
    page.click("button[type=submit]")
    assert path_of(page) == "/login"
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.locator("input[name=password]")).to_be_visible()
    assert page.request.get("/api/v1/me").status == 401

    sign_in(page)
    assert path_of(page) == "/overview"
    sign_out(page)
    assert path_of(page) == "/login"
    page.goto("/overview")
    assert path_of(page) == "/login"
    assert "next=%2Foverview" in page.url or "next=/overview" in page.url
    assert page.request.get("/api/v1/me").status == 401


def test_arabic_is_right_to_left(page: Page) -> None:
    page.goto("/login?lang=ar")
    html = page.locator("html")
    expect(html).to_have_attribute("dir", "rtl")
    expect(html).to_have_attribute("lang", "ar")
    assert ARABIC.search(page.locator("h1").inner_text()), "the login title is not translated"

    # The choice sticks for the session's next pages.
    sign_in(page)
    assert path_of(page) == "/overview"
    expect(html).to_have_attribute("dir", "rtl")
    page.goto("/establishments")
    expect(html).to_have_attribute("dir", "rtl")
    page.goto("/overview?lang=fr")
    expect(html).to_have_attribute("dir", "ltr")


def test_a_mark_on_the_map_opens_its_establishment(page: Page) -> None:
    sign_in(page)
    marks = page.locator("svg.region-map a:has(.establishment)")
    pairs = marks.evaluate_all(
        """links => links.map(a => [
            a.getAttribute('href'), a.querySelector('.establishment').dataset.code
        ])"""
    )
    assert len(pairs) >= sum(DEMO_COUNTS.values())
    wrong = [(href, code) for href, code in pairs if href != f"/establishments/{code}"]
    assert not wrong, wrong[:5]
    # The CHU is the largest mark: it must be reachable by a click, not hidden under others.
    marks.filter(has=page.locator('.establishment[data-type="chu"]')).first.click()
    expect(page).to_have_url(re.compile(r"/establishments/CHU-[A-Z0-9-]+$"))
    expect(page.locator("h1")).to_contain_text("CHU")
