"""Recording progress over the API, and the rules of spec section 2 as a new user sees them.

The scenario test walks what a new user does from the demo: courses, a two-level plan,
publish, enrol, record progress, and watch the reference endpoint and the roster follow the
rules (percentages, completion, overdue, sticky completion, reset, locks, join). Then the
history endpoint, and the projection rebuilt from every event against the stored state.

The helpers at the top (`snapshot`, `assert_projection_matches`, `ok_body`, ...) are used by
the other write-test modules too.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import httpx
import pytest

from lmsplans.demo import DemoTokens
from lmsplans.server.clock import ManualClock
from lmsplans.server.db import Connection
from lmsplans.server.http import Services
from lmsplans.server.models import metadata
from lmsplans.server.progress.events import replay
from lmsplans.server.settings import Settings
from tests.api.readdata import DAY_MS, admin_token, long_token, sql
from tests.conftest import assert_error, auth

# --- Shared helpers -----------------------------------------------------------------------------

_serial = itertools.count(1)


def roomy_settings(database_url: str) -> Settings:
    """Settings for write tests: one admin makes far more than 30 calls to one API inside a
    test, and the limiter (tested in test_rate_limit.py) is not what these tests are about."""
    return Settings(database_url=database_url, rate_limit_threshold=10**6)


def ok_body(response: httpx.Response) -> dict[str, Any]:
    """The success envelope of a 200 answer."""
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == 200
    assert isinstance(body["message"], str) and body["message"]
    return body


def error_fields(body: dict[str, Any]) -> set[str]:
    return {error["field"] for error in body.get("errors", [])}


async def table_rows(conn: Connection) -> dict[str, list[tuple[Any, ...]]]:
    return {
        name: [tuple(row) for row in await conn.fetch_all(f"SELECT * FROM {name} ORDER BY 1, 2")]
        for name in sorted(metadata.tables)
    }


async def snapshot(services: Services) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of the schema."""
    async with services.db.read() as conn:
        return await table_rows(conn)


def assert_snapshots_equal(
    before: dict[str, list[tuple[Any, ...]]], after: dict[str, list[tuple[Any, ...]]], what: str
) -> None:
    for table in before:
        assert after[table] == before[table], f"{what} changed table {table}"


def stored_state(
    course_rows: list[Any], enrolment_rows: list[Any]
) -> tuple[dict[tuple[int, int], dict[str, Any]], dict[tuple[int, int], dict[str, Any]]]:
    courses = {
        (r["learner_id"], r["course_id"]): {
            "status": r["status"],
            "percentage": r["percentage"],
            "enrolledTime": r["enrolled_time"],
            "completedTime": r["completed_time"],
        }
        for r in course_rows
    }
    enrolments = {
        (r["learner_id"], r["plan_id"]): {
            "planuserId": r["id"],
            "enrolledTime": r["enrolled_time"],
            "isJoined": bool(r["is_joined"]),
            "joinedTime": r["joined_time"],
            "isCompleted": bool(r["is_completed"]),
            "completedTime": r["completed_time"],
            "unenrolledTime": r["unenrolled_time"],
        }
        for r in enrolment_rows
    }
    return courses, enrolments


def assert_replay_matches(
    events: list[Any], course_rows: list[Any], enrolment_rows: list[Any]
) -> None:
    """The projection rebuilt from ALL events equals the stored state, row for row."""
    projection = replay(events)
    courses, enrolments = stored_state(course_rows, enrolment_rows)
    assert set(projection.courses) == set(courses)
    for key, state in courses.items():
        assert projection.courses[key] == state, key
    assert set(projection.enrolments) == set(enrolments)
    for key, state in enrolments.items():
        rebuilt = projection.enrolments[key]
        assert {**rebuilt, "isJoined": bool(rebuilt["isJoined"])} == state, key


EVENTS_SQL = "SELECT * FROM progress_events ORDER BY id"
COURSE_PROGRESS_SQL = "SELECT * FROM course_progress"
ENROLMENTS_SQL = "SELECT * FROM plan_enrolments"


async def assert_projection_matches(services: Services) -> int:
    """Replay every event and compare; answers the number of events replayed."""
    events = await sql(services, EVENTS_SQL)
    assert_replay_matches(
        events, await sql(services, COURSE_PROGRESS_SQL), await sql(services, ENROLMENTS_SQL)
    )
    return len(events)


async def event_count(services: Services, where: str = "1 = 1", **params: Any) -> int:
    rows = await sql(services, f"SELECT count(*) FROM progress_events WHERE {where}", params)
    return int(rows[0][0])


