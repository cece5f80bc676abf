"""Assets: a year in cache under a versioned URL, an hour otherwise; pages use versioned URLs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from parcours.web import static_files
from parcours.web.static_files import LONG_CACHE, SHORT_CACHE, asset_url
from parcours.web.templating import TEMPLATES_DIR


def test_a_versioned_asset_is_immutable_for_a_year(app_client: TestClient) -> None:
    url = asset_url("css/parcours.css")
    assert re.fullmatch(r"/static/css/parcours\.css\?v=[0-9a-f]{10}", url)
    response = app_client.get(url)
    assert response.status_code == 200
    assert response.headers["cache-control"] == LONG_CACHE
    assert "immutable" in LONG_CACHE
    assert "max-age=31536000" in LONG_CACHE
    assert "text/css" in response.headers["content-type"]


def test_an_unversioned_asset_is_kept_briefly_and_revalidated(app_client: TestClient) -> None:
    response = app_client.get("/static/css/parcours.css")
    assert response.status_code == 200
    assert response.headers["cache-control"] == SHORT_CACHE
    assert "immutable" not in SHORT_CACHE
    etag = response.headers["etag"]
    again = app_client.get("/static/css/parcours.css", headers={"if-none-match": etag})
    assert again.status_code == 304
    # Another query parameter is not a version.
    other = app_client.get("/static/css/parcours.css?vv=1")
    assert other.headers["cache-control"] == SHORT_CACHE


def test_a_missing_asset_is_not_cached_for_a_year(app_client: TestClient) -> None:
    response = app_client.get("/static/css/nothing.css?v=1")
    assert response.status_code == 404
    assert "immutable" not in response.headers.get("cache-control", "")


def test_the_version_follows_the_content(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a.css").write_text("body{}")
    monkeypatch.setattr(static_files, "STATIC_DIR", tmp_path)
    static_files.asset_version.cache_clear()
    try:
        first = asset_url("a.css")
        (tmp_path / "a.css").write_text("body{color:red}")
        static_files.asset_version.cache_clear()
        assert asset_url("/a.css") != first
    finally:
        static_files.asset_version.cache_clear()


def test_every_template_refers_to_assets_through_their_version() -> None:
    """A literal /static/ URL in a template would be cached without a version: forbidden."""
    offenders = []
    for template in Path(TEMPLATES_DIR).rglob("*.html"):
        for number, line in enumerate(template.read_text(encoding="utf-8").splitlines(), 1):
            if "/static/" in line:
                offenders.append(f"{template.name}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


@pytest.mark.usefixtures("small_region")
def test_pages_load_their_assets_with_a_version(app_client: TestClient) -> None:
    html = app_client.get("/login").text
    assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', html)
    assert any("parcours.css" in a for a in assets)
    assert all(re.search(r"\?v=[0-9a-f]{10}$", a) for a in assets), assets
    for asset in assets:
        response = app_client.get(asset)
        assert response.status_code == 200, asset
        assert response.headers["cache-control"] == LONG_CACHE
    docs = app_client.get("/api/docs").text
    vendored = re.findall(r"/static/vendor/[^'\"]+", docs)
    assert vendored
    assert all("?v=" in a for a in vendored), vendored
