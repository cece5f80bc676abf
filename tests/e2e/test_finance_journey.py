"""The regional finance officer records a commitment and opens a late action (issue 6's
acceptance), in a real browser on the demo (seed 7).

The officer of the whole GST opens the execution of the year, narrows it to the CHU,
opens its laboratory line, commits 100,000 DH on it and sees the line's commitment rate
and available credit move by exactly that; orders and pays it and sees the execution rate
(paid / allocated) move too; finds the same figures back in the CHU's execution table;
then opens the transitional programme and one of its late actions.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.support import sign_in

pytestmark = pytest.mark.e2e

FINANCE_OFFICER = "finance.region"
CHU = "CHU-TNG-01"
AMOUNT = Decimal("100000.00")


def amount(text: str) -> Decimal:
    """1 234 567,89 (narrow no-break spaces) → Decimal."""
    cleaned = re.sub(r"[^\d,-]", "", text).replace(",", ".")
    return Decimal(cleaned)


def rate(text: str) -> Decimal:
    """12,3 % → Decimal('12.3'); — (no credit) is refused."""
    cleaned = re.sub(r"[^\d,]", "", text).replace(",", ".")
    assert cleaned, text
    return Decimal(cleaned)


def kpi(page: Page, name: str) -> str:
    return page.locator(f'#line-totals [data-kpi="{name}"]').inner_text()


def record(page: Page, kind: str, value: str, reason: str) -> None:
    form = page.locator("#movement-form")
    form.locator("select[name=kind]").select_option(kind)
    form.locator("input[name=amount]").fill(value)
    form.locator("input[name=reason]").fill(reason)
    form.locator("button[type=submit]").click()
    expect(page.locator("p.success")).to_be_visible()


def test_the_finance_officer_commits_pays_and_opens_a_late_action(page: Page) -> None:
    sign_in(page, FINANCE_OFFICER)
    page.click("nav.mainnav >> text=Finances")
    expect(page).to_have_url(re.compile(r"/finance$"))
    expect(page.locator("h1#execution")).to_contain_text("Exécution du budget")
    expect(page.locator("svg.execution-chart")).to_be_visible()
    region_allocated = amount(page.locator('[data-kpi="allocated"]').inner_text())
    assert Decimal(3_000_000_000) < region_allocated < Decimal(6_000_000_000)

    # The CHU's lines, then its laboratory line.
    page.fill("#execution-filters input[name=establishment]", CHU)
    page.click("#execution-filters button[type=submit]")
    expect(page).to_have_url(re.compile(rf"establishment={CHU}"))
    page.click("#line-table >> text=Consommables et laboratoire")
    expect(page.locator("h1#budget-line")).to_contain_text("Consommables et laboratoire")
    line_id = page.locator("h1#budget-line").get_attribute("data-line")
    allocated = amount(kpi(page, "allocated"))
    committed = amount(kpi(page, "committed"))
    available = amount(kpi(page, "available"))
    paid = amount(kpi(page, "paid"))
    assert available > AMOUNT
    commitment_rate = rate(kpi(page, "commitment-rate"))
    execution_rate = rate(kpi(page, "execution-rate"))

    # The commitment: the available credit and the commitment rate move by exactly it.
    record(page, "commitment", "100 000,00", "Réactifs d'hématologie, marché n° 2026-117")
    assert amount(kpi(page, "committed")) == committed + AMOUNT
    assert amount(kpi(page, "available")) == available - AMOUNT
    expected = ((committed + AMOUNT) / allocated * 100).quantize(Decimal("0.1"))
    assert rate(kpi(page, "commitment-rate")) == expected
    assert rate(kpi(page, "commitment-rate")) > commitment_rate or expected == commitment_rate
    first = page.locator("#movement-table tbody tr").first
    expect(first).to_have_attribute("data-kind", "commitment")
    expect(first).to_contain_text("finance.region")

    # Ordered and paid: the execution rate (paid / allocated) moves.
    record(page, "payment_order", "100000.00", "Service fait")
    record(page, "payment", "100000.00", "Virement au fournisseur")
    assert amount(kpi(page, "paid")) == paid + AMOUNT
    expected = ((paid + AMOUNT) / allocated * 100).quantize(Decimal("0.1"))
    assert rate(kpi(page, "execution-rate")) == expected
    assert rate(kpi(page, "execution-rate")) >= execution_rate

    # The same figures in the CHU's execution table.
    page.goto(f"/finance?establishment={CHU}")
    row = page.locator(f'#line-table tr[data-line="{line_id}"]')
    expect(row).to_be_visible()
    assert amount(row.locator('[data-cell="available"]').inner_text()) == available - AMOUNT

    # An overrun is refused with a clear message.
    page.goto(f"/finance/lines/{line_id}")
    form = page.locator("#movement-form")
    form.locator("select[name=kind]").select_option("commitment")
    form.locator("input[name=amount]").fill(f"{available:.2f}")
    form.locator("input[name=reason]").fill("Marché trop gros")
    form.locator("button[type=submit]").click()
    expect(page.locator("div.error")).to_contain_text("Crédit insuffisant")
    assert amount(kpi(page, "committed")) == committed + AMOUNT

    # The transitional programme and one of its late actions.
    page.click("nav.tabs >> text=Programmes d'action")
    expect(page.locator("#late-actions")).to_be_visible()
    page.locator(".programme h2 a").first.click()
    expect(page.locator("h1#programme")).to_be_visible()
    late = page.locator("#action-table tr.late")
    assert late.count() >= 1
    late.first.locator("a").first.click()
    expect(page.locator("h1#action")).to_have_attribute("data-late", "yes")
    expect(page.locator("#late-notice")).to_contain_text("Action en retard")