class Api:
    """Terse calls to the management API as one caller."""

    def __init__(self, client: httpx.AsyncClient, token: str) -> None:
        self.client = client
        self.token = token

    def headers(self, key: str | None = None) -> dict[str, str]:
        headers = auth(self.token)
        if key is not None:
            headers["Idempotency-Key"] = key
        return headers

    async def send(
        self, method: str, path: str, json: Any = None, *, key: str | None = None, **kw: Any
    ) -> httpx.Response:
        return await self.client.request(
            method, f"/api/v1{path}", json=json, headers=self.headers(key), **kw
        )

    async def ok(self, method: str, path: str, json: Any = None, **kw: Any) -> dict[str, Any]:
        return ok_body(await self.send(method, path, json, **kw))

    async def course(self, name: str | None = None, course_type: int = 1) -> str:
        body = await self.ok(
            "POST",
            "/courses",
            {"courseName": name or f"Write test course {next(_serial)}", "courseType": course_type},
        )
        course_id: str = body["course"]["courseId"]
        return course_id

    async def learners(self, count: int, manager_id: int | None = None) -> list[str]:
        items = []
        for _ in range(count):
            n = next(_serial)
            item: dict[str, Any] = {
                "emailId": f"writer.{n}@zylker.example",
                "displayName": f"Writer {n}",
                "employeeId": f"W{n:06d}",
            }
            if manager_id is not None:
                item["managerId"] = str(manager_id)
            items.append(item)
        body = await self.ok("POST", "/learners", items)
        return [learner["userId"] for learner in body["learners"]]

    async def plan(
        self,
        courses: list[tuple[str, int, bool, bool]],
        *,
        duration: int = 0,
        duration_type: int = 0,
        publish: bool = True,
    ) -> str:
        """A plan with (courseId, level, mandatory, locked) courses; published by default."""
        body = await self.ok(
            "POST",
            "/learning-plans",
            {
                "planName": f"Write test plan {next(_serial)}",
                "duration": duration,
                "durationType": duration_type,
            },
        )
        plan_id: str = body["learningPlan"]["planInfo"]["planId"]
        await self.set_courses(plan_id, courses)
        if publish:
            await self.ok("POST", f"/learning-plans/{plan_id}/publish")
        return plan_id

    async def set_courses(
        self, plan_id: str, courses: list[tuple[str, int, bool, bool]]
    ) -> dict[str, Any]:
        return await self.ok(
            "PUT",
            f"/learning-plans/{plan_id}/courses",
            {
                "courses": [
                    {"courseId": int(c), "level": lvl, "isMandatory": m, "isLocked": lk}
                    for c, lvl, m, lk in courses
                ]
            },
        )

    async def enrol(self, plan_id: str, refs: list[Any]) -> dict[str, Any]:
        return await self.ok("PUT", f"/learning-plans/{plan_id}/learners", refs)

    async def progress(
        self, course_id: str, learner: Any, data: dict[str, Any], *, key: str | None = None
    ) -> httpx.Response:
        return await self.send(
            "PUT", f"/courses/{course_id}/learners/{learner}/course-progress", data, key=key
        )

    async def plan_progress(self, learner: Any, plan_id: str) -> dict[str, Any]:
        """The learner's entry for the plan in the reference endpoint."""
        body = await self.ok("GET", f"/learners/{learner}/learning-plans/progress?limit=100")
        [entry] = [p for p in body["learningPlans"] if p["planId"] == plan_id]
        return entry

    async def plan_courses(self, learner: Any, plan_id: str) -> dict[str, dict[str, Any]]:
        body = await self.ok(
            "GET", f"/learners/{learner}/learning-plans/{plan_id}/courses/progress"
        )
        return {c["courseId"]: c for c in body["courses"]}

    async def roster(self, plan_id: str, query: str = "") -> dict[str, Any]:
        return await self.ok("GET", f"/learning-plans/{plan_id}/learners?limit=100&{query}")


def summary_of(roster: dict[str, Any]) -> dict[str, str]:
    s = roster["summary"]
    return {
        k: s[k] for k in ("completedCount", "inProgressCount", "notStartedCount", "overdueCount")
    }


@pytest.fixture
def settings(database_url: str) -> Settings:
    return roomy_settings(database_url)


@pytest.fixture
async def admin(client: httpx.AsyncClient, services: Services, demo: DemoTokens) -> Api:
    # A long-lived token: these tests move the clock by days.
    return Api(client, await admin_token(services, demo, services.clock.now_ms()))


async def token_for(services: Services, demo: DemoTokens, user_id: Any, scopes: str = "") -> str:
    return await long_token(
        services,
        org_id=demo.people.org_id,
        user_id=int(user_id),
        now_ms=services.clock.now_ms(),
        scopes=scopes,
    )


# --- The scenario a new user runs -----------------------------------------------------------


