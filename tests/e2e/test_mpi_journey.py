"""Journeys through the master patient index in a real browser (issue 3's acceptance).

The admission agent of the Beni Makada centre types a variant of a name and
finds the person the region registered under another spelling, then opens
the person with the records of both establishments. A clinician of Tétouan
opens the review queue, resolves a pair and sees it leave the queue.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.support import ADMISSION_AGENT, CLINICIAN_TETOUAN, path_of, sign_in

pytestmark = pytest.mark.e2e

# The demo registers him at the agent's centre and, spelt "Mhamed El Amrani", at the
# Tanger regional hospital (src/parcours/demo/patients_plan.py).
SHOWCASE = "Mohammed Elamrani"
SHOWCASE_BORN = "14/03/1978"
DESK = "CSU2-TNG-001"
REGIONAL_HOSPITAL = "HR-TNG-01"


def test_the_admission_desk_finds_a_person_by_another_spelling(page: Page) -> None:
    sign_in(page, ADMISSION_AGENT)
    page.get_by_role("link", name="Patients", exact=True).click()
    expect(page).to_have_url(re.compile(r"/patients$"))

    page.fill("#patient-search input[name=q]", "mhamed el amrani")
    page.click("#search-persons")
    rows = page.locator("table#persons tbody tr").filter(has_text=SHOWCASE_BORN)
    expect(rows).to_have_count(1)
    link = rows.locator("a.person-link")
    expect(link).to_have_text(SHOWCASE)
    link.click()

    expect(page).to_have_url(re.compile(r"/persons/P\d+$"))
    expect(page.locator("h1#person-name")).to_contain_text(SHOWCASE)
    records = page.locator("table#records tbody tr")
    expect(records).to_have_count(2)
    sites = sorted(
        records.evaluate_all("rows => rows.map(r => r.dataset.establishment)")  # type: ignore[arg-type]
    )
    assert sites == [DESK, REGIONAL_HOSPITAL]
    expect(page.locator("table#records")).to_contain_text("Mhamed")
    expect(page.locator("section#link-history li")).to_have_count(2)


def test_typing_in_the_search_box_shows_the_persons_without_submitting(page: Page) -> None:
    sign_in(page, ADMISSION_AGENT)
    page.goto("/patients")
    page.locator("#patient-search input[name=q]").press_sequentially("elamrani moh", delay=30)
    expect(page.locator("table#persons a.person-link", has_text=SHOWCASE).first).to_be_visible()
    assert path_of(page) == "/patients"


def test_a_reviewer_resolves_a_pair_and_it_leaves_the_queue(page: Page) -> None:
    sign_in(page, CLINICIAN_TETOUAN)
    page.get_by_role("link", name="File de revue").click()
    expect(page).to_have_url(re.compile(r"/mpi/reviews$"))
    first = page.locator("table#reviews tbody tr").first
    expect(first).to_be_visible()
    review_id = first.get_attribute("data-review")
    assert review_id
    first.locator("a.review-link").click()

    expect(page).to_have_url(re.compile(rf"/mpi/reviews/{review_id}$"))
    compare = page.locator("table#review-compare")
    expect(compare).to_be_visible()
    expect(compare.locator("td.bits").first).to_be_visible()
    page.fill("#review-decision textarea[name=reason]", "Deux personnes : dates différentes")
    page.click("button#review-keep-apart")

    expect(page).to_have_url(re.compile(rf"decided={review_id}"))
    page.goto("/mpi/reviews")
    expect(page.locator(f'table#reviews tr[data-review="{review_id}"]')).to_have_count(0)
    page.goto("/mpi/reviews?status=kept_apart")
    expect(page.locator(f'table#reviews tr[data-review="{review_id}"]')).to_have_count(1)
