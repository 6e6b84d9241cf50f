"""`GET /`: a page for a person, JSON for a program, as the OpenAPI description says."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette

import lmsplans
from lmsplans.server.ops.home import preferred_type
from tests.conftest import assert_error

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "text/html"),
        ("", "text/html"),
        ("*/*", "text/html"),
        (BROWSER, "text/html"),
        ("application/json", "application/json"),
        ("application/*", "application/json"),
        ("application/json, text/html", "text/html"),  # a tie goes to the page
        ("application/json;q=0.5, text/html", "text/html"),
        ("text/html;q=0.1, application/json", "application/json"),
        ("application/json, */*;q=0.1", "application/json"),
        ("text/*;q=0, application/json;q=0.2", "application/json"),
        ("image/png", "text/html"),  # nothing acceptable: the page, not a 406
        ("application/json;q=oops, text/html;q=0.5", "text/html"),
    ],
)
def test_the_accept_header_chooses_the_answer(accept: str | None, expected: str) -> None:
    assert preferred_type(accept) == expected


async def test_a_person_gets_a_page_naming_the_service_and_its_links(
    client: httpx.AsyncClient,
) -> None:
    for headers in ({}, {"Accept": BROWSER}):
        response = await client.get("/", headers=headers)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        assert response.headers["vary"] == "Accept"
        assert response.headers["x-request-id"]
        page = response.text
        assert f"lmsplans <small>{lmsplans.__version__}</small>" in page
        for path in ("/ui", "/docs", "/openapi.json", "/healthz", "/readyz", "/metrics"):
            assert f'href="{path}"' in page, path


async def test_a_program_gets_json(client: httpx.AsyncClient) -> None:
    response = await client.get("/", headers={"Accept": "application/json"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["vary"] == "Accept"
    assert response.json() == {
        "service": "lmsplans",
        "version": lmsplans.__version__,
        "description": (
            "A self-hosted learning-plan progress service that speaks the Zoho People LMS API."
        ),
        "links": {
            "ui": "/ui",
            "docs": "/docs",
            "openapi": "/openapi.json",
            "health": "/healthz",
            "readiness": "/readyz",
            "metrics": "/metrics",
        },
    }
    head = await client.head("/")
    assert head.status_code == 200 and head.content == b""
    # Only reads: anything else is the documented 405 (it was 404 7050 before `/` answered).
    refused = await client.post("/", content=b"{}")
    assert_error(refused, 405, 7051)
    assert set(refused.headers["allow"].split(", ")) == {"GET", "HEAD"}


async def test_a_link_is_shown_only_for_what_the_app_serves(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    app.router.routes[:] = [r for r in app.router.routes if getattr(r, "path", "") != "/ui"]
    page = await client.get("/")
    assert 'href="/ui"' not in page.text
    info = await client.get("/", headers={"Accept": "application/json"})
    assert "ui" not in info.json()["links"]


async def test_the_description_documents_both_answers(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    operation = document["paths"]["/"]["get"]
    assert "security" not in operation  # public, like /healthz
    assert set(operation["responses"]["200"]["content"]) == {"application/json", "text/html"}
    json_schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert json_schema == {"$ref": "#/components/schemas/ServiceInfo"}
    assert [p["name"] for p in operation["parameters"]] == ["Accept"]