async def test_new_user_scenario_follows_the_progress_rules(
    client: httpx.AsyncClient, services: Services, demo: DemoTokens, clock: ManualClock, admin: Api
) -> None:
    # Courses: two mandatory ones (one per level), an optional one, a blended one.
    safety = await admin.course("Lab Safety", 1)
    ethics = await admin.course("Research Ethics", 3)
    reading = await admin.course("Further Reading", 1)
    workshop = await admin.course("Hands-on Workshop", 2)
    alice, bob, carol, dave = await admin.learners(4, manager_id=demo.people.manager_id)

    # A draft plan, 7 days to complete; it cannot be published without a mandatory course.
    created = await admin.ok(
        "POST", "/learning-plans", {"planName": "Lab Onboarding", "duration": 7, "durationType": 0}
    )
    plan = created["learningPlan"]["planInfo"]["planId"]
    assert created["learningPlan"]["planInfo"]["publishState"] == "0"
    assert_error(await admin.send("POST", f"/learning-plans/{plan}/publish"), 409, 7052)
    await admin.set_courses(plan, [(reading, 1, False, False)])
    assert_error(await admin.send("POST", f"/learning-plans/{plan}/publish"), 409, 7052)

    levels = [
        (safety, 1, True, False),
        (reading, 1, False, False),
        (ethics, 2, True, True),
        (workshop, 2, False, True),
    ]
    detail = (await admin.set_courses(plan, levels))["learningPlan"]
    assert [
        (c["courseId"], c["level"], c["isMandatory"], c["isLocked"]) for c in detail["courses"]
    ] == [(c, str(lvl), m, lk) for c, lvl, m, lk in levels]
    published = await admin.ok("POST", f"/learning-plans/{plan}/publish")
    assert published["learningPlan"]["planInfo"]["publishState"] == "1"
    assert published["learningPlan"]["planInfo"]["mandatoryCourseCount"] == "2"
    assert published["learningPlan"]["planInfo"]["activeCourseCount"] == "4"

    # Enrol three learners (by userId, email and zuid); enrolled by an admin: not joined.
    bob_email = (await admin.ok("GET", f"/learners/{bob}"))["learner"]["emailId"]
    carol_zuid = (await admin.ok("GET", f"/learners/{carol}"))["learner"]["zuid"]
    enrolled_ms = clock.now_ms()
    enrolled = await admin.enrol(plan, [int(alice), bob_email, carol_zuid])
    assert enrolled["enrolled"] == [alice, bob, carol]
    assert enrolled["alreadyEnrolled"] == []

    entry = await admin.plan_progress(alice, plan)
    assert entry["userInfo"]["isUserJoinedPlan"] is False
    assert entry["userInfo"]["isUserCompletedPlan"] is False
    assert entry["userInfo"]["enrolledTime"] == str(enrolled_ms)
    assert entry["progressInfo"] == {
        "status": "notStarted",
        "completedCourseCount": "0",
        "courseCount": "4",
        "completedMandatoryCourseCount": "0",
        "mandatoryCourseCount": "2",
        "progressPercentage": "0",
        "allCoursesPercentage": "0",
        "dueTime": str(enrolled_ms + 7 * DAY_MS),
        "isOverdue": False,
        "completedTime": "null",
    }
    roster = await admin.roster(plan)
    assert roster["summary"]["totalCount"] == "3"
    assert summary_of(roster) == {
        "completedCount": "0",
        "inProgressCount": "0",
        "notStartedCount": "3",
        "overdueCount": "0",
    }
    # Level 2 is locked (where marked) until level 1's mandatory course is completed.
    courses = await admin.plan_courses(alice, plan)
    assert {c: courses[c]["isLocked"] for c in courses} == {
        safety: False,
        reading: False,
        ethics: True,
        workshop: True,
    }

    # Alice records her own progress; progress joins her to the plan.
    alice_api = Api(client, await token_for(services, demo, alice))
    clock.advance(60)
    ok_body(await alice_api.progress(safety, alice, {"completionPercentage": 50}))
    entry = await alice_api.plan_progress(alice, plan)
    assert entry["userInfo"]["isUserJoinedPlan"] is True
    assert entry["progressInfo"]["status"] == "inProgress"
    assert entry["progressInfo"]["progressPercentage"] == "0"
    clock.advance(60)
    safety_done_ms = clock.now_ms()
    recorded = ok_body(await alice_api.progress(safety, alice, {"completionStatus": "completed"}))[
        "courseProgress"
    ]
    assert recorded["completionStatus"] == "completed"
    assert recorded["completionPercentage"] == "100"
    assert recorded["completionDate"] == str(safety_done_ms)
    info = (await alice_api.plan_progress(alice, plan))["progressInfo"]
    assert (info["status"], info["progressPercentage"], info["allCoursesPercentage"]) == (
        "inProgress",
        "50",
        "25",
    )
    assert info["completedMandatoryCourseCount"] == "1"
    courses = await alice_api.plan_courses(alice, plan)
    assert not any(c["isLocked"] for c in courses.values())

    # Blended courses are recorded by an admin; learners record only their own progress.
    clock.advance(60)
    assert_error(await alice_api.progress(workshop, alice, {"completionPercentage": 10}), 403, 9000)
    assert_error(await alice_api.progress(safety, bob, {"completionPercentage": 10}), 403, 9000)
    ok_body(await admin.progress(workshop, alice, {"completionStatus": "inProgress"}))

    # The last mandatory course completes the plan; its completion is dated before Safety's,
    # so the plan's completion time is Safety's (the last mandatory completion).
    clock.advance(60)
    ok_body(
        await alice_api.progress(
            ethics,
            alice,
            {"completionPercentage": 100, "completionTime": safety_done_ms - 30_000},
        )
    )
    entry = await alice_api.plan_progress(alice, plan)
    assert entry["userInfo"]["isUserCompletedPlan"] is True
    info = entry["progressInfo"]
    assert (info["status"], info["progressPercentage"], info["completedTime"]) == (
        "completed",
        "100",
        str(safety_done_ms),
    )
    assert (info["completedMandatoryCourseCount"], info["allCoursesPercentage"]) == ("2", "50")
    assert info["isOverdue"] is False
    courses = await alice_api.plan_courses(alice, plan)
    assert courses[ethics]["completionDate"] == str(safety_done_ms - 30_000)

    # A completed course does not go back without an explicit reset.
    for lower in ({"completionPercentage": 40}, {"completionStatus": "inProgress"}):
        assert_error(await alice_api.progress(safety, alice, lower), 409, 7052)
    # Recording completed again changes nothing.
    events_before = await event_count(services)
    again = ok_body(await alice_api.progress(safety, alice, {"completionStatus": "completed"}))
    assert again["courseProgress"]["completionDate"] == str(safety_done_ms)
    assert await event_count(services) == events_before

    # Bob completes level 1 only (recorded by an admin); Carol does nothing.
    clock.advance(60)
    bob_done_ms = clock.now_ms()
    ok_body(await admin.progress(safety, bob_email, {"completionStatus": "completed"}))
    assert (await admin.plan_progress(bob, plan))["userInfo"]["isUserJoinedPlan"] is True
    assert summary_of(await admin.roster(plan)) == {
        "completedCount": "1",
        "inProgressCount": "1",
        "notStartedCount": "1",
        "overdueCount": "0",
    }

    # Eight days later Bob and Carol are overdue; Alice, complete, is not.
    clock.advance(8 * 86_400)
    roster = await admin.roster(plan)
    assert summary_of(roster)["overdueCount"] == "2"
    overdue = await admin.roster(plan, "status=overdue")
    assert sorted(m["userInfo"]["userId"] for m in overdue["learners"]) == sorted([bob, carol])
    assert all(m["progressInfo"]["isOverdue"] for m in overdue["learners"])
    assert (await admin.plan_progress(bob, plan))["progressInfo"]["isOverdue"] is True
    assert (await admin.plan_progress(alice, plan))["progressInfo"]["isOverdue"] is False
    completed = await admin.roster(plan, "status=completed")
    assert [m["userInfo"]["userId"] for m in completed["learners"]] == [alice]

    # Sticky completion: a new mandatory course leaves Alice completed; Bob is measured
    # against the plan as it now is.
    extra = await admin.course("Waste Disposal", 1)
    await admin.set_courses(plan, [*levels, (extra, 2, True, True)])
    entry = await admin.plan_progress(alice, plan)
    assert entry["userInfo"]["isUserCompletedPlan"] is True
    info = entry["progressInfo"]
    assert (info["status"], info["progressPercentage"], info["completedTime"]) == (
        "completed",
        "100",
        str(safety_done_ms),
    )
    assert (info["completedMandatoryCourseCount"], info["mandatoryCourseCount"]) == ("2", "3")
    info = (await admin.plan_progress(bob, plan))["progressInfo"]
    assert (info["status"], info["progressPercentage"], info["mandatoryCourseCount"]) == (
        "inProgress",
        "33",
        "3",
    )
    assert (await admin.plan_courses(bob, plan))[extra]["completionStatus"] == "notStarted"

    # Removing the mandatory courses Bob lacks completes him, dated by his last mandatory
    # completion; he is no longer overdue. Carol (nothing done) stays incomplete.
    await admin.set_courses(plan, [(safety, 1, True, False), (reading, 1, False, False)])
    entry = await admin.plan_progress(bob, plan)
    assert entry["userInfo"]["isUserCompletedPlan"] is True
    info = entry["progressInfo"]
    assert (info["status"], info["completedTime"], info["isOverdue"]) == (
        "completed",
        str(bob_done_ms),
        False,
    )
    assert summary_of(await admin.roster(plan)) == {
        "completedCount": "2",
        "inProgressCount": "0",
        "notStartedCount": "1",
        "overdueCount": "1",
    }

    # An explicit reset takes a completed course back; the plan stays completed.
    reset = ok_body(await admin.progress(safety, alice, {"reset": True}))["courseProgress"]
    assert (reset["completionStatus"], reset["completionPercentage"]) == ("notStarted", "0")
    assert reset["completionDate"] == "null"
    entry = await admin.plan_progress(alice, plan)
    assert entry["userInfo"]["isUserCompletedPlan"] is True
    assert entry["progressInfo"]["completedTime"] == str(safety_done_ms)
    assert entry["progressInfo"]["completedMandatoryCourseCount"] == "0"
    again = ok_body(await alice_api.progress(safety, alice, {"completionPercentage": 30}))
    assert again["courseProgress"]["completionStatus"] == "inProgress"

    # Joining: Dave enrols himself (joined at once); Carol, enrolled by an admin, joins.
    dave_api = Api(client, await token_for(services, demo, dave))
    joined_ms = clock.now_ms()
    joined = await dave_api.ok("POST", f"/learners/{dave}/learning-plans/{plan}/join")
    entry = await dave_api.plan_progress(dave, plan)
    assert joined["planuserId"] == entry["userInfo"]["planuserId"]
    assert entry["userInfo"]["isUserJoinedPlan"] is True
    assert entry["userInfo"]["enrolledTime"] == str(joined_ms)
    assert entry["progressInfo"]["dueTime"] == str(joined_ms + 7 * DAY_MS)
    carol_api = Api(client, await token_for(services, demo, carol))
    assert (await carol_api.plan_progress(carol, plan))["userInfo"]["isUserJoinedPlan"] is False
    await carol_api.ok("POST", f"/learners/{carol}/learning-plans/{plan}/join")
    assert (await carol_api.plan_progress(carol, plan))["userInfo"]["isUserJoinedPlan"] is True
    assert (await admin.roster(plan))["summary"]["totalCount"] == "4"

    # The whole state, demo included, is the projection of the events.
    assert await assert_projection_matches(services) > 0


