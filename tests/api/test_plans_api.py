"""Managing learning plans: create (draft), read, update, delete, publish, disable, set the
courses, enrol and unenrol learners, and the learner's own join."""

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
    event_count,
    ok_body,
    roomy_settings,
    snapshot,
    token_for,
)
from tests.conftest import assert_error

PLAN_INFO_KEYS = {
    "duration",
    "publishState",
    "planImageInfo",
    "activeCourseCount",
    "planName",
    "createdTime",
    "planId",
    "disabled",
    "durationType",
    "mandatoryCourseCount",
    "isPlanOwner",
}


@pytest.fixture
def settings(database_url: str) -> Settings:
    return roomy_settings(database_url)


@pytest.fixture
async def admin(client: httpx.AsyncClient, services: Services, demo: DemoTokens) -> Api:
    return Api(client, await token_for(services, demo, demo.people.admin_id))


async def other_org(services: Services, demo: DemoTokens, table: str) -> int:
    rows = await sql(
        services,
        f"SELECT id FROM {table} WHERE org_id <> :o ORDER BY id LIMIT 1",
        {"o": demo.people.org_id},
    )
    return int(rows[0][0])


# --- Create, read, update, delete ------------------------------------------------------------


async def test_create_a_draft_and_read_it_with_its_courses(
    admin: Api, demo: DemoTokens, clock: ManualClock
) -> None:
    manager_email = (await admin.ok("GET", f"/learners/{demo.people.manager_id}"))["learner"][
        "emailId"
    ]
    created = (
        await admin.ok(
            "POST",
            "/learning-plans",
            {
                "planName": " Safety First ",
                "description": "Everything about safety.",
                "duration": 3,
                "durationType": 1,
                "image": "12",
                "planAdmins": [manager_email],
            },
        )
    )["learningPlan"]
    info = created["planInfo"]
    assert set(info) == PLAN_INFO_KEYS
    assert is_decimal(info["planId"])
    assert info == {
        **info,
        "planName": "Safety First",
        "duration": "3",
        "durationType": "1",
        "publishState": "0",
        "disabled": "false",
        "activeCourseCount": "0",
        "mandatoryCourseCount": "0",
        "isPlanOwner": True,
        "createdTime": str(clock.now_ms()),
    }
    assert info["planImageInfo"] == {
        "isSystem": True,
        "image": "12",
        "imageUrl": "/newhr/images/lmsbg/cat12.png",
    }
    assert created["description"] == "Everything about safety."
    assert created["publishedTime"] == "null"
    assert created["planAdmins"] == [str(demo.people.manager_id)]
    assert created["courses"] == []

    plan = info["planId"]
    first, second = await admin.course(), await admin.course(course_type=2)
    detail = (await admin.set_courses(plan, [(second, 2, False, True), (first, 1, True, False)]))[
        "learningPlan"
    ]
    # Courses come by level.
    assert [
        (c["courseId"], c["courseType"], c["level"], c["isMandatory"], c["isLocked"])
        for c in detail["courses"]
    ] == [(first, "1", "1", True, False), (second, "2", "2", False, True)]
    assert (
        detail["planInfo"]["activeCourseCount"],
        detail["planInfo"]["mandatoryCourseCount"],
    ) == (
        "2",
        "1",
    )
    read = (await admin.ok("GET", f"/learning-plans/{plan}"))["learningPlan"]
    assert read == detail
    # The minimal plan: defaults.
    minimal = (await admin.ok("POST", "/learning-plans", {"planName": "Min"}))["learningPlan"]
    assert (minimal["planInfo"]["duration"], minimal["planInfo"]["durationType"]) == ("0", "0")
    assert (minimal["description"], minimal["planAdmins"]) == ("", [])


