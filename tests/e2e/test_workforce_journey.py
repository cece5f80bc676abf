"""The regional HR officer closes a gap in anaesthesia in a real browser (issue 5's acceptance).

On the demo (seed 7): the officer of the whole GST reads the workforce overview
(about 7,000 professionals, by category and province, the density against the
WHO threshold), opens the gaps map filtered on anaesthesia, finds the
provincial hospital of Al Hoceïma short of anaesthetists, opens the request
waiting in their inbox (an anaesthetist of the CHU, both establishments'
opinions given), approves it with today as the effective date, and finds the
hospital's gap one smaller in the table.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.support import sign_in

pytestmark = pytest.mark.e2e

REGIONAL_HR = "rh.region"
HOSPITAL = "HP-HOC-01"  # the provincial hospital of Al Hoceïma
CHU = "CHU-TNG-01"


def number(text: str) -> float:
    cleaned = re.sub(r"[^\d,.-]", "", text).replace(",", ".")
    return float(cleaned or 0)


def test_the_regional_hr_officer_moves_an_anaesthetist_where_one_is_missing(page: Page) -> None:
    sign_in(page, REGIONAL_HR)
    page.click("nav.mainnav >> text=Ressources humaines")
    expect(page).to_have_url(re.compile(r"/workforce$"))
    professionals = number(page.locator('[data-kpi="professionals"]').inner_text())
    assert 6_500 <= professionals <= 7_500
    density = number(page.locator("#region-density").inner_text())
    assert 0 < density < 44.5  # below the WHO threshold, like the real region
    expect(page.locator("#by-category")).to_contain_text("Infirmier polyvalent")
    expect(page.locator('#by-province tr[data-province="TNG"]')).to_be_visible()

    # The gaps in anaesthesia: anaesthetists only.
    page.click("nav.tabs >> text=Écarts à la norme")
    page.select_option("select[name=specialty]", "anaesthesia_icu")
    page.select_option("select[name=category]", "specialist")
    page.click("#gap-filters button[type=submit]")
    expect(page).to_have_url(re.compile(r"specialty=anaesthesia_icu"))
    row = page.locator(f'#gap-table tr[data-establishment="{HOSPITAL}"]')
    expect(row).to_be_visible()
    before = number(row.locator("[data-deficit]").inner_text())
    present = number(row.locator("[data-present]").inner_text())
    assert before >= 1
    expect(page.locator(f'.gaps-map [data-code="{HOSPITAL}"]')).to_have_count(1)

    # The request waiting for the regional decision.
    page.click("nav.tabs >> text=Mobilité")
    request = page.locator(f'#mobility-inbox tr[data-from="{CHU}"][data-to="{HOSPITAL}"]')
    expect(request).to_have_count(1)
    request.locator("a").first.click()
    expect(page.locator("#mobility-request")).to_have_attribute("data-state", "awaiting_decision")
    expect(page.locator("#step-table")).to_contain_text("Avis de l'établissement d'origine")
    approve = page.locator('form[data-action="approve"]')
    approve.locator("input[name=reason]").fill("renfort du bloc opératoire d'Al Hoceïma")
    approve.locator("button[type=submit]").click()
    expect(page.locator("p.success")).to_be_visible()
    expect(page.locator("#mobility-request")).to_have_attribute("data-state", "effective")
    expect(page.locator("#step-table tr[data-action=approve]")).to_contain_text("rh.region")
    expect(page.locator("#step-table tr[data-action=take_effect]")).to_be_visible()
    expect(page.locator("#decision")).to_contain_text("jours après la demande")

    # The gap table now counts the anaesthetist at the hospital.
    page.goto("/workforce/gaps?specialty=anaesthesia_icu&category=specialist")
    row = page.locator(f'#gap-table tr[data-establishment="{HOSPITAL}"]')
    if before > 1:
        expect(row.locator("[data-deficit]")).to_have_text(
            re.compile(re.escape(f"{before - 1:.1f}".replace(".", ",")))
        )
        assert number(row.locator("[data-present]").inner_text()) == present + 1
    else:
        expect(row).to_have_count(0)
    # And the professional's file shows the move.
    page.goto(f"/workforce/establishments/{HOSPITAL}")
    expect(page.locator('section[data-service="anaesthesia_icu"]')).to_contain_text(
        "Médecin spécialiste"
    )
