"""Bulk: ``$export`` as NDJSON behind a status URL, and ``parcours fhir load``."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B import get_fhir_model_class
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from parcours.access.rules import Role
from parcours.cli import app
from parcours.config import get_settings
from parcours.db import make_engine, make_session_factory
from parcours.fhir import service
from parcours.patients import service as patients
from parcours.territory import service as territory
from tests.fhir.conftest import Tokens, outcome, patient
from tests.pathways.conftest import CENTRE, PROVINCIAL, Network, build_network


@pytest.fixture(autouse=True)
def _export_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARCOURS_FHIR_EXPORT_DIR", str(tmp_path / "export"))


def _path(url: str) -> str:
    return urlsplit(url).path


def test_export_runs_in_the_background_and_serves_ndjson_with_the_token(
    app_client: TestClient, network: Network, token_for: Tokens
) -> None:
    reader = token_for(Role.CLINICIAN, "gst", smart="system/*.read")
    outcome(app_client.get("/fhir/$export", headers=reader), 400)  # no Prefer: respond-async
    started = app_client.get(
        "/fhir/$export",
        params={"_type": "Patient,Organization,Encounter"},
        headers=reader | {"Prefer": "respond-async"},
    )
    assert started.status_code == 202, started.text
    status_url = _path(started.headers["Content-Location"])
    deadline = time.monotonic() + 30
    answer = app_client.get(status_url, headers=reader)
    while answer.status_code == 202 and time.monotonic() < deadline:
        time.sleep(0.1)
        answer = app_client.get(status_url, headers=reader)
    assert answer.status_code == 200, answer.text
    manifest = answer.json()
    assert manifest["requiresAccessToken"] is True
    by_type = {o["type"]: o for o in manifest["output"]}
    assert set(by_type) == {"Patient", "Organization"}  # no encounter recorded yet
    assert by_type["Organization"]["count"] == 5
    assert outcome(app_client.get(_path(by_type["Patient"]["url"])), 401)
    other = token_for(Role.CLINICIAN, "gst", smart="system/*.read")
    outcome(app_client.get(_path(by_type["Patient"]["url"]), headers=other), 404)
    file = app_client.get(_path(by_type["Patient"]["url"]), headers=reader)
    assert file.status_code == 200
    lines = [json.loads(line) for line in file.text.splitlines()]
    assert [r["id"] for r in lines] == [network.person]
    for r in lines:
        get_fhir_model_class(r["resourceType"]).model_validate(r)
    # a system limited to its centre exports only what its scope covers
    narrow = token_for(Role.CLINICIAN, "establishment:CHU-TNG-01", smart="system/Patient.read")
    outcome(
        app_client.get(
            "/fhir/$export", params={"_type": "Task"}, headers=narrow | {"Prefer": "respond-async"}
        ),
        403,
    )


def test_load_creates_each_resource_and_reports_the_bad_lines(
    db: Session, network: Network
) -> None:
    lines = [
        (1, patient("Rachid", "Ouazzani", ipp="L-1", org=PROVINCIAL)),
        (2, patient("Rachid", "Ouazzani", ipp="L-1", org=PROVINCIAL)),  # a retried line
        (3, patient("Samira", "Ouazzani", org=PROVINCIAL, birthDate="31/02/1990")),
        (4, {"__error__": "JSON illisible : Expecting value"}),
        (5, patient("Hamza", "Ouazzani", ipp="L-2", org=CENTRE)),
    ]
    outcomes = list(service.load_resources(db, service.system_caller(), iter(lines)))
    assert [o.status for o in outcomes] == [
        "created",
        "existing",
        "rejected",
        "rejected",
        "created",
    ]
    assert "Patient.birthDate" in outcomes[2].message
    assert outcomes[0].reference == outcomes[1].reference
    page = patients.search_persons(db, service.system_caller().principal, q="Ouazzani")
    assert page.total == 2


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "cli.db"
    monkeypatch.setenv("PARCOURS_DATABASE_URL", f"sqlite:///{path}")
    get_settings.cache_clear()
    assert CliRunner().invoke(app, ["db", "upgrade"]).exit_code == 0
    engine = make_engine(f"sqlite:///{path}")
    with make_session_factory(engine)() as db:
        territory.ensure_reference_data(db)
        build_network(db)
    engine.dispose()
    yield path
    get_settings.cache_clear()


def test_the_commands_register_a_client_and_load_a_file(database: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    added = runner.invoke(
        app,
        [
            "fhir",
            "client",
            "add",
            "sih-che",
            "--scope",
            f"establishment:{PROVINCIAL}",
            "--smart",
            "system/Patient.read system/Patient.write",
        ],
    )
    assert added.exit_code == 0, added.output
    assert "Secret" in added.output
    twice = runner.invoke(app, ["fhir", "client", "add", "sih-che"])
    assert twice.exit_code == 2
    source = tmp_path / "patients.ndjson"
    source.write_text(
        "\n".join(
            [
                json.dumps(patient("Laila", "Fassi", ipp="C-1", org=PROVINCIAL)),
                "{not json",
                json.dumps(patient("Mehdi", "Fassi", ipp="C-2", org=PROVINCIAL)),
            ]
        ),
        encoding="utf-8",
    )
    loaded = runner.invoke(app, ["fhir", "load", str(source)])
    assert loaded.exit_code == 1, loaded.output  # a line was rejected
    assert "Créées : 2" in loaded.output
    assert "ligne 2" in loaded.output
    bundle = tmp_path / "bundle.json"
    bundle.write_text(
        json.dumps(
            {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [{"resource": patient("Laila", "Fassi", ipp="C-1", org=PROVINCIAL)}],
            }
        ),
        encoding="utf-8",
    )
    again = runner.invoke(app, ["fhir", "load", str(bundle)])
    assert again.exit_code == 0, again.output
    assert "déjà présentes : 1" in again.output
