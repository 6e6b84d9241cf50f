"""The reference endpoint, GET /api/v1/learners/{learnerId}/learning-plans/progress: its shape
against the Zoho sample, learner resolution, pagination, and the progress numbers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from lmsplans.demo import DemoTokens
from lmsplans.server.clock import ManualClock
from lmsplans.server.http import Services
from lmsplans.server.plans.enrolments import unenrol
from lmsplans.server.plans.service import publish_plan
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
    set_plan_courses,
    sql,
)
from tests.conftest import assert_error, auth, reference_sample

COMPLETED, IN_PROGRESS = CourseStatus.COMPLETED, CourseStatus.IN_PROGRESS


def progress_url(learner_ref: object, query: str = "") -> str:
    return f"/api/v1/learners/{learner_ref}/learning-plans/progress" + (
        f"?{query}" if query else ""
    )


async def get_plans(
    client: httpx.AsyncClient, token: str, learner_ref: object, query: str = ""
) -> dict[str, Any]:
    response = await client.get(progress_url(learner_ref, query), headers=auth(token))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def by_plan(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {plan["planId"]: plan for plan in body["learningPlans"]}


# --- Shape ------------------------------------------------------------------------------------


async def test_response_has_every_key_of_the_reference_sample_with_the_same_json_type(
    client: httpx.AsyncClient, demo: DemoTokens
) -> None:
    sample = reference_sample()
    response = await client.get(
        progress_url(demo.people.learner_id), headers=auth(demo.admin_token)
    )
    assert response.status_code == sample["status"] == 200
    body = response.json()
    assert_same_shape(body, sample)
    assert body["message"] == sample["message"]
    assert body["status"] == 200
    assert isinstance(body["isNextAvailable"], bool)


def test_shape_check_rejects_a_wrongly_typed_field() -> None:
    """The comparison above is strict: a number where the sample has a string fails it."""
    sample = reference_sample()
    plan = sample["learningPlans"][0]
    broken = {**sample, "learningPlans": [{**plan, "planInfo": {**plan["planInfo"]}}]}
    broken["learningPlans"][0]["planInfo"]["activeCourseCount"] = 2
    with pytest.raises(AssertionError, match="activeCourseCount"):
        assert_same_shape(broken, sample)
    broken["learningPlans"][0]["planInfo"]["activeCourseCount"] = "2"
    broken["learningPlans"][0]["planInfo"]["disabled"] = False
    with pytest.raises(AssertionError, match="disabled"):
        assert_same_shape(broken, sample)


async def test_progress_info_counts_are_strings_and_flags_booleans(
    client: httpx.AsyncClient, demo: DemoTokens
) -> None:
    body = await get_plans(client, demo.admin_token, demo.people.learner_id)
    statuses = set()
    for plan in body["learningPlans"]:
        info = plan["progressInfo"]
        for key in (
            "completedCourseCount",
            "courseCount",
            "completedMandatoryCourseCount",
            "mandatoryCourseCount",
            "progressPercentage",
            "allCoursesPercentage",
        ):
            assert is_decimal(info[key]), (key, info[key])
        assert is_time(info["dueTime"]) and is_time(info["completedTime"])
        assert isinstance(info["isOverdue"], bool)
        assert info["status"] in ("completed", "inProgress", "notStarted")
        statuses.add(info["status"])
        assert plan["planId"] == plan["planInfo"]["planId"]
        assert plan["userInfo"]["userId"] == str(demo.people.learner_id)
        assert (info["completedTime"] != "null") == plan["userInfo"]["isUserCompletedPlan"]
    # The demo learner is made to show every state.
    assert statuses == {"completed", "inProgress", "notStarted"}


async def test_answer_matches_the_learners_enrolments_in_the_database(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services
) -> None:
    learner_id = demo.people.learner_id
    rows = await sql(
        services,
        """SELECT e.id, e.plan_id, e.is_joined, e.is_completed, e.enrolled_time, p.name,
                  (SELECT count(*) FROM plan_courses pc WHERE pc.plan_id = p.id) AS courses,
                  (SELECT count(*) FROM plan_courses pc
                    WHERE pc.plan_id = p.id AND pc.is_mandatory) AS mandatory
             FROM plan_enrolments e JOIN learning_plans p ON p.id = e.plan_id
            WHERE e.learner_id = :id AND e.unenrolled_time IS NULL AND p.publish_state = 1
            ORDER BY e.id""",
        {"id": learner_id},
    )
    assert rows
    body = await get_plans(client, demo.admin_token, learner_id, "limit=100")
    assert [p["userInfo"]["planuserId"] for p in body["learningPlans"]] == [
        str(r["id"]) for r in rows
    ]
    for plan, row in zip(body["learningPlans"], rows, strict=True):
        assert plan["planId"] == str(row["plan_id"])
        assert plan["planInfo"]["planName"] == row["name"]
        assert plan["planInfo"]["activeCourseCount"] == str(row["courses"])
        assert plan["planInfo"]["mandatoryCourseCount"] == str(row["mandatory"])
        assert plan["progressInfo"]["mandatoryCourseCount"] == str(row["mandatory"])
        assert plan["userInfo"]["isUserJoinedPlan"] is bool(row["is_joined"])
        assert plan["userInfo"]["isUserCompletedPlan"] is bool(row["is_completed"])
        assert plan["userInfo"]["enrolledTime"] == str(row["enrolled_time"])
    assert body["isNextAvailable"] is False


# --- Which learner ----------------------------------------------------------------------------


async def test_learner_is_found_by_user_id_zuid_or_email_in_any_case(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services
) -> None:
    learner = demo.people.learner_id
    [row] = await sql(services, "SELECT zuid, email FROM learners WHERE id = :id", {"id": learner})
    expected = await get_plans(client, demo.admin_token, learner)
    assert {p["userInfo"]["userId"] for p in expected["learningPlans"]} == {str(learner)}
    email = row["email"]
    for ref in (row["zuid"], email, email.upper(), email[:1].upper() + email[1:]):
        assert await get_plans(client, demo.admin_token, ref) == expected, ref


async def test_unknown_learner_is_404_7048(client: httpx.AsyncClient, demo: DemoTokens) -> None:
    for ref in ("1", "nobody@zylker.example", "abc", "%20"):
        response = await client.get(progress_url(ref), headers=auth(demo.admin_token))
        assert_error(response, 404, 7048)
    # A number past 64 bits names nobody: out of range (test_hostile_inputs has the rest).
    response = await client.get(progress_url(str(10**22)), headers=auth(demo.admin_token))
    assert_error(response, 400, 7204)


async def test_learner_without_plans_gets_an_empty_list(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services, clock: ManualClock
) -> None:
    learner = await add_learner(services, demo, now_ms=clock.now_ms())
    body = await get_plans(client, demo.admin_token, learner)
    assert body["learningPlans"] == []
    assert body["isNextAvailable"] is False


async def test_draft_and_unenrolled_plans_are_not_listed(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services, clock: ManualClock
) -> None:
    now = clock.now_ms()
    learner = await add_learner(services, demo, now_ms=now)
    kept = await add_plan(services, demo, courses=[C(True)], now_ms=now)
    left = await add_plan(services, demo, courses=[C(True)], now_ms=now)
    draft = await add_plan(services, demo, courses=[C(True)], now_ms=now, publish=False)
    for plan in (kept, left, draft):
        await enrol_learner(services, demo, plan_id=plan.id, learner_id=learner, enrolled_ms=now)
    async with services.db.transaction() as conn:
        await unenrol(conn, write=as_admin(demo, now), plan_id=left.id, learner_id=learner)
    body = await get_plans(client, demo.admin_token, learner)
    assert list(by_plan(body)) == [str(kept.id)]


# --- Pagination -------------------------------------------------------------------------------


async def learner_with_plans(
    services: Services, demo: DemoTokens, clock: ManualClock, count: int
) -> tuple[int, list[str]]:
    now = clock.now_ms()
    learner = await add_learner(services, demo, now_ms=now)
    plan_ids = []
    for _ in range(count):
        plan = await add_plan(services, demo, courses=[C(True)], now_ms=now)
        await enrol_learner(services, demo, plan_id=plan.id, learner_id=learner, enrolled_ms=now)
        plan_ids.append(str(plan.id))
    return learner, plan_ids


async def test_default_page_is_25_plans_from_start_index_0(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services, clock: ManualClock
) -> None:
    learner, plan_ids = await learner_with_plans(services, demo, clock, 27)
    first = await get_plans(client, demo.admin_token, learner)
    assert list(by_plan(first)) == plan_ids[:25]
    assert first["isNextAvailable"] is True
    assert await get_plans(client, demo.admin_token, learner, "startIndex=0") == first
    rest = await get_plans(client, demo.admin_token, learner, "startIndex=25")
    assert list(by_plan(rest)) == plan_ids[25:]
    assert rest["isNextAvailable"] is False
    # 0-based: startIndex=1 starts at the second plan.
    second = await get_plans(client, demo.admin_token, learner, "startIndex=1")
    assert list(by_plan(second)) == plan_ids[1:26]
    assert second["isNextAvailable"] is True


async def test_exactly_one_full_page_has_no_next(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services, clock: ManualClock
) -> None:
    learner, plan_ids = await learner_with_plans(services, demo, clock, 25)
    body = await get_plans(client, demo.admin_token, learner)
    assert list(by_plan(body)) == plan_ids
    assert body["isNextAvailable"] is False


async def test_limit_pages_walk_every_plan_once(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services
) -> None:
    learner = demo.people.learner_id
    everything = list(by_plan(await get_plans(client, demo.admin_token, learner)))
    total = len(everything)
    assert total >= 3
    seen: list[str] = []
    for start in range(0, total, 2):
        page = await get_plans(client, demo.admin_token, learner, f"startIndex={start}&limit=2")
        seen += list(by_plan(page))
        assert page["isNextAvailable"] is (start + 2 < total)
    assert seen == everything
    # The edges: a page ending on the last plan has no next; one short of it has.
    at_end = await get_plans(client, demo.admin_token, learner, f"limit={total}")
    assert at_end["isNextAvailable"] is False
    short = await get_plans(client, demo.admin_token, learner, f"Limit={total - 1}")
    assert len(short["learningPlans"]) == total - 1
    assert short["isNextAvailable"] is True


async def test_start_index_beyond_the_end_is_an_empty_page(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services
) -> None:
    [count] = await sql(
        services,
        """SELECT count(*) AS n FROM plan_enrolments e JOIN learning_plans p ON p.id = e.plan_id
            WHERE e.learner_id = :id AND e.unenrolled_time IS NULL AND p.publish_state = 1""",
        {"id": demo.people.learner_id},
    )
    for start in (count["n"], 1000, 2**63 - 1):  # past 2**63 - 1: 400 (test_hostile_inputs)
        query = f"startIndex={start}"
        body = await get_plans(client, demo.admin_token, demo.people.learner_id, query)
        assert body["learningPlans"] == [], start
        assert body["isNextAvailable"] is False


async def test_non_integer_or_negative_start_index_is_400_7204(
    client: httpx.AsyncClient, demo: DemoTokens
) -> None:
    for start in ("-1", "abc", "1.5", "", "0x10", "1e3", "\u0661"):
        response = await client.get(
            progress_url(demo.people.learner_id),
            params={"startIndex": start},
            headers=auth(demo.admin_token),
        )
        body = assert_error(response, 400, 7204)
        assert "startIndex" in body["message"]


async def test_limit_above_100_is_422_7021(client: httpx.AsyncClient, demo: DemoTokens) -> None:
    learner = demo.people.learner_id
    for name in ("limit", "Limit"):
        ok = await client.get(progress_url(learner, f"{name}=100"), headers=auth(demo.admin_token))
        assert ok.status_code == 200
        for too_many in ("101", "1000"):
            response = await client.get(
                progress_url(learner, f"{name}={too_many}"), headers=auth(demo.admin_token)
            )
            assert_error(response, 422, 7021)


async def test_zero_negative_or_non_integer_limit_is_400_7204(
    client: httpx.AsyncClient, demo: DemoTokens
) -> None:
    for limit in ("0", "-5", "ten", "2.5"):
        response = await client.get(
            progress_url(demo.people.learner_id, f"limit={limit}"), headers=auth(demo.admin_token)
        )
        assert_error(response, 400, 7204)


# --- Progress numbers -------------------------------------------------------------------------


async def test_counts_and_floored_percentages_follow_recorded_progress(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services, clock: ManualClock
) -> None:
    now = clock.now_ms()
    learner = await add_learner(services, demo, now_ms=now)
    # 3 mandatory and 4 optional courses: 1/3 and 2/7 floor differently from rounding.
    plan = await add_plan(
        services, demo, courses=[C(True)] * 3 + [C(False)] * 4, now_ms=now - 5 * DAY_MS
    )
    m1, m2, m3, o1, _o2, _o3, _o4 = plan.course_ids
    enrolled = now - 4 * DAY_MS
    await enrol_learner(services, demo, plan_id=plan.id, learner_id=learner, enrolled_ms=enrolled)

    def info_of(body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = by_plan(body)[str(plan.id)]
        return result

    start = info_of(await get_plans(client, demo.admin_token, learner))
    assert start["userInfo"]["isUserJoinedPlan"] is False
    assert start["progressInfo"] == {
        "status": "notStarted",
        "completedCourseCount": "0",
        "courseCount": "7",
        "completedMandatoryCourseCount": "0",
        "mandatoryCourseCount": "3",
        "progressPercentage": "0",
        "allCoursesPercentage": "0",
        "dueTime": str(enrolled + 30 * DAY_MS),
        "isOverdue": False,
        "completedTime": "null",
    }

    await record(services, demo, learner_id=learner, course_id=m1, status=COMPLETED, at_ms=now)
    await record(services, demo, learner_id=learner, course_id=o1, status=COMPLETED, at_ms=now)
    await record(services, demo, learner_id=learner, course_id=m2, status=IN_PROGRESS, at_ms=now)
    middle = info_of(await get_plans(client, demo.admin_token, learner))
    assert middle["userInfo"]["isUserJoinedPlan"] is True
    progress = middle["progressInfo"]
    assert progress["status"] == "inProgress"
    assert progress["completedCourseCount"] == "2"
    assert progress["completedMandatoryCourseCount"] == "1"
    assert progress["progressPercentage"] == "33"  # 1/3
    assert progress["allCoursesPercentage"] == "28"  # 2/7 = 28.57
    assert progress["completedTime"] == "null"

    await record(services, demo, learner_id=learner, course_id=m2, status=COMPLETED, at_ms=now)
    later = info_of(await get_plans(client, demo.admin_token, learner))["progressInfo"]
    assert later["progressPercentage"] == "66"  # 2/3 = 66.67
    assert later["allCoursesPercentage"] == "42"  # 3/7 = 42.86
    assert later["status"] == "inProgress"
    assert m3 in plan.course_ids


DUE_CASES = [
    # (enrolled, duration, durationType, due), all UTC
    ("2025-03-01T10:00:00", 30, 0, "2025-03-31T10:00:00"),
    ("2025-12-20T08:30:00", 14, 0, "2026-01-03T08:30:00"),
    ("2025-03-01T10:00:00", 6, 1, "2025-04-12T10:00:00"),
    ("2025-01-15T09:00:00", 1, 2, "2025-02-15T09:00:00"),
    ("2025-01-31T09:00:00", 1, 2, "2025-02-28T09:00:00"),  # clamped to the month's end
    ("2024-01-31T09:00:00", 1, 2, "2024-02-29T09:00:00"),  # leap year
    ("2025-11-30T23:00:00", 3, 2, "2026-02-28T23:00:00"),  # across a year
    ("2025-05-31T00:00:00", 12, 2, "2026-05-31T00:00:00"),
]


async def test_due_time_is_enrolment_plus_days_weeks_or_calendar_months(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services, clock: ManualClock
) -> None:
    def ms(text: str) -> int:
        return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)

    learner = await add_learner(services, demo, now_ms=clock.now_ms())
    expected: dict[str, tuple[str, int, int, str]] = {}
    for enrolled, duration, duration_type, due in DUE_CASES:
        plan = await add_plan(
            services,
            demo,
            courses=[C(True)],
            now_ms=ms(enrolled),
            duration=duration,
            duration_type=duration_type,
        )
        await enrol_learner(
            services, demo, plan_id=plan.id, learner_id=learner, enrolled_ms=ms(enrolled)
        )
        expected[str(plan.id)] = (enrolled, duration, duration_type, due)
    body = await get_plans(client, demo.admin_token, learner)
    assert list(by_plan(body)) == list(expected)
    for plan_id, entry in by_plan(body).items():
        enrolled, duration, duration_type, due = expected[plan_id]
        assert entry["userInfo"]["enrolledTime"] == str(ms(enrolled))
        assert entry["planInfo"]["duration"] == str(duration)
        assert entry["planInfo"]["durationType"] == str(duration_type)
        assert entry["progressInfo"]["dueTime"] == str(ms(due)), expected[plan_id]


async def test_enrolment_is_overdue_only_once_the_clock_passes_the_due_time(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services, clock: ManualClock
) -> None:
    now = clock.now_ms()
    token = await admin_token(services, demo, now)
    learner = await add_learner(services, demo, now_ms=now)
    plan = await add_plan(services, demo, courses=[C(True), C(True)], now_ms=now, duration=7)
    await enrol_learner(services, demo, plan_id=plan.id, learner_id=learner, enrolled_ms=now)
    await record(
        services,
        demo,
        learner_id=learner,
        course_id=plan.course_ids[0],
        status=COMPLETED,
        at_ms=now,
    )

    async def progress() -> dict[str, Any]:
        body = await get_plans(client, token, learner)
        result: dict[str, Any] = body["learningPlans"][0]["progressInfo"]
        return result

    assert (await progress())["dueTime"] == str(now + 7 * DAY_MS)
    assert (await progress())["isOverdue"] is False
    clock.advance(7 * 86_400)  # exactly the due time: not past it yet
    assert (await progress())["isOverdue"] is False
    clock.advance(1)
    late = await progress()
    assert late["isOverdue"] is True
    assert late["status"] == "inProgress"
    # Completing it late ends the overdue state.
    await record(
        services,
        demo,
        learner_id=learner,
        course_id=plan.course_ids[1],
        status=COMPLETED,
        at_ms=clock.now_ms(),
    )
    done = await progress()
    assert done["isOverdue"] is False
    assert done["status"] == "completed"
    assert done["completedTime"] == str(clock.now_ms())


async def test_completed_time_is_the_last_mandatory_completion(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services, clock: ManualClock
) -> None:
    now = clock.now_ms()
    learner = await add_learner(services, demo, now_ms=now)
    plan = await add_plan(
        services, demo, courses=[C(True), C(True), C(False)], now_ms=now - 30 * DAY_MS
    )
    m1, m2, optional = plan.course_ids
    await enrol_learner(
        services, demo, plan_id=plan.id, learner_id=learner, enrolled_ms=now - 20 * DAY_MS
    )
    # Recorded out of order: m1 is recorded last but was completed earlier than m2.
    t_m2, t_m1 = now - 3 * DAY_MS, now - 10 * DAY_MS
    await record(services, demo, learner_id=learner, course_id=m2, status=COMPLETED, at_ms=t_m2)
    await record(services, demo, learner_id=learner, course_id=m1, status=COMPLETED, at_ms=t_m1)
    # An optional course completed afterwards changes nothing.
    await record(
        services, demo, learner_id=learner, course_id=optional, status=COMPLETED, at_ms=now
    )
    [entry] = (await get_plans(client, demo.admin_token, learner))["learningPlans"]
    assert entry["userInfo"]["isUserCompletedPlan"] is True
    assert entry["progressInfo"]["status"] == "completed"
    assert entry["progressInfo"]["completedTime"] == str(t_m2)
    assert entry["progressInfo"]["progressPercentage"] == "100"
    assert entry["progressInfo"]["allCoursesPercentage"] == "100"


async def test_optional_courses_alone_do_not_complete_a_plan(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services, clock: ManualClock
) -> None:
    now = clock.now_ms()
    learner = await add_learner(services, demo, now_ms=now)
    plan = await add_plan(services, demo, courses=[C(True), C(False), C(False)], now_ms=now)
    await enrol_learner(services, demo, plan_id=plan.id, learner_id=learner, enrolled_ms=now)
    for course in plan.course_ids[1:]:
        await record(
            services, demo, learner_id=learner, course_id=course, status=COMPLETED, at_ms=now
        )
    [entry] = (await get_plans(client, demo.admin_token, learner))["learningPlans"]
    assert entry["userInfo"]["isUserCompletedPlan"] is False
    assert entry["progressInfo"]["progressPercentage"] == "0"
    assert entry["progressInfo"]["allCoursesPercentage"] == "66"
    assert entry["progressInfo"]["completedTime"] == "null"


async def test_completion_is_sticky_when_the_plan_gains_a_mandatory_course(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services, clock: ManualClock
) -> None:
    now = clock.now_ms()
    done_learner = await add_learner(services, demo, now_ms=now)
    busy_learner = await add_learner(services, demo, now_ms=now)
    plan = await add_plan(services, demo, courses=[C(True), C(True)], now_ms=now)
    extra = await add_plan(services, demo, courses=[C(True)], now_ms=now, publish=False)
    for who in (done_learner, busy_learner):
        await enrol_learner(services, demo, plan_id=plan.id, learner_id=who, enrolled_ms=now)
    for course in plan.course_ids:
        await record(
            services, demo, learner_id=done_learner, course_id=course, status=COMPLETED, at_ms=now
        )
    await record(
        services,
        demo,
        learner_id=busy_learner,
        course_id=plan.course_ids[0],
        status=COMPLETED,
        at_ms=now,
    )
    before = (await get_plans(client, demo.admin_token, done_learner))["learningPlans"][0]
    assert before["userInfo"]["isUserCompletedPlan"] is True
    busy = (await get_plans(client, demo.admin_token, busy_learner))["learningPlans"][0]
    assert busy["progressInfo"]["progressPercentage"] == "50"

    # The plan is edited: a third mandatory course.
    await set_plan_courses(
        services,
        demo,
        plan_id=plan.id,
        courses=[(c, C(True)) for c in plan.course_ids] + [(extra.course_ids[0], C(True))],
    )
    after = (await get_plans(client, demo.admin_token, done_learner))["learningPlans"][0]
    assert after["userInfo"]["isUserCompletedPlan"] is True
    assert after["progressInfo"]["status"] == "completed"
    assert after["progressInfo"]["completedTime"] == before["progressInfo"]["completedTime"]
    assert after["progressInfo"]["progressPercentage"] == "100"
    assert after["planInfo"]["mandatoryCourseCount"] == "3"
    # Incomplete enrolments are measured against the plan as it is now.
    busy = (await get_plans(client, demo.admin_token, busy_learner))["learningPlans"][0]
    assert busy["progressInfo"]["mandatoryCourseCount"] == "3"
    assert busy["progressInfo"]["completedMandatoryCourseCount"] == "1"
    assert busy["progressInfo"]["progressPercentage"] == "33"
    assert busy["userInfo"]["isUserCompletedPlan"] is False


async def test_plan_whose_mandatory_courses_are_already_done_is_complete_on_enrolment(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services, clock: ManualClock
) -> None:
    now = clock.now_ms()
    learner = await add_learner(services, demo, now_ms=now)
    first = await add_plan(services, demo, courses=[C(True), C(True)], now_ms=now - 9 * DAY_MS)
    await enrol_learner(
        services, demo, plan_id=first.id, learner_id=learner, enrolled_ms=now - 9 * DAY_MS
    )
    finished = now - 2 * DAY_MS
    for course, at in zip(first.course_ids, (now - 5 * DAY_MS, finished), strict=True):
        await record(
            services, demo, learner_id=learner, course_id=course, status=COMPLETED, at_ms=at
        )
    # A second plan made of the same courses, as mandatory ones, plus an optional new one.
    second = await add_plan(services, demo, courses=[C(False)], now_ms=now, publish=False)
    await set_plan_courses(
        services,
        demo,
        plan_id=second.id,
        courses=[(c, C(True)) for c in first.course_ids] + [(second.course_ids[0], C(False))],
    )
    async with services.db.transaction() as conn:
        await publish_plan(conn, write=as_admin(demo, now), plan_id=second.id)
    await enrol_learner(services, demo, plan_id=second.id, learner_id=learner, enrolled_ms=now)
    entry = by_plan(await get_plans(client, demo.admin_token, learner))[str(second.id)]
    assert entry["userInfo"]["isUserCompletedPlan"] is True
    assert entry["progressInfo"]["status"] == "completed"
    assert entry["progressInfo"]["completedTime"] == str(finished)
    assert entry["progressInfo"]["completedMandatoryCourseCount"] == "2"


async def test_no_demo_enrolment_has_all_mandatory_courses_done_but_is_incomplete(
    client: httpx.AsyncClient, demo: DemoTokens, services: Services
) -> None:
    """The projection agrees with the rule everywhere in the demo data."""
    rows = await sql(
        services,
        """SELECT e.id, e.learner_id FROM plan_enrolments e
            WHERE e.unenrolled_time IS NULL AND NOT e.is_completed
              AND NOT EXISTS (SELECT 1 FROM plan_courses pc
                                LEFT JOIN course_progress cp
                                       ON cp.course_id = pc.course_id
                                      AND cp.learner_id = e.learner_id
                               WHERE pc.plan_id = e.plan_id AND pc.is_mandatory
                                 AND coalesce(cp.status, '') <> 'completed')""",
    )
    assert [dict(r) for r in rows] == []
    body = await get_plans(client, demo.admin_token, demo.people.learner_id)
    for plan in body["learningPlans"]:
        info = plan["progressInfo"]
        all_done = info["completedMandatoryCourseCount"] == info["mandatoryCourseCount"]
        assert all_done <= plan["userInfo"]["isUserCompletedPlan"]