async def test_drafts_are_visible_to_admins_only(
    admin: Api, demo: DemoTokens, services: Services
) -> None:
    course = await admin.course()
    draft = await admin.plan([(course, 1, True, False)], publish=False)
    published = await admin.plan([(course, 1, True, False)])
    learner = Api(admin.client, demo.learner_token)
    assert_error(await learner.send("GET", f"/learning-plans/{draft}"), 404, 7049)
    assert (await learner.ok("GET", f"/learning-plans/{published}"))["learningPlan"]["planInfo"][
        "planId"
    ] == published

    async def listed(api: Api) -> set[str]:
        ids: set[str] = set()
        for page in range(10):
            body = await api.ok("GET", f"/learning-plans?limit=100&startIndex={1 + 100 * page}")
            ids |= {p["planId"] for p in body["learningPlans"]}
            if not body["isNextAvailable"]:
                return ids
        pytest.fail("too many pages")

    assert {draft, published} <= await listed(admin)
    seen = await listed(learner)
    assert published in seen and draft not in seen
    assert str(await other_org(services, demo, "learning_plans")) not in seen


async def test_patch_changes_the_given_fields(
    admin: Api, demo: DemoTokens, clock: ManualClock
) -> None:
    course = await admin.course()
    plan = await admin.plan([(course, 1, True, False)], publish=False)
    clock.advance(7)
    detail = (
        await admin.ok(
            "PATCH",
            f"/learning-plans/{plan}",
            {
                "planName": "Renamed",
                "description": "New words",
                "duration": 2,
                "durationType": 2,
                "image": "31",
                "planAdmins": [str(demo.people.learner_id)],
            },
        )
    )["learningPlan"]
    info = detail["planInfo"]
    assert (info["planName"], info["duration"], info["durationType"]) == ("Renamed", "2", "2")
    assert info["planImageInfo"]["imageUrl"] == "/newhr/images/lmsbg/cat31.png"
    assert detail["description"] == "New words"
    assert detail["planAdmins"] == [str(demo.people.learner_id)]
    assert detail["modifiedTime"] == str(clock.now_ms())
    assert [c["courseId"] for c in detail["courses"]] == [course]
    # planData as a query parameter and as a form field.
    response = await admin.client.patch(
        f"/api/v1/learning-plans/{plan}",
        params={"planData": '{"planAdmins": []}'},
        headers=admin.headers(),
    )
    assert ok_body(response)["learningPlan"]["planAdmins"] == []
    response = await admin.client.patch(
        f"/api/v1/learning-plans/{plan}",
        data={"planData": '{"disabled": true}'},
        headers=admin.headers(),
    )
    assert ok_body(response)["learningPlan"]["planInfo"]["disabled"] == "true"


@pytest.mark.parametrize("form", ["json", "query", "form"])
async def test_plan_payload_in_all_three_forms(admin: Api, form: str) -> None:
    document = orjson.dumps({"planName": f"Plan by {form}", "duration": 5}).decode()
    url, headers = "/api/v1/learning-plans", admin.headers()
    if form == "json":
        headers["Content-Type"] = "application/json"
        response = await admin.client.post(url, content=document, headers=headers)
    elif form == "query":
        response = await admin.client.post(url, params={"planData": document}, headers=headers)
    else:
        response = await admin.client.post(url, data={"planData": document}, headers=headers)
    info = ok_body(response)["learningPlan"]["planInfo"]
    assert (info["planName"], info["duration"]) == (f"Plan by {form}", "5")


@pytest.mark.parametrize(
    ("method", "data", "fields"),
    [
        ("POST", {"duration": 3}, {"planName"}),
        ("POST", {"planName": ""}, {"planName"}),
        ("POST", {"planName": "X", "durationType": 3}, {"durationType"}),
        ("POST", {"planName": "X", "duration": -1, "image": "cat"}, {"duration", "image"}),
        ("POST", {"planName": "X", "planAdmins": "me"}, {"planAdmins"}),
        ("POST", {"planName": "X", "publishState": 1}, {"publishState"}),
        ("POST", "X", {"planData"}),
        ("PATCH", {"planName": None}, {"planName"}),
        ("PATCH", {"duration": None}, {"duration"}),
        ("PATCH", {"disabled": "maybe"}, {"disabled"}),
        ("PATCH", {"duration": 4000}, {"duration"}),
    ],
)
async def test_invalid_plan_is_400_7204_naming_each_field(
    admin: Api, services: Services, method: str, data: Any, fields: set[str]
) -> None:
    plan = await admin.plan([], publish=False)
    path = "/learning-plans" if method == "POST" else f"/learning-plans/{plan}"
    before = await snapshot(services)
    body = assert_error(await admin.send(method, path, data), 400, 7204)
    assert error_fields(body) == fields, body
    assert_error(await admin.send(method, path), 400, 7019)
    assert_snapshots_equal(before, await snapshot(services), "invalid plan")


