"""The threshold and lock of spec section 4, through the real app.

The default settings (30 calls in a sliding 60 s window, then a 300 s lock) with the
ManualClock, whose monotonic time the in-process limiter reads.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from starlette.applications import Starlette

from lmsplans.demo import DemoTokens, build_demo, mint_demo_tokens
from lmsplans.server.app import create_app
from lmsplans.server.auth.service import create_client
from lmsplans.server.clock import ManualClock
from lmsplans.server.http import Services
from lmsplans.server.settings import Settings
from tests.conftest import assert_error, auth

POLICY = re.compile(r'"api";q=(\d+);w=(\d+)')
QUOTA = re.compile(r'"api";r=(\d+);t=(\d+)')
BAD_TOKEN = "1000." + "0" * 32 + "." + "0" * 32


def progress_path(learner_id: int) -> str:
    return f"/api/v1/learners/{learner_id}/learning-plans/progress"


def quota(response: httpx.Response) -> tuple[int, int]:
    """(remaining, seconds) of the `RateLimit` field, after checking both fields' syntax."""
    policy = POLICY.fullmatch(response.headers["ratelimit-policy"])
    assert policy, response.headers["ratelimit-policy"]
    match = QUOTA.fullmatch(response.headers["ratelimit"])
    assert match, response.headers["ratelimit"]
    return int(match[1]), int(match[2])


def policy(response: httpx.Response) -> tuple[int, int]:
    match = POLICY.fullmatch(response.headers["ratelimit-policy"])
    assert match, response.headers["ratelimit-policy"]
    return int(match[1]), int(match[2])


async def call_n(
    client: httpx.AsyncClient, path: str, token: str, n: int, *, status: int = 200
) -> list[httpx.Response]:
    responses = []
    for _ in range(n):
        response = await client.get(path, headers=auth(token))
        assert response.status_code == status, response.text
        responses.append(response)
    return responses


def assert_locked(response: httpx.Response, seconds_left: int) -> None:
    assert_error(response, 429, 7209)
    assert response.headers["retry-after"] == str(seconds_left)
    assert quota(response) == (0, seconds_left)
    assert policy(response) == (30, 60)


# --- Threshold and lock ------------------------------------------------------------------------


async def test_thirty_pass_and_the_31st_is_locked(
    client: httpx.AsyncClient, demo: DemoTokens
) -> None:
    path = progress_path(demo.people.learner_id)
    passed = await call_n(client, path, demo.admin_token, 30)
    assert [quota(r)[0] for r in passed] == list(range(29, -1, -1))
    assert all(policy(r) == (30, 60) for r in passed)
    assert all("retry-after" not in r.headers for r in passed)
    refused = await client.get(path, headers=auth(demo.admin_token))
    assert_locked(refused, 300)
    body = refused.json()
    assert body["message"] == (
        "API access blocked since threshold limit exceeded. Please try after some time"
    )


async def test_calls_during_the_lock_do_not_extend_it(
    client: httpx.AsyncClient, demo: DemoTokens, clock: ManualClock
) -> None:
    path = progress_path(demo.people.learner_id)
    await call_n(client, path, demo.admin_token, 30)
    assert_locked(await client.get(path, headers=auth(demo.admin_token)), 300)
    clock.advance(100)
    for _ in range(5):
        assert_locked(await client.get(path, headers=auth(demo.admin_token)), 200)
    clock.advance(150)
    assert_locked(await client.get(path, headers=auth(demo.admin_token)), 50)
    clock.advance(49.5)
    assert_locked(await client.get(path, headers=auth(demo.admin_token)), 1)
    clock.advance(0.5)  # exactly 300 s after the lock began
    response = await client.get(path, headers=auth(demo.admin_token))
    assert response.status_code == 200, response.text


async def test_after_the_lock_the_window_starts_empty(
    client: httpx.AsyncClient, demo: DemoTokens, clock: ManualClock
) -> None:
    path = progress_path(demo.people.learner_id)
    await call_n(client, path, demo.admin_token, 30)
    assert_locked(await client.get(path, headers=auth(demo.admin_token)), 300)
    clock.advance(299)
    # The last seconds of the lock: each call is refused and none of them is counted.
    await call_n(client, path, demo.admin_token, 40, status=429)
    clock.advance(1)
    passed = await call_n(client, path, demo.admin_token, 30)
    assert [quota(r)[0] for r in passed] == list(range(29, -1, -1))
    assert_locked(await client.get(path, headers=auth(demo.admin_token)), 300)


async def test_the_window_slides(
    client: httpx.AsyncClient, demo: DemoTokens, clock: ManualClock
) -> None:
    """30 calls spread over the minute; each later call is allowed as the oldest leaves."""
    path = progress_path(demo.people.learner_id)
    for _ in range(30):  # t = 0, 2, ..., 58
        await call_n(client, path, demo.admin_token, 1)
        clock.advance(2)
    # t = 60: the call of t = 0 has left the window, the one of t = 2 has not.
    response = (await call_n(client, path, demo.admin_token, 1))[0]
    assert quota(response) == (0, 2)
    assert_locked(await client.get(path, headers=auth(demo.admin_token)), 300)