# --- Recording progress: who, what, and the payload --------------------------------------------


@pytest.fixture
async def setup(admin: Api, demo: DemoTokens) -> dict[str, str]:
    """A published plan with a self-paced, an e-material and a blended course, and two
    enrolled learners reporting to the demo manager."""
    self_paced = await admin.course(course_type=1)
    material = await admin.course(course_type=3)
    blended = await admin.course(course_type=2)
    plan = await admin.plan(
        [(self_paced, 1, True, False), (material, 1, False, False), (blended, 1, False, False)]
    )
    learner, other = await admin.learners(2, manager_id=demo.people.manager_id)
    await admin.enrol(plan, [learner, other, demo.people.manager_id])
    return {
        "plan": plan,
        "self_paced": self_paced,
        "material": material,
        "blended": blended,
        "learner": learner,
        "other": other,
    }


async def test_record_progress_answers_the_course_progress_record(
    admin: Api, setup: dict[str, str], clock: ManualClock
) -> None:
    clock.advance(2 * 3600)  # a time in the past, after the enrolment
    at = clock.now_ms() - 3_600_000
    body = ok_body(
        await admin.progress(
            setup["self_paced"],
            setup["learner"],
            {"completionPercentage": 45, "completionTime": at},
        )
    )
    record = body["courseProgress"]
    assert record["courseId"] == setup["self_paced"]
    assert record["userId"] == setup["learner"]
    assert (record["completionStatus"], record["completionPercentage"]) == ("inProgress", "45")
    assert record["completionDate"] == "null"
    assert set(record) == {
        "courseId",
        "courseName",
        "courseType",
        "userId",
        "emailId",
        "displayName",
        "completionStatus",
        "completionPercentage",
        "enrolledDate",
        "completionDate",
    }
    read = await admin.ok(
        "GET", f"/courses/{setup['self_paced']}/learners/{setup['learner']}/course-progress"
    )
    assert read["courseProgress"] == record


