"""A small region, FHIR clients with their tokens, and helpers to call the façade."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from parcours.access.rules import Role, parse_scope, system_principal
from parcours.fhir import service
from tests.pathways.conftest import Network, build_network

FHIR_JSON = "application/fhir+json"

Tokens = Callable[..., dict[str, str]]


@pytest.fixture
def network(db: Session) -> Network:
    return build_network(db)


@pytest.fixture
def token_for(db: Session, app_client: TestClient) -> Tokens:
    """Register a client and get a token through ``POST /fhir/auth/token``; returns headers."""
    made: dict[str, int] = {"n": 0}

    def _make(
        role: Role = Role.CLINICIAN,
        scope: str = "gst",
        smart: str = "system/*.read system/*.write",
        ask: str | None = None,
    ) -> dict[str, str]:
        made["n"] += 1
        client_id = f"his-{made['n']}"
        secret = service.add_client(
            db,
            system_principal("test"),
            client_id=client_id,
            name="SIH de test",
            role=role,
            scope=parse_scope(scope),
            smart_scopes=smart,
        )
        form = {"grant_type": "client_credentials", "client_id": client_id}
        form["client_secret"] = secret
        if ask:
            form["scope"] = ask
        answer = app_client.post("/fhir/auth/token", data=form)
        assert answer.status_code == 200, answer.text
        return {"Authorization": f"Bearer {answer.json()['access_token']}"}

    return _make


def outcome(response: httpx2.Response, status: int) -> dict[str, Any]:
    """The OperationOutcome of a refusal, checked for its status and shape."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(FHIR_JSON)
    body: dict[str, Any] = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["severity"] == "error"
    assert body["issue"][0]["diagnostics"]
    return body


def patient(
    given: str, family: str, *, ipp: str | None = None, org: str | None = None, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resourceType": "Patient",
        "name": [{"family": family, "given": given.split()}],
        "gender": "female",
        "birthDate": "1975-04-12",
    } | extra
    if ipp and org:
        body["identifier"] = [
            {"system": f"https://parcours.sante.ma/fhir/sid/ipp/{org}", "value": ipp}
        ]
    if org:
        body["managingOrganization"] = {"reference": f"Organization/{org}"}
    return body
