"""Static files: served from the package at URLs that name their content, cached for a year,
and exactly the vendored releases. No database is needed: the app is not started."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from lmsplans.server.app import create_app
from lmsplans.server.settings import Settings
from lmsplans.server.ui.assets import IMMUTABLE, STATIC_DIR, StaticAssets
from lmsplans.server.ui.rendering import Site
from tests.conftest import assert_error

VENDORED = (STATIC_DIR.parent / "VENDORED.md").read_text()


@pytest.fixture
def app(tmp_path: Path) -> Starlette:
    """The app, not started (the suite's `client` drives it): static files and /docs need
    no database, so these run once, not per backend."""
    return create_app(Settings(database_url=f"sqlite:///{tmp_path / 'unused.db'}"))


@pytest.fixture
def css_url(app: Starlette) -> str:
    url: str = app.state.site.assets.url("ui.css")
    return url


async def test_a_file_is_served_at_its_content_url_for_a_year(
    client: httpx.AsyncClient, css_url: str
) -> None:
    url = css_url
    digest = hashlib.sha256((STATIC_DIR / "ui.css").read_bytes()).hexdigest()[:12]
    assert url == f"/static/{digest}/ui.css"
    response = await client.get(url)
    assert response.status_code == 200
    assert response.content == (STATIC_DIR / "ui.css").read_bytes()
    assert response.headers["content-type"] == "text/css; charset=utf-8"
    assert response.headers["cache-control"] == IMMUTABLE == "public, max-age=31536000, immutable"
    assert response.headers["x-content-type-options"] == "nosniff"
    again = await client.get(url, headers={"if-none-match": response.headers["etag"]})
    assert again.status_code == 304
    head = await client.head(url)
    assert head.status_code == 200 and head.content == b""


@pytest.mark.parametrize(
    "path",
    [
        "/static/ui.css",  # no digest
        "/static/000000000000/ui.css",  # a digest that is not the file's
        "/static/{digest}/missing.css",
        "/static/{digest}/../ui.css",
        "/static/{digest}/../../rendering.py",
        "/static/{digest}/%2e%2e/assets.py",
        "/static/{digest}/",
    ],
)
async def test_anything_else_is_not_found(
    client: httpx.AsyncClient, css_url: str, path: str
) -> None:
    digest = css_url.split("/")[2]
    response = await client.get(path.format(digest=digest))
    assert_error(response, 404, 7050)


async def test_static_files_are_only_read(client: httpx.AsyncClient, css_url: str) -> None:
    response = await client.post(css_url, content=b"x")
    assert_error(response, 405, 7051)


async def test_docs_are_the_packages_swagger_ui(client: httpx.AsyncClient) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200
    urls = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert urls and all(url.startswith("/") and not url.startswith("//") for url in urls)
    for url in urls:
        if url.startswith("/static/"):
            asset = await client.get(url)
            assert asset.status_code == 200, url
            assert asset.headers["cache-control"] == IMMUTABLE


def test_a_changed_file_gets_a_new_url_and_the_old_one_stops(tmp_path: Path) -> None:
    (tmp_path / "app.js").write_text("one")
    (tmp_path / "deep").mkdir()
    (tmp_path / "deep" / "x.css").write_text("a{}")
    before = StaticAssets(tmp_path)
    assert before.url("deep/x.css").endswith("/deep/x.css")
    (tmp_path / "app.js").write_text("two")
    after = StaticAssets(tmp_path)
    assert before.url("app.js") != after.url("app.js")
    assert before.url("deep/x.css") == after.url("deep/x.css")
    old_digest = before.url("app.js").split("/")[2]
    assert after.digests["app.js"] != old_digest


def test_every_app_reads_the_same_files_once() -> None:
    site = Site()
    shipped = {p.relative_to(STATIC_DIR).as_posix() for p in STATIC_DIR.rglob("*") if p.is_file()}
    assert set(site.assets.digests) == shipped
    assert {"ui.css", "docs.js", "vendor/htmx/htmx.min.js"} <= shipped


def test_the_vendored_files_are_the_releases_named() -> None:
    rows = re.findall(
        r"^\| `static/([^`]+)` \| ([^|]+) \|[^|]*\| `([0-9a-f]{64})` \|$", VENDORED, re.M
    )
    vendored = {
        p.relative_to(STATIC_DIR).as_posix()
        for p in (STATIC_DIR / "vendor").rglob("*")
        if p.is_file()
    }
    assert {name for name, _, _ in rows} == vendored
    for name, _source, sha256 in rows:
        assert hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest() == sha256, name
    # Each ships with its licence, and the versions named are the ones inside.
    assert "Apache License" in (STATIC_DIR / "vendor/swagger-ui/LICENSE").read_text()
    assert "Zero-Clause BSD" in (STATIC_DIR / "vendor/htmx/LICENSE").read_text()
    assert 'version:"2.0.11"' in (STATIC_DIR / "vendor/htmx/htmx.min.js").read_text()
