"""A referral from a rural health centre to cardiology and back, in a real browser (issue 4).

The nurse of a rural centre refers a patient to cardiology; the routing
proposes the province's hospital, as the pathway map designates; the
hospital's cardiologist accepts and schedules; the patient arrives; the
counter-referral appears in the centre's inbox and on the patient's timeline.

The setup picks, in the demo region of the live server, a rural centre whose
province's hospital offers cardiology, and gives it a nurse and the hospital a
cardiologist (as the regional administrator would); the patient is registered
at the centre's desk. Everything after that is done through the pages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from parcours.access import service as access
from parcours.access.rules import Role, Scope, ScopeKind, system_principal
from parcours.db import make_engine, make_session_factory
from parcours.pathways import network, service
from parcours.pathways.pathway_map import DesignationRule, designated_destination
from parcours.patients import service as patients
from parcours.patients.schemas import RecordIn
from parcours.territory import service as territory
from parcours.territory.rules import EstablishmentType
from tests.e2e.support import LiveServer, sign_in, sign_out

pytestmark = pytest.mark.e2e

PASSWORD = "mot-de-passe-du-parcours"
SPECIALTY = "cardiology"


@dataclass(frozen=True)
class Cast:
    centre: str
    hospital: str
    hospital_name: str
    person: str
    nurse: str
    cardiologist: str


@pytest.fixture(scope="module")
def cast(live_server: LiveServer) -> Cast:
    engine = make_engine(live_server.database_url)
    try:
        with make_session_factory(engine)() as db:
            net = network.load(db)
            version = service.current_map(db)
            centre = hospital = None
            for code, est in sorted(net.index.by_code.items()):
                if est.type not in (EstablishmentType.CSR_1, EstablishmentType.CSR_2):
                    continue
                found = designated_destination(code, SPECIALTY, version, net.index)
                if found and found.rule is DesignationRule.LEVEL_2_PROVINCE:
                    target = net.index.get(found.destination)
                    if target and target.type is EstablishmentType.PROVINCIAL_HOSPITAL:
                        centre, hospital = code, found.destination
                        break
            assert centre, "no rural centre whose provincial hospital has cardiology"
            assert hospital
            system = system_principal("e2e")
            provinces = territory.province_of_establishments(db)
            known = {p.code for p in territory.list_provinces(db)}
            for username, role, code in (
                ("infirmiere.parcours", Role.CLINICIAN, centre),
                ("cardiologue.parcours", Role.CLINICIAN, hospital),
            ):
                access.create_user(
                    db,
                    system,
                    username=username,
                    password=PASSWORD,
                    role=role,
                    scope=Scope(ScopeKind.ESTABLISHMENT, frozenset({code})),
                    province_of=provinces,
                    province_codes=known,
                )
            desk = access.principal_of(access.get_user(db, "infirmiere.parcours"), "cli")
            person = patients.register_record(
                db,
                desk,
                RecordIn(
                    establishment=centre,
                    local_id="E2E-CARDIO-1",
                    given_name="Zoubida",
                    family_name="Parcoursienne",
                    sex="F",
                    birth_date="1958",
                    commune="Bab Taza",
                ),
            ).person_id
            return Cast(
                centre,
                hospital,
                net.name(hospital),
                person,
                "infirmiere.parcours",
                "cardiologue.parcours",
            )
    finally:
        engine.dispose()


def act(page: Page, action: str) -> None:
    page.locator(f"form.act[data-action={action}] button[type=submit]").click()
    expect(page.locator(".success[role=status]")).to_be_visible()


def test_a_nurse_refers_to_cardiology_and_the_report_comes_back(page: Page, cast: Cast) -> None:
    # the nurse of the rural centre starts the referral from the patient's file
    sign_in(page, cast.nurse, PASSWORD)
    page.goto(f"/persons/{cast.person}")
    page.locator("#pathway-links").get_by_role("link", name="Référer ce patient").click()
    page.select_option("#routing-form select[name=specialty]", SPECIALTY)
    page.click("#propose")
    first = page.locator("#routing li.proposal").first
    expect(first).to_have_attribute("data-code", cast.hospital)
    expect(first.locator(".flag[data-flag=designated]")).to_be_visible()
    expect(first.locator("input[type=radio]")).to_be_checked()
    page.fill("textarea[name=reason]", "Souffle systolique, dyspnée d'effort")
    page.fill("textarea[name=clinical_summary]", "TA 150/90. ECG : rythme sinusal.")
    page.click("#send-referral")
    expect(page.locator("#referral")).to_have_attribute("data-state", "sent")
    referral_id = page.locator("#referral").get_attribute("data-referral")
    sign_out(page)

    # the hospital's cardiologist finds it in the inbox, accepts and schedules
    sign_in(page, cast.cardiologist, PASSWORD)
    page.get_by_role("link", name="Références", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/establishments/{cast.hospital}/inbox$"))
    page.locator(f"#incoming tr[data-referral='{referral_id}'] a").click()
    act(page, "accept")
    expect(page.locator("#referral")).to_have_attribute("data-state", "accepted")
    tomorrow = datetime.now(ZoneInfo("Africa/Casablanca")) + timedelta(days=1)
    page.fill(
        "form.act[data-action=schedule] input[name=appointment_at]",
        tomorrow.strftime("%Y-%m-%dT10:00"),
    )
    act(page, "schedule")
    expect(page.locator("#appointment")).to_contain_text(tomorrow.strftime("%d/%m/%Y 10:00"))
    # the patient arrives; the consultation is done and the report written
    act(page, "arrive")
    page.fill(
        "form.act[data-action=complete] textarea[name=counter_referral]",
        "Rétrécissement mitral modéré. Traitement débuté ; contrôle dans six mois au centre.",
    )
    act(page, "complete")
    expect(page.locator("#referral")).to_have_attribute("data-state", "completed")
    sign_out(page)

    # back at the centre: the counter-referral is in the inbox and on the timeline
    sign_in(page, cast.nurse, PASSWORD)
    page.get_by_role("link", name="Références", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/establishments/{cast.centre}/inbox$"))
    returned = page.locator(f"#counter-referrals tr[data-referral='{referral_id}']")
    expect(returned).to_contain_text(cast.hospital_name)
    returned.locator("a").click()
    expect(page.locator("#counter-referral")).to_contain_text("Rétrécissement mitral modéré")
    page.goto(f"/persons/{cast.person}/timeline")
    report = page.locator(".tl[data-type=counter_referral]").first
    expect(report).to_contain_text("Rétrécissement mitral modéré")
    expect(page.locator(".tl[data-type=encounter]").first).to_contain_text(cast.hospital_name)
