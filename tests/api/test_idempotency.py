"""`Idempotency-Key` on writes: a retry with the same key and request answers the first
response and writes nothing; the same key with another request is 422 7054; keys belong to
their caller and are kept 24 hours."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from lmsplans.demo import DemoTokens
from lmsplans.server.clock import ManualClock
from lmsplans.server.http import Services
from lmsplans.server.settings import Settings
from tests.api.readdata import sql
from tests.api.test_progress_writes import (
    Api,
    assert_projection_matches,
    assert_snapshots_equal,
    event_count,
    ok_body,
    roomy_settings,
    snapshot,
    token_for,
)
from tests.conftest import assert_error

HOUR_S = 3600


@pytest.fixture
def settings(database_url: str) -> Settings:
    return roomy_settings(database_url)


@pytest.fixture
async def admin(client: httpx.AsyncClient, services: Services, demo: DemoTokens) -> Api:
    # Long-lived: these tests move the clock past 24 hours.
    return Api(client, await token_for(services, demo, demo.people.admin_id))


@pytest.fixture
async def course_and_learner(admin: Api) -> tuple[str, str]:
    course = await admin.course()
    plan = await admin.plan([(course, 1, True, False)])
    [learner] = await admin.learners(1)
    await admin.enrol(plan, [learner])
    return course, learner


def same_answer(first: httpx.Response, retry: httpx.Response) -> None:
    assert retry.status_code == first.status_code
    assert retry.content == first.content
    assert retry.headers.get("idempotent-replayed") == "true"
    assert "idempotent-replayed" not in first.headers


async def keyed_events(services: Services, key: str) -> list[str]:
    rows = await sql(
        services,
        "SELECT kind FROM progress_events WHERE idempotency_key = :k ORDER BY id",
        {"k": key},
    )
    return [r[0] for r in rows]


async def test_a_retried_progress_write_answers_the_first_response_and_writes_one_event(
    admin: Api, services: Services, course_and_learner: tuple[str, str], clock: ManualClock
) -> None:
    course, learner = course_and_learner
    first = await admin.progress(course, learner, {"completionPercentage": 40}, key="retry-1")
    ok_body(first)
    state = await snapshot(services)
    clock.advance(30)
    for _ in range(3):
        retry = await admin.progress(course, learner, {"completionPercentage": 40}, key="retry-1")
        same_answer(first, retry)
    assert_snapshots_equal(state, await snapshot(services), "retries")
    assert await keyed_events(services, "retry-1") == ["course_progress"]
    # Without a key, the same request is simply done again (here: nothing to change).
    ok_body(await admin.progress(course, learner, {"completionPercentage": 40}))


async def test_concurrent_retries_write_once(
    admin: Api, services: Services, course_and_learner: tuple[str, str]
) -> None:
    course, learner = course_and_learner
    responses = await asyncio.gather(
        *(
            admin.progress(course, learner, {"completionPercentage": 70}, key="racing")
            for _ in range(6)
        )
    )
    originals = [r for r in responses if "idempotent-replayed" not in r.headers]
    assert len(originals) == 1
    for response in responses:
        assert (response.status_code, response.content) == (200, originals[0].content)
    assert await keyed_events(services, "racing") == ["course_progress"]


async def test_retried_creates_create_once(admin: Api, services: Services) -> None:
    async def count(table: str) -> int:
        return int((await sql(services, f"SELECT count(*) FROM {table}"))[0][0])

    for path, data, table in (
        ("/courses", {"courseName": "Once"}, "courses"),
        (
            "/learners",
            {"emailId": "once@zylker.example", "displayName": "Once", "employeeId": "ONCE"},
            "learners",
        ),
        ("/learning-plans", {"planName": "Once"}, "learning_plans"),
    ):
        rows = await count(table)
        first = await admin.send("POST", path, data, key=f"create{path}")
        ok_body(first)
        same_answer(first, await admin.send("POST", path, data, key=f"create{path}"))
        assert await count(table) == rows + 1, table


async def test_retried_enrolment_unenrolment_and_join_write_once(
    client: httpx.AsyncClient, admin: Api, services: Services, demo: DemoTokens
) -> None:
    course = await admin.course()
    plan = await admin.plan([(course, 1, True, False)])
    first_learner, joiner = await admin.learners(2)
    path = f"/learning-plans/{plan}/learners"
    first = await admin.send("PUT", path, [first_learner], key="enrol")
    assert ok_body(first)["enrolled"] == [first_learner]
    # Without the key the retry would say "alreadyEnrolled"; with it, the first answer.
    same_answer(first, await admin.send("PUT", path, [first_learner], key="enrol"))
    assert await keyed_events(services, "enrol") == ["enrolled"]

    path = f"/learning-plans/{plan}/learners/{first_learner}"
    first = await admin.send("DELETE", path, key="unenrol")
    ok_body(first)
    # Without the key the retry would be 404 (not enrolled any more).
    same_answer(first, await admin.send("DELETE", path, key="unenrol"))
    assert await keyed_events(services, "unenrol") == ["unenrolled"]

    api = Api(client, await token_for(services, demo, joiner))
    path = f"/learners/{joiner}/learning-plans/{plan}/join"
    first = await api.send("POST", path, key="join")
    ok_body(first)
    same_answer(first, await api.send("POST", path, key="join"))
    assert await keyed_events(services, "join") == ["enrolled"]
    assert await event_count(services, "learner_id = :l", l=int(joiner)) == 2  # + course_enrolled
    await assert_projection_matches(services)


async def test_the_same_key_with_another_request_is_422_7054(
    admin: Api, services: Services, course_and_learner: tuple[str, str]
) -> None:
    course, learner = course_and_learner
    ok_body(await admin.progress(course, learner, {"completionPercentage": 40}, key="mine"))
    other_course = await admin.course()
    before = await snapshot(services)
    # Another body, another path, another method, another payload form: all refused.
    assert_error(
        await admin.progress(course, learner, {"completionPercentage": 41}, key="mine"), 422, 7054
    )
    assert_error(
        await admin.progress(other_course, learner, {"completionPercentage": 40}, key="mine"),
        422,
        7054,
    )
    assert_error(await admin.send("POST", "/courses", {"courseName": "X"}, key="mine"), 422, 7054)
    response = await admin.client.put(
        f"/api/v1/courses/{course}/learners/{learner}/course-progress",
        params={"progressData": '{"completionPercentage": 40}'},
        headers=admin.headers("mine"),
    )
    assert_error(response, 422, 7054)
    assert_snapshots_equal(before, await snapshot(services), "reused keys")
    assert await keyed_events(services, "mine") == ["course_progress"]


async def test_query_parameter_payloads_are_idempotent_too(
    admin: Api, services: Services, course_and_learner: tuple[str, str]
) -> None:
    course, learner = course_and_learner
    url = f"/api/v1/courses/{course}/learners/{learner}/course-progress"

    async def put(document: str) -> httpx.Response:
        return await admin.client.put(
            url, params={"progressData": document}, headers=admin.headers("by-query")
        )

    first = await put('{"completionPercentage": 20}')
    ok_body(first)
    same_answer(first, await put('{"completionPercentage": 20}'))
    assert_error(await put('{"completionPercentage": 25}'), 422, 7054)
    assert await keyed_events(services, "by-query") == ["course_progress"]


async def test_keys_belong_to_their_caller(
    client: httpx.AsyncClient,
    admin: Api,
    services: Services,
    demo: DemoTokens,
    course_and_learner: tuple[str, str],
) -> None:
    course, learner = course_and_learner
    learner_api = Api(client, await token_for(services, demo, learner))
    ok_body(await admin.progress(course, learner, {"completionPercentage": 30}, key="shared"))
    # The same key from another caller is a new request, not a reuse (nor a replay).
    theirs = await learner_api.progress(course, learner, {"completionPercentage": 60}, key="shared")
    assert ok_body(theirs)["courseProgress"]["completionPercentage"] == "60"
    assert "idempotent-replayed" not in theirs.headers
    assert await keyed_events(services, "shared") == ["course_progress", "course_progress"]
    actors = await sql(
        services,
        "SELECT actor_id FROM progress_events WHERE idempotency_key = 'shared' ORDER BY id",
    )
    assert [a[0] for a in actors] == [demo.people.admin_id, int(learner)]


async def test_keys_are_kept_24_hours_then_forgotten(
    admin: Api, services: Services, course_and_learner: tuple[str, str], clock: ManualClock
) -> None:
    course, learner = course_and_learner
    first = await admin.progress(course, learner, {"completionPercentage": 10}, key="daily")
    ok_body(first)
    clock.advance(23 * HOUR_S)
    same_answer(
        first, await admin.progress(course, learner, {"completionPercentage": 10}, key="daily")
    )
    assert_error(
        await admin.progress(course, learner, {"completionPercentage": 11}, key="daily"), 422, 7054
    )
    clock.advance(HOUR_S + 1)
    again = await admin.progress(course, learner, {"completionPercentage": 11}, key="daily")
    assert ok_body(again)["courseProgress"]["completionPercentage"] == "11"
    assert "idempotent-replayed" not in again.headers
    assert await keyed_events(services, "daily") == ["course_progress", "course_progress"]
    # The new answer is the one remembered now.
    same_answer(
        again, await admin.progress(course, learner, {"completionPercentage": 11}, key="daily")
    )
    stored = await sql(services, "SELECT count(*) FROM idempotency_keys WHERE key = 'daily'")
    assert stored[0][0] == 1


async def test_expired_keys_are_cleaned_up(
    admin: Api, services: Services, course_and_learner: tuple[str, str], clock: ManualClock
) -> None:
    course, learner = course_and_learner
    for n in range(3):
        ok_body(
            await admin.progress(course, learner, {"completionPercentage": 20 + n}, key=f"old-{n}")
        )
    clock.advance(25 * HOUR_S)
    ok_body(await admin.progress(course, learner, {"completionPercentage": 50}, key="new"))
    keys = await sql(services, "SELECT key FROM idempotency_keys ORDER BY key")
    assert [k[0] for k in keys] == ["new"]


async def test_a_refused_write_keeps_no_key(
    admin: Api, services: Services, course_and_learner: tuple[str, str]
) -> None:
    course, learner = course_and_learner
    before = await snapshot(services)
    assert_error(
        await admin.progress(course, learner, {"completionPercentage": 500}, key="fixed"), 400, 7204
    )
    assert_error(
        await admin.progress("1", learner, {"completionPercentage": 50}, key="fixed"), 404, 7049
    )
    assert_snapshots_equal(before, await snapshot(services), "refused keyed writes")
    # The key was not used up: the corrected request is done, once.
    first = await admin.progress(course, learner, {"completionPercentage": 50}, key="fixed")
    ok_body(first)
    same_answer(
        first, await admin.progress(course, learner, {"completionPercentage": 50}, key="fixed")
    )
    assert await keyed_events(services, "fixed") == ["course_progress"]


@pytest.mark.parametrize("key", ["", "k" * 256])
async def test_an_empty_or_overlong_key_is_400(
    admin: Api, services: Services, course_and_learner: tuple[str, str], key: str
) -> None:
    course, learner = course_and_learner
    before = await snapshot(services)
    body = assert_error(
        await admin.progress(course, learner, {"completionPercentage": 50}, key=key), 400, 7204
    )
    assert body["errors"][0]["field"] == "Idempotency-Key"
    assert_snapshots_equal(before, await snapshot(services), "bad key")
    ok_body(await admin.progress(course, learner, {"completionPercentage": 50}, key="k" * 255))