async def test_delete_drafts_only(admin: Api, services: Services, demo: DemoTokens) -> None:
    course = await admin.course()
    draft = await admin.plan([(course, 1, True, False)], publish=False)
    await admin.ok(
        "PATCH", f"/learning-plans/{draft}", {"planAdmins": [str(demo.people.manager_id)]}
    )
    assert (await admin.ok("DELETE", f"/learning-plans/{draft}"))["planId"] == draft
    assert_error(await admin.send("GET", f"/learning-plans/{draft}"), 404, 7049)
    assert_error(await admin.send("DELETE", f"/learning-plans/{draft}"), 404, 7049)
    assert not await sql(
        services,
        "SELECT 1 FROM plan_courses WHERE plan_id = :p UNION ALL "
        "SELECT 1 FROM plan_admins WHERE plan_id = :p",
        {"p": int(draft)},
    )
    # The course itself stays.
    await admin.ok("GET", f"/courses/{course}")

    published = await admin.plan([(course, 1, True, False)])
    before = await snapshot(services)
    assert_error(await admin.send("DELETE", f"/learning-plans/{published}"), 409, 7052)
    assert_snapshots_equal(before, await snapshot(services), "refused plan delete")


# --- Lifecycle -----------------------------------------------------------------------------


async def test_publish_needs_a_mandatory_course_and_happens_once(
    admin: Api, services: Services, clock: ManualClock
) -> None:
    optional = await admin.course()
    plan = await admin.plan([], publish=False)
    before = await snapshot(services)
    assert_error(await admin.send("POST", f"/learning-plans/{plan}/publish"), 409, 7052)
    assert_snapshots_equal(before, await snapshot(services), "publish of an empty plan")
    await admin.set_courses(plan, [(optional, 1, False, False)])
    before = await snapshot(services)
    assert_error(await admin.send("POST", f"/learning-plans/{plan}/publish"), 409, 7052)
    assert_snapshots_equal(before, await snapshot(services), "publish without a mandatory")
    await admin.set_courses(plan, [(optional, 1, True, False)])
    clock.advance(1)
    published_ms = clock.now_ms()
    detail = (await admin.ok("POST", f"/learning-plans/{plan}/publish"))["learningPlan"]
    assert detail["planInfo"]["publishState"] == "1"
    assert detail["publishedTime"] == str(published_ms)
    clock.advance(1)
    again = (await admin.ok("POST", f"/learning-plans/{plan}/publish"))["learningPlan"]
    assert again["publishedTime"] == str(published_ms)
    # A published plan keeps at least one mandatory course.
    before = await snapshot(services)
    assert_error(
        await admin.send(
            "PUT",
            f"/learning-plans/{plan}/courses",
            {"courses": [{"courseId": int(optional), "isMandatory": False}]},
        ),
        409,
        7052,
    )
    assert_error(
        await admin.send("PUT", f"/learning-plans/{plan}/courses", {"courses": []}), 409, 7052
    )
    assert_snapshots_equal(before, await snapshot(services), "published plan without mandatory")


