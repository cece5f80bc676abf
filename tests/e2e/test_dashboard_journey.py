"""The regional director reads the reform's indicators in a real browser (issue 7's acceptance).

On the demo (seed 7): the regional administrator opens the indicators from the
main navigation, reads the before/after comparison of the referral response
delay around the pilot's start (1 October 2025), drills down from the region
to the province of Tangier and on to the CHU, and exports the table as CSV.
Every chart is inline SVG served by the application (no request leaves it).
"""

from __future__ import annotations

import csv
import io
import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.support import sign_in

pytestmark = pytest.mark.e2e

CHU = "CHU-TNG-01"


def number(text: str) -> float:
    cleaned = re.sub(r"[^\d,.-]", "", text).replace(",", ".")
    return float(cleaned)


def test_the_regional_director_compares_before_and_after_and_drills_down(page: Page) -> None:
    outside: list[str] = []
    page.on(
        "request",
        lambda r: (
            outside.append(r.url) if not r.url.startswith(("http://127.0.0.1", "data:")) else None
        ),
    )
    sign_in(page)
    page.click("nav.mainnav >> text=Indicateurs")
    expect(page).to_have_url(re.compile(r"/indicators$"))
    expect(page.locator("#board-title")).to_have_attribute("data-level", "region")

    # The before/after comparison of the response delay, as numbers and as a chart.
    panel = page.locator("#before-after")
    expect(panel).to_contain_text("Délai de réponse aux références")
    before = number(panel.locator('[data-kpi="before"]').inner_text())
    after = number(panel.locator('[data-kpi="after"]').inner_text())
    assert before > 0
    assert after > 0
    expect(panel.locator('svg.before-after rect[data-side="after"]')).to_have_count(1)
    # the definition is one click away
    expect(panel.locator("a[href='/indicators/definitions/REF_DELAI_MED']")).to_be_visible()

    # Drill down: the province of Tangier, then the CHU.
    page.click('#children tr[data-unit="TNG"] a')
    expect(page).to_have_url(re.compile(r"/indicators/provinces/TNG"))
    expect(page.locator("#board-title")).to_have_attribute("data-level", "province")
    expect(page.locator("#trail")).to_contain_text("Tanger")
    page.click(f'#children tr[data-unit="{CHU}"] a')
    expect(page).to_have_url(re.compile(rf"/indicators/establishments/{CHU}"))
    expect(page.locator("#board-title")).to_have_attribute("data-unit", CHU)
    expect(page.locator('tr[data-indicator="REF_DELAI_MED"]')).to_be_visible()

    # Export the table of the CHU.
    with page.expect_download() as download:
        page.click("#export-csv")
    path = download.value.path()
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8")), delimiter=";"))
    assert rows[0][:3] == ["indicateur", "nom", "niveau"]
    codes = {r[0] for r in rows[1:] if r[3] == CHU}
    assert "REF_DELAI_MED" in codes
    assert "TAUX_OCCUPATION" in codes
    assert not outside, outside
