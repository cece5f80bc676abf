"""The application as a whole: nothing under /api/v1 answers without credentials, error
shapes, security headers."""

from __future__ import annotations

import re
from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient

from parcours.access.rules import Role
from tests.conftest import MakeUser, login

# The routes other tools rely on (issue 2); the walk below must at least reach them.
REQUIRED = {
    ("GET", "/api/v1/establishments"),
    ("GET", "/api/v1/establishments/{code}"),
    ("GET", "/api/v1/territory/summary"),
    ("POST", "/api/v1/establishments"),
    ("PATCH", "/api/v1/establishments/{code}"),
    ("GET", "/api/v1/me"),
    ("GET", "/api/v1/users"),
    ("GET", "/api/v1/audit"),
}


def _api_routes(client: TestClient) -> list[tuple[str, str]]:
    schema = client.get("/api/openapi.json")
    assert schema.status_code == 200
    routes = [
        (method.upper(), path)
        for path, operations in schema.json()["paths"].items()
        if path.startswith("/api/v1/")
        for method in operations
        if method in {"get", "post", "put", "patch", "delete"}
    ]
    assert set(routes) >= REQUIRED
    return routes


def _fill(path: str, values: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        return values.get(match.group(1), "CHU-TNG")

    return re.sub(r"\{([^}]+)\}", value, path)


def _assert_401(response: httpx2.Response, label: str) -> str:
    assert response.status_code == 401, (label, response.status_code, response.text[:200])
    body: dict[str, Any] = response.json()
    assert set(body) == {"error"}, label
    assert set(body["error"]) == {"code", "message"}, label
    assert body["error"]["message"], label
    return str(body["error"]["code"])


@pytest.mark.parametrize(
    ("credentials", "code"),
    [
        ({}, "authentication_required"),
        ({"cookies": {"parcours_session": "forged-session"}}, "session_invalid"),
        ({"headers": {"Authorization": "Bearer pcr_forged"}}, "token_invalid"),
    ],
)
def test_unauthenticated_calls_get_401_never_data(
    app_client: TestClient,
    small_region: dict[str, str],
    make_user: MakeUser,
    credentials: dict[str, Any],
    code: str,
) -> None:
    make_user("nadia", Role.CLINICIAN)
    values = {"code": "CHU-TNG", "username": "nadia"}
    routes = _api_routes(app_client)
    for name, value in credentials.get("cookies", {}).items():
        app_client.cookies.set(name, value)
    for method, path in routes:
        url = _fill(path, values)
        kwargs: dict[str, Any] = {"headers": credentials.get("headers", {})}
        if method in {"POST", "PUT", "PATCH"}:
            kwargs["json"] = {}
        response = app_client.request(method, url, **kwargs)
        assert _assert_401(response, f"{method} {url}") == code
        assert "CHU" not in response.text  # no registry data leaked into the error


def test_every_api_route_answers_once_signed_in(
    app_client: TestClient, small_region: dict[str, str], make_user: MakeUser
) -> None:
    """The same walk signed in: the 401s above came from the missing credentials."""
    make_user("regional")
    login(app_client, "regional")
    for method, path in _api_routes(app_client):
        if method != "GET":
            continue
        url = _fill(path, {"code": "CHU-TNG", "username": "regional"})
        response = app_client.get(url)
        # Routes of later contexts may take other parameters or other permissions;
        # what matters is that the credentials were accepted and nothing crashed.
        assert response.status_code != 401, url
        assert response.status_code < 500, url
        if (method, path) in REQUIRED:
            assert response.status_code == 200, (url, response.text[:200])


def test_openapi_and_docs_are_served(app_client: TestClient) -> None:
    schema = app_client.get("/api/openapi.json").json()
    assert schema["info"]["title"] == "Parcours"
    assert app_client.get("/api/docs").status_code == 200


def test_security_headers(app_client: TestClient) -> None:
    for url in ("/login", "/api/v1/me", "/api/openapi.json"):
        headers = app_client.get(url).headers
        assert headers["X-Content-Type-Options"] == "nosniff", url
        assert headers["X-Frame-Options"] == "DENY", url
        assert headers["Referrer-Policy"] == "same-origin", url
    csp = app_client.get("/login").headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "https:" not in csp
    assert "http:" not in csp


def test_api_errors_are_json_and_page_errors_are_html(app_client: TestClient) -> None:
    api = app_client.get("/api/v1/nothing-here")
    assert api.status_code == 404
    assert api.headers["content-type"].startswith("application/json")
    assert api.json()["error"]["code"] == "not_found"

    page = app_client.get("/nothing-here")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert 'data-code="not_found"' in page.text

    wrong_method = app_client.delete("/api/v1/establishments")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"


def test_health_and_home(app_client: TestClient) -> None:
    assert app_client.get("/healthz").json() == {"status": "ok"}
    home = app_client.get("/", follow_redirects=False)
    assert home.status_code in (303, 307)