async def test_disable_stops_new_enrolments_and_keeps_the_enrolled(
    admin: Api, services: Services, demo: DemoTokens
) -> None:
    course = await admin.course()
    plan = await admin.plan([(course, 1, True, False)])
    first, second, third = await admin.learners(3)
    await admin.enrol(plan, [first])
    detail = (await admin.ok("POST", f"/learning-plans/{plan}/disable"))["learningPlan"]
    assert detail["planInfo"]["disabled"] == "true"
    assert detail["planInfo"]["publishState"] == "1"
    joiner = Api(admin.client, await token_for(services, demo, third))
    before = await snapshot(services)
    assert_error(await admin.send("PUT", f"/learning-plans/{plan}/learners", [second]), 409, 7052)
    assert_error(
        await joiner.send("POST", f"/learners/{third}/learning-plans/{plan}/join"), 409, 7052
    )
    assert_snapshots_equal(before, await snapshot(services), "writes to a disabled plan")
    entry = await admin.plan_progress(first, plan)
    assert entry["planInfo"]["disabled"] == "true"
    # Progress in a disabled plan's course is still recorded; the enrolled learner may join.
    ok_body(await admin.progress(course, first, {"completionStatus": "completed"}))
    assert (await admin.plan_progress(first, plan))["progressInfo"]["status"] == "completed"
    # Re-enabling (PATCH disabled: false) opens it again.
    await admin.ok("PATCH", f"/learning-plans/{plan}", {"disabled": False})
    assert (await admin.enrol(plan, [second]))["enrolled"] == [second]


# --- Courses of a plan ---------------------------------------------------------------------


async def test_set_courses_payload_forms(admin: Api) -> None:
    first, second = await admin.course(), await admin.course()
    plan = await admin.plan([], publish=False)
    listed = [{"courseId": int(first), "isMandatory": True}, {"courseId": int(second), "level": 2}]
    url = f"/api/v1/learning-plans/{plan}/courses"
    for how in ("list", "query", "form"):
        if how == "list":
            response = await admin.client.put(url, json=listed, headers=admin.headers())
        elif how == "query":
            response = await admin.client.put(
                url, params={"courses": orjson.dumps(listed).decode()}, headers=admin.headers()
            )
        else:
            response = await admin.client.put(
                url, data={"courses": orjson.dumps(listed).decode()}, headers=admin.headers()
            )
        courses = ok_body(response)["learningPlan"]["courses"]
        assert [(c["courseId"], c["level"], c["isMandatory"], c["isLocked"]) for c in courses] == [
            (first, "1", True, False),
            (second, "2", False, False),
        ], how


async def test_refused_course_lists_change_nothing(
    admin: Api, services: Services, demo: DemoTokens
) -> None:
    course, gone = await admin.course(), await admin.course()
    await admin.ok("DELETE", f"/courses/{gone}")
    other = await other_org(services, demo, "courses")
    plan = await admin.plan([(course, 1, True, False)])
    await admin.enrol(plan, [demo.people.learner_id])
    url = f"/learning-plans/{plan}/courses"
    c = int(course)
    cases: list[tuple[Any, int, int, set[str]]] = [
        ({"courses": [{"courseId": c}, {"courseId": c}]}, 400, 7204, {"courses.1.courseId"}),
        ({"courses": [{"courseId": c, "level": 0}]}, 400, 7204, {"courses.0.level"}),
        (
            {"courses": [{"courseId": "x", "isMandatory": "maybe"}]},
            400,
            7204,
            {"courses.0.courseId", "courses.0.isMandatory"},
        ),
        ({"courses": [{"level": 1}]}, 400, 7204, {"courses.0.courseId"}),
        ({"courses": [{"courseId": c, "weight": 2}]}, 400, 7204, {"courses.0.weight"}),
        ({"course": []}, 400, 7204, {"courses", "course"}),
        (
            {"courses": [{"courseId": c, "isMandatory": True}, {"courseId": other}]},
            404,
            7049,
            {"courses.1.courseId"},
        ),
        (
            {"courses": [{"courseId": c, "isMandatory": True}, {"courseId": int(gone)}]},
            404,
            7049,
            {"courses.1.courseId"},
        ),
        ({"courses": [{"courseId": 99_999_999}]}, 404, 7049, {"courses.0.courseId"}),
    ]
    before = await snapshot(services)
    for data, status, code, fields in cases:
        body = assert_error(await admin.send("PUT", url, data), status, code)
        assert error_fields(body) == fields, (data, body)
    assert_error(await admin.send("PUT", url), 400, 7019)
    assert_snapshots_equal(before, await snapshot(services), "refused course lists")


