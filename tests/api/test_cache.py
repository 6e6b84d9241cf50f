"""What a process keeps between requests is never staler than the last committed write,
whichever process wrote it: two apps on one database stand for two server processes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from lmsplans.demo import DemoTokens
from lmsplans.server.app import create_app
from lmsplans.server.auth.service import issue_access_token
from lmsplans.server.clock import ManualClock
from lmsplans.server.db import Page
from lmsplans.server.http import Services
from lmsplans.server.params import DEFAULT_LIMIT
from lmsplans.server.progress.routes import progress_page_key
from lmsplans.server.settings import Settings
from tests.conftest import assert_error, auth, committed_writes


@pytest.fixture
async def other_process(settings: Settings, clock: ManualClock) -> AsyncIterator[httpx.AsyncClient]:
    """A second app on the same database, with a cache of its own."""
    app = create_app(settings, clock=clock)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://other") as client:
            yield client


def progress_path(demo: DemoTokens) -> str:
    return f"/api/v1/learners/{demo.people.learner_id}/learning-plans/progress"


async def complete_a_course(
    writer: httpx.AsyncClient, demo: DemoTokens, answer: dict[str, Any]
) -> dict[str, Any]:
    """Record, through `writer` as the admin, a course completed for the demo learner in a
    plan of `answer` (their progress answer) not completed yet; answers that plan."""
    headers = auth(demo.admin_token)
    learner_id = demo.people.learner_id
    plan = next(p for p in answer["learningPlans"] if p["progressInfo"]["status"] != "completed")
    courses = (
        await writer.get(
            f"/api/v1/learners/{learner_id}/learning-plans/{plan['planId']}/courses/progress",
            headers=headers,
        )
    ).json()["courses"]
    course = next(c for c in courses if c["completionStatus"] != "completed")
    recorded = await writer.put(
        f"/api/v1/courses/{course['courseId']}/learners/{learner_id}/course-progress",
        json={"completionStatus": "completed"},
        headers=headers,
    )
    assert recorded.status_code == 200, recorded.text
    found: dict[str, Any] = plan
    return found


async def test_progress_recorded_elsewhere_is_in_the_next_answer(
    client: httpx.AsyncClient, other_process: httpx.AsyncClient, demo: DemoTokens
) -> None:
    headers = auth(demo.admin_token)
    before = (await client.get(progress_path(demo), headers=headers)).json()
    again = (await client.get(progress_path(demo), headers=headers)).json()
    assert again == before  # the second answer came from the cache
    plan = await complete_a_course(other_process, demo, before)
    after = (await client.get(progress_path(demo), headers=headers)).json()
    changed = next(p for p in after["learningPlans"] if p["planId"] == plan["planId"])
    assert int(changed["progressInfo"]["completedCourseCount"]) == (
        int(plan["progressInfo"]["completedCourseCount"]) + 1
    )


async def test_a_token_revoked_elsewhere_is_refused_by_the_next_request(
    client: httpx.AsyncClient, other_process: httpx.AsyncClient, demo: DemoTokens
) -> None:
    headers = auth(demo.learner_token)
    assert (await client.get(progress_path(demo), headers=headers)).status_code == 200
    revoked = await other_process.post(
        "/oauth/v2/token/revoke", params={"token": demo.learner_token}
    )
    assert revoked.status_code == 200
    assert_error(await client.get(progress_path(demo), headers=headers), 401, 7201)


async def test_isoverdue_moves_with_the_clock_even_from_the_cache(
    client: httpx.AsyncClient, services: Services, demo: DemoTokens, clock: ManualClock
) -> None:
    async with services.db.transaction() as conn:  # a token that outlives the clock's jump
        issued = await issue_access_token(
            conn,
            org_id=demo.people.org_id,
            user_id=demo.people.admin_id,
            scopes="ZOHOPEOPLE.training.READ",
            now_ms=clock.now_ms(),
            ttl_seconds=10 * 365 * 86400,
        )
    headers = auth(issued.access_token)
    plans = (await client.get(progress_path(demo), headers=headers)).json()["learningPlans"]
    pending = [
        p
        for p in plans
        if not p["progressInfo"]["isOverdue"]
        and p["progressInfo"]["dueTime"] != "null"
        and not p["userInfo"]["isUserCompletedPlan"]
    ]
    assert pending, "the demo learner has a plan that is not overdue yet"
    commits = await committed_writes(services)
    due = max(int(p["progressInfo"]["dueTime"]) for p in pending)
    clock.advance((due - clock.now_ms()) / 1000 + 1)
    plans = (await client.get(progress_path(demo), headers=headers)).json()["learningPlans"]
    for plan in plans:
        if plan["planId"] in {p["planId"] for p in pending}:
            assert plan["progressInfo"]["isOverdue"] is True
    assert await committed_writes(services) == commits  # no write: answered from the cache


async def test_recording_progress_keeps_the_learners_token_and_record(
    client: httpx.AsyncClient, services: Services, demo: DemoTokens
) -> None:
    """A progress write names where the learner stands (`progress:<id>`), not the person
    (`learner:<id>`): their token and record stay kept, their progress page goes; a change
    to the person drops all three."""
    learner_id = demo.people.learner_id
    token_key = ("token", demo.learner_token)
    record_key = ("learner", demo.people.org_id, str(learner_id))
    page_key = progress_page_key(learner_id, Page(offset=0, limit=DEFAULT_LIMIT))
    reading = auth(demo.learner_token)
    before = (await client.get(progress_path(demo), headers=reading)).json()
    assert services.cache.get(token_key) is not None
    assert services.cache.get(record_key) is not None
    assert services.cache.get(page_key) is not None

    plan = await complete_a_course(client, demo, before)
    await services.db.catch_up()
    assert services.cache.get(page_key) is None
    assert services.cache.get(token_key) is not None
    assert services.cache.get(record_key) is not None
    after = (await client.get(progress_path(demo), headers=reading)).json()
    changed = next(p for p in after["learningPlans"] if p["planId"] == plan["planId"])
    assert int(changed["progressInfo"]["completedCourseCount"]) == (
        int(plan["progressInfo"]["completedCourseCount"]) + 1
    )

    renamed = await client.patch(
        f"/api/v1/learners/{learner_id}",
        json={"displayName": "Renamed Learner"},
        headers=auth(demo.admin_token),
    )
    assert renamed.status_code == 200, renamed.text
    await services.db.catch_up()
    for key in (token_key, record_key, page_key):
        assert services.cache.get(key) is None, key
