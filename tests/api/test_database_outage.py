"""The database cut under a running app: every route that needs it answers 503 7503.

Storage reports its own outages (`DatabaseUnavailable`, from `read`, `transaction` and the
data-version check) and one function answers every exception, so no route, public ones
included, answers 500 or shows a traceback while the database is away. On PostgreSQL the
app reaches the database through a TCP relay that is cut (`tests.relay`); on SQLite the
database is closed under the running app, so that every statement fails.

Every route the app serves is asked; the few that need no database say so here, by name.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from lmsplans.demo import DemoTokens
from lmsplans.server.http import Services
from lmsplans.server.settings import Settings
from tests.conftest import assert_error, auth
from tests.relay import TcpRelay, relay_to

# The routes that answer without the database, and what they answer while it is away.
NO_DATABASE = {
    ("GET", "/"): 200,
    ("GET", "/healthz"): 200,
    ("GET", "/metrics"): 200,
    ("GET", "/openapi.json"): 200,
    ("GET", "/docs"): 200,
}


@pytest.fixture
def relay(backend: str, database_url: str) -> Iterator[tuple[TcpRelay, str] | None]:
    """On PostgreSQL, a relay to the test's database and the URL through it."""
    if backend != "postgresql":
        yield None
        return
    with relay_to(database_url, 5432) as relayed:
        yield relayed


@pytest.fixture
def settings(database_url: str, relay: tuple[TcpRelay, str] | None) -> Settings:
    return Settings(database_url=database_url if relay is None else relay[1])


@pytest.fixture
def cut_database(
    relay: tuple[TcpRelay, str] | None, services: Services
) -> Callable[[], Awaitable[None]]:
    async def cut() -> None:
        if relay is None:
            await services.db.close()
        else:
            relay[0].cut()

    return cut


async def _path_ids(client: httpx.AsyncClient, demo: DemoTokens) -> dict[str, str]:
    """A learner, a plan and a course (and the course as a batch) of the demo organisation,
    read through the API."""
    token = auth(demo.admin_token)
    plans = (await client.get("/api/v1/learning-plans", headers=token)).json()["learningPlans"]
    courses = (await client.get("/api/v1/courses", headers=token)).json()["courses"]
    return {
        "learnerId": str(demo.people.learner_id),
        "planId": plans[0]["planId"],
        "courseId": courses[0]["courseId"],
        "batchId": courses[0]["courseId"],  # a blended course's one batch is the course
        "webhookId": "1",  # looked up in the database, which is away
    }


def _served(app: Starlette) -> list[tuple[str, str]]:
    """(method, path template) of every route the app serves."""
    return sorted(
        (method, route.path)
        for route in app.routes
        if isinstance(route, Route)
        for method in route.methods or ()
        if method != "HEAD"
    )


@pytest.fixture
async def answers_while_cut(
    app: Starlette,
    client: httpx.AsyncClient,
    demo: DemoTokens,
    cut_database: Callable[[], Awaitable[None]],
    caplog: pytest.LogCaptureFixture,
) -> AsyncIterator[dict[tuple[str, str], httpx.Response]]:
    ids = await _path_ids(client, demo)
    before = await client.get(
        f"/api/v1/learners/{ids['learnerId']}/learning-plans/progress",
        headers=auth(demo.admin_token),
    )
    assert before.status_code == 200, before.text
    await cut_database()
    # The pages' own: a sign-in link's token, any other path under /ui/.
    values = {**ids, "token": "not-a-token", "rest": "nowhere"}
    answers = {}
    with caplog.at_level(logging.ERROR):
        for method, template in _served(app):
            path = re.sub(r"{(\w+)(:\w+)?}", lambda match: values[match[1]], template)
            # Enough for each route to reach its storage: a token, and what OAuth asks for.
            params = {
                "grant_type": "refresh_token",
                "client_id": "1000.X",
                "client_secret": "secret",
                "refresh_token": "1000.a.b",
                "token": "1000.a.b",
            }
            answers[(method, template)] = await client.request(
                method,
                path,
                headers=auth(demo.admin_token),
                params=params if template.startswith("/oauth/") else None,
            )
    yield answers
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], "an error was logged"


def _is_page(key: tuple[str, str]) -> bool:
    return key[1] == "/ui" or key[1].startswith("/ui/")


async def test_every_page_answers_503_as_a_page(
    answers_while_cut: dict[tuple[str, str], httpx.Response],
) -> None:
    pages = {key: answer for key, answer in answers_while_cut.items() if _is_page(key)}
    assert len(pages) >= 15  # signing in, the reads and the forms
    for key, answer in pages.items():
        assert answer.status_code == 503, (key, answer.text[:300])
        assert answer.headers["content-type"].startswith("text/html"), key
        assert "the database cannot be reached" in answer.text, key


async def test_every_route_needing_the_database_answers_503_7503(
    answers_while_cut: dict[tuple[str, str], httpx.Response],
) -> None:
    assert ("POST", "/oauth/v2/token") in answers_while_cut
    assert ("POST", "/oauth/v2/token/revoke") in answers_while_cut
    assert set(NO_DATABASE) <= set(answers_while_cut)
    unavailable = {key for key in answers_while_cut if key not in NO_DATABASE and not _is_page(key)}
    assert len(unavailable) >= 30  # the API, OAuth and /readyz
    wrong = {
        f"{method} {path}": (answer.status_code, answer.text)
        for (method, path), answer in answers_while_cut.items()
        if (method, path) in unavailable
        and (answer.status_code, answer.json().get("code")) != (503, 7503)
    }
    assert not wrong
    for key in unavailable:
        assert_error(answers_while_cut[key], 503, 7503)
    for key, status in NO_DATABASE.items():
        assert answers_while_cut[key].status_code == status, key


async def test_the_answers_say_that_the_database_is_away(
    answers_while_cut: dict[tuple[str, str], httpx.Response],
) -> None:
    progress = answers_while_cut[("GET", "/api/v1/learners/{learnerId}/learning-plans/progress")]
    body = assert_error(progress, 503, 7503)
    assert body["message"] == "Service unavailable: the database cannot be reached"
    token = assert_error(answers_while_cut[("POST", "/oauth/v2/token")], 503, 7503)
    assert token["message"] == body["message"]
    ready = assert_error(answers_while_cut[("GET", "/readyz")], 503, 7503)
    assert ready["checks"] == {"database": "down", "limiter": "ok"}