async def test_new_courses_enrol_the_plans_learners(
    admin: Api, services: Services, demo: DemoTokens
) -> None:
    first, second = await admin.course(), await admin.course()
    plan = await admin.plan([(first, 1, True, False)])
    learner, leaver = await admin.learners(2)
    await admin.enrol(plan, [learner, leaver])
    await admin.ok("DELETE", f"/learning-plans/{plan}/learners/{leaver}")
    await admin.set_courses(plan, [(first, 1, True, False), (second, 2, True, True)])
    courses = await admin.plan_courses(learner, plan)
    assert courses[second]["completionStatus"] == "notStarted"
    assert courses[second]["isLocked"] is True
    rows = await sql(
        services,
        "SELECT learner_id FROM course_progress WHERE course_id = :c",
        {"c": int(second)},
    )
    # Only learners still in the plan get the new course.
    assert [r[0] for r in rows] == [int(learner)]
    await assert_projection_matches(services)


# --- Enrolment ---------------------------------------------------------------------------------


async def test_enrol_by_any_reference_and_in_all_three_forms(
    admin: Api, services: Services
) -> None:
    course = await admin.course()
    plan = await admin.plan([(course, 1, True, False)])
    people = await admin.learners(6)
    records = [(await admin.ok("GET", f"/learners/{p}"))["learner"] for p in people]
    url = f"/api/v1/learning-plans/{plan}/learners"
    # JSON body: userId (as number and string), zuid, email; duplicates count once.
    body = ok_body(
        await admin.client.put(
            url,
            json=[int(people[0]), people[1], records[2]["zuid"], records[3]["emailId"], people[0]],
            headers=admin.headers(),
        )
    )
    assert body["enrolled"] == people[:4]
    assert (body["planId"], body["alreadyEnrolled"]) == (plan, [])
    body = ok_body(
        await admin.client.put(
            url, params={"erecnosList": f"[{people[4]}, {people[0]}]"}, headers=admin.headers()
        )
    )
    assert (body["enrolled"], body["alreadyEnrolled"]) == ([people[4]], [people[0]])
    body = ok_body(
        await admin.client.put(
            url, data={"erecnosList": f'["{people[5]}"]'}, headers=admin.headers()
        )
    )
    assert body["enrolled"] == [people[5]]
    roster = await admin.roster(plan)
    assert sorted(m["userInfo"]["userId"] for m in roster["learners"]) == sorted(people)
    assert all(m["userInfo"]["isUserJoinedPlan"] is False for m in roster["learners"])
    # Each enrolment wrote its events; enrolling the already enrolled wrote none.
    for person in people:
        kinds = await sql(
            services,
            "SELECT kind FROM progress_events WHERE learner_id = :l ORDER BY id",
            {"l": int(person)},
        )
        assert [k[0] for k in kinds] == ["enrolled", "course_enrolled"]


async def test_refused_enrolments_change_nothing(
    admin: Api, services: Services, demo: DemoTokens
) -> None:
    course = await admin.course()
    plan = await admin.plan([(course, 1, True, False)])
    draft = await admin.plan([(course, 1, True, False)], publish=False)
    people = await admin.learners(2)
    other_learner = demo.people.other_org_learner_id
    url = f"/learning-plans/{plan}/learners"
    before = await snapshot(services)
    body = assert_error(
        await admin.send("PUT", url, [people[0], people[1], "nobody@zylker.example"]), 404, 7048
    )
    assert error_fields(body) == {"erecnosList.2"}
    body = assert_error(await admin.send("PUT", url, [people[0], other_learner]), 404, 7048)
    assert error_fields(body) == {"erecnosList.1"}
    body = assert_error(await admin.send("PUT", url, [people[0]] * 201), 422, 7021)
    assert error_fields(body) == {"erecnosList"}
    assert error_fields(assert_error(await admin.send("PUT", url, []), 400, 7204)) == {
        "erecnosList"
    }
    body = assert_error(await admin.send("PUT", url, [{"id": people[0]}, 1.5]), 400, 7204)
    assert error_fields(body) == {"erecnosList.0", "erecnosList.1"}, body
    assert error_fields(assert_error(await admin.send("PUT", url, {"a": 1}), 400, 7204)) == {
        "erecnosList"
    }
    assert error_fields(assert_error(await admin.send("PUT", url), 400, 7019)) == {"erecnosList"}
    assert_error(await admin.send("PUT", f"/learning-plans/{draft}/learners", people), 409, 7052)
    assert_snapshots_equal(before, await snapshot(services), "refused enrolments")


