"""The API documentation renders in a browser with no internet (Swagger UI served locally)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e


def test_api_docs_render_offline_and_list_the_registry_routes(page: Page) -> None:
    page.goto("/api/docs")
    # Swagger UI draws one block per operation once it has fetched the OpenAPI document.
    expect(page.locator(".swagger-ui .opblock").first).to_be_visible()
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    flat = {p.replace("\u200b", "").strip() for p in paths}
    for route in (
        "/api/v1/establishments",
        "/api/v1/establishments/{code}",
        "/api/v1/territory/summary",
    ):
        assert route in flat, f"{route} not in the documentation: {sorted(flat)}"
