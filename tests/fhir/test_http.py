"""The FHIR façade driven over HTTP by a plain httpx client, on both databases.

Each test plays what an establishment's system does: get a token, create,
read, search, send bundles, and hits the refusals it must get.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from fastapi.testclient import TestClient
from fhir.resources.R4B import get_fhir_model_class
from sqlalchemy import select
from sqlalchemy.orm import Session

from parcours.access.models import AuditEvent
from parcours.access.rules import Role
from tests.fhir.conftest import Tokens, outcome, patient
from tests.pathways.conftest import CENTRE, PROVINCIAL, Network

IPP = "https://parcours.sante.ma/fhir/sid/ipp/"


def _valid(resource: dict[str, Any]) -> None:
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)


def _relative(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def test_the_capability_statement_tells_what_the_routes_do(app_client: TestClient) -> None:
    answer = app_client.get("/fhir/metadata")
    assert answer.status_code == 200
    body = answer.json()
    _valid(body)
    by_type = {r["type"]: r for r in body["rest"][0]["resource"]}
    codes = {k: {i["code"] for i in r["interaction"]} for k, r in by_type.items()}
    assert {"read", "vread", "history-instance", "search-type", "create"} <= codes["Patient"]
    assert "update" not in codes["Patient"]
    assert "update" in codes["Task"]
    assert codes["AuditEvent"] == {"search-type"}
    assert by_type["Patient"]["conditionalCreate"] is True
    assert "Encounter:patient" in by_type["Patient"]["searchRevInclude"]
    # what it says is not supported is indeed refused
    assert "create" not in codes["Organization"]
    xml = app_client.get("/fhir/metadata", params={"_format": "xml"})
    assert xml.headers["content-type"].startswith("application/fhir+xml")
    model = get_fhir_model_class("CapabilityStatement").model_validate_xml(xml.content)
    assert model.fhirVersion == body["fhirVersion"]


def test_no_token_wrong_secret_and_missing_scope(
    app_client: TestClient, db: Session, network: Network, token_for: Tokens
) -> None:
    outcome(app_client.get(f"/fhir/Patient/{network.person}"), 401)
    bad = app_client.post(
        "/fhir/auth/token",
        data={"grant_type": "client_credentials", "client_id": "nobody", "client_secret": "x"},
    )
    assert bad.status_code == 401
    assert bad.json()["error"] == "invalid_client"
    reader = token_for(Role.CLINICIAN, f"establishment:{CENTRE}", smart="system/Patient.read")
    assert app_client.get(f"/fhir/Patient/{network.person}", headers=reader).status_code == 200
    refused = outcome(
        app_client.post(
            "/fhir/Patient", json=patient("Amina", "Bennani", org=CENTRE), headers=reader
        ),
        403,
    )
    assert "system/Patient.write" in refused["issue"][0]["diagnostics"]
    outcome(app_client.get("/fhir/Organization", headers=reader), 403)
    # asking for a scope the client was not given: nothing granted
    narrow = token_for(smart="system/Patient.read", ask="system/Patient.read system/Task.write")
    assert app_client.get(f"/fhir/Patient/{network.person}", headers=narrow).status_code == 200
    outcome(app_client.get("/fhir/Task?patient=" + network.person, headers=narrow), 403)
    refusals = db.execute(
        select(AuditEvent.actor, AuditEvent.action, AuditEvent.details)
        .where(AuditEvent.channel == "fhir", AuditEvent.outcome == "failure")
        .order_by(AuditEvent.id)
    ).all()
    assert [(a, d["status"]) for a, _, d in refusals if d and "status" in d] == [
        ("fhir:anonymous", 401),
        ("fhir:his-1", 403),
        ("fhir:his-1", 403),
        ("fhir:his-2", 403),
    ]
    assert any(a == "fhir:anonymous" and act == "fhir.token" for a, act, _ in refusals)


def test_out_of_the_organisational_scope_is_refused_like_for_a_person(
    app_client: TestClient, network: Network, token_for: Tokens
) -> None:
    elsewhere = token_for(Role.CLINICIAN, "establishment:CHU-TNG-01")
    body = outcome(app_client.get(f"/fhir/Patient/{network.person}", headers=elsewhere), 403)
    assert body["issue"][0]["code"] == "forbidden"


def test_create_read_vread_history_and_the_audit_channel(
    app_client: TestClient, db: Session, network: Network, token_for: Tokens
) -> None:
    his = token_for(Role.ADMISSION_AGENT, f"establishment:{PROVINCIAL}")
    created = app_client.post(
        "/fhir/Patient",
        json=patient("Amina", "Bennani", ipp="IPP-0001", org=PROVINCIAL),
        headers=his,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    _valid(body)
    pid = body["id"]
    assert pid.startswith("P")
    assert pid != network.person
    assert created.headers["Location"].endswith(f"/fhir/Patient/{pid}/_history/1")
    assert created.headers["ETag"] == 'W/"1"'
    assert {"system": IPP + PROVINCIAL, "value": "IPP-0001"}.items() <= body["identifier"][
        0
    ].items()

    read = app_client.get(f"/fhir/Patient/{pid}", headers=his)
    assert read.status_code == 200
    assert read.json()["name"][0]["family"] == "Bennani"
    assert read.json()["birthDate"] == "1975-04-12"
    assert read.headers["ETag"] == 'W/"1"'
    as_xml = app_client.get(
        f"/fhir/Patient/{pid}", headers=his | {"Accept": "application/fhir+xml"}
    )
    back = get_fhir_model_class("Patient").model_validate_xml(as_xml.content)
    assert back.name[0].family == "Bennani"
    assert app_client.get(f"/fhir/Patient/{pid}/_history/1", headers=his).json()["id"] == pid
    outcome(app_client.get(f"/fhir/Patient/{pid}/_history/9", headers=his), 404)
    history = app_client.get(f"/fhir/Patient/{pid}/_history", headers=his).json()
    _valid(history)
    assert history["type"] == "history"
    assert history["total"] == 1
    assert history["entry"][0]["request"]["method"] == "POST"
    outcome(app_client.get("/fhir/Patient/P99999999", headers=his), 404)

    channels = set(
        db.scalars(select(AuditEvent.channel).where(AuditEvent.entity_id == pid)).all()
    ) | set(db.scalars(select(AuditEvent.channel).where(AuditEvent.action == "patient.register")))
    assert "fhir" in channels
    actors = db.scalars(select(AuditEvent.actor).where(AuditEvent.channel == "fhir")).all()
    assert actors
    assert all(a.startswith("fhir:his-") for a in actors)


def test_a_patient_is_not_updated_but_a_task_is_with_its_version(
    app_client: TestClient, network: Network, token_for: Tokens
) -> None:
    nurse = token_for(Role.CLINICIAN, f"establishment:{CENTRE}")
    cardio = token_for(Role.CLINICIAN, f"establishment:{PROVINCIAL}")
    refused = outcome(
        app_client.put(
            f"/fhir/Patient/{network.person}",
            json={"resourceType": "Patient", "id": network.person},
            headers=nurse,
        ),
        405,
    )
    assert "IMP" in refused["issue"][0]["diagnostics"]

    request = {
        "resourceType": "ServiceRequest",
        "status": "active",
        "intent": "order",
        "priority": "urgent",
        "subject": {"reference": f"Patient/{network.person}"},
        "requester": {"reference": f"Organization/{CENTRE}"},
        "code": {"coding": [{"code": "cardiology"}]},
        "reasonCode": [{"text": "Douleur thoracique d'effort"}],
    }
    sent = app_client.post("/fhir/ServiceRequest", json=request, headers=nurse)
    assert sent.status_code == 201, sent.text
    sr = sent.json()
    assert sr["performer"][0]["reference"] == f"Organization/{PROVINCIAL}"  # the map's choice
    task = app_client.get(f"/fhir/Task/{sr['id']}", headers=cardio)
    assert task.status_code == 200
    assert task.json()["status"] == "requested"
    version = task.headers["ETag"]

    accepted = task.json() | {"status": "accepted"}
    stale = outcome(
        app_client.put(
            f"/fhir/Task/{sr['id']}", json=accepted, headers=cardio | {"If-Match": 'W/"1"'}
        ),
        412,
    )
    assert "version" in stale["issue"][0]["diagnostics"].lower()
    moved = app_client.put(
        f"/fhir/Task/{sr['id']}", json=accepted, headers=cardio | {"If-Match": version}
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["status"] == "accepted"
    assert moved.headers["ETag"] != version
    # a system of an establishment at neither end may not act; accepted → received is no
    # move of the machine
    outcome(
        app_client.put(
            f"/fhir/Task/{sr['id']}",
            json=accepted | {"status": "rejected"},
            headers=token_for(Role.CLINICIAN, "establishment:CHU-TNG-01"),
        ),
        403,
    )
    again = outcome(
        app_client.put(
            f"/fhir/Task/{sr['id']}",
            json=moved.json() | {"status": "received"},
            headers=cardio,
        ),
        409,
    )
    assert again["issue"][0]["code"] == "conflict"
    # the receiving hospital's worklist, and the centre's referrals waiting for it
    worklist = app_client.get(
        "/fhir/Task", params={"owner": f"Organization/{PROVINCIAL}"}, headers=cardio
    ).json()
    assert [(e["resource"]["id"], e["resource"]["status"]) for e in worklist["entry"]] == [
        (sr["id"], "accepted")
    ]
    sent_list = app_client.get(
        "/fhir/ServiceRequest", params={"requester": CENTRE}, headers=nurse
    ).json()
    assert [e["resource"]["id"] for e in sent_list["entry"]] == [sr["id"]]
    assert (
        app_client.get("/fhir/Task", params={"owner": CENTRE}, headers=nurse).json()["total"] == 0
    )
    outcome(app_client.get("/fhir/Task", params={"owner": PROVINCIAL}, headers=nurse), 403)
    history = app_client.get(f"/fhir/Task/{sr['id']}/_history", headers=cardio).json()
    assert [e["resource"]["status"] for e in history["entry"]] == ["accepted", "requested"]


def test_conditional_create_twice_gives_one_resource(
    app_client: TestClient, network: Network, token_for: Tokens
) -> None:
    his = token_for(Role.ADMISSION_AGENT, f"establishment:{PROVINCIAL}")
    body = patient("Youssef", "Alaoui", ipp="IPP-77", org=PROVINCIAL)
    condition = {"If-None-Exist": f"identifier={IPP}{PROVINCIAL}|IPP-77"}
    first = app_client.post("/fhir/Patient", json=body, headers=his | condition)
    second = app_client.post("/fhir/Patient", json=body, headers=his | condition)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    found = app_client.get(
        "/fhir/Patient", params={"identifier": f"{IPP}{PROVINCIAL}|IPP-77"}, headers=his
    ).json()
    assert found["total"] == 1
    # the same message without the condition: the MPI refuses a second IPP
    outcome(app_client.post("/fhir/Patient", json=body, headers=his), 409)


def test_search_with_paging_and_includes(
    app_client: TestClient, network: Network, token_for: Tokens
) -> None:
    his = token_for(Role.CLINICIAN, f"establishment:{PROVINCIAL}")
    for n, given in enumerate(["Amina", "Khadija", "Salma", "Nadia", "Imane"]):
        made = app_client.post(
            "/fhir/Patient",
            json=patient(given, "Tazi", ipp=f"T-{n}", org=PROVINCIAL, birthDate=f"19{60 + n}"),
            headers=his,
        )
        assert made.status_code == 201, made.text
    page1 = app_client.get("/fhir/Patient", params={"family": "Tazi", "_count": 2}, headers=his)
    assert page1.status_code == 200, page1.text
    bundle = page1.json()
    _valid(bundle)
    assert bundle["total"] == 5
    assert len(bundle["entry"]) == 2
    links = {link["relation"]: link["url"] for link in bundle["link"]}
    assert "next" in links
    assert "previous" not in links
    seen = [e["resource"]["id"] for e in bundle["entry"]]
    page = bundle
    while "next" in links:
        page = app_client.get(_relative(links["next"]), headers=his).json()
        links = {link["relation"]: link["url"] for link in page["link"]}
        seen += [e["resource"]["id"] for e in page["entry"]]
    assert len(seen) == len(set(seen)) == 5
    assert "previous" in links
    by_birth = app_client.get("/fhir/Patient", params={"birthdate": "1962"}, headers=his).json()
    assert [e["resource"]["name"][0]["text"] for e in by_birth["entry"]] == ["Salma Tazi"]

    def born(*bounds: str) -> list[str]:
        params = [("family", "Tazi"), *(("birthdate", b) for b in bounds)]
        found = app_client.get("/fhir/Patient", params=params, headers=his)
        assert found.status_code == 200, found.text
        return sorted(e["resource"]["name"][0]["text"].split()[0] for e in found.json()["entry"])

    assert born("ge1962") == ["Imane", "Nadia", "Salma"]
    assert born("ge1961", "lt1963") == ["Khadija", "Salma"]
    assert born("le1961") == ["Amina", "Khadija"]
    # known to the year only, 1962 may be after mid-June 1962: a range that meets it matches
    assert born("gt1962-06-15", "eb1964") == ["Nadia", "Salma"]
    assert born("eq1963") == ["Nadia"]
    outcome(app_client.get("/fhir/Patient", params={"birthdate": "ne1962"}, headers=his), 400)
    outcome(app_client.get("/fhir/Patient", params={"colour": "blue"}, headers=his), 400)
    outcome(
        app_client.get(
            "/fhir/Patient", params={"family": "Tazi", "_include": "Patient:link"}, headers=his
        ),
        400,
    )
    outcome(app_client.get("/fhir/Patient", params={"birthdate": "1962-13-45"}, headers=his), 400)

    # an encounter and a referral of the patient of the centre, then the includes
    nurse = token_for(Role.CLINICIAN, f"establishment:{CENTRE}")
    visit = {
        "resourceType": "Encounter",
        "status": "finished",
        "class": {"code": "AMB"},
        "subject": {"reference": f"Patient/{network.person}"},
        "serviceProvider": {"reference": f"Organization/{CENTRE}"},
        "period": {"start": "2026-11-02T09:00:00Z", "end": "2026-11-02T09:20:00Z"},
    }
    made = app_client.post("/fhir/Encounter", json=visit, headers=nurse)
    assert made.status_code == 201, made.text
    sr = app_client.post(
        "/fhir/ServiceRequest",
        json={
            "resourceType": "ServiceRequest",
            "status": "active",
            "intent": "order",
            "subject": {"reference": f"Patient/{network.person}"},
            "requester": {"reference": f"Organization/{CENTRE}"},
            "code": {"coding": [{"code": "cardiology"}]},
        },
        headers=nurse,
    )
    assert sr.status_code == 201, sr.text
    rev = app_client.get(
        "/fhir/Patient",
        params={"_id": network.person, "_revinclude": "Encounter:patient"},
        headers=nurse,
    ).json()
    _valid(rev)
    modes = [(e["resource"]["resourceType"], e["search"]["mode"]) for e in rev["entry"]]
    assert modes == [("Patient", "match"), ("Encounter", "include")]
    inc = app_client.get(
        "/fhir/ServiceRequest",
        params={
            "patient": network.person,
            "_include": "ServiceRequest:patient",
            "status": "active",
        },
        headers=nurse,
    ).json()
    kinds = [e["resource"]["resourceType"] for e in inc["entry"]]
    assert kinds == ["ServiceRequest", "Patient"]
    none = app_client.get(
        "/fhir/ServiceRequest",
        params={"patient": network.person, "status": "completed"},
        headers=nurse,
    ).json()
    assert none["total"] == 0
    dated = app_client.get(
        "/fhir/Encounter",
        params=[("patient", network.person), ("date", "ge2026-11-01"), ("date", "lt2026-11-03")],
        headers=nurse,
    ).json()
    assert dated["total"] == 1
    later = app_client.get(
        "/fhir/Encounter", params={"patient": network.person, "date": "gt2026-11-02"}, headers=nurse
    ).json()
    assert later["total"] == 0


def test_a_failing_entry_rolls_back_the_whole_transaction(
    app_client: TestClient, network: Network, token_for: Tokens
) -> None:
    his = token_for(Role.ADMISSION_AGENT, "gst")

    def entry(resource: dict[str, Any], full: str) -> dict[str, Any]:
        return {
            "fullUrl": full,
            "resource": resource,
            "request": {"method": "POST", "url": "Patient"},
        }

    bad = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            entry(patient("Hajar", "Berrada", ipp="B-1", org=PROVINCIAL), "urn:uuid:1"),
            entry(patient("Omar", "Berrada", ipp="B-2", org=PROVINCIAL), "urn:uuid:2"),
            entry(patient("Ali", "Berrada", ipp="B-3", org="NOWHERE-01"), "urn:uuid:3"),
        ],
    }
    failed = outcome(app_client.post("/fhir", json=bad, headers=his), 422)
    assert "Bundle.entry[2]" in failed["issue"][0]["expression"]
    search = {"family": "Berrada"}
    assert app_client.get("/fhir/Patient", params=search, headers=his).json()["total"] == 0

    good = bad | {"entry": bad["entry"][:2]}
    done = app_client.post("/fhir", json=good, headers=his)
    assert done.status_code == 200, done.text
    response = done.json()
    _valid(response)
    assert response["type"] == "transaction-response"
    assert [e["response"]["status"] for e in response["entry"]] == ["201 Created"] * 2
    assert app_client.get("/fhir/Patient", params=search, headers=his).json()["total"] == 2

    batch = bad | {
        "type": "batch",
        "entry": [
            bad["entry"][2],
            entry(patient("Sara", "Berrada", ipp="B-4", org=PROVINCIAL), "urn:uuid:4"),
        ],
    }
    mixed = app_client.post("/fhir", json=batch, headers=his).json()
    assert [e["response"]["status"][:3] for e in mixed["entry"]] == ["422", "201"]
    assert app_client.get("/fhir/Patient", params=search, headers=his).json()["total"] == 3


def test_match_finds_a_variant_spelling(
    app_client: TestClient, network: Network, token_for: Tokens
) -> None:
    his = token_for(Role.ADMISSION_AGENT, f"establishment:{PROVINCIAL}")
    parameters = {
        "resourceType": "Parameters",
        "parameter": [
            {
                "name": "resource",
                "resource": {
                    "resourceType": "Patient",
                    "name": [{"family": "Elidrissi", "given": ["Fatima", "Zohra"]}],
                    "gender": "female",
                    "birthDate": "1961",
                },
            },
            {"name": "count", "valueInteger": 5},
        ],
    }
    answer = app_client.post("/fhir/Patient/$match", json=parameters, headers=his)
    assert answer.status_code == 200, answer.text
    bundle = answer.json()
    _valid(bundle)
    best = bundle["entry"][0]
    assert best["resource"]["id"] == network.person
    assert 0 < best["search"]["score"] <= 1
    grade = best["search"]["extension"][0]
    assert grade["url"].endswith("match-grade")
    assert grade["valueCode"] in {"certain", "probable"}
    stranger = parameters | {
        "parameter": [
            {
                "name": "resource",
                "resource": {
                    "resourceType": "Patient",
                    "name": [{"family": "Zerhouni", "given": ["Karim"]}],
                    "gender": "male",
                    "birthDate": "2001",
                },
            },
            {"name": "onlyCertainMatches", "valueBoolean": True},
        ]
    }
    assert app_client.post("/fhir/Patient/$match", json=stranger, headers=his).json()["total"] == 0


def test_everything_returns_the_persons_encounters_and_referrals(
    app_client: TestClient, network: Network, token_for: Tokens
) -> None:
    nurse = token_for(Role.CLINICIAN, f"establishment:{CENTRE}")
    visit = {
        "resourceType": "Encounter",
        "status": "in-progress",
        "class": {"code": "AMB"},
        "subject": {"reference": f"Patient/{network.person}"},
        "serviceProvider": {"reference": f"Organization/{CENTRE}"},
    }
    assert app_client.post("/fhir/Encounter", json=visit, headers=nurse).status_code == 201
    request = {
        "resourceType": "ServiceRequest",
        "status": "active",
        "intent": "order",
        "subject": {"reference": f"Patient/{network.person}"},
        "requester": {"reference": f"Organization/{CENTRE}"},
        "code": {"coding": [{"code": "cardiology"}]},
    }
    sr = app_client.post("/fhir/ServiceRequest", json=request, headers=nurse).json()
    everything = app_client.get(f"/fhir/Patient/{network.person}/$everything", headers=nurse)
    assert everything.status_code == 200, everything.text
    bundle = everything.json()
    _valid(bundle)
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds[0] == "Patient"
    assert {"Encounter", "ServiceRequest", "Task", "EpisodeOfCare"} <= set(kinds)
    ids = {(e["resource"]["resourceType"], e["resource"]["id"]) for e in bundle["entry"]}
    assert ("ServiceRequest", sr["id"]) in ids
    encounter = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Encounter"
    )
    again = app_client.get(f"/fhir/Encounter/{encounter['id']}", headers=nurse)
    assert again.status_code == 200
    assert again.json()["subject"]["reference"] == f"Patient/{network.person}"


def test_malformed_input_names_the_bad_element(
    app_client: TestClient, network: Network, token_for: Tokens
) -> None:
    his = token_for(Role.ADMISSION_AGENT, f"establishment:{PROVINCIAL}")
    bad = patient("Amina", "Bennani", org=PROVINCIAL, birthDate="12/04/1975")
    body = outcome(app_client.post("/fhir/Patient", json=bad, headers=his), 400)
    assert "Patient.birthDate" in body["issue"][0]["expression"]
    wrong = outcome(
        app_client.post("/fhir/Patient", json={"resourceType": "Practitioner"}, headers=his), 400
    )
    assert wrong["issue"][0]["expression"] == ["resourceType"]
    broken = outcome(
        app_client.post(
            "/fhir/Patient",
            content=b"{not json",
            headers=his | {"Content-Type": "application/fhir+json"},
        ),
        400,
    )
    assert broken["issue"][0]["code"] == "structure"


def test_registry_and_workforce_resources(
    app_client: TestClient, network: Network, token_for: Tokens
) -> None:
    reader = token_for(Role.REGIONAL_ADMIN, "gst", smart="system/*.read")
    org = app_client.get(f"/fhir/Organization/{PROVINCIAL}", headers=reader)
    assert org.status_code == 200
    assert org.json()["name"] == "Hôpital provincial de Chefchaouen"
    assert org.headers["ETag"] == f'W/"{org.json()["meta"]["versionId"]}"'
    found = app_client.get("/fhir/Organization", params={"name": "Chefchaouen"}, headers=reader)
    assert [e["resource"]["id"] for e in found.json()["entry"]] == [PROVINCIAL]
    loc = app_client.get(f"/fhir/Location/{PROVINCIAL}", headers=reader).json()
    assert loc["position"] == {"latitude": 35.17, "longitude": -5.26}
    services = app_client.get(
        "/fhir/HealthcareService",
        params={"organization": f"Organization/{PROVINCIAL}"},
        headers=reader,
    ).json()
    names = {e["resource"]["specialty"][0]["coding"][0]["code"] for e in services["entry"]}
    assert names == {"cardiology", "general_medicine", "emergency"}
    one = services["entry"][0]["resource"]["id"]
    assert app_client.get(f"/fhir/HealthcareService/{one}", headers=reader).status_code == 200
    audit = app_client.get(
        "/fhir/AuditEvent", params={"entity-type": "establishment"}, headers=reader
    )
    assert audit.status_code == 200, audit.text
    _valid(audit.json())
    outcome(
        app_client.post(
            "/fhir/Organization", json={"resourceType": "Organization"}, headers=reader
        ),
        405,
    )