async def test_unenrol_keeps_the_history_and_re_enrol_keeps_completion(
    admin: Api, services: Services, clock: ManualClock
) -> None:
    course = await admin.course()
    plan = await admin.plan([(course, 1, True, False)])
    [learner] = await admin.learners(1)
    await admin.enrol(plan, [learner])
    ok_body(await admin.progress(course, learner, {"completionStatus": "completed"}))
    completed = (await admin.plan_progress(learner, plan))["progressInfo"]["completedTime"]
    events = await event_count(services, "learner_id = :l", l=int(learner))

    clock.advance(60)
    body = await admin.ok("DELETE", f"/learning-plans/{plan}/learners/{learner}")
    assert (body["planId"], body["userId"]) == (plan, learner)
    assert await event_count(services, "learner_id = :l", l=int(learner)) == events + 1
    plans = (await admin.ok("GET", f"/learners/{learner}/learning-plans/progress"))["learningPlans"]
    assert plans == []
    assert (await admin.roster(plan))["summary"]["totalCount"] == "0"
    # The course progress stays.
    record = await admin.ok("GET", f"/courses/{course}/learners/{learner}/course-progress")
    assert record["courseProgress"]["completionStatus"] == "completed"

    before = await snapshot(services)
    assert_error(
        await admin.send("DELETE", f"/learning-plans/{plan}/learners/{learner}"), 404, 7049
    )
    assert_error(
        await admin.send("DELETE", f"/learning-plans/{plan}/learners/nobody@x.example"), 404, 7048
    )
    assert_snapshots_equal(before, await snapshot(services), "refused unenrolments")

    # Enrolled again: the same planuserId, a new enrolled time, and the completion kept.
    clock.advance(60)
    await admin.enrol(plan, [learner])
    entry = await admin.plan_progress(learner, plan)
    assert entry["userInfo"]["enrolledTime"] == str(clock.now_ms())
    assert entry["userInfo"]["isUserCompletedPlan"] is True
    assert entry["progressInfo"]["completedTime"] == completed
    await assert_projection_matches(services)


# --- Join ------------------------------------------------------------------------------------


async def test_join_self_enrols_once_and_admins_may_join_for_a_learner(
    client: httpx.AsyncClient, admin: Api, services: Services, demo: DemoTokens
) -> None:
    course = await admin.course()
    plan = await admin.plan([(course, 1, True, False)])
    draft = await admin.plan([(course, 1, True, False)], publish=False)
    joiner, other, enrolled = await admin.learners(3)
    api = Api(client, await token_for(services, demo, joiner))
    first = await api.ok("POST", f"/learners/{joiner}/learning-plans/{plan}/join")
    assert (first["planId"], first["userId"]) == (plan, joiner)
    events = await event_count(services)
    again = await api.ok("POST", f"/learners/{joiner}/learning-plans/{plan}/join")
    assert again["planuserId"] == first["planuserId"]
    assert await event_count(services) == events
    kinds = await sql(
        services,
        "SELECT kind, actor_id FROM progress_events WHERE learner_id = :l ORDER BY id",
        {"l": int(joiner)},
    )
    assert [tuple(k) for k in kinds] == [
        ("enrolled", int(joiner)),
        ("course_enrolled", int(joiner)),
    ]

    manager = Api(client, await token_for(services, demo, demo.people.manager_id))
    before = await snapshot(services)
    assert_error(await api.send("POST", f"/learners/{other}/learning-plans/{plan}/join"), 403, 9000)
    assert_error(
        await api.send("POST", f"/learners/{joiner}/learning-plans/{draft}/join"), 404, 7049
    )
    other_plan = await other_org(services, demo, "learning_plans")
    assert_error(
        await api.send("POST", f"/learners/{joiner}/learning-plans/{other_plan}/join"), 404, 7049
    )
    assert_error(
        await manager.send("POST", f"/learners/{joiner}/learning-plans/{plan}/join"), 403, 9000
    )
    assert_snapshots_equal(before, await snapshot(services), "refused joins")

    # An admin-enrolled learner is joined by an admin on their behalf.
    await admin.enrol(plan, [enrolled])
    assert (await admin.plan_progress(enrolled, plan))["userInfo"]["isUserJoinedPlan"] is False
    await admin.ok("POST", f"/learners/{enrolled}/learning-plans/{plan}/join")
    assert (await admin.plan_progress(enrolled, plan))["userInfo"]["isUserJoinedPlan"] is True
    await assert_projection_matches(services)


