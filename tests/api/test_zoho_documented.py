"""Zoho's own documented requests, replayed: each test sends a request in the exact shape a
page of Zoho People's LMS API documentation gives (its docstring names the page), and
checks that it succeeds, that its fields are stored and that the answers echo them.

Where a page's request URL holds placeholders (`<name>`, `<courseId>`), the test fills them
with values of the documented kind; the shapes (where the payload goes, its keys, the
types of their values, the sample `permissionSettings` object) are the page's own.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from lmsplans.demo import DemoTokens
from lmsplans.server.http import Services
from lmsplans.server.settings import Settings
from tests.api.readdata import sql
from tests.api.test_progress_writes import (
    Api,
    assert_snapshots_equal,
    ok_body,
    roomy_settings,
    snapshot,
    token_for,
)
from tests.conftest import assert_error

# The sample object of the Create Course and Update Course pages, as printed there.
PERMISSION_SETTINGS = {
    "whoCanEnroll": ["admin", "learner"],
    "whoCanUnenroll": ["admin", "learner"],
    "whenAnEntityIsConsideredAsCompleted": 2,
    "whenACourseIsConsideredAsCompleted": 2,
    "whenAModuleIsConsideredAsCompleted": 2,
}


@pytest.fixture
def settings(database_url: str) -> Settings:
    return roomy_settings(database_url)


def zoho_headers(token: str) -> dict[str, str]:
    """The header every page shows: `Authorization: Zoho-oauthtoken <token>`."""
    return {"Authorization": f"Zoho-oauthtoken {token}"}


async def stored_course(services: Services, course_id: str) -> dict[str, Any]:
    [row] = await sql(services, "SELECT * FROM courses WHERE id = :id", {"id": int(course_id)})
    return dict(row)


async def test_create_course_as_documented(
    client: httpx.AsyncClient, services: Services, demo: DemoTokens
) -> None:
    """Create Course API: https://www.zoho.com/people/api/LMS/createcourse.html

    `POST https://people.zoho.com/api/v1/courses?courseData={"name" : <name>, "type" :
    <type>, "description" : <description>, "aboutCourse" : <aboutCourse>, "duration" :
    <duration>, "durationUnit" : <durationUnit>, "courseCode" : <courseCode>, "courseAdmins"
    : <courseAdmins>, "categories" : <categories>, "permissionSettings" :
    <permissionSettings>}`: the payload a JSON document in the query string, `type` 1, 2 or
    3, `duration` an integer in `durationUnit`s (minute, hour or day), `courseAdmins`
    erecnos, `categories` category ids.
    """
    course_data = {
        "name": "Forklift Operation",
        "type": 2,
        "description": "Operating a forklift safely in the warehouse",
        "aboutCourse": "Controls, load charts, pedestrians and the daily check",
        "duration": 3,
        "durationUnit": "hour",
        "courseCode": "WH-101",
        "courseAdmins": [demo.people.admin_id, demo.people.manager_id],
        "categories": [219225000000645001, 219225000000645003],
        "permissionSettings": PERMISSION_SETTINGS,
    }
    response = await client.post(
        "/api/v1/courses",
        params={"courseData": json.dumps(course_data)},
        headers=zoho_headers(demo.admin_token),
    )
    course = ok_body(response)["course"]
    expected = {
        "courseName": "Forklift Operation",
        "courseType": "2",
        "description": "Operating a forklift safely in the warehouse",
        "aboutCourse": "Controls, load charts, pedestrians and the daily check",
        "duration": "3",
        "durationUnit": "hour",
        "courseCode": "WH-101",
        "courseAdmins": [str(demo.people.admin_id), str(demo.people.manager_id)],
        "categories": ["219225000000645001", "219225000000645003"],
        "permissionSettings": PERMISSION_SETTINGS,
        "batchId": course["courseId"],  # a blended course is its own batch
    }
    assert {key: course[key] for key in expected} == expected
    # Stored: the columns hold the fields, the length in minutes.
    row = await stored_course(services, course["courseId"])
    assert (row["name"], row["course_type"], row["duration_minutes"]) == (
        "Forklift Operation",
        2,
        180,
    )
    assert (row["description"], row["about_course"], row["course_code"], row["duration_unit"]) == (
        course_data["description"],
        course_data["aboutCourse"],
        "WH-101",
        "hour",
    )
    assert json.loads(row["permission_settings"]) == PERMISSION_SETTINGS
    # Echoed by every read of the course.
    admin = Api(client, demo.admin_token)
    assert (await admin.ok("GET", f"/courses/{course['courseId']}"))["course"] == course
    listed = await admin.ok("GET", "/courses?limit=100&startIndex=1")
    while course["courseId"] not in {c["courseId"] for c in listed["courses"]}:
        assert listed["isNextAvailable"]
        start = len(listed["courses"])
        listed = await admin.ok("GET", f"/courses?limit=100&startIndex={start + 1}")
    assert [c for c in listed["courses"] if c["courseId"] == course["courseId"]] == [course]


async def test_create_course_with_only_the_mandatory_fields(
    client: httpx.AsyncClient, demo: DemoTokens
) -> None:
    """Create Course API: https://www.zoho.com/people/api/LMS/createcourse.html

    Only `name` and `type` are marked mandatory (`*`); the others take their defaults. The
    type may come as Zoho writes it in its answers, a string.
    """
    for type_ in (1, "3"):
        response = await client.post(
            "/api/v1/courses",
            params={"courseData": json.dumps({"name": "Fire Drill", "type": type_})},
            headers=zoho_headers(demo.admin_token),
        )
        course = ok_body(response)["course"]
        assert (course["courseName"], course["courseType"]) == ("Fire Drill", str(type_))
        assert (course["description"], course["duration"], course["durationUnit"]) == (
            "",
            "null",
            "minute",
        )
        assert (course["courseAdmins"], course["categories"], course["permissionSettings"]) == (
            [],
            [],
            {},
        )
        assert course["batchId"] == "null"  # only blended courses have a batch


async def test_update_course_as_documented(
    client: httpx.AsyncClient, services: Services, demo: DemoTokens
) -> None:
    """Update Course API: https://www.zoho.com/people/api/LMS/updatecourse.html

    `PATCH https://people.zoho.com/api/v1/courses/<courseId>?courseData={"name" : <name>,
    "type" : <type>, "description" : <description>, "aboutCourse" : <aboutCourse>,
    "duration" : <duration>, "durationUnit" : <durationUnit>, "courseCode" : <courseCode>,
    "courseAdmins" : <courseAdmins>, "categories" : <categories>, "permissionSettings" :
    <permissionSettings>}`.
    """
    admin = Api(client, demo.admin_token)
    created = (await admin.ok("POST", "/courses", {"courseName": "Induction", "duration": 45}))[
        "course"
    ]
    course_data = {
        "name": "Induction Day",
        "type": 1,
        "description": "The first day at Zylker",
        "aboutCourse": "Who is who, where things are, the safety walk",
        "duration": 1,
        "durationUnit": "day",
        "courseCode": "HR-001",
        "courseAdmins": [demo.people.manager_id],
        "categories": [219225000000645005],
        "permissionSettings": {**PERMISSION_SETTINGS, "whoCanEnroll": ["admin", "manager"]},
    }
    response = await client.patch(
        f"/api/v1/courses/{created['courseId']}",
        params={"courseData": json.dumps(course_data)},
        headers=zoho_headers(demo.admin_token),
    )
    course = ok_body(response)["course"]
    assert (course["courseName"], course["courseType"], course["duration"]) == (
        "Induction Day",
        "1",
        "1",
    )
    assert (course["durationUnit"], course["courseCode"], course["categories"]) == (
        "day",
        "HR-001",
        ["219225000000645005"],
    )
    assert course["courseAdmins"] == [str(demo.people.manager_id)]
    assert course["permissionSettings"]["whoCanEnroll"] == ["admin", "manager"]
    assert (await stored_course(services, course["courseId"]))["duration_minutes"] == 1440
    assert (await admin.ok("GET", f"/courses/{course['courseId']}"))["course"] == course
    # This product's own names keep working on the same course, and a duration without its
    # unit is in the course's present unit (days now).
    mine = (
        await admin.ok(
            "PATCH", f"/courses/{course['courseId']}", {"courseName": "Day One", "duration": 2}
        )
    )["course"]
    assert (mine["courseName"], mine["duration"], mine["durationUnit"]) == ("Day One", "2", "day")
    assert mine["courseCode"] == "HR-001"


async def test_zoho_and_own_names_together_are_refused(
    client: httpx.AsyncClient, services: Services, demo: DemoTokens
) -> None:
    """One field in both spellings, a unit that does not divide the length, an unknown
    course admin, a bad permission setting: each is refused naming the field, and changes
    nothing."""
    admin = Api(client, demo.admin_token)
    course = (await admin.ok("POST", "/courses", {"courseName": "Odd", "duration": 90}))["course"]
    path = f"/courses/{course['courseId']}"
    bad: list[tuple[str, str, dict[str, Any], int, int, str]] = [
        ("POST", "/courses", {"name": "A", "courseName": "B"}, 400, 7204, "courseData"),
        ("POST", "/courses", {"name": "A", "type": 1, "courseType": 2}, 400, 7204, "courseData"),
        ("POST", "/courses", {"type": 1}, 400, 7204, "courseName"),
        ("POST", "/courses", {"name": "A", "type": 4}, 400, 7204, "type"),
        ("POST", "/courses", {"name": "A", "durationUnit": "week"}, 400, 7204, "durationUnit"),
        ("POST", "/courses", {"name": "A", "categories": ["x"]}, 400, 7204, "categories.0"),
        (
            "POST",
            "/courses",
            {"name": "A", "courseAdmins": ["nobody"]},
            404,
            7048,
            "courseAdmins.0",
        ),
        (
            "POST",
            "/courses",
            {"name": "A", "permissionSettings": {"whoCanEnroll": ["anyone"]}},
            400,
            7204,
            "permissionSettings.whoCanEnroll.0",
        ),
        (
            "POST",
            "/courses",
            {"name": "A", "duration": 2**31, "durationUnit": "day"},
            400,
            7204,
            "duration",
        ),
        ("PATCH", path, {"durationUnit": "hour"}, 400, 7204, "durationUnit"),
        ("PATCH", path, {"description": None}, 400, 7204, "description"),
    ]
    before = await snapshot(services)
    for method, url, data, status, code, field in bad:
        body = assert_error(await admin.send(method, url, data), status, code)
        assert field in {e["field"] for e in body.get("errors", [])}, (data, body)
    assert_snapshots_equal(before, await snapshot(services), "refused course payloads")
    # Whole hours: the same length in another unit.
    hours = (await admin.ok("PATCH", path, {"duration": 120}))["course"]
    assert (await admin.ok("PATCH", path, {"durationUnit": "hour"}))["course"]["duration"] == "2"
    assert hours["duration"] == "120"


# --- Blended courses: the `/batches/{batchId}` paths --------------------------------------------


@pytest.fixture
async def blended(
    client: httpx.AsyncClient, services: Services, demo: DemoTokens
) -> dict[str, str]:
    """A blended course in a published plan, its progress recorded for two learners."""
    admin = Api(client, await token_for(services, demo, demo.people.admin_id))
    course = await admin.course("Classroom First Aid", course_type=2)
    plan = await admin.plan([(course, 1, True, False)])
    learners = await admin.learners(2, manager_id=demo.people.manager_id)
    await admin.enrol(plan, learners)
    ok_body(await admin.progress(course, learners[0], {"completionPercentage": 40}))
    self_paced = await admin.course("Reading", course_type=1)
    return {"course": course, "first": learners[0], "second": learners[1], "self": self_paced}


async def test_fetch_course_batch_list_as_documented(
    client: httpx.AsyncClient, demo: DemoTokens, blended: dict[str, str]
) -> None:
    """Fetch Course Batch List API: https://zoho.com/people/api/LMS/fetch_coursebatch.html

    `GET https://people.zoho.com/api/v1/courses/<courseId>/batches` (a blended learning
    course; `startIndex` from 0). The answer's batches carry `batchId`, `courseId`, `name`,
    `learnersCount` (a number) and `publishStatus`, as the page's sample does.
    """
    course = blended["course"]
    response = await client.get(
        f"/api/v1/courses/{course}/batches", headers=zoho_headers(demo.admin_token)
    )
    body = ok_body(response)
    assert body["batches"] == [
        {
            "batchId": course,
            "courseId": course,
            "name": "Classroom First Aid",
            "learnersCount": 2,
            "publishStatus": "published",
        }
    ]
    assert body["isNextAvailable"] is False
    second_page = await client.get(
        f"/api/v1/courses/{course}/batches?startIndex=1", headers=zoho_headers(demo.admin_token)
    )
    assert ok_body(second_page)["batches"] == []
    # A self-paced course has no batch.
    none = await client.get(
        f"/api/v1/courses/{blended['self']}/batches", headers=zoho_headers(demo.admin_token)
    )
    assert ok_body(none)["batches"] == []


async def test_single_course_all_learner_progress_of_a_batch_as_documented(
    client: httpx.AsyncClient, demo: DemoTokens, blended: dict[str, str]
) -> None:
    """Single Course - All Learner Progress:
    https://www.zoho.com/people/api/LMS/single-course-all-learner.html

    `GET https://people.zoho.com/api/v1/courses/<courseId>/(batches/<batchId>/)course-progress`,
    with `startIndex`. The batch of a blended course answers what the course does.
    """
    course, headers = blended["course"], zoho_headers(demo.admin_token)
    plain = ok_body(await client.get(f"/api/v1/courses/{course}/course-progress", headers=headers))
    batch = ok_body(
        await client.get(
            f"/api/v1/courses/{course}/batches/{course}/course-progress", headers=headers
        )
    )
    assert batch == plain
    assert {r["userId"] for r in batch["courseProgress"]} == {blended["first"], blended["second"]}
    paged = ok_body(
        await client.get(
            f"/api/v1/courses/{course}/batches/{course}/course-progress",
            params={"startIndex": 0, "limit": 1},
            headers=headers,
        )
    )
    assert len(paged["courseProgress"]) == 1 and paged["isNextAvailable"] is True


async def test_single_learner_single_course_progress_of_a_batch_as_documented(
    client: httpx.AsyncClient, demo: DemoTokens, blended: dict[str, str]
) -> None:
    """Single Learner - Single Course Progress:
    https://www.zoho.com/people/api/LMS/single-learner-single-progress-course.html

    `GET https://people.zoho.com/api/v1/courses/<courseId>/(batches/<batchId>/)learners/
    <learnerId>/course-progress`, with `progressType` 0 (all entities, the default) or 1
    (mandatory entities).
    """
    course, learner, headers = blended["course"], blended["first"], zoho_headers(demo.admin_token)
    plain = ok_body(
        await client.get(
            f"/api/v1/courses/{course}/learners/{learner}/course-progress", headers=headers
        )
    )
    assert plain["courseProgress"]["completionPercentage"] == "40"
    for query in ({}, {"progressType": 0}, {"progressType": 1}):
        batch = await client.get(
            f"/api/v1/courses/{course}/batches/{course}/learners/{learner}/course-progress",
            params=query,
            headers=headers,
        )
        assert ok_body(batch) == plain, query
    bad = await client.get(
        f"/api/v1/courses/{course}/batches/{course}/learners/{learner}/course-progress",
        params={"progressType": 2},
        headers=headers,
    )
    assert_error(bad, 400, 7204)


async def test_unknown_batches_are_404_7049(
    client: httpx.AsyncClient, demo: DemoTokens, blended: dict[str, str]
) -> None:
    course, learner, headers = blended["course"], blended["first"], zoho_headers(demo.admin_token)
    for batch_course, batch in (
        (course, "100002000000041383"),  # another id: not this course's batch
        (course, "batch-one"),
        (blended["self"], blended["self"]),  # a self-paced course has no batch
    ):
        for tail in ("course-progress", f"learners/{learner}/course-progress"):
            url = f"/api/v1/courses/{batch_course}/batches/{batch}/{tail}"
            assert_error(await client.get(url, headers=headers), 404, 7049)


# --- Zoho's documented reads of the learning-plan family ------------------------------------


async def zoho_get(client: httpx.AsyncClient, demo: DemoTokens, url: str) -> dict[str, Any]:
    return ok_body(await client.get(url, headers=zoho_headers(demo.admin_token)))


async def test_fetch_learning_plans_as_documented(
    client: httpx.AsyncClient, demo: DemoTokens
) -> None:
    """Fetch Learning Plans: https://zohohelp.com/people/api/LMS/fetch-learning-plan.html

    `GET https://people.zoho.com/api/v1/learning-plans?startIndex=0&limit=50`, the page's
    sample (its table says `startIndex` defaults to 1; 0 is read as the first record).
    """
    body = await zoho_get(client, demo, "/api/v1/learning-plans?startIndex=0&limit=50")
    first = await zoho_get(client, demo, "/api/v1/learning-plans?startIndex=1&limit=50")
    assert body["learningPlans"] and body["learningPlans"] == first["learningPlans"]


async def test_fetch_learning_plan_learner_details_as_documented(
    client: httpx.AsyncClient, demo: DemoTokens
) -> None:
    """Fetch Learning Plan's Learner Details:
    https://www.zoho.com/people/api/LMS/learning-plan-members-details.html

    `GET https://people.zoho.com/api/v1/learning-plans/<planId>/learners`; the page's code
    samples call the same list `/members`.
    """
    plans = await zoho_get(
        client, demo, f"/api/v1/learners/{demo.people.learner_id}/learning-plans/progress"
    )
    plan = plans["learningPlans"][0]["planId"]
    learners = await zoho_get(client, demo, f"/api/v1/learning-plans/{plan}/learners")
    members = await zoho_get(client, demo, f"/api/v1/learning-plans/{plan}/members")
    assert learners["learners"] and learners == members


async def test_fetch_learners_plan_and_course_progress_as_documented(
    client: httpx.AsyncClient, demo: DemoTokens
) -> None:
    """Fetch Learner's Learning Plan Progress:
    https://zohohelp.com/people/api/LMS/learning-plan-progress.html
    (`GET .../api/v1/learners/<learnerId>/learning-plans/progress`, `startIndex` from 0);
    Fetch Progress of Courses within a Learning Plan:
    https://zohohelp.com/people/api/LMS/learning-plan-course-details.html
    (`GET .../api/v1/learners/<learnerId>/learning-plans/<planId>/courses/progress`,
    `startIndex` from 1, `Limit` 25 to 100);
    Single Learner - All Course Progress:
    https://www.zoho.com/people/api/LMS/single-progress-course.html
    (`GET .../api/v1/learners/<learnerId>/course-progress`, `startIndex` from 0).
    """
    learner = demo.people.learner_id
    plans = await zoho_get(
        client, demo, f"/api/v1/learners/{learner}/learning-plans/progress?startIndex=0"
    )
    plan = plans["learningPlans"][0]["planId"]
    courses = await zoho_get(
        client,
        demo,
        f"/api/v1/learners/{learner}/learning-plans/{plan}/courses/progress?startIndex=1&Limit=25",
    )
    assert courses["courses"]
    everything = await zoho_get(client, demo, f"/api/v1/learners/{learner}/course-progress")
    records = everything["courseProgress"]
    assert len(records) > 2
    second = await zoho_get(
        client, demo, f"/api/v1/learners/{learner}/course-progress?startIndex=1"
    )
    assert second["courseProgress"][0] == records[1]  # startIndex counts from 0 here
