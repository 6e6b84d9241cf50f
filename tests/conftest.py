"""Shared fixtures: the real app on a real database, driven in-process over ASGI.

Every test that uses the database runs once per backend: on a SQLite file and on
PostgreSQL (see `tests/databases.py`). Each gets a fresh copy of a migrated template, with
the small demo organisations already in it when the test asks for `demo`.
Time is a `ManualClock` so tests can move it (token expiry, the lock) without waiting.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from starlette.applications import Starlette

from lmsplans.demo import DemoTokens, build_demo, mint_demo_tokens
from lmsplans.server.app import create_app
from lmsplans.server.clock import ManualClock
from lmsplans.server.http import Services
from lmsplans.server.settings import Settings
from tests.databases import (
    DEMO_LEARNERS,
    Templates,
    postgres_unavailable_reason,
    redis_test_url,
    redis_unavailable_reason,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
# Zoho's documented sample response of the reference endpoint (its source: tests/fixtures/zoho).
REFERENCE_SAMPLE = REPO_ROOT / "tests" / "fixtures" / "zoho" / "learning-plan-progress-sample.json"

BACKENDS = ("sqlite", "postgresql")
__all__ = ["BACKENDS", "DEMO_LEARNERS"]


def reference_sample() -> dict[str, Any]:
    """The SAMPLE RESPONSE of Zoho's documentation of the reference endpoint."""
    sample: dict[str, Any] = json.loads(REFERENCE_SAMPLE.read_text())
    return sample


async def committed_writes(services: Services) -> int:
    """How many rows the change log holds: every committed write transaction leaves at least
    one, so an unchanged count means nothing was written."""
    async with services.db.read() as conn:
        return int(await conn.fetch_value("SELECT count(*) FROM changes"))


def auth(token: str, scheme: str = "Zoho-oauthtoken") -> dict[str, str]:
    return {"Authorization": f"{scheme} {token}"}


def assert_error(response: httpx.Response, status: int, code: int) -> dict[str, Any]:
    """The documented error envelope, with the given status and code."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert isinstance(body["message"], str) and body["message"]
    assert body["requestId"] == response.headers["x-request-id"]
    assert re.fullmatch(r"[A-Za-z0-9._:-]+", body["requestId"])
    return body


# A fixed key for webhook secrets: no test writes a key file into the user's data directory.
TEST_WEBHOOK_KEY = "0l0Vp6Tq2h2bBqzYVqY3cW3c2gJ8s8R6m6Zr8Vt0H5M="


@pytest.fixture(autouse=True)
def webhook_environment(monkeypatch: pytest.MonkeyPatch) -> str:
    """Every in-process app: webhook secrets under a fixed key, and no delivery of its own
    (nothing sent anywhere); the webhook tests run the deliverer themselves."""
    monkeypatch.setenv("LMSPLANS_WEBHOOK_SECRET_KEY", TEST_WEBHOOK_KEY)
    monkeypatch.setenv("LMSPLANS_WEBHOOK_DELIVERY", "worker")
    return TEST_WEBHOOK_KEY


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(wall_ms=time.time_ns() // 1_000_000)


@pytest.fixture(scope="session")
def database_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Templates]:
    templates = Templates(tmp_path_factory.mktemp("templates"))
    yield templates
    templates.close()


@pytest.fixture(scope="session")
def postgres_skip_reason() -> str | None:
    return postgres_unavailable_reason()


@pytest.fixture(scope="session")
def redis_url() -> str:
    """A reachable Redis (skipped, with the reason, where there is none and none is required)."""
    reason = redis_unavailable_reason()
    if reason:
        pytest.skip(reason)
    return redis_test_url()


@pytest.fixture
def redis_prefix() -> str:
    """A key prefix of this test's own, so no two tests (or runs) share a count or a lock."""
    return f"lmsplans-test:{uuid.uuid4().hex}:"


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The storage backend of this test run: "sqlite" or "postgresql"."""
    backend: str = request.param
    if backend == "postgresql":
        reason = request.getfixturevalue("postgres_skip_reason")
        if reason:
            pytest.skip(reason)
    return backend


@pytest.fixture
def database_url(
    request: pytest.FixtureRequest, backend: str, tmp_path: Path, database_templates: Templates
) -> str:
    """A fresh, migrated database; with the small demo in it when the test uses `demo`."""
    kind = "demo" if "demo" in request.fixturenames else "empty"
    return database_templates.new_database(backend, kind, tmp_path)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url)


@pytest.fixture
async def app(settings: Settings, clock: ManualClock) -> AsyncIterator[Starlette]:
    application = create_app(settings, clock=clock)
    async with LifespanManager(application):
        yield application


@pytest.fixture
def services(app: Starlette) -> Services:
    services: Services = app.state.services
    return services


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
async def demo(services: Services, clock: ManualClock) -> DemoTokens:
    """The demo organisations (small, from the template), with an admin, a manager and a
    learner token."""
    people = await build_demo(services.db, now_ms=clock.now_ms(), learners=DEMO_LEARNERS)
    return await mint_demo_tokens(
        services.db,
        people=people,
        now_ms=clock.now_ms(),
        ttl_seconds=services.settings.access_token_ttl_seconds,
    )