async def test_the_count_is_per_route_template_not_per_url(
    client: httpx.AsyncClient, demo: DemoTokens
) -> None:
    people = demo.people
    for index in range(30):
        learner = people.learner_id if index % 2 else people.manager_id
        response = await client.get(progress_path(learner), headers=auth(demo.admin_token))
        assert response.status_code == 200, response.text
    refused = await client.get(progress_path(people.admin_id), headers=auth(demo.admin_token))
    assert_locked(refused, 300)


async def test_the_count_is_per_user_and_per_api(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services
) -> None:
    people = demo.people
    path = progress_path(people.learner_id)
    await call_n(client, path, demo.admin_token, 30)
    assert_locked(await client.get(path, headers=auth(demo.admin_token)), 300)
    # The same user on another API is not locked.
    response = await client.get("/api/v1/learning-plans", headers=auth(demo.admin_token))
    assert response.status_code == 200, response.text
    assert quota(response)[0] == 29
    # Other users on the same API are not locked.
    response = await client.get(path, headers=auth(demo.learner_token))
    assert response.status_code == 200, response.text
    assert quota(response)[0] == 29
    response = await client.get(progress_path(people.manager_id), headers=auth(demo.manager_token))
    assert response.status_code == 200, response.text
    # The same user through another token shares the user's count: still locked.
    async with services.db.transaction() as conn:
        other = await create_client(
            conn,
            org_id=people.org_id,
            user_id=people.admin_id,
            scopes="ZOHOPEOPLE.training.READ",
            name="second",
            now_ms=services.clock.now_ms(),
            ttl_seconds=3600,
        )
    refused = await client.get(path, headers=auth(other.access_token))
    assert_locked(refused, 300)


async def test_every_call_counts_whatever_its_answer(
    client: httpx.AsyncClient, demo: DemoTokens
) -> None:
    """Errors after authentication (404, 400, 422, 403) count like successes."""
    path = progress_path(demo.people.learner_id)
    unknown = progress_path(999_999_999)
    for index in range(30):
        if index % 3 == 0:
            response = await client.get(unknown, headers=auth(demo.admin_token))
            assert_error(response, 404, 7048)
        elif index % 3 == 1:
            response = await client.get(path + "?startIndex=-1", headers=auth(demo.admin_token))
            assert_error(response, 400, 7204)
        else:
            response = await client.get(path + "?limit=101", headers=auth(demo.admin_token))
            assert_error(response, 422, 7021)
        assert quota(response)[0] == 29 - index
    assert_locked(await client.get(path, headers=auth(demo.admin_token)), 300)


# --- Header fields on every /api/v1 answer -----------------------------------------------------


async def test_rate_limit_fields_on_errors(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services
) -> None:
    people = demo.people
    path = progress_path(people.learner_id)
    answers = [
        await client.get(path, headers=auth(demo.admin_token)),
        await client.get(progress_path(999_999_999), headers=auth(demo.admin_token)),
        await client.get(path + "?startIndex=x", headers=auth(demo.admin_token)),
        await client.get(path + "?limit=101", headers=auth(demo.admin_token)),
        # The learner reading the admin: a role error.
        await client.get(progress_path(people.admin_id), headers=auth(demo.learner_token)),
        await client.get(path, headers=auth(BAD_TOKEN)),
        await client.get(path),
    ]
    assert [r.status_code for r in answers] == [200, 404, 400, 422, 403, 401, 401]
    for response in answers:
        assert policy(response) == (30, 60)
        remaining, seconds = quota(response)
        assert 0 <= remaining < 30 and 0 < seconds <= 60
    async with services.db.transaction() as conn:
        create_only = await create_client(
            conn,
            org_id=people.org_id,
            user_id=people.manager_id,
            scopes="ZOHOPEOPLE.training.CREATE",
            name="writer",
            now_ms=services.clock.now_ms(),
            ttl_seconds=3600,
        )
    response = await client.get(path, headers=auth(create_only.access_token))
    assert_error(response, 403, 7218)
    assert quota(response) == (29, 60)


async def test_reset_seconds_count_down(
    client: httpx.AsyncClient, demo: DemoTokens, clock: ManualClock
) -> None:
    path = progress_path(demo.people.learner_id)
    first = await client.get(path, headers=auth(demo.admin_token))
    assert quota(first) == (29, 60)
    clock.advance(15)
    assert quota(await client.get(path, headers=auth(demo.admin_token))) == (28, 45)
    clock.advance(44.5)
    assert quota(await client.get(path, headers=auth(demo.admin_token))) == (27, 1)
    clock.advance(0.5)  # the first call leaves the window
    assert quota(await client.get(path, headers=auth(demo.admin_token))) == (27, 15)


