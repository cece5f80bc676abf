"""The care pathway pages through HTTP, on both databases: forms, refusals, scope, Arabic."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from parcours.access.models import AuditEvent
from parcours.access.rules import Role
from parcours.pathways.models import Encounter, Referral
from tests.conftest import MakeUser, login
from tests.pathways.conftest import CENTRE, CHU, PROVINCIAL, Network, known_at


@pytest.fixture
def people(network: Network, make_user: MakeUser) -> dict[str, str]:
    make_user("nurse", Role.CLINICIAN, f"establishment:{CENTRE}")
    make_user("cardio", Role.CLINICIAN, f"establishment:{PROVINCIAL}")
    make_user("chu", Role.CLINICIAN, f"establishment:{CHU}")
    make_user("admin", Role.REGIONAL_ADMIN, "gst")
    return {"nurse": "nurse", "cardio": "cardio", "chu": "chu", "admin": "admin"}


def _csrf(client: TestClient, username: str) -> str:
    client.cookies.clear()
    return login(client, username)


def _refer(client: TestClient, network: Network, csrf: str, **extra: str) -> int:
    response = client.post(
        "/referrals/new",
        data={
            "csrf_token": csrf,
            "person": network.person,
            "from": CENTRE,
            "specialty": "cardiology",
            "priority": "routine",
            "destination": PROVINCIAL,
            "reason": "Souffle cardiaque",
            "clinical_summary": "Dyspnée d'effort",
            "attachments": "ecg.pdf\nradio-thorax.jpg",
        }
        | extra,
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    match = re.fullmatch(r"/referrals/(\d+)\?done=created", response.headers["location"])
    assert match
    return int(match.group(1))


def test_the_new_referral_page_proposes_the_map_destination_then_sends(
    app_client: TestClient, network: Network, people: dict[str, str]
) -> None:
    csrf = _csrf(app_client, "nurse")
    page = app_client.get(
        "/referrals/new", params={"person": network.person, "specialty": "cardiology"}
    )
    assert page.status_code == 200
    proposals = re.findall(r'class="proposal[^"]*" data-code="([^"]+)"', page.text)
    assert proposals[0] == PROVINCIAL
    assert f'value="{PROVINCIAL}" checked' in page.text
    assert 'id="patient"' in page.text
    assert "El Idrissi" in page.text
    assert f'<option value="{CENTRE}" selected' in page.text
    assert "Désigné par la carte sanitaire (version 1) : hôpital de niveau 2" in page.text
    referral_id = _refer(app_client, network, csrf)
    shown = app_client.get(f"/referrals/{referral_id}")
    assert shown.status_code == 200
    assert 'data-state="sent"' in shown.text
    assert "radio-thorax.jpg" in shown.text
    assert "conforme à la carte" in shown.text
    arabic = app_client.get(
        "/referrals/new",
        params={"person": network.person, "specialty": "cardiology", "lang": "ar"},
    )
    assert "معيّن بالخريطة الصحية (الصيغة 1)" in arabic.text
    assert "Désigné par" not in arabic.text


def test_the_new_referral_page_starts_where_the_patient_has_a_record(
    app_client: TestClient, network: Network, people: dict[str, str], make_user: MakeUser
) -> None:
    make_user("regulation", Role.CLINICIAN, "gst")  # GST-wide: no establishment of its own
    _csrf(app_client, "regulation")
    page = app_client.get(
        "/referrals/new", params={"person": network.person, "specialty": "cardiology"}
    )
    assert page.status_code == 200
    assert f'name="from" value="{CENTRE}"' in page.text
    proposals = re.findall(r'class="proposal[^"]*" data-code="([^"]+)"', page.text)
    assert proposals[0] == PROVINCIAL

    _csrf(app_client, "chu")  # the patient has no record at the CHU: not shown
    elsewhere = app_client.get("/referrals/new", params={"person": network.person})
    assert elsewhere.status_code == 200
    assert 'id="patient"' not in elsewhere.text
    assert "El Idrissi" not in elsewhere.text
    assert "aucune fiche dans votre périmètre" in elsewhere.text


def test_a_refused_form_keeps_what_was_typed(
    app_client: TestClient, network: Network, people: dict[str, str]
) -> None:
    csrf = _csrf(app_client, "nurse")
    response = app_client.post(
        "/referrals/new",
        data={
            "csrf_token": csrf,
            "person": network.person,
            "from": CENTRE,
            "specialty": "cardiology",
            "destination": "NOPE-01",
            "reason": "Souffle cardiaque persistant",
        },
    )
    assert response.status_code == 404
    assert "Établissement introuvable" in response.text
    assert "Souffle cardiaque persistant" in response.text


def test_actions_move_the_state_and_a_stale_page_is_refused(
    app_client: TestClient, network: Network, people: dict[str, str]
) -> None:
    referral_id = _refer(app_client, network, _csrf(app_client, "nurse"))
    csrf = _csrf(app_client, "cardio")
    page = app_client.get(f"/referrals/{referral_id}")
    assert 'data-action="accept"' in page.text
    accepted = app_client.post(
        f"/referrals/{referral_id}/act",
        data={"csrf_token": csrf, "action": "accept", "expected_version": "2"},
        follow_redirects=False,
    )
    assert accepted.status_code == 303
    again = app_client.post(
        f"/referrals/{referral_id}/act",
        data={"csrf_token": csrf, "action": "refuse", "reason": "doublon", "expected_version": "2"},
    )
    assert again.status_code == 409
    assert "La référence a été modifiée entre-temps" in again.text
    assert 'data-state="accepted"' in again.text
    no_csrf = app_client.post(
        f"/referrals/{referral_id}/act", data={"action": "schedule", "immediate": "on"}
    )
    assert no_csrf.status_code == 403


def test_inboxes_and_the_timeline_are_scoped(
    app_client: TestClient, db: Session, network: Network, people: dict[str, str]
) -> None:
    referral_id = _refer(app_client, network, _csrf(app_client, "nurse"))
    box = app_client.get(f"/establishments/{CENTRE}/inbox")
    assert box.status_code == 200
    assert f'data-referral="{referral_id}"' in box.text
    assert app_client.get(f"/establishments/{CHU}/inbox").status_code == 403
    mine = app_client.get("/inbox", follow_redirects=False)
    assert mine.headers["location"] == f"/establishments/{CENTRE}/inbox"
    line = app_client.get(f"/persons/{network.person}/timeline")
    assert line.status_code == 200
    assert 'data-type="referral"' in line.text

    csrf = _csrf(app_client, "chu")
    refused = app_client.get(f"/persons/{network.person}/timeline")
    assert refused.status_code == 403
    assert 'id="break-glass"' in refused.text
    opened = app_client.post(
        f"/persons/{network.person}/timeline",
        data={"csrf_token": csrf, "reason": "Patiente admise inconsciente"},
    )
    assert opened.status_code == 200
    assert "Accès exceptionnel hors périmètre" in opened.text
    db.expire_all()
    reasons = db.scalars(
        select(AuditEvent.reason).where(AuditEvent.action == "person.timeline.read.emergency")
    ).all()
    assert reasons == ["Patiente admise inconsciente"]


def test_encounters_and_discharges_from_the_timeline(
    app_client: TestClient, db: Session, network: Network, people: dict[str, str]
) -> None:
    make = app_client.post  # the cardiologist admits at the hospital
    csrf = _csrf(app_client, "cardio")
    stranger = make(
        f"/persons/{network.person}/encounters",
        data={"csrf_token": csrf, "establishment": PROVINCIAL, "kind": "consultation"},
    )
    assert stranger.status_code == 403
    assert "pas connue de" in stranger.text
    known_at(db, network.person, PROVINCIAL)  # the hospital's desk registers her first
    admitted = make(
        f"/persons/{network.person}/encounters",
        data={
            "csrf_token": csrf,
            "establishment": PROVINCIAL,
            "kind": "admission",
            "specialty": "cardiology",
            "diagnoses": "I50.9",
        },
        follow_redirects=False,
    )
    assert admitted.status_code == 303, admitted.text
    full = make(
        f"/persons/{network.person}/encounters",
        data={
            "csrf_token": csrf,
            "establishment": PROVINCIAL,
            "kind": "admission",
            "specialty": "cardiology",
        },
    )
    assert full.status_code == 409
    assert "complet" in full.text
    db.expire_all()
    stay = db.scalars(select(Encounter.id)).one()
    db.rollback()  # SQLite: a reading transaction here would hold the write lock
    out = make(
        f"/encounters/{stay}/discharge",
        data={"csrf_token": csrf, "person": network.person, "mode": "home"},
        follow_redirects=False,
    )
    assert out.status_code == 303
    line = app_client.get(f"/persons/{network.person}/timeline")
    assert "I50.9" in line.text
    assert "Retour à domicile" in line.text


def test_the_map_and_the_beds_pages(
    app_client: TestClient, db: Session, network: Network, people: dict[str, str]
) -> None:
    _refer(app_client, network, _csrf(app_client, "nurse"))
    _refer(app_client, network, _csrf(app_client, "nurse"), destination=CHU)
    csrf = _csrf(app_client, "admin")
    drawn = app_client.get("/pathways/map", params={"specialty": "cardiology"})
    assert drawn.status_code == 200
    assert f'data-source="{CENTRE}" data-destination="{PROVINCIAL}"' in drawn.text
    assert re.search(r'id="outside-map">1<', drawn.text)
    assert drawn.text.count('<path class="flow"') == 1  # the arrow along the map
    assert drawn.text.count('<path class="flow outside"') == 1  # and the one to the CHU
    assert 'class="band"' in drawn.text  # the level flow diagram
    assert 'id="amend-map"' in drawn.text
    amended = app_client.post(
        "/pathways/map/versions",
        data={
            "csrf_token": csrf,
            "change": "add",
            "source": CENTRE,
            "exception_specialty": "cardiology",
            "destination": CHU,
            "reason": "Essai de filière directe",
        },
        follow_redirects=False,
    )
    assert amended.status_code == 303
    assert "done=v2" in amended.headers["location"]
    beds = app_client.get("/beds", params={"specialty": "cardiology"})
    assert beds.status_code == 200
    assert f'data-establishment="{PROVINCIAL}" data-specialty="cardiology"' in beds.text
    hospitals = app_client.get("/beds", params={"level": "2"})
    assert f'data-establishment="{PROVINCIAL}"' in hospitals.text
    assert f'data-establishment="{CHU}"' not in hospitals.text
    assert 'class="subtotal"' in hospitals.text  # the hospital's services, and their total
    db.expire_all()
    assert db.scalar(select(Referral.map_version).limit(1)) == 1


def test_the_pages_in_arabic_are_right_to_left(
    app_client: TestClient, network: Network, people: dict[str, str]
) -> None:
    _csrf(app_client, "nurse")
    page = app_client.get("/pathways/map", params={"specialty": "cardiology", "lang": "ar"})
    assert page.status_code == 200
    assert 'dir="rtl"' in page.text
    assert "خريطة مسارات العلاج" in page.text
    box = app_client.get(f"/establishments/{CENTRE}/inbox")
    assert "صندوق الإحالات" in box.text
