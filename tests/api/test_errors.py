"""Errors from every layer answer the documented envelope (spec section 3), and the
operations endpoints answer (spec section 5).

Layers: the router (unknown path, wrong method), the outer middleware (body size, request id,
the last-resort 500), the API wrapper (auth, validation) and the handlers themselves.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from starlette.applications import Starlette
from starlette.routing import Route

from lmsplans.demo import DemoTokens
from lmsplans.server.app import create_app
from lmsplans.server.changes.log import EVERYTHING
from lmsplans.server.clock import ManualClock
from lmsplans.server.http import Services
from lmsplans.server.settings import Settings
from tests.conftest import assert_error, auth

ENVELOPE_KEYS = {"status", "code", "message", "requestId"}
GENERATED_ID = re.compile(r"[0-9a-f]{32}")


def progress_path(demo: DemoTokens) -> str:
    return f"/api/v1/learners/{demo.people.learner_id}/learning-plans/progress"


# --- The router: unknown paths and wrong methods -----------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/does-not-exist",
        "/api/v1/learners/1/learning-plans/progress/extra",
        "/api/v2/learning-plans",
        "/nothing-here",
        "/favicon.ico",  # `/` itself answers since issue 11 (tests/api/test_home.py)
        "/oauth/v2/nope",
    ],
)
async def test_unknown_path_is_404_7050(client: httpx.AsyncClient, path: str) -> None:
    body = assert_error(await client.get(path), 404, 7050)
    assert set(body) == ENVELOPE_KEYS
    assert_error(await client.post(path, content=b"{}"), 404, 7050)


async def test_unknown_path_with_a_valid_token_is_404_7050(
    client: httpx.AsyncClient, demo: DemoTokens
) -> None:
    response = await client.get("/api/v1/nope", headers=auth(demo.admin_token))
    assert_error(response, 404, 7050)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/learners/1/learning-plans/progress"),
        ("PATCH", "/api/v1/learners/1/learning-plans/progress"),
        ("DELETE", "/api/v1/learners/1/course-progress"),
        ("DELETE", "/healthz"),
        ("POST", "/readyz"),
        ("PUT", "/metrics"),
        ("GET", "/oauth/v2/token"),
    ],
)
async def test_wrong_method_is_405_7051(client: httpx.AsyncClient, method: str, path: str) -> None:
    response = await client.request(method, path)
    body = assert_error(response, 405, 7051)
    assert set(body) == ENVELOPE_KEYS
    assert method not in response.headers["allow"]
    assert response.headers["allow"]


async def test_a_wrong_method_hears_every_method_of_its_path_on_every_path(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    """One route per method serves a path: a 405 on any of them lists them all (Starlette
    alone named only the route it happened to match)."""
    served: dict[str, set[str]] = {}
    for route in app.router.routes:
        if isinstance(route, Route) and route.methods:
            served.setdefault(route.path, set()).update(route.methods)
    assert len(served) > 20
    for template, methods in sorted(served.items()):
        path = re.sub(r"{\w+}", "1", template)
        for method in sorted({"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"} - methods):
            response = await client.request(method, path)
            if template == "/ui" or template.startswith("/ui/"):  # a page for people
                assert response.status_code == 405, (method, template)
                assert response.headers["content-type"].startswith("text/html")
            else:
                assert_error(response, 405, 7051)
            allowed = {name.strip() for name in response.headers["allow"].split(",")}
            assert allowed == methods, (method, template)


async def test_wrong_method_on_the_reference_endpoint_names_get(
    client: httpx.AsyncClient, demo: DemoTokens
) -> None:
    response = await client.post(progress_path(demo), headers=auth(demo.admin_token))
    assert_error(response, 405, 7051)
    assert "GET" in response.headers["allow"]


# --- The API wrapper and handlers: validation --------------------------------------------------


async def test_validation_error_names_the_field(
    client: httpx.AsyncClient, demo: DemoTokens
) -> None:
    response = await client.get(
        progress_path(demo) + "?startIndex=abc", headers=auth(demo.admin_token)
    )
    body = assert_error(response, 400, 7204)
    assert body["errors"][0]["field"] == "startIndex"
    body = assert_error(
        await client.get(progress_path(demo) + "?limit=101", headers=auth(demo.admin_token)),
        422,
        7021,
    )
    assert body["message"].startswith("Maximum limit exceeded")


@pytest.mark.parametrize("path", ["/oauth/v2/token", "/oauth/v2/token/revoke"])
async def test_body_the_framework_cannot_parse_is_400_7204(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.post(
        path, content=b"junk", headers={"content-type": "multipart/form-data"}
    )
    body = assert_error(response, 400, 7204)
    assert body["errors"][0]["field"] == "body"


async def test_unknown_learner_is_404_7048(client: httpx.AsyncClient, demo: DemoTokens) -> None:
    response = await client.get(
        "/api/v1/learners/999999999/learning-plans/progress", headers=auth(demo.admin_token)
    )
    assert_error(response, 404, 7048)


# --- The outer middleware: body size ----------------------------------------------------------


@pytest.fixture
async def small_body_app(tmp_path: Path, clock: ManualClock) -> AsyncIterator[Starlette]:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'small.db'}", max_body_bytes=64)
    application = create_app(settings, clock=clock)
    async with LifespanManager(application):
        yield application


@pytest.fixture
async def small_client(small_body_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=small_body_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


FORM = {"content-type": "application/x-www-form-urlencoded"}


async def test_body_over_the_limit_with_content_length_is_413_7053(
    small_client: httpx.AsyncClient,
) -> None:
    for path in ("/oauth/v2/token", "/oauth/v2/token/revoke", "/api/v1/learning-plans", "/x"):
        response = await small_client.post(path, content=b"token=" + b"a" * 100, headers=FORM)
        assert response.request.headers["content-length"] == "106"
        body = assert_error(response, 413, 7053)
        assert "64" in body["message"]


async def test_body_at_the_limit_is_read(small_client: httpx.AsyncClient) -> None:
    body = b"token=" + b"a" * 58
    assert len(body) == 64
    response = await small_client.post("/oauth/v2/token/revoke", content=body, headers=FORM)
    assert response.status_code == 200, response.text


async def chunks(total: int, size: int = 16) -> AsyncIterator[bytes]:
    yield b"token="
    sent = 6
    while sent < total:
        part = min(size, total - sent)
        yield b"a" * part
        sent += part


async def test_streamed_body_over_the_limit_is_413_7053(
    small_client: httpx.AsyncClient,
) -> None:
    for path in ("/oauth/v2/token", "/oauth/v2/token/revoke"):
        response = await small_client.post(path, content=chunks(200), headers=FORM)
        assert "content-length" not in response.request.headers
        assert response.request.headers["transfer-encoding"] == "chunked"
        assert_error(response, 413, 7053)


async def test_streamed_body_under_the_limit_is_read(small_client: httpx.AsyncClient) -> None:
    response = await small_client.post("/oauth/v2/token/revoke", content=chunks(60), headers=FORM)
    assert "content-length" not in response.request.headers
    assert response.status_code == 200, response.text


async def test_default_limit_is_one_mebibyte(client: httpx.AsyncClient) -> None:
    body = b"token=" + b"a" * (1024 * 1024)
    assert_error(await client.post("/oauth/v2/token/revoke", content=body, headers=FORM), 413, 7053)


# --- The last-resort 500 ----------------------------------------------------------------------


async def test_unexpected_failure_is_500_7500_without_details(
    client: httpx.AsyncClient,
    demo: DemoTokens,
    services: Services,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Break the storage under the handler for real: a table the reference endpoint reads.
    async with services.db.transaction() as conn:
        conn.changes.touch(None, EVERYTHING)  # a test's own raw write: every cache lets go
        await conn.execute("DROP TABLE plan_admins")
    caplog.set_level(logging.ERROR)
    headers = auth(demo.admin_token) | {"X-Request-Id": "trace-500.a:1"}
    response = await client.get(progress_path(demo), headers=headers)
    body = assert_error(response, 500, 7500)
    assert set(body) == ENVELOPE_KEYS
    assert body["message"] == "Sorry! Server error occured"
    assert body["requestId"] == "trace-500.a:1"
    for leak in ("Traceback", "plan_admins", "no such table", "sqlite", "Error", "File "):
        assert leak not in response.text
    # Still an /api/v1 answer: it carries the rate-limit fields.
    assert response.headers["ratelimit-policy"] == '"api";q=30;w=60'
    assert response.headers["ratelimit"] == '"api";r=29;t=60'
    # The log has the request id and the stack trace.
    records = [r for r in caplog.records if "trace-500.a:1" in r.getMessage()]
    assert records, [r.getMessage() for r in caplog.records]
    assert records[0].levelno == logging.ERROR
    assert records[0].exc_info is not None
    assert "plan_admins" in str(records[0].exc_info[1])
    # Other endpoints still answer.
    response = await client.get("/api/v1/learning-plans", headers=auth(demo.admin_token))
    assert response.status_code == 200, response.text


async def test_unexpected_failure_in_a_public_route_is_500_7500(
    client: httpx.AsyncClient, services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    async with services.db.transaction() as conn:
        conn.changes.touch(None, EVERYTHING)  # a test's own raw write: every cache lets go
        # PostgreSQL refuses to drop a referenced table without CASCADE; SQLite does not ask.
        cascade = " CASCADE" if services.db.dialect == "postgresql" else ""
        await conn.execute("DROP TABLE oauth_clients" + cascade)
    caplog.set_level(logging.ERROR)
    params = {
        "grant_type": "refresh_token",
        "client_id": "1000.X",
        "client_secret": "s",
        "refresh_token": "r",
    }
    response = await client.post("/oauth/v2/token", params=params)
    body = assert_error(response, 500, 7500)
    assert set(body) == ENVELOPE_KEYS
    assert "oauth_clients" not in response.text
    assert any(body["requestId"] in r.getMessage() and r.exc_info for r in caplog.records), [
        r.getMessage() for r in caplog.records
    ]


# --- Request ids -------------------------------------------------------------------------------


@pytest.mark.parametrize("request_id", ["abc", "A-1_b.c:d", "0" * 128, "0f8fad5b-d9cb-469f"])
async def test_safe_request_id_is_echoed(
    client: httpx.AsyncClient, demo: DemoTokens, request_id: str
) -> None:
    ok = await client.get(
        progress_path(demo), headers=auth(demo.admin_token) | {"X-Request-Id": request_id}
    )
    assert ok.status_code == 200
    assert ok.headers["x-request-id"] == request_id
    error = await client.get("/nope", headers={"X-Request-Id": request_id})
    body = assert_error(error, 404, 7050)
    assert body["requestId"] == request_id


@pytest.mark.parametrize(
    "request_id", ["has space", "0" * 129, "<script>", "a/b", "a;b=c", "x\tz", "", "caf\u00e9"]
)
async def test_unsafe_request_id_is_replaced(client: httpx.AsyncClient, request_id: str) -> None:
    response = await client.get("/nope", headers=[("X-Request-Id", request_id.encode("latin-1"))])
    body = assert_error(response, 404, 7050)
    assert body["requestId"] != request_id
    assert GENERATED_ID.fullmatch(body["requestId"])
    assert response.headers.get_list("x-request-id") == [body["requestId"]]


async def test_every_answer_has_its_own_request_id(client: httpx.AsyncClient) -> None:
    ids = {(await client.get("/healthz")).headers["x-request-id"] for _ in range(5)}
    assert len(ids) == 5
    assert all(GENERATED_ID.fullmatch(i) for i in ids)


# --- Operations endpoints ---------------------------------------------------------------------


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "process": str(os.getpid())}  # in-process app
    assert response.headers["x-request-id"]


async def test_readyz(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "limiter": "ok"}}


async def test_readyz_is_503_7503_when_the_database_is_gone(
    client: httpx.AsyncClient, services: Services
) -> None:
    await services.db.close()
    body = assert_error(await client.get("/readyz"), 503, 7503)
    assert body["checks"] == {"database": "down", "limiter": "ok"}
    assert "database" in body["message"]


async def test_metrics_counts_requests_by_route_template_and_status(
    client: httpx.AsyncClient, demo: DemoTokens
) -> None:
    await client.get("/healthz")
    await client.get("/nope/1")
    await client.get("/nope/2")
    await client.get(progress_path(demo), headers=auth(demo.admin_token))
    await client.get(progress_path(demo))
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert "# TYPE lmsplans_http_requests_total counter" in text
    assert "# TYPE lmsplans_http_request_seconds histogram" in text
    template = "/api/v1/learners/{learnerId}/learning-plans/progress"

    def sample(route: str, status: int) -> float:
        match = re.search(
            rf'^lmsplans_http_requests_total\{{route="{re.escape(route)}",status="{status}"\}} '
            r"(\S+)$",
            text,
            re.M,
        )
        assert match, f"no sample for {route} {status}"
        return float(match[1])

    assert sample("/healthz", 200) == 1
    assert sample("unmatched", 404) == 2  # unknown paths do not grow the label set
    assert sample(template, 200) == 1
    assert sample(template, 401) == 1
    assert str(demo.people.learner_id) not in text
    # The latency histogram: both answers on the route, each in the buckets up to +Inf.
    route_label = f'route="{template}"'
    assert f"lmsplans_http_request_seconds_count{{{route_label}}} 2.0" in text
    assert f'lmsplans_http_request_seconds_bucket{{le="+Inf",{route_label}}} 2.0' in text
    buckets = re.findall(
        rf'^lmsplans_http_request_seconds_bucket\{{le="([^"]+)",{re.escape(route_label)}\}} (\S+)$',
        text,
        re.M,
    )
    counts = [float(count) for _, count in buckets]
    assert counts == sorted(counts) and len(counts) == 12  # cumulative, 11 bounds and +Inf