async def test_public_routes_carry_no_rate_limit_fields(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert "ratelimit" not in response.headers


# --- Bad tokens: limited per client address and API --------------------------------------------


@asynccontextmanager
async def client_for(app: Starlette, address: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(address, 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def test_bad_tokens_are_limited_per_address_and_api(
    app: Starlette, client: httpx.AsyncClient, demo: DemoTokens, clock: ManualClock
) -> None:
    path = progress_path(demo.people.learner_id)
    for index in range(30):
        token = BAD_TOKEN if index % 2 else f"1000.guess{index}"
        response = await client.get(path, headers=auth(token))
        assert_error(response, 401, 7201)
        assert quota(response)[0] == 29 - index
    assert_locked(await client.get(path, headers=auth(BAD_TOKEN)), 300)
    # Malformed and missing headers count against the same address too.
    assert_locked(await client.get(path, headers={"Authorization": "Basic x"}), 300)
    assert_locked(await client.get(path), 300)
    # Another API from that address, and the same API from another address, are not locked.
    assert_error(await client.get("/api/v1/learning-plans", headers=auth(BAD_TOKEN)), 401, 7201)
    async with client_for(app, "198.51.100.9") as other:
        response = await other.get(path, headers=auth(BAD_TOKEN))
        assert_error(response, 401, 7201)
        assert quota(response)[0] == 29
    clock.advance(300)
    assert_error(await client.get(path, headers=auth(BAD_TOKEN)), 401, 7201)


async def test_expired_tokens_count_as_bad_tokens(
    client: httpx.AsyncClient, demo: DemoTokens, clock: ManualClock
) -> None:
    path = progress_path(demo.people.learner_id)
    clock.advance(3601)
    for _ in range(30):
        assert_error(await client.get(path, headers=auth(demo.admin_token)), 401, 7202)
    assert_locked(await client.get(path, headers=auth(demo.admin_token)), 300)


# --- Settings ---------------------------------------------------------------------------------


@pytest.fixture
async def short_app(tmp_path: Path, clock: ManualClock) -> AsyncIterator[Starlette]:
    """A lock shorter than the window, so 'the window starts empty' is observable."""
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'short.db'}",
        rate_limit_threshold=3,
        rate_limit_window_seconds=60,
        rate_limit_lock_seconds=10,
    )
    application = create_app(settings, clock=clock)
    async with LifespanManager(application):
        yield application


async def test_short_settings_and_an_empty_window_after_the_lock(
    short_app: Starlette, clock: ManualClock
) -> None:
    services: Services = short_app.state.services
    people = await build_demo(services.db, now_ms=clock.now_ms(), learners=5)
    tokens = await mint_demo_tokens(
        services.db, people=people, now_ms=clock.now_ms(), ttl_seconds=3600
    )
    path = progress_path(people.learner_id)
    async with client_for(short_app, "127.0.0.1") as http:
        for expected in (2, 1, 0):
            response = await http.get(path, headers=auth(tokens.admin_token))
            assert response.status_code == 200, response.text
            assert response.headers["ratelimit-policy"] == '"api";q=3;w=60'
            assert quota(response) == (expected, 60)
        refused = await http.get(path, headers=auth(tokens.admin_token))
        assert_error(refused, 429, 7209)
        assert refused.headers["retry-after"] == "10"
        clock.advance(10)
        # The three calls before the lock are still inside the 60 s window, yet forgotten.
        for expected in (2, 1, 0):
            response = await http.get(path, headers=auth(tokens.admin_token))
            assert response.status_code == 200, response.text
            assert quota(response)[0] == expected
        refused = await http.get(path, headers=auth(tokens.admin_token))
        assert_error(refused, 429, 7209)
        assert refused.headers["retry-after"] == "10"


async def test_settings_come_from_the_environment(
    tmp_path: Path, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LMSPLANS_RATE_LIMIT_THRESHOLD", "2")
    monkeypatch.setenv("LMSPLANS_RATE_LIMIT_WINDOW_SECONDS", "30")
    monkeypatch.setenv("LMSPLANS_RATE_LIMIT_LOCK_SECONDS", "45")
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'env.db'}")
    application = create_app(settings, clock=clock)
    async with LifespanManager(application), client_for(application, "127.0.0.1") as http:
        path = "/api/v1/learning-plans"
        for _ in range(2):
            response = await http.get(path, headers=auth(BAD_TOKEN))
            assert_error(response, 401, 7201)
            assert response.headers["ratelimit-policy"] == '"api";q=2;w=30'
        refused = await http.get(path, headers=auth(BAD_TOKEN))
        assert_error(refused, 429, 7209)
        assert refused.headers["retry-after"] == "45"


def test_default_settings_are_the_references(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("THRESHOLD", "WINDOW_SECONDS", "LOCK_SECONDS"):
        monkeypatch.delenv(f"LMSPLANS_RATE_LIMIT_{name}", raising=False)
    settings = Settings()
    assert settings.rate_limit_threshold == 30
    assert settings.rate_limit_window_seconds == 60
    assert settings.rate_limit_lock_seconds == 300
