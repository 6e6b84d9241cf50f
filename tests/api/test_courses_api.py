"""Managing courses: POST/GET /api/v1/courses, GET/PATCH/DELETE /api/v1/courses/{courseId}."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

from lmsplans.demo import DemoTokens
from lmsplans.server.clock import ManualClock
from lmsplans.server.http import Services
from lmsplans.server.settings import Settings
from tests.api.readdata import is_decimal, sql
from tests.api.test_progress_writes import (
    Api,
    assert_projection_matches,
    assert_snapshots_equal,
    error_fields,
    ok_body,
    roomy_settings,
    snapshot,
    token_for,
)
from tests.conftest import assert_error

RECORD_KEYS = {
    "courseId",
    "courseName",
    "courseType",
    "description",
    "aboutCourse",
    "duration",
    "durationUnit",
    "courseCode",
    "categories",
    "courseAdmins",
    "permissionSettings",
    "batchId",
    "createdTime",
    "modifiedTime",
}


@pytest.fixture
def settings(database_url: str) -> Settings:
    return roomy_settings(database_url)


@pytest.fixture
async def admin(client: httpx.AsyncClient, services: Services, demo: DemoTokens) -> Api:
    return Api(client, await token_for(services, demo, demo.people.admin_id))


async def other_org_course(services: Services, demo: DemoTokens) -> int:
    rows = await sql(
        services,
        "SELECT id FROM courses WHERE org_id <> :o ORDER BY id LIMIT 1",
        {"o": demo.people.org_id},
    )
    return int(rows[0][0])


async def test_create_read_update_delete(admin: Api, clock: ManualClock) -> None:
    created = (
        await admin.ok(
            "POST",
            "/courses",
            {"courseName": "  Forklift Basics ", "courseType": 2, "duration": 90},
        )
    )["course"]
    assert set(created) == RECORD_KEYS
    assert is_decimal(created["courseId"])
    assert (created["courseName"], created["courseType"], created["duration"]) == (
        "Forklift Basics",
        "2",
        "90",
    )
    assert created["createdTime"] == created["modifiedTime"] == str(clock.now_ms())
    course = created["courseId"]
    assert (await admin.ok("GET", f"/courses/{course}"))["course"] == created

    clock.advance(3)
    patched = (await admin.ok("PATCH", f"/courses/{course}", {"courseName": "Forklift 101"}))[
        "course"
    ]
    assert (patched["courseName"], patched["courseType"], patched["duration"]) == (
        "Forklift 101",
        "2",
        "90",
    )
    assert patched["modifiedTime"] == str(clock.now_ms())
    assert patched["createdTime"] == created["createdTime"]
    # duration may be cleared; the default type is self-paced.
    patched = (await admin.ok("PATCH", f"/courses/{course}", {"duration": None}))["course"]
    assert patched["duration"] == "null"
    plain = (await admin.ok("POST", "/courses", {"courseName": "Plain"}))["course"]
    assert (plain["courseType"], plain["duration"]) == ("1", "null")

    deleted = (await admin.ok("DELETE", f"/courses/{course}"))["course"]
    assert deleted["courseId"] == course
    assert_error(await admin.send("GET", f"/courses/{course}"), 404, 7049)
    assert_error(await admin.send("PATCH", f"/courses/{course}", {"duration": 5}), 404, 7049)
    assert_error(await admin.send("DELETE", f"/courses/{course}"), 404, 7049)
    listed = await admin.ok("GET", "/courses?limit=100&startIndex=1")
    ids = {c["courseId"] for c in listed["courses"]}
    while listed["isNextAvailable"]:
        listed = await admin.ok("GET", f"/courses?limit=100&startIndex={len(ids) + 1}")
        ids |= {c["courseId"] for c in listed["courses"]}
    assert course not in ids and plain["courseId"] in ids


async def test_list_pages_through_the_organisations_courses_only(
    admin: Api, services: Services, demo: DemoTokens
) -> None:
    expected = [
        str(r["id"])
        for r in await sql(
            services,
            "SELECT id FROM courses WHERE org_id = :o AND deleted_time IS NULL ORDER BY id",
            {"o": demo.people.org_id},
        )
    ]
    seen: list[str] = []
    for page in range(20):
        body = await admin.ok("GET", f"/courses?limit=7&startIndex={1 + 7 * page}")
        assert all(set(c) == RECORD_KEYS for c in body["courses"])
        seen.extend(c["courseId"] for c in body["courses"])
        if not body["isNextAvailable"]:
            break
    assert seen == expected
    assert str(await other_org_course(services, demo)) not in seen
    # Everyone in the organisation may read the catalogue.
    learner = Api(admin.client, demo.learner_token)
    assert (await learner.ok("GET", "/courses?limit=100"))["courses"][0]["courseId"] == expected[0]


@pytest.mark.parametrize("form", ["json", "query", "form"])
async def test_course_payload_in_all_three_forms(admin: Api, form: str) -> None:
    document = orjson.dumps({"courseName": f"Course by {form}", "courseType": 3}).decode()
    url, headers = "/api/v1/courses", admin.headers()
    if form == "json":
        headers["Content-Type"] = "application/json"
        response = await admin.client.post(url, content=document, headers=headers)
    elif form == "query":
        response = await admin.client.post(url, params={"courseData": document}, headers=headers)
    else:
        response = await admin.client.post(url, data={"courseData": document}, headers=headers)
    course = ok_body(response)["course"]
    assert (course["courseName"], course["courseType"]) == (f"Course by {form}", "3")
    patch = '{"courseName": "Renamed"}'
    response = await admin.client.patch(
        f"{url}/{course['courseId']}", params={"courseData": patch}, headers=admin.headers()
    )
    assert ok_body(response)["course"]["courseName"] == "Renamed"


@pytest.mark.parametrize(
    ("method", "data", "fields"),
    [
        ("POST", {"courseName": ""}, {"courseName"}),
        ("POST", {"courseType": 1}, {"courseName"}),
        ("POST", {"courseName": "X", "courseType": 4}, {"courseType"}),
        ("POST", {"courseName": "X", "duration": -1}, {"duration"}),
        ("POST", {"courseName": "X" * 201, "courseType": "two"}, {"courseName", "courseType"}),
        ("POST", {"courseName": "X", "level": 1}, {"level"}),
        ("POST", ["X"], {"courseData"}),
        ("PATCH", {"courseName": None}, {"courseName"}),
        ("PATCH", {"courseType": None}, {"courseType"}),
        ("PATCH", {"courseType": 0}, {"courseType"}),
        ("PATCH", {"duration": 1.5}, {"duration"}),
    ],
)
async def test_invalid_course_is_400_7204_naming_each_field(
    admin: Api, services: Services, demo: DemoTokens, method: str, data: Any, fields: set[str]
) -> None:
    course = (
        await sql(
            services, "SELECT id FROM courses WHERE org_id = :o LIMIT 1", {"o": demo.people.org_id}
        )
    )[0][0]
    path = "/courses" if method == "POST" else f"/courses/{course}"
    before = await snapshot(services)
    body = assert_error(await admin.send(method, path, data), 400, 7204)
    assert error_fields(body) == fields, body
    assert_error(await admin.send(method, path), 400, 7019)
    assert_snapshots_equal(before, await snapshot(services), "invalid course")


async def test_only_admins_manage_courses(
    client: httpx.AsyncClient, services: Services, demo: DemoTokens, admin: Api
) -> None:
    course = await admin.course()
    learner = Api(client, demo.learner_token)
    manager = Api(client, await token_for(services, demo, demo.people.manager_id))
    readonly = Api(client, demo.manager_token)
    before = await snapshot(services)
    for api, code in ((learner, 9000), (manager, 9000), (readonly, 7218)):
        assert_error(await api.send("POST", "/courses", {"courseName": "X"}), 403, code)
        assert_error(await api.send("PATCH", f"/courses/{course}", {"courseName": "X"}), 403, code)
        assert_error(await api.send("DELETE", f"/courses/{course}"), 403, code)
    assert_snapshots_equal(before, await snapshot(services), "non-admin course writes")
    assert (await learner.ok("GET", f"/courses/{course}"))["course"]["courseId"] == course


async def test_other_organisations_courses_are_404(
    admin: Api, services: Services, demo: DemoTokens
) -> None:
    other = await other_org_course(services, demo)
    before = await snapshot(services)
    for ref in (other, "0", "12abc"):
        assert_error(await admin.send("GET", f"/courses/{ref}"), 404, 7049)
        assert_error(await admin.send("PATCH", f"/courses/{ref}", {"courseName": "X"}), 404, 7049)
        assert_error(await admin.send("DELETE", f"/courses/{ref}"), 404, 7049)
    # Past 64 bits, an id is out of range before it could name anything (test_hostile_inputs).
    for method in ("GET", "PATCH", "DELETE"):
        assert_error(await admin.send(method, "/courses/99999999999999999999999"), 400, 7204)
    assert_snapshots_equal(before, await snapshot(services), "other organisation's course")


async def test_delete_is_refused_while_a_published_plan_uses_the_course(
    admin: Api, services: Services, demo: DemoTokens
) -> None:
    used, spare = await admin.course(), await admin.course()
    plan = await admin.plan([(used, 1, True, False), (spare, 1, False, False)])
    draft = await admin.plan([(used, 1, True, False), (spare, 1, True, False)], publish=False)
    learner = demo.people.learner_id
    await admin.enrol(plan, [learner])
    ok_body(await admin.progress(spare, learner, {"completionPercentage": 40}))

    before = await snapshot(services)
    assert_error(await admin.send("DELETE", f"/courses/{used}"), 409, 7052)
    assert_snapshots_equal(before, await snapshot(services), "refused course delete")

    # Not used as mandatory matters not: any published plan holding it refuses the delete...
    assert_error(await admin.send("DELETE", f"/courses/{spare}"), 409, 7052)
    # ...until the plan lets it go. The draft loses it; the learner's progress stays.
    await admin.set_courses(plan, [(used, 1, True, False)])
    await admin.ok("DELETE", f"/courses/{spare}")
    draft_courses = (await admin.ok("GET", f"/learning-plans/{draft}"))["learningPlan"]["courses"]
    assert [c["courseId"] for c in draft_courses] == [used]
    progress = await sql(
        services,
        "SELECT status FROM course_progress WHERE learner_id = :l AND course_id = :c",
        {"l": learner, "c": int(spare)},
    )
    assert [r["status"] for r in progress] == ["inProgress"]
    await assert_projection_matches(services)


@pytest.mark.parametrize("key", [None, "form-without-payload"])
async def test_a_form_without_the_payload_field_is_400_7019(admin: Api, key: str | None) -> None:
    response = await admin.send("POST", "/courses", data={"other": "x"}, key=key)
    body = assert_error(response, 400, 7019)
    assert error_fields(body) == {"courseData"}
