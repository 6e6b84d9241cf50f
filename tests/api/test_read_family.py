"""The rest of the read family: plans list, plan roster, a learner's courses in a plan, and the
three course-progress reads. Demo data is checked against the database, not fixed numbers."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from lmsplans.demo import DemoTokens
from lmsplans.server.clock import ManualClock
from lmsplans.server.http import Services
from lmsplans.server.plans.enrolments import unenrol
from lmsplans.server.progress.schemas import CourseStatus
from tests.api.readdata import (
    DAY_MS,
    C,
    add_learner,
    add_plan,
    admin_token,
    as_admin,
    assert_same_shape,
    enrol_learner,
    is_decimal,
    is_time,
    record,
    sql,
)
from tests.conftest import assert_error, auth, reference_sample

COMPLETED, IN_PROGRESS = CourseStatus.COMPLETED, CourseStatus.IN_PROGRESS
STATUSES = ("completed", "inProgress", "notStarted", "overdue")


async def get_ok(
    client: httpx.AsyncClient, url: str, token: str, *, is_list: bool = True
) -> dict[str, Any]:
    response = await client.get(url, headers=auth(token))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == 200
    assert isinstance(body["message"], str) and body["message"]
    # Every list response says whether another page follows; a single record does not.
    assert isinstance(body.get("isNextAvailable"), bool) is is_list
    return body


async def busiest_plan(services: Services, demo: DemoTokens) -> int:
    """The demo plan with the most enrolments."""
    [row] = await sql(
        services,
        """SELECT e.plan_id FROM plan_enrolments e WHERE e.org_id = :org
            AND e.unenrolled_time IS NULL GROUP BY e.plan_id ORDER BY count(*) DESC LIMIT 1""",
        {"org": demo.people.org_id},
    )
    return int(row["plan_id"])


# --- GET /api/v1/learning-plans ---------------------------------------------------------------


async def test_admin_lists_every_plan_of_the_organisation_including_drafts(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services
) -> None:
    rows = await sql(
        services,
        "SELECT id, name, publish_state FROM learning_plans WHERE org_id = :org ORDER BY id",
        {"org": demo.people.org_id},
    )
    assert {r["publish_state"] for r in rows} == {0, 1}
    body = await get_ok(client, "/api/v1/learning-plans?limit=100", demo.admin_token)
    assert [p["planId"] for p in body["learningPlans"]] == [str(r["id"]) for r in rows]
    assert [p["publishState"] for p in body["learningPlans"]] == [
        str(r["publish_state"]) for r in rows
    ]
    sample_plan_info = reference_sample()["learningPlans"][0]["planInfo"]
    for plan in body["learningPlans"]:
        assert_same_shape(plan, sample_plan_info)
    assert body["isNextAvailable"] is False


@pytest.mark.parametrize("who", ["manager", "learner"])
async def test_others_list_only_published_plans(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services, who: str
) -> None:
    rows = await sql(
        services,
        "SELECT id FROM learning_plans WHERE org_id = :org AND publish_state = 1 ORDER BY id",
        {"org": demo.people.org_id},
    )
    token = demo.manager_token if who == "manager" else demo.learner_token
    body = await get_ok(client, "/api/v1/learning-plans?limit=100", token)
    assert [p["planId"] for p in body["learningPlans"]] == [str(r["id"]) for r in rows]
    assert {p["publishState"] for p in body["learningPlans"]} == {"1"}


async def test_plans_list_start_index_is_1_based_and_0_is_the_first_record(
    client: httpx.AsyncClient, demo: DemoTokens
) -> None:
    everything = await get_ok(client, "/api/v1/learning-plans?limit=100", demo.admin_token)
    ids = [p["planId"] for p in everything["learningPlans"]]
    assert len(ids) >= 4

    async def page(query: str) -> tuple[list[str], bool]:
        body = await get_ok(client, f"/api/v1/learning-plans?{query}", demo.admin_token)
        return [p["planId"] for p in body["learningPlans"]], body["isNextAvailable"]

    assert await page("startIndex=1&limit=3") == (ids[:3], True)
    assert await page("startIndex=0&limit=3") == (ids[:3], True)
    assert await page("startIndex=2&limit=3") == (ids[1:4], len(ids) > 4)
    assert await page(f"startIndex={len(ids) - 1}&limit=2") == (ids[-2:], False)
    assert await page(f"startIndex={len(ids)}&limit=1") == (ids[-1:], False)
    assert await page(f"startIndex={len(ids) + 1}") == ([], False)
    assert await page(f"limit={len(ids) - 1}") == (ids[:-1], True)


async def test_plans_list_default_page_is_25(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services, clock: ManualClock
) -> None:
    [row] = await sql(
        services,
        "SELECT count(*) AS n FROM learning_plans WHERE org_id = :org",
        {"org": demo.people.org_id},
    )
    for _ in range(26 - row["n"]):
        await add_plan(services, demo, courses=[C(True)], now_ms=clock.now_ms())
    first = await get_ok(client, "/api/v1/learning-plans", demo.admin_token)
    assert len(first["learningPlans"]) == 25
    assert first["isNextAvailable"] is True
    last = await get_ok(client, "/api/v1/learning-plans?startIndex=26", demo.admin_token)
    assert len(last["learningPlans"]) == 1
    assert last["isNextAvailable"] is False


BAD_PAGING = [
    ("startIndex=-1", 400, 7204),
    ("startIndex=one", 400, 7204),
    ("limit=101", 422, 7021),
    ("Limit=x", 400, 7204),
    ("limit=0", 400, 7204),
]


async def test_plans_list_rejects_bad_paging(client: httpx.AsyncClient, demo: DemoTokens) -> None:
    for query, status, code in BAD_PAGING:
        response = await client.get(
            f"/api/v1/learning-plans?{query}", headers=auth(demo.admin_token)
        )
        assert_error(response, status, code)


# --- GET /api/v1/learning-plans/{planId}/learners and /members ---------------------------------


async def test_roster_and_members_alias_give_the_same_answer(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services
) -> None:
    plan = await busiest_plan(services, demo)
    learners = await get_ok(client, f"/api/v1/learning-plans/{plan}/learners", demo.admin_token)
    members = await get_ok(client, f"/api/v1/learning-plans/{plan}/members", demo.admin_token)
    assert learners["learners"] and learners == members


async def test_roster_lists_the_plans_enrolments_from_the_database(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services
) -> None:
    plan = await busiest_plan(services, demo)
    rows = await sql(
        services,
        """SELECT e.id, e.learner_id, e.is_completed, l.email FROM plan_enrolments e
             JOIN learners l ON l.id = e.learner_id
            WHERE e.plan_id = :plan AND e.unenrolled_time IS NULL ORDER BY e.id""",
        {"plan": plan},
    )
    assert 0 < len(rows) <= 100
    body = await get_ok(
        client, f"/api/v1/learning-plans/{plan}/learners?limit=100", demo.admin_token
    )
    assert [m["userInfo"]["planuserId"] for m in body["learners"]] == [str(r["id"]) for r in rows]
    for member, row in zip(body["learners"], rows, strict=True):
        assert member["userInfo"]["userId"] == str(row["learner_id"])
        assert member["userInfo"]["emailId"] == row["email"]
        assert member["userInfo"]["isUserCompletedPlan"] is bool(row["is_completed"])
        assert_same_shape(member["userInfo"], reference_sample()["learningPlans"][0]["userInfo"])
        assert isinstance(member["userInfo"]["isActive"], bool)
        assert is_decimal(member["progressInfo"]["progressPercentage"])
    summary = body["summary"]
    assert summary["totalCount"] == str(len(rows))
    assert summary["completedCount"] == str(sum(bool(r["is_completed"]) for r in rows))
    assert all(is_decimal(v) for v in summary.values())


async def test_status_filters_agree_with_the_whole_roster_summary(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services
) -> None:
    plan = await busiest_plan(services, demo)
    url = f"/api/v1/learning-plans/{plan}/learners?limit=100"
    everyone = await get_ok(client, url, demo.admin_token)
    summary = everyone["summary"]
    all_ids = [m["userInfo"]["userId"] for m in everyone["learners"]]
    by_status: dict[str, list[str]] = {}
    for status in STATUSES:
        body = await get_ok(client, f"{url}&status={status}", demo.admin_token)
        # The summary is always the whole roster's, whatever the filter.
        assert {k: v for k, v in body["summary"].items() if k != "matchingCount"} == {
            k: v for k, v in summary.items() if k != "matchingCount"
        }
        assert body["summary"]["matchingCount"] == str(len(body["learners"]))
        assert body["summary"][f"{status}Count"] == str(len(body["learners"]))
        for member in body["learners"]:
            if status == "overdue":
                assert member["progressInfo"]["isOverdue"] is True
            else:
                assert member["progressInfo"]["status"] == status
        by_status[status] = [m["userInfo"]["userId"] for m in body["learners"]]
    parts = by_status["completed"] + by_status["inProgress"] + by_status["notStarted"]
    assert sorted(parts) == sorted(all_ids)
    assert int(summary["totalCount"]) == len(all_ids) == len(parts)
    assert summary["matchingCount"] == summary["totalCount"]
    overdue = {
        m["userInfo"]["userId"] for m in everyone["learners"] if m["progressInfo"]["isOverdue"]
    }
    assert set(by_status["overdue"]) == overdue
    assert not overdue & set(by_status["completed"])
    # The demo's busiest plan has people in every state.
    assert all(by_status[s] for s in STATUSES)


async def test_unknown_roster_status_is_400_7204(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services
) -> None:
    plan = await busiest_plan(services, demo)
    for status in ("done", "COMPLETED", "in_progress", "overdue,completed"):
        response = await client.get(
            f"/api/v1/learning-plans/{plan}/learners",
            params={"status": status},
            headers=auth(demo.admin_token),
        )
        body = assert_error(response, 400, 7204)
        assert "status" in body["message"]


async def test_roster_pages_walk_the_filtered_list(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services
) -> None:
    plan = await busiest_plan(services, demo)
    url = f"/api/v1/learning-plans/{plan}/learners"
    for status_query in ("", "&status=overdue"):
        whole = await get_ok(client, f"{url}?limit=100{status_query}", demo.admin_token)
        ids = [m["userInfo"]["planuserId"] for m in whole["learners"]]
        assert len(ids) > 4
        seen: list[str] = []
        for start in range(1, len(ids) + 1, 4):
            body = await get_ok(
                client, f"{url}?startIndex={start}&limit=4{status_query}", demo.admin_token
            )
            seen += [m["userInfo"]["planuserId"] for m in body["learners"]]
            assert body["isNextAvailable"] is (start - 1 + 4 < len(ids))
            assert body["summary"] == whole["summary"]
        assert seen == ids
        zero = await get_ok(client, f"{url}?startIndex=0&limit=4{status_query}", demo.admin_token)
        assert [m["userInfo"]["planuserId"] for m in zero["learners"]] == ids[:4]
        beyond = await get_ok(
            client, f"{url}?startIndex={len(ids) + 1}{status_query}", demo.admin_token
        )
        assert beyond["learners"] == [] and beyond["isNextAvailable"] is False


async def test_roster_search_finds_names_emails_and_employee_ids_within_the_filter(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services
) -> None:
    plan = await busiest_plan(services, demo)
    url = f"/api/v1/learning-plans/{plan}/learners"
    whole = await get_ok(client, f"{url}?limit=100", demo.admin_token)
    people = [m["userInfo"] for m in whole["learners"]]
    first = people[0]
    for search, field in (
        (first["displayName"].split()[0].upper(), "displayName"),
        (first["emailId"].split("@")[0], "emailId"),
        (first["employeeId"].lower(), "employeeId"),
    ):
        found = await get_ok(client, f"{url}?limit=100&search={search}", demo.admin_token)
        expected = [p["userId"] for p in people if search.lower() in p[field].lower()]
        assert [m["userInfo"]["userId"] for m in found["learners"]] == expected
        assert found["summary"]["matchingCount"] == str(len(expected))
        summary = {k: v for k, v in found["summary"].items() if k != "matchingCount"}
        assert summary == {k: v for k, v in whole["summary"].items() if k != "matchingCount"}
    late = await get_ok(
        client, f"{url}?limit=100&status=overdue&search={first['emailId']}", demo.admin_token
    )
    overdue = await get_ok(client, f"{url}?limit=100&status=overdue", demo.admin_token)
    in_both = first["userId"] in {m["userInfo"]["userId"] for m in overdue["learners"]}
    assert [m["userInfo"]["userId"] for m in late["learners"]] == ([first["userId"]] * in_both)
    # LIKE's wildcards are letters like any other in a search.
    for search in ("%", "_"):
        literal = await get_ok(client, f"{url}?search={search}", demo.admin_token)
        assert literal["learners"] == []


async def test_roster_default_page_is_25(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services
) -> None:
    plan = await busiest_plan(services, demo)
    [row] = await sql(
        services,
        "SELECT count(*) AS n FROM plan_enrolments WHERE plan_id = :p AND unenrolled_time IS NULL",
        {"p": plan},
    )
    body = await get_ok(client, f"/api/v1/learning-plans/{plan}/learners", demo.admin_token)
    assert len(body["learners"]) == min(25, row["n"])
    assert body["isNextAvailable"] is (row["n"] > 25)


async def test_roster_rejects_bad_paging(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services
) -> None:
    plan = await busiest_plan(services, demo)
    for alias in ("learners", "members"):
        for query, status, code in BAD_PAGING:
            response = await client.get(
                f"/api/v1/learning-plans/{plan}/{alias}?{query}", headers=auth(demo.admin_token)
            )
            assert_error(response, status, code)


async def test_unknown_plan_roster_is_404_7049(client: httpx.AsyncClient, demo: DemoTokens) -> None:
    for plan in ("1", "999999999999999999", "abc"):
        for alias in ("learners", "members"):
            response = await client.get(
                f"/api/v1/learning-plans/{plan}/{alias}", headers=auth(demo.admin_token)
            )
            assert_error(response, 404, 7049)
    # Past 64 bits an id is out of range, before it could name a plan.
    response = await client.get(
        f"/api/v1/learning-plans/{10**22}/learners", headers=auth(demo.admin_token)
    )
    assert_error(response, 400, 7204)


async def test_roster_omits_unenrolled_learners_and_counts_known_states(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services, clock: ManualClock
) -> None:
    now = clock.now_ms()
    token = await admin_token(services, demo, now)
    plan = await add_plan(services, demo, courses=[C(True), C(True)], now_ms=now, duration=10)
    done, busy, idle, late, gone = [await add_learner(services, demo, now_ms=now) for _ in range(5)]
    for who in (done, busy, idle, gone):
        await enrol_learner(services, demo, plan_id=plan.id, learner_id=who, enrolled_ms=now)
    await enrol_learner(
        services, demo, plan_id=plan.id, learner_id=late, enrolled_ms=now - 11 * DAY_MS
    )
    for course in plan.course_ids:
        await record(services, demo, learner_id=done, course_id=course, status=COMPLETED, at_ms=now)
    await record(
        services, demo, learner_id=busy, course_id=plan.course_ids[0], status=IN_PROGRESS, at_ms=now
    )
    async with services.db.transaction() as conn:
        await unenrol(conn, write=as_admin(demo, now), plan_id=plan.id, learner_id=gone)
    body = await get_ok(client, f"/api/v1/learning-plans/{plan.id}/learners", token)
    assert [m["userInfo"]["userId"] for m in body["learners"]] == [
        str(x) for x in (done, busy, idle, late)
    ]
    assert body["summary"] == {
        "totalCount": "4",
        "completedCount": "1",
        "inProgressCount": "1",
        "notStartedCount": "2",
        "overdueCount": "1",
        "matchingCount": "4",
    }
    clock.advance(10 * DAY_MS / 1000 + 1)  # now everyone unfinished is overdue
    later = await get_ok(client, f"/api/v1/learning-plans/{plan.id}/learners?status=overdue", token)
    assert [m["userInfo"]["userId"] for m in later["learners"]] == [
        str(x) for x in (busy, idle, late)
    ]
    assert later["summary"]["overdueCount"] == "3"


# --- GET /api/v1/learners/{learnerId}/learning-plans/{planId}/courses/progress -----------------


def courses_url(learner: object, plan: object, query: str = "") -> str:
    return f"/api/v1/learners/{learner}/learning-plans/{plan}/courses/progress" + (
        f"?{query}" if query else ""
    )


async def test_courses_in_plan_show_levels_mandatory_and_lock_until_previous_level(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services, clock: ManualClock
) -> None:
    now = clock.now_ms()
    learner = await add_learner(services, demo, now_ms=now)
    plan = await add_plan(
        services,
        demo,
        courses=[
            C(True, 1),  # a: mandatory, level 1
            C(False, 1),  # b: optional, level 1
            C(True, 2, locked=True),  # c: locked until level 1 is done
            C(False, 2),  # d: level 2, never locked
            C(True, 3, locked=True),  # e: locked until level 2 is done
        ],
        now_ms=now,
    )
    a, b, c, d, e = plan.course_ids
    enrolled = now - DAY_MS
    await enrol_learner(services, demo, plan_id=plan.id, learner_id=learner, enrolled_ms=enrolled)

    async def courses() -> dict[int, dict[str, Any]]:
        body = await get_ok(client, courses_url(learner, plan.id), demo.admin_token)
        assert body["isNextAvailable"] is False
        return {int(x["courseId"]): x for x in body["courses"]}

    start = await courses()
    assert list(start) == [a, b, c, d, e]
    assert [start[x]["level"] for x in (a, b, c, d, e)] == ["1", "1", "2", "2", "3"]
    assert [start[x]["isMandatory"] for x in (a, b, c, d, e)] == [True, False, True, False, True]
    assert [start[x]["isLocked"] for x in (a, b, c, d, e)] == [False, False, True, False, True]
    for course in start.values():
        assert course["completionStatus"] == "notStarted"
        assert course["completionPercentage"] == "0"
        assert course["enrolledDate"] == str(enrolled)
        assert course["completionDate"] == "null"
        assert is_decimal(course["courseType"]) and isinstance(course["courseName"], str)

    # An optional course does not open the next level; the mandatory one does.
    await record(services, demo, learner_id=learner, course_id=b, status=COMPLETED, at_ms=now)
    assert (await courses())[c]["isLocked"] is True
    await record(services, demo, learner_id=learner, course_id=a, status=COMPLETED, at_ms=now)
    await record(
        services,
        demo,
        learner_id=learner,
        course_id=c,
        status=IN_PROGRESS,
        at_ms=now,
        percentage=55,
    )
    middle = await courses()
    assert middle[c]["isLocked"] is False
    assert middle[e]["isLocked"] is True
    assert middle[a]["completionStatus"] == "completed"
    assert middle[a]["completionPercentage"] == "100"
    assert middle[a]["completionDate"] == str(now)
    assert middle[c]["completionStatus"] == "inProgress"
    assert middle[c]["completionPercentage"] == "55"
    assert middle[c]["completionDate"] == "null"
    await record(services, demo, learner_id=learner, course_id=c, status=COMPLETED, at_ms=now)
    assert (await courses())[e]["isLocked"] is False


async def test_level_without_mandatory_courses_gates_on_all_its_courses(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services, clock: ManualClock
) -> None:
    now = clock.now_ms()
    learner = await add_learner(services, demo, now_ms=now)
    plan = await add_plan(
        services, demo, courses=[C(False, 1), C(False, 1), C(True, 2, locked=True)], now_ms=now
    )
    x, y, gated = plan.course_ids
    await enrol_learner(services, demo, plan_id=plan.id, learner_id=learner, enrolled_ms=now)

    async def locked() -> bool:
        body = await get_ok(client, courses_url(learner, plan.id), demo.admin_token)
        return bool({int(c["courseId"]): c for c in body["courses"]}[gated]["isLocked"])

    assert await locked() is True
    await record(services, demo, learner_id=learner, course_id=x, status=COMPLETED, at_ms=now)
    assert await locked() is True
    await record(services, demo, learner_id=learner, course_id=y, status=COMPLETED, at_ms=now)
    assert await locked() is False


async def test_courses_in_plan_match_the_database_for_the_demo_learner(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services
) -> None:
    learner = demo.people.learner_id
    plans = await sql(
        services,
        "SELECT plan_id FROM plan_enrolments WHERE learner_id = :l AND unenrolled_time IS NULL",
        {"l": learner},
    )
    assert plans
    for plan_row in plans:
        rows = await sql(
            services,
            """SELECT pc.course_id, pc.level, pc.is_mandatory, cp.status, cp.completed_time
                 FROM plan_courses pc LEFT JOIN course_progress cp
                   ON cp.course_id = pc.course_id AND cp.learner_id = :l
                WHERE pc.plan_id = :p ORDER BY pc.level, pc.position""",
            {"l": learner, "p": plan_row["plan_id"]},
        )
        body = await get_ok(client, courses_url(learner, plan_row["plan_id"]), demo.admin_token)
        assert [c["courseId"] for c in body["courses"]] == [str(r["course_id"]) for r in rows]
        for course, row in zip(body["courses"], rows, strict=True):
            assert course["level"] == str(row["level"])
            assert course["isMandatory"] is bool(row["is_mandatory"])
            assert isinstance(course["isLocked"], bool)
            assert course["completionStatus"] == (row["status"] or "notStarted")
            assert is_time(course["enrolledDate"]) and course["enrolledDate"] != "null"
            assert course["completionDate"] == (
                "null" if row["completed_time"] is None else str(row["completed_time"])
            )


async def test_courses_in_plan_are_paged_from_start_index_1(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services, clock: ManualClock
) -> None:
    now = clock.now_ms()
    learner = await add_learner(services, demo, now_ms=now)
    plan = await add_plan(services, demo, courses=[C(True)] * 5, now_ms=now)
    await enrol_learner(services, demo, plan_id=plan.id, learner_id=learner, enrolled_ms=now)
    ids = [str(c) for c in plan.course_ids]

    async def page(query: str) -> tuple[list[str], bool]:
        body = await get_ok(client, courses_url(learner, plan.id, query), demo.admin_token)
        return [c["courseId"] for c in body["courses"]], body["isNextAvailable"]

    assert await page("") == (ids, False)
    assert await page("limit=2") == (ids[:2], True)
    assert await page("startIndex=0&limit=2") == (ids[:2], True)
    assert await page("startIndex=3&limit=2") == (ids[2:4], True)
    assert await page("startIndex=4&limit=2") == (ids[3:], False)
    assert await page("startIndex=6") == ([], False)
    response = await client.get(
        courses_url(learner, plan.id, "limit=101"), headers=auth(demo.admin_token)
    )
    assert_error(response, 422, 7021)
    response = await client.get(
        courses_url(learner, plan.id, "startIndex=-1"), headers=auth(demo.admin_token)
    )
    assert_error(response, 400, 7204)


async def test_courses_in_plan_is_404_7049_when_not_enrolled_or_no_such_plan(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services, clock: ManualClock
) -> None:
    now = clock.now_ms()
    learner = await add_learner(services, demo, now_ms=now)
    other = await add_plan(services, demo, courses=[C(True)], now_ms=now)
    left = await add_plan(services, demo, courses=[C(True)], now_ms=now)
    await enrol_learner(services, demo, plan_id=left.id, learner_id=learner, enrolled_ms=now)
    async with services.db.transaction() as conn:
        await unenrol(conn, write=as_admin(demo, now), plan_id=left.id, learner_id=learner)
    for plan in (other.id, left.id, 1, "abc"):
        response = await client.get(courses_url(learner, plan), headers=auth(demo.admin_token))
        assert_error(response, 404, 7049)
    response = await client.get(courses_url(learner, 10**22), headers=auth(demo.admin_token))
    assert_error(response, 400, 7204)  # out of range
    response = await client.get(
        courses_url("nobody@zylker.example", other.id), headers=auth(demo.admin_token)
    )
    assert_error(response, 404, 7048)


# --- The three course-progress reads ----------------------------------------------------------


def assert_course_progress_record(record_: dict[str, Any]) -> None:
    for key in ("courseId", "courseType", "userId", "completionPercentage"):
        assert is_decimal(record_[key]), (key, record_[key])
    assert record_["completionStatus"] in ("completed", "inProgress", "notStarted")
    assert is_time(record_["enrolledDate"]) and record_["enrolledDate"] != "null"
    assert is_time(record_["completionDate"])
    assert (record_["completionDate"] != "null") == (record_["completionStatus"] == "completed")
    assert isinstance(record_["courseName"], str) and isinstance(record_["emailId"], str)


async def test_learner_course_progress_lists_every_course_of_the_learner(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services
) -> None:
    learner = demo.people.learner_id
    rows = await sql(
        services,
        """SELECT course_id, status, percentage FROM course_progress
            WHERE learner_id = :l ORDER BY course_id""",
        {"l": learner},
    )
    assert rows
    body = await get_ok(
        client, f"/api/v1/learners/{learner}/course-progress?limit=100", demo.admin_token
    )
    got = body["courseProgress"]
    assert [(r["courseId"], r["completionStatus"], r["completionPercentage"]) for r in got] == [
        (str(r["course_id"]), r["status"], str(r["percentage"])) for r in rows
    ]
    for item in got:
        assert_course_progress_record(item)
        assert item["userId"] == str(learner)
    # Paging from 0, as Zoho's page for this endpoint says.
    first = await get_ok(
        client, f"/api/v1/learners/{learner}/course-progress?startIndex=0&limit=2", demo.admin_token
    )
    assert first["courseProgress"] == got[:2]
    assert first["isNextAvailable"] is (len(got) > 2)
    second = await get_ok(
        client, f"/api/v1/learners/{learner}/course-progress?startIndex=2&limit=2", demo.admin_token
    )
    assert second["courseProgress"] == got[2:4]


async def test_course_progress_lists_every_learner_in_the_course(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services
) -> None:
    [course] = await sql(
        services,
        """SELECT course_id, count(*) AS n FROM course_progress WHERE org_id = :org
            GROUP BY course_id ORDER BY n DESC LIMIT 1""",
        {"org": demo.people.org_id},
    )
    rows = await sql(
        services,
        "SELECT learner_id, status FROM course_progress WHERE course_id = :c ORDER BY learner_id",
        {"c": course["course_id"]},
    )
    url = f"/api/v1/courses/{course['course_id']}/course-progress"
    seen: list[dict[str, Any]] = []
    for start in range(0, len(rows) + 1, 10):  # from 0; bounded: one page more than needed
        body = await get_ok(client, f"{url}?startIndex={start}&limit=10", demo.admin_token)
        seen += body["courseProgress"]
        if not body["isNextAvailable"]:
            break
    assert [(r["userId"], r["completionStatus"]) for r in seen] == [
        (str(r["learner_id"]), r["status"]) for r in rows
    ]
    for item in seen:
        assert_course_progress_record(item)
        assert item["courseId"] == str(course["course_id"])
    default = await get_ok(client, url, demo.admin_token)
    assert default["courseProgress"] == seen[:25]
    assert default["isNextAvailable"] is (len(rows) > 25)


async def test_one_learner_in_one_course_matches_the_lists(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services
) -> None:
    learner = demo.people.learner_id
    body = await get_ok(
        client, f"/api/v1/learners/{learner}/course-progress?limit=100", demo.admin_token
    )
    assert body["courseProgress"]
    for item in body["courseProgress"]:
        one = await get_ok(
            client,
            f"/api/v1/courses/{item['courseId']}/learners/{learner}/course-progress",
            demo.admin_token,
            is_list=False,
        )
        assert one["courseProgress"] == item
    [row] = await sql(services, "SELECT email FROM learners WHERE id = :l", {"l": learner})
    by_email = await get_ok(
        client,
        f"/api/v1/courses/{item['courseId']}/learners/{row['email'].upper()}/course-progress",
        demo.admin_token,
        is_list=False,
    )
    assert by_email["courseProgress"] == item


async def test_course_progress_reads_answer_404s(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services, clock: ManualClock
) -> None:
    now = clock.now_ms()
    learner = demo.people.learner_id
    [course] = await sql(
        services,
        "SELECT course_id FROM course_progress WHERE learner_id = :l LIMIT 1",
        {"l": learner},
    )
    known = course["course_id"]
    untaken = (await add_plan(services, demo, courses=[C(True)], now_ms=now)).course_ids[0]
    token = demo.admin_token

    async def check(url: str, code: int) -> None:
        assert_error(await client.get(url, headers=auth(token)), 404, code)

    for nobody in ("1", "nobody@zylker.example", "x"):
        await check(f"/api/v1/learners/{nobody}/course-progress", 7048)
        await check(f"/api/v1/courses/{known}/learners/{nobody}/course-progress", 7048)
    for no_course in ("1", "abc"):
        await check(f"/api/v1/courses/{no_course}/course-progress", 7049)
        await check(f"/api/v1/courses/{no_course}/learners/{learner}/course-progress", 7049)
    out_of_range = await client.get(
        f"/api/v1/courses/{10**22}/course-progress", headers=auth(token)
    )
    assert_error(out_of_range, 400, 7204)
    # A real course the learner never took: no record.
    await check(f"/api/v1/courses/{untaken}/learners/{learner}/course-progress", 7049)
    # ... and the course itself has no learners yet.
    body = await get_ok(client, f"/api/v1/courses/{untaken}/course-progress", token)
    assert body["courseProgress"] == [] and body["isNextAvailable"] is False
