"""Every main page, in French and Arabic, on a desk screen and on a phone.

Health-centre staff often read Parcours on a phone over a rural mobile link, so
each page must fit a 390-pixel screen without sideways scrolling and stay
light. With ``PARCOURS_E2E_SHOTS=<dir>`` the walk also saves a full-page
screenshot of each page and ``weights.json`` (bytes transferred per page, with
its assets, in a fresh browser session) for a person to look at.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page, Request, expect

from tests.e2e.support import NewPage, path_of, sign_in

pytestmark = pytest.mark.e2e

SHOTS = os.environ.get("PARCOURS_E2E_SHOTS")
# Bytes on the wire for one page and its assets, fresh browser session (gzip on). A 2G/EDGE link
# carries roughly 20 KB/s: this budget keeps a page under about five seconds there
# (the registry pages weigh 6–17 KB today).
PAGE_BUDGET = 100_000


@dataclass
class Weight:
    page: str
    locale: str
    width: int
    requests: int
    transferred: int
    decoded: int


class Meter:
    """Counts what the browser downloads between two navigations."""

    def __init__(self, page: Page) -> None:
        self.finished: list[Request] = []
        page.on("requestfinished", lambda request: self.finished.append(request))

    def visit(self, page: Page, url: str | None, name: str, locale: str, width: int) -> Weight:
        self.finished.clear()
        if url is not None:
            response = page.goto(url)
            assert response is not None
            assert response.ok, f"{url}: {response.status}"
        page.wait_for_load_state("networkidle")
        transferred = decoded = 0
        for request in self.finished:
            sizes = request.sizes()
            transferred += sizes["responseBodySize"] + sizes["responseHeadersSize"]
            response = request.response()
            if response is not None and request.method == "GET":
                try:
                    decoded += len(response.body())
                except Exception:  # a redirect has no body to give
                    decoded += 0
        return Weight(name, locale, width, len(self.finished), transferred, decoded)


def _fits(page: Page) -> int:
    """How many pixels the document sticks out sideways (0: no horizontal scrolling)."""
    return int(
        page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    )


def _record(weight: Weight, page: Page) -> None:
    if not SHOTS:
        return
    folder = Path(SHOTS)
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{weight.page}-{weight.locale}-{weight.width}"
    page.screenshot(path=str(folder / f"{stem}.png"), full_page=True)
    store = folder / "weights.json"
    known = json.loads(store.read_text()) if store.exists() else {}
    known[stem] = asdict(weight)
    store.write_text(json.dumps(known, indent=2, sort_keys=True))


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("locale", ["fr", "ar"])
def test_main_pages_fit_the_screen_and_stay_light(
    new_page: NewPage, locale: str, width: int
) -> None:
    page = new_page(locale="ar-MA" if locale == "ar" else "fr-FR", width=width, height=900)
    meter = Meter(page)
    direction = "rtl" if locale == "ar" else "ltr"
    problems: list[str] = []

    def check(name: str, url: str | None) -> None:
        weight = meter.visit(page, url, name, locale, width)
        expect(page.locator("html")).to_have_attribute("dir", direction)
        overflow = _fits(page)
        if overflow > 0:
            problems.append(f"{name}: {overflow}px wider than the {width}px screen")
        if weight.transferred > PAGE_BUDGET:
            problems.append(f"{name}: {weight.transferred} bytes transferred > {PAGE_BUDGET}")
        _record(weight, page)

    check("login", f"/login?lang={locale}")
    sign_in(page)
    assert path_of(page) == "/overview"
    check("overview", "/overview")
    check("list", "/establishments")
    first = page.locator("a.establishment-link").first.get_attribute("href")
    assert first is not None
    check("establishment", first)
    assert not problems, "\n".join(problems)


def test_maps_fit_a_phone_stay_west_left_in_arabic_and_open_their_marks(
    new_page: NewPage,
) -> None:
    page = new_page(locale="ar-MA", width=390, height=900)
    sign_in(page)
    region = page.locator("svg.region-map")
    box = region.bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= 390  # scaled to the screen, no sideways box
    frame = page.locator(".map-frame").first
    assert frame.evaluate("e => getComputedStyle(e).direction") == "ltr"

    def x_of(code_prefix: str) -> float:
        mark = region.locator(f'.establishment[data-code^="{code_prefix}"]').first
        found = mark.bounding_box()
        assert found is not None, code_prefix
        return found["x"]

    assert x_of("HP-LAR") < x_of("HP-TNG") < x_of("HP-HOC")  # west on the left, even in Arabic

    # The zoom on Tanger and Tétouan is filled by the script from the region map's marks.
    zoom = page.locator("svg.zoom-map")
    expect(zoom).to_be_visible()
    copies = zoom.locator(".points a")
    assert copies.count() >= 100
    assert zoom.locator("[data-code]").count() == 0  # the hooks stay on the region map
    zoom_box = zoom.bounding_box()
    assert zoom_box is not None
    assert zoom_box["x"] + zoom_box["width"] <= 390
    chu = zoom.locator('.points a[href^="/establishments/CHU-"]')
    expect(chu).to_have_count(1)
    chu.click()
    expect(page).to_have_url(re.compile(r"/establishments/CHU-[A-Z0-9-]+$"))


@pytest.mark.parametrize("width", [1280, 390])
def test_the_list_keeps_search_at_hand_and_folds_other_filters_on_phones(
    new_page: NewPage, width: int
) -> None:
    page = new_page(width=width, height=900)
    sign_in(page)
    page.goto("/establishments")
    form = page.locator("form#filters")
    expect(form.locator("input[name=q]")).to_be_visible()
    expect(page.locator("#apply-filters")).to_be_visible()
    others = form.locator("select[name=type]")
    if width < 600:
        expect(others).to_be_hidden()
        # The first screen shows results, not only filters.
        first_row = page.locator("table#establishments tbody tr").first
        row_box = first_row.bounding_box()
        assert row_box is not None
        assert row_box["y"] < 900, row_box
        form.locator("details.more-filters > summary").click()
    expect(others).to_be_visible()