# --- Who may manage a plan, and isolation ------------------------------------------------------


async def test_only_admins_and_plan_admins_manage_plans(
    client: httpx.AsyncClient, admin: Api, services: Services, demo: DemoTokens
) -> None:
    course = await admin.course()
    plan = await admin.plan([(course, 1, True, False)])
    draft = await admin.plan([(course, 1, True, False)], publish=False)
    [target] = await admin.learners(1)
    await admin.enrol(plan, [target])
    learner = Api(client, demo.learner_token)
    manager = Api(client, await token_for(services, demo, demo.people.manager_id))
    readonly = Api(client, demo.manager_token)
    writes: list[tuple[str, str, Any]] = [
        ("POST", "/learning-plans", {"planName": "Mine"}),
        ("PATCH", f"/learning-plans/{plan}", {"planName": "Mine"}),
        ("DELETE", f"/learning-plans/{draft}", None),
        ("POST", f"/learning-plans/{draft}/publish", None),
        ("POST", f"/learning-plans/{plan}/disable", None),
        ("PUT", f"/learning-plans/{plan}/courses", {"courses": []}),
        ("PUT", f"/learning-plans/{plan}/learners", [str(demo.people.learner_id)]),
        ("DELETE", f"/learning-plans/{plan}/learners/{target}", None),
    ]
    before = await snapshot(services)
    for api, code in ((learner, 9000), (manager, 9000), (readonly, 7218)):
        for method, path, data in writes:
            assert_error(await api.send(method, path, data), 403, code)
    assert_snapshots_equal(before, await snapshot(services), "non-admin plan writes")

    # A learner made plan admin manages that plan (not others), but does not delete plans.
    await admin.ok(
        "PATCH", f"/learning-plans/{plan}", {"planAdmins": [str(demo.people.manager_id)]}
    )
    await manager.ok("PATCH", f"/learning-plans/{plan}", {"description": "By the plan admin"})
    await manager.enrol(plan, [demo.people.learner_id])
    await manager.ok("DELETE", f"/learning-plans/{plan}/learners/{target}")
    roster = await manager.roster(plan)
    assert [m["userInfo"]["userId"] for m in roster["learners"]] == [str(demo.people.learner_id)]
    assert_error(
        await manager.send("PATCH", f"/learning-plans/{draft}", {"planName": "X"}), 403, 9000
    )
    assert_error(await manager.send("POST", "/learning-plans", {"planName": "X"}), 403, 9000)


async def test_other_organisations_plans_are_404(
    admin: Api, services: Services, demo: DemoTokens
) -> None:
    other = await other_org(services, demo, "learning_plans")
    course = await admin.course()
    learner = demo.people.learner_id
    writes: list[tuple[str, str, Any]] = [
        ("PATCH", f"/learning-plans/{other}", {"planName": "Mine"}),
        ("DELETE", f"/learning-plans/{other}", None),
        ("POST", f"/learning-plans/{other}/publish", None),
        ("POST", f"/learning-plans/{other}/disable", None),
        ("PUT", f"/learning-plans/{other}/courses", {"courses": [{"courseId": int(course)}]}),
        ("PUT", f"/learning-plans/{other}/learners", [str(learner)]),
        ("DELETE", f"/learning-plans/{other}/learners/{learner}", None),
        ("POST", f"/learners/{learner}/learning-plans/{other}/join", None),
    ]
    before = await snapshot(services)
    assert_error(await admin.send("GET", f"/learning-plans/{other}"), 404, 7049)
    for method, path, data in writes:
        assert_error(await admin.send(method, path, data), 404, 7049)
    assert_snapshots_equal(before, await snapshot(services), "other organisation's plan")
