"""`/docs` in a real browser with the network cut: the page the real server sends draws
every operation of the API from files of this server alone."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from tests.browser.conftest import Browsing, serving_in_thread
from tests.e2e.conftest import ServerProcess

pytestmark = pytest.mark.slow

OPERATIONS = ".opblock"
RENDER_MS = 20_000

# What /docs was before it was served from the package: Swagger UI from a CDN.
CDN_DOCS = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>lmsplans API</title>
<link rel="stylesheet" href="https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui.css">
</head><body><div id="swagger-ui"></div>
<script src="https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui"});</script>
</body></html>"""


def documented_operations(base_url: str) -> set[tuple[str, str]]:
    document = httpx.get(f"{base_url}/openapi.json", timeout=10).json()
    return {
        (verb.upper(), path)
        for path, item in document["paths"].items()
        for verb in item
        if verb in ("get", "put", "post", "patch", "delete")
    }


def test_docs_draw_every_operation_with_the_network_cut(
    server: ServerProcess, browsing: Browsing
) -> None:
    page = browsing.page
    page.goto(f"{server.base_url}/docs")
    page.wait_for_selector(OPERATIONS, timeout=RENDER_MS)
    drawn = {
        (
            block.locator(".opblock-summary-method").inner_text().strip(),
            block.locator(".opblock-summary-path").get_attribute("data-path") or "",
        )
        for block in page.locator(OPERATIONS).all()
    }
    expected = documented_operations(server.base_url)
    assert len(expected) > 30
    assert drawn == expected
    assert page.get_by_text("/api/v1/learners/{learnerId}/learning-plans/progress").count() >= 1
    # Opening an operation draws its parameters and answers, still from nothing outside.
    page.locator(".opblock-summary").first.click()
    page.wait_for_selector(".opblock-body .parameters", timeout=RENDER_MS)
    browsing.shot("docs")
    assert browsing.refused == []
    assert browsing.errors == []  # no policy violation, no script error
    statics = {url: headers for url, headers in browsing.responses.items() if "/static/" in url}
    assert len(statics) == 3  # Swagger UI's script and stylesheet, and its starter
    for url, headers in statics.items():
        assert headers["cache-control"] == "public, max-age=31536000, immutable", url


@pytest.fixture(scope="module")
def cdn_docs() -> Iterator[str]:
    async def page(_: object) -> Response:
        return HTMLResponse(CDN_DOCS)

    async def document(_: object) -> Response:
        return Response(
            b'{"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {}}',
            media_type="application/json",
        )

    app = Starlette(routes=[Route("/docs", page), Route("/openapi.json", document)])
    with serving_in_thread(app) as base_url:
        yield base_url


def test_the_cut_is_real(cdn_docs: str, browsing: Browsing) -> None:
    """The old page, Swagger UI from a CDN, draws nothing here, and its requests are the
    ones the cut refused: the test above could not pass on a page that needs a CDN."""
    page = browsing.page
    page.goto(f"{cdn_docs}/docs")
    page.wait_for_load_state("load")
    assert page.locator(OPERATIONS).count() == 0
    assert page.evaluate("typeof window.SwaggerUIBundle") == "undefined"
    assert sorted(browsing.refused) == [
        "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui-bundle.js",
        "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui.css",
    ]