@pytest.mark.parametrize(
    ("data", "status", "percentage"),
    [
        ({"completionPercentage": 0}, "notStarted", "0"),
        ({"completionPercentage": 1}, "inProgress", "1"),
        ({"completionPercentage": 100}, "completed", "100"),
        ({"completionStatus": "completed"}, "completed", "100"),
        ({"completionStatus": "notStarted"}, "notStarted", "0"),
        ({"completionStatus": "inProgress", "completionPercentage": 0}, "inProgress", "0"),
        ({"completionStatus": "inProgress", "completionPercentage": 70}, "inProgress", "70"),
    ],
)
async def test_status_and_percentage_are_derived_from_each_other(
    admin: Api, setup: dict[str, str], data: dict[str, Any], status: str, percentage: str
) -> None:
    record = ok_body(await admin.progress(setup["self_paced"], setup["learner"], data))
    assert record["courseProgress"]["completionStatus"] == status
    assert record["courseProgress"]["completionPercentage"] == percentage


async def test_in_progress_without_a_percentage_keeps_the_current_one(
    admin: Api, setup: dict[str, str]
) -> None:
    ok_body(
        await admin.progress(setup["self_paced"], setup["learner"], {"completionPercentage": 60})
    )
    record = ok_body(
        await admin.progress(
            setup["self_paced"], setup["learner"], {"completionStatus": "inProgress"}
        )
    )["courseProgress"]
    assert (record["completionStatus"], record["completionPercentage"]) == ("inProgress", "60")


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        ({"completionPercentage": 101}, {"completionPercentage"}),
        ({"completionPercentage": -1}, {"completionPercentage"}),
        ({"completionPercentage": "half"}, {"completionPercentage"}),
        ({"completionStatus": "done"}, {"completionStatus"}),
        (
            {"completionPercentage": 101, "completionStatus": "done"},
            {"completionPercentage", "completionStatus"},
        ),
        ({"completionPercentage": 50, "completionTime": -5}, {"completionTime"}),
        ({"completionPercentage": 50, "colour": "red"}, {"colour"}),
        ({}, {"progressData"}),
        ({"completionPercentage": 100, "completionStatus": "inProgress"}, {"progressData"}),
        ({"completionPercentage": 30, "completionStatus": "completed"}, {"progressData"}),
        ({"reset": True, "completionPercentage": 0}, {"progressData"}),
        ([1, 2], {"progressData"}),
    ],
)
async def test_invalid_progress_is_400_7204_naming_each_bad_field(
    admin: Api, setup: dict[str, str], services: Services, data: Any, fields: set[str]
) -> None:
    before = await snapshot(services)
    body = assert_error(
        await admin.progress(setup["self_paced"], setup["learner"], data), 400, 7204
    )
    assert error_fields(body) == fields, body
    assert all(e["message"] for e in body["errors"])
    assert_snapshots_equal(before, await snapshot(services), "invalid progress")


async def test_completion_time_in_the_future_is_400(
    admin: Api, setup: dict[str, str], clock: ManualClock
) -> None:
    body = assert_error(
        await admin.progress(
            setup["self_paced"],
            setup["learner"],
            {"completionPercentage": 100, "completionTime": clock.now_ms() + 60_000},
        ),
        400,
        7204,
    )
    assert error_fields(body) == {"completionTime"}


async def test_missing_progress_payload_is_400_7019(admin: Api, setup: dict[str, str]) -> None:
    path = f"/courses/{setup['self_paced']}/learners/{setup['learner']}/course-progress"
    body = assert_error(await admin.send("PUT", path), 400, 7019)
    assert error_fields(body) == {"progressData"}
    body = assert_error(await admin.send("PUT", path, content=b"not json"), 400, 7204)
    assert error_fields(body) == {"progressData"}


@pytest.mark.parametrize("form", ["json", "query", "form"])
async def test_progress_payload_in_all_three_forms(
    admin: Api, setup: dict[str, str], form: str
) -> None:
    document = '{"completionPercentage": 35}'
    path = f"/courses/{setup['self_paced']}/learners/{setup['learner']}/course-progress"
    if form == "json":
        headers = {**admin.headers(), "Content-Type": "application/json"}
        response = await admin.client.put(f"/api/v1{path}", content=document, headers=headers)
    elif form == "query":
        response = await admin.client.put(
            f"/api/v1{path}", params={"progressData": document}, headers=admin.headers()
        )
    else:
        response = await admin.client.put(
            f"/api/v1{path}", data={"progressData": document}, headers=admin.headers()
        )
    assert ok_body(response)["courseProgress"]["completionPercentage"] == "35"


async def test_learner_records_own_progress_but_not_in_blended_courses_nor_for_others(
    client: httpx.AsyncClient,
    services: Services,
    demo: DemoTokens,
    admin: Api,
    setup: dict[str, str],
) -> None:
    learner = Api(client, await token_for(services, demo, setup["learner"]))
    for course in ("self_paced", "material"):
        ok_body(
            await learner.progress(setup[course], setup["learner"], {"completionPercentage": 20})
        )
    before = await snapshot(services)
    assert_error(
        await learner.progress(setup["blended"], setup["learner"], {"completionPercentage": 20}),
        403,
        9000,
    )
    assert_error(
        await learner.progress(setup["self_paced"], setup["other"], {"completionPercentage": 20}),
        403,
        9000,
    )
    assert_snapshots_equal(before, await snapshot(services), "refused learner writes")
    # An admin records the blended course.
    ok_body(await admin.progress(setup["blended"], setup["learner"], {"completionPercentage": 20}))


