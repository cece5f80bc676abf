"""The API documentation works with no internet: every asset comes from the application."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient


def test_api_docs_reference_no_external_host(app_client: TestClient) -> None:
    page = app_client.get("/api/docs")
    assert page.status_code == 200
    html = page.text
    assert "SwaggerUIBundle" in html
    urls = re.findall(r"""(?:src|href|url)\s*[=:]\s*['"]([^'"]+)['"]""", html)
    assert urls, "the page loads its assets through src/href/url attributes"
    for url in urls:
        assert url.startswith("/"), f"{url} is not served by the application"
        assert not url.startswith("//"), f"{url} is protocol-relative, hence external"
    assert not re.search(r"https?://", html), "no absolute URL at all on the page"
    assert "connect-src 'self'" in page.headers["content-security-policy"]
    for url in urls:
        if url.startswith("/static/"):
            assert app_client.get(url).status_code == 200, url
    spec = app_client.get("/api/openapi.json")
    assert spec.status_code == 200
    assert "/api/v1/establishments" in spec.json()["paths"]
