"""The change feed, `GET /api/v1/events` (issue 13): every event once, in commit order, by
following `nextCursor`; filters by type; long polls; admins only; bad inputs refused in
the envelope. On both backends."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from lmsplans.demo import DemoTokens
from lmsplans.server.clock import ManualClock
from lmsplans.server.events.service import Cursor
from lmsplans.server.http import Services
from lmsplans.server.settings import Settings
from tests.api.test_progress_writes import Api, ok_body, roomy_settings
from tests.conftest import assert_error, auth, committed_writes


@pytest.fixture
def settings(database_url: str) -> Settings:
    return roomy_settings(database_url)


@pytest.fixture
def admin(client: httpx.AsyncClient, demo: DemoTokens) -> Api:
    return Api(client, demo.admin_token)


async def read_all(
    admin: Api, after: str | None = None, **params: Any
) -> tuple[list[dict[str, Any]], str]:
    """Every event after `after`, following `nextCursor` a page at a time."""
    events: list[dict[str, Any]] = []
    cursor = after
    while True:
        query = dict(params)
        if cursor is not None:
            query["after"] = cursor
        body = await admin.ok("GET", "/events", params=query)
        events.extend(body["events"])
        cursor = body["nextCursor"]
        if not body["isNextAvailable"]:
            return events, cursor


async def plan_with_learners(admin: Api, count: int = 2) -> tuple[str, str, list[str]]:
    course = await admin.course()
    plan = await admin.plan([(course, 1, True, False)], duration=2, duration_type=0)
    learners = await admin.learners(count)
    await admin.enrol(plan, [int(learner) for learner in learners])
    return course, plan, learners


async def test_a_reader_sees_every_event_once_in_commit_order(admin: Api) -> None:
    _, start = await read_all(admin)  # the demo's own history, read past
    course, _plan, (alice, bob) = await plan_with_learners(admin)
    ok_body(await admin.progress(course, alice, {"completionStatus": "completed"}))
    ok_body(await admin.progress(course, bob, {"completionStatus": "inProgress"}))
    events, end = await read_all(admin, start, limit=2)
    types = [event["type"] for event in events]
    assert types[:2] == ["plan.updated", "plan.published"]
    assert types.count("learner.created") == 2
    assert [(e["type"], e["learnerId"]) for e in events if e["type"].startswith("plan.enroll")][
        :2
    ] == [("plan.enrollment.created", alice), ("plan.enrollment.created", bob)]
    completed = [e for e in events if e["type"] == "course.progress.completed"]
    assert [(e["learnerId"], e["courseId"]) for e in completed] == [(alice, course)]
    assert "plan.enrollment.completed" in types
    assert types[-2:] == ["course.progress.updated", "plan.enrollment.joined"]
    ids = [int(event["id"]) for event in events]
    assert len(set(ids)) == len(ids)
    times = [int(event["occurredTime"]) for event in events]
    assert times == sorted(times)
    for event in events:
        assert set(event) == {
            "id",
            "type",
            "occurredTime",
            "learnerId",
            "planId",
            "courseId",
            "data",
        }
        assert all(isinstance(event[key], str) for key in ("learnerId", "planId", "courseId"))
    # Nothing new: an empty page, the same place, nothing more.
    body = await admin.ok("GET", "/events", params={"after": end})
    assert body["events"] == [] and body["nextCursor"] == end and not body["isNextAvailable"]
    # The same history read again from the start: the same events, the same ids.
    again, _ = await read_all(admin, start, limit=100)
    assert again == events


async def test_the_feed_filters_by_type_with_wildcards(admin: Api) -> None:
    _, start = await read_all(admin)
    course, _plan, (alice, _) = await plan_with_learners(admin)
    ok_body(await admin.progress(course, alice, {"completionStatus": "completed"}))
    everything, _ = await read_all(admin, start)
    for types, wanted in (
        ("plan.enrollment.*", lambda t: t.startswith("plan.enrollment.")),
        ("*.completed", lambda t: t.endswith(".completed")),
        ("learner.created, plan.published", lambda t: t in ("learner.created", "plan.published")),
        ("*", lambda t: True),
    ):
        chosen, _ = await read_all(admin, start, types=types, limit=1)
        assert chosen == [e for e in everything if wanted(e["type"])], types
        assert chosen


async def test_the_cursor_moves_past_what_is_not_an_event(
    admin: Api, services: Services, demo: DemoTokens
) -> None:
    _, start = await read_all(admin)
    ok_body(await admin.send("POST", "/courses", {"courseName": "Tags only", "courseType": 1}))
    body = await admin.ok("GET", "/events", params={"after": start})
    assert body["events"] == [] and body["nextCursor"] != start
    assert (
        Cursor.decode(body["nextCursor"], org_id=demo.people.org_id).seq
        > Cursor.decode(start, org_id=demo.people.org_id).seq
    )


async def test_a_long_poll_answers_when_a_write_commits(admin: Api) -> None:
    _, start = await read_all(admin)

    async def later() -> None:
        await asyncio.sleep(0.3)
        await admin.learners(1)

    writer = asyncio.create_task(later())
    body = await admin.ok("GET", "/events", params={"after": start, "wait": 20})
    await writer
    assert [event["type"] for event in body["events"]] == ["learner.created"]


async def test_a_long_poll_without_events_answers_when_its_time_is_up(admin: Api) -> None:
    _, start = await read_all(admin)
    body = await admin.ok("GET", "/events", params={"after": start, "wait": 1})
    assert body["events"] == [] and body["nextCursor"] == start


async def test_only_admins_read_the_feed(client: httpx.AsyncClient, demo: DemoTokens) -> None:
    for token in (demo.manager_token, demo.learner_token):
        assert_error(await client.get("/api/v1/events", headers=auth(token)), 403, 9000)
    assert_error(await client.get("/api/v1/events"), 401, 7201)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"after": "nonsense"}, "after"),
        ({"after": "c1.!!!"}, "after"),
        ({"after": Cursor(10**12, 5).encode()}, "after"),  # another organisation's
        ({"after": "c1." + "A" * 100}, "after"),
        ({"types": ""}, "types"),
        ({"types": "plan.,"}, "types"),
        ({"types": "no.such.type"}, "types"),
        ({"types": "plan.enrollment.created;drop"}, "types"),
        ({"limit": "0"}, "limit"),
        ({"limit": "-1"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"wait": "31"}, "wait"),
        ({"wait": "1.5"}, "wait"),
    ],
)
async def test_bad_inputs_are_400_and_change_nothing(
    client: httpx.AsyncClient,
    services: Services,
    demo: DemoTokens,
    params: dict[str, str],
    field: str,
) -> None:
    before = await committed_writes(services)
    body = assert_error(
        await client.get("/api/v1/events", params=params, headers=auth(demo.admin_token)),
        400,
        7204,
    )
    assert [error["field"] for error in body["errors"]] == [field]
    assert await committed_writes(services) == before


async def test_a_limit_over_100_is_422_as_on_every_list(admin: Api) -> None:
    body = assert_error(await admin.send("GET", "/events", params={"limit": "101"}), 422, 7021)
    assert body["errors"][0]["field"] == "limit"


async def test_a_cursor_ahead_of_the_feed_is_refused(admin: Api, demo: DemoTokens) -> None:
    _, end = await read_all(admin)
    ahead = Cursor(demo.people.org_id, Cursor.decode(end, org_id=demo.people.org_id).seq + 1)
    body = assert_error(
        await admin.send("GET", "/events", params={"after": ahead.encode()}), 400, 7204
    )
    assert body["errors"][0]["field"] == "after"


async def test_concurrent_writers_are_read_once_each_in_commit_order(
    admin: Api, clock: ManualClock
) -> None:
    """Writers racing (on PostgreSQL, truly at once) while a reader follows the feed with
    long polls: the reader sees each learner's update exactly once, in the order the feed
    numbered them, and the whole history read again afterwards is the same."""
    learners = await admin.learners(16)
    _, start = await read_all(admin)
    seen: list[dict[str, Any]] = []
    done = asyncio.Event()

    async def follow() -> None:
        cursor = start
        while True:
            finished = done.is_set()
            body = await admin.ok("GET", "/events", params={"after": cursor, "limit": 3, "wait": 1})
            seen.extend(body["events"])
            cursor = body["nextCursor"]
            if finished and not body["events"] and not body["isNextAvailable"]:
                return

    reader = asyncio.create_task(follow())
    await asyncio.gather(
        *(
            admin.ok(
                "PATCH", f"/learners/{learner}", params={"learnerData": '{"displayName": "Raced"}'}
            )
            for learner in learners
        )
    )
    done.set()
    await reader
    updated = [e["learnerId"] for e in seen if e["type"] == "learner.updated"]
    assert sorted(updated) == sorted(learners)
    assert all(
        e["data"] == {"changed": {"displayName": "Raced"}}
        for e in seen
        if e["type"] == "learner.updated"
    )
    afterwards, _ = await read_all(admin, start)
    assert afterwards == seen


async def test_latest_starts_at_the_end_of_the_feed(admin: Api) -> None:
    _, end = await read_all(admin)
    body = await admin.ok("GET", "/events", params={"after": "latest"})
    assert body["events"] == [] and body["nextCursor"] == end and not body["isNextAvailable"]


async def test_learner_updated_names_what_changed_as_the_api_does(admin: Api) -> None:
    """`data.changed` of `learner.updated` holds the API's field names and its way of
    writing them: ids as strings, `"null"` for a manager removed."""
    learner, manager = await admin.learners(2)
    _, start = await read_all(admin)
    patches = [
        {"managerId": manager, "employeeId": "E-77"},
        {"managerId": None},
    ]
    for patch in patches:
        await admin.ok("PATCH", f"/learners/{learner}", params={"learnerData": json.dumps(patch)})
    events, _ = await read_all(admin, start)
    assert [e["data"]["changed"] for e in events if e["type"] == "learner.updated"] == [
        {"managerId": manager, "employeeId": "E-77"},
        {"managerId": "null"},
    ]