async def test_manager_records_own_progress_only(
    client: httpx.AsyncClient,
    services: Services,
    demo: DemoTokens,
    setup: dict[str, str],
) -> None:
    manager = Api(client, await token_for(services, demo, demo.people.manager_id))
    ok_body(
        await manager.progress(
            setup["self_paced"], demo.people.manager_id, {"completionPercentage": 10}
        )
    )
    before = await snapshot(services)
    # A reportee of theirs: readable, but not theirs to record.
    assert_error(
        await manager.progress(setup["self_paced"], setup["learner"], {"completionPercentage": 10}),
        403,
        9000,
    )
    assert_error(
        await manager.progress(
            setup["blended"], demo.people.manager_id, {"completionPercentage": 10}
        ),
        403,
        9000,
    )
    # The demo manager's READ-only token may not write at all.
    readonly = Api(manager.client, demo.manager_token)
    assert_error(
        await readonly.progress(
            setup["self_paced"], demo.people.manager_id, {"completionPercentage": 10}
        ),
        403,
        7218,
    )
    assert_snapshots_equal(before, await snapshot(services), "refused manager writes")


async def test_progress_for_unknown_or_other_organisation_ids_is_404(
    admin: Api, setup: dict[str, str], services: Services, demo: DemoTokens
) -> None:
    other_course = (
        await sql(
            services,
            "SELECT id FROM courses WHERE org_id <> :org ORDER BY id LIMIT 1",
            {"org": demo.people.org_id},
        )
    )[0][0]
    [learner_not_enrolled] = await admin.learners(1)
    before = await snapshot(services)
    data = {"completionPercentage": 10}
    assert_error(
        await admin.progress(setup["self_paced"], demo.people.other_org_learner_id, data), 404, 7048
    )
    assert_error(await admin.progress(str(other_course), setup["learner"], data), 404, 7049)
    assert_error(await admin.progress("999999", setup["learner"], data), 404, 7049)
    assert_error(await admin.progress("abc", setup["learner"], data), 404, 7049)
    assert_error(await admin.progress(setup["self_paced"], learner_not_enrolled, data), 404, 7049)
    assert_snapshots_equal(before, await snapshot(services), "404 progress writes")


async def test_unauthenticated_progress_write_is_401(
    client: httpx.AsyncClient, setup: dict[str, str]
) -> None:
    response = await client.put(
        f"/api/v1/courses/{setup['self_paced']}/learners/{setup['learner']}/course-progress",
        json={"completionPercentage": 10},
    )
    assert_error(response, 401, 7201)


# --- History, and the projection rebuilt from the events ---------------------------------------


async def test_history_pages_through_every_event_of_the_enrolment(
    client: httpx.AsyncClient,
    services: Services,
    demo: DemoTokens,
    admin: Api,
    setup: dict[str, str],
    clock: ManualClock,
) -> None:
    learner, plan = setup["learner"], setup["plan"]
    learner_api = Api(client, await token_for(services, demo, learner))
    steps: list[tuple[Api, str, dict[str, Any]]] = [
        (learner_api, "self_paced", {"completionPercentage": 30}),
        (learner_api, "material", {"completionPercentage": 50}),
        (admin, "blended", {"completionStatus": "inProgress"}),
        (learner_api, "self_paced", {"completionStatus": "completed"}),
        (admin, "self_paced", {"reset": True}),
        (learner_api, "self_paced", {"completionPercentage": 100}),
    ]
    for n, (api, course, data) in enumerate(steps):
        clock.advance(10)
        ok_body(await api.progress(setup[course], learner, data, key=f"history-{n}"))
    await admin.ok("DELETE", f"/learning-plans/{plan}/learners/{learner}")
    await admin.enrol(plan, [learner])

    events: list[dict[str, Any]] = []
    url = f"/learners/{learner}/learning-plans/{plan}/history"
    for page in range(20):
        body = await learner_api.ok("GET", f"{url}?limit=4&startIndex={1 + 4 * page}")
        assert len(body["events"]) <= 4
        events.extend(body["events"])
        if not body["isNextAvailable"]:
            break
    else:
        pytest.fail("history never ended")
    assert events == (await learner_api.ok("GET", f"{url}?limit=100"))["events"]
    assert [int(e["eventId"]) for e in events] == sorted(int(e["eventId"]) for e in events)
    assert all(
        set(e)
        == {
            "eventId",
            "kind",
            "planId",
            "courseId",
            "actorId",
            "source",
            "idempotencyKey",
            "override",
            "removedFromPlan",
            "before",
            "after",
            "time",
        }
        for e in events
    )
    kinds = [e["kind"] for e in events]
    assert kinds == [
        "enrolled",
        "course_enrolled",
        "course_enrolled",
        "course_enrolled",
        "course_progress",
        "joined",
        "course_progress",
        "course_progress",
        "course_progress",
        "plan_completed",
        "reset",
        "course_progress",
        "unenrolled",
        "enrolled",
    ]
    rows = await sql(
        services,
        """SELECT * FROM progress_events WHERE learner_id = :l
              AND (plan_id = :p OR course_id IN (:a, :b, :c)) ORDER BY id""",
        {
            "l": int(learner),
            "p": int(plan),
            "a": int(setup["self_paced"]),
            "b": int(setup["material"]),
            "c": int(setup["blended"]),
        },
    )
    assert [str(r["id"]) for r in rows] == [e["eventId"] for e in events]
    progress_events = [e for e in events if e["kind"] in ("course_progress", "reset")]
    assert [e["idempotencyKey"] for e in progress_events] == [f"history-{n}" for n in range(6)]
    assert [e["actorId"] for e in progress_events] == [
        learner if api is learner_api else str(demo.people.admin_id) for api, _, _ in steps
    ]
    completed, reset = progress_events[3], progress_events[4]
    assert completed["before"]["status"] == "inProgress"
    assert completed["after"]["status"] == "completed"
    assert reset["before"] == completed["after"]
    assert reset["after"]["status"] == "notStarted"
    assert all(e["source"] == "api" for e in events)
    assert all(e["time"].isdigit() for e in events)
    # Re-enrolment keeps the (sticky) completion.
    assert events[-1]["after"]["isCompleted"] is True
    entry = await admin.plan_progress(learner, plan)
    assert entry["userInfo"]["isUserCompletedPlan"] is True
    assert entry["userInfo"]["isUserJoinedPlan"] is False

    # Who may read it: the learner, their manager, admins; not another learner or org.
    manager = Api(client, demo.manager_token)
    assert (await manager.ok("GET", f"{url}?limit=100"))["events"] == events
    other = Api(client, await token_for(services, demo, setup["other"]))
    assert_error(await other.send("GET", url), 403, 9000)
    assert_error(
        await admin.send(
            "GET", f"/learners/{demo.people.other_org_learner_id}/learning-plans/{plan}/history"
        ),
        404,
        7048,
    )
    assert_error(
        await admin.send("GET", f"/learners/{learner}/learning-plans/1/history"), 404, 7049
    )

    assert await assert_projection_matches(services) > len(events)


async def test_history_says_who_made_each_change_and_through_which_plan(
    client: httpx.AsyncClient, services: Services, demo: DemoTokens, admin: Api
) -> None:
    # The request's own change carries its Idempotency-Key and its caller; what follows
    # from it does not carry the key: course enrolments are the enrolling admin's, in the
    # plan enrolled in; a join by progress is the learner's; a completion is the system's.
    course = await admin.course()
    plan = await admin.plan([(course, 1, True, False)])
    [learner] = await admin.learners(1)
    ok_body(await admin.send("PUT", f"/learning-plans/{plan}/learners", [learner], key="e-1"))
    learner_api = Api(client, await token_for(services, demo, learner))
    ok_body(await learner_api.progress(course, learner, {"completionPercentage": 100}, key="p-1"))
    url = f"/learners/{learner}/learning-plans/{plan}/history?limit=100"
    events = (await admin.ok("GET", url))["events"]
    admin_id = str(demo.people.admin_id)
    assert [
        (e["kind"], e["planId"], e["courseId"], e["actorId"], e["idempotencyKey"]) for e in events
    ] == [
        ("enrolled", plan, "null", admin_id, "e-1"),
        ("course_enrolled", plan, course, admin_id, "null"),
        ("course_progress", "null", course, learner, "p-1"),
        ("joined", plan, "null", learner, "null"),
        ("plan_completed", plan, "null", "null", "null"),
    ]


async def test_replay_of_the_demo_alone_equals_its_stored_state(
    services: Services, demo: DemoTokens
) -> None:
    events = await assert_projection_matches(services)
    enrolments = await sql(services, ENROLMENTS_SQL)
    assert events > len(enrolments) > 100


def test_replay_comparison_notices_a_difference() -> None:
    """The comparison is strict: a state the events do not explain fails it."""
    event = {
        "learner_id": 1,
        "plan_id": None,
        "course_id": 2,
        "kind": "course_enrolled",
        "after_state": '{"status": "notStarted", "percentage": 0, "enrolledTime": 5,'
        ' "completedTime": null}',
    }
    row = {
        "learner_id": 1,
        "course_id": 2,
        "status": "notStarted",
        "percentage": 0,
        "enrolled_time": 5,
        "completed_time": None,
    }
    assert_replay_matches([event], [row], [])
    with pytest.raises(AssertionError):
        assert_replay_matches([event], [{**row, "percentage": 10}], [])
    with pytest.raises(AssertionError):
        assert_replay_matches([], [row], [])


# --- Concurrent writes for one learner ---------------------------------------------------------


async def test_concurrent_writes_for_one_learner_keep_the_rules(
    admin: Api, services: Services
) -> None:
    """Requests racing for the same learner: every mandatory course completed at once still
    completes the plan, and a lower write racing a completion never undoes it."""
    courses = [await admin.course() for _ in range(4)]
    plan = await admin.plan([(c, 1, True, False) for c in courses])
    learners = await admin.learners(4)
    await admin.enrol(plan, learners)
    completed = {"completionStatus": "completed"}
    responses = await asyncio.gather(
        *(admin.progress(c, learner, completed) for learner in learners for c in courses),
        *(
            admin.progress(c, learner, {"completionPercentage": 50})
            for learner in learners
            for c in courses
        ),
    )
    assert {r.status_code for r in responses} <= {200, 409}
    for learner in learners:
        entry = await admin.plan_progress(learner, plan)
        assert entry["userInfo"]["isUserCompletedPlan"] is True, learner
        assert entry["progressInfo"]["completedMandatoryCourseCount"] == "4"
    assert await assert_projection_matches(services)


# --- Every refused write leaves the database unchanged ----------------------------------------


async def test_every_refused_write_leaves_the_database_unchanged(
    client: httpx.AsyncClient,
    services: Services,
    demo: DemoTokens,
    admin: Api,
    setup: dict[str, str],
) -> None:
    learner, plan = setup["learner"], setup["plan"]
    course = setup["self_paced"]
    ok_body(await admin.progress(course, learner, {"completionStatus": "completed"}))
    draft = await admin.plan([(course, 1, False, False)], publish=False)
    learner_api = Api(client, await token_for(services, demo, learner))
    manager_api = Api(client, await token_for(services, demo, demo.people.manager_id))
    other_learner = demo.people.other_org_learner_id
    other_plan = (
        await sql(
            services,
            "SELECT id FROM learning_plans WHERE org_id <> :o LIMIT 1",
            {"o": demo.people.org_id},
        )
    )[0][0]
    ok_body(await admin.send("POST", "/courses", {"courseName": "Keyed"}, key="used-key"))
    progress = f"/courses/{course}/learners/{learner}/course-progress"
    # A plan whose second level is locked for the learner until the first is complete.
    first, second = await admin.course(), await admin.course()
    levels = await admin.plan([(first, 1, True, False), (second, 2, True, True)])
    await admin.enrol(levels, [learner])
    locked = f"/courses/{second}/learners/{learner}/course-progress"
    enrolled = (await admin.ok("GET", locked))["courseProgress"]["enrolledDate"]
    admin_self = f"/learners/{demo.people.admin_id}"
    person = {"emailId": "refused@zylker.example", "displayName": "R", "employeeId": "R1"}
    huge = {"courseName": "x" * (1024 * 1024 + 10)}
    batch: list[tuple[Api, str, str, Any, int, int]] = [
        # validation
        (admin, "PUT", progress, {"completionPercentage": 101}, 400, 7204),
        (admin, "PUT", progress, None, 400, 7019),
        (admin, "POST", "/learners", {**person, "emailId": "nope"}, 400, 7204),
        (admin, "POST", "/courses", {"courseName": ""}, 400, 7204),
        (admin, "POST", "/learning-plans", {"planName": "P", "durationType": 9}, 400, 7204),
        (
            admin,
            "PUT",
            f"/learning-plans/{plan}/courses",
            {"courses": [{"courseId": 0}]},
            400,
            7204,
        ),
        (admin, "PUT", f"/learning-plans/{plan}/learners", [], 400, 7204),
        (admin, "PUT", progress, {"reset": "true"}, 400, 7204),
        (admin, "PUT", progress, {"reset": 1}, 400, 7204),
        (admin, "PATCH", f"/learning-plans/{plan}", {"disabled": "yes"}, 400, 7204),
        (
            admin,
            "PUT",
            f"/learning-plans/{plan}/courses",
            {"courses": [{"courseId": int(course), "isMandatory": 1}]},
            400,
            7204,
        ),
        (
            admin,
            "PUT",
            locked,
            {"completionPercentage": 5, "completionTime": int(enrolled) - 1},
            400,
            7204,
        ),
        # roles
        (
            learner_api,
            "PUT",
            f"/courses/{setup['blended']}/learners/{learner}/course-progress",
            {"completionPercentage": 5},
            403,
            9000,
        ),
        (
            learner_api,
            "PUT",
            f"/courses/{course}/learners/{setup['other']}/course-progress",
            {"completionPercentage": 5},
            403,
            9000,
        ),
        (manager_api, "PUT", progress, {"completionPercentage": 5}, 403, 9000),
        (learner_api, "POST", "/courses", {"courseName": "Mine"}, 403, 9000),
        (manager_api, "PUT", f"/learning-plans/{plan}/learners", [learner], 403, 9000),
        (Api(client, demo.manager_token), "POST", "/learners", person, 403, 7218),
        # isolation
        (
            admin,
            "PUT",
            f"/courses/{course}/learners/{other_learner}/course-progress",
            {"completionPercentage": 5},
            404,
            7048,
        ),
        (admin, "POST", f"/learning-plans/{other_plan}/publish", None, 404, 7049),
        (admin, "PATCH", f"/learners/{other_learner}", {"displayName": "X"}, 404, 7048),
        (admin, "PUT", f"/learning-plans/{plan}/learners", [learner, other_learner], 404, 7048),
        # conflicts
        (admin, "PUT", progress, {"completionPercentage": 20}, 409, 7052),
        (admin, "POST", f"/learning-plans/{draft}/publish", None, 409, 7052),
        (admin, "DELETE", f"/courses/{course}", None, 409, 7052),
        (admin, "DELETE", f"/learning-plans/{plan}", None, 409, 7052),
        (admin, "PUT", f"/learning-plans/{draft}/learners", [learner], 409, 7052),
        (learner_api, "PUT", locked, {"completionPercentage": 5}, 409, 7052),
        (admin, "PATCH", admin_self, {"role": "manager"}, 409, 7052),
        (admin, "PATCH", admin_self, {"status": "inactive"}, 409, 7052),
        # limits
        (admin, "POST", "/learners", [person] * 201, 422, 7021),
        (admin, "PUT", f"/learning-plans/{plan}/learners", [learner] * 201, 422, 7021),
        (admin, "POST", "/courses", huge, 413, 7053),
    ]
    before = await snapshot(services)
    for n, (api, method, path, data, status, code) in enumerate(batch):
        # Half of them with an Idempotency-Key: a refused write stores no key either.
        key = f"refused-{n}" if n % 2 else None
        assert_error(await api.send(method, path, data, key=key), status, code)
        assert_snapshots_equal(before, await snapshot(services), f"{method} {path} ({status})")
    # A key already used, with another request.
    assert_error(
        await admin.send("POST", "/courses", {"courseName": "Other"}, key="used-key"), 422, 7054
    )
    assert_snapshots_equal(before, await snapshot(services), "reused key")
