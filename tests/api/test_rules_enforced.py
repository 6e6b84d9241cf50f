"""The rules the API reports are the rules it enforces.

A course reported locked cannot be recorded by its learner (an admin may override, and the
event says so); completion times lie between the enrolment and now; an organisation keeps
an active admin, even against two demotions racing; flags are JSON booleans (or Zoho's
"true"/"false" where Zoho writes them); a plan's history keeps the events of courses it no
longer holds; every event's keys are camelCase. Each refusal leaves every table unchanged.
"""

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
    error_fields,
    ok_body,
    roomy_settings,
    snapshot,
    token_for,
)
from tests.api.test_progress_writes import admin as admin
from tests.conftest import assert_error


@pytest.fixture
def settings(database_url: str) -> Settings:
    return roomy_settings(database_url)


# --- Locked courses ---------------------------------------------------------------------------


@pytest.fixture
async def levels(admin: Api) -> dict[str, str]:
    """A published plan of three levels: level 2 and 3 hold a course locked until the previous
    level is complete and one that is not; one enrolled learner."""
    one, two, two_open, three = [await admin.course() for _ in range(4)]
    plan = await admin.plan(
        [
            (one, 1, True, False),
            (two, 2, True, True),
            (two_open, 2, False, False),
            (three, 3, True, True),
        ]
    )
    [learner] = await admin.learners(1)
    await admin.enrol(plan, [learner])
    return {
        "plan": plan,
        "one": one,
        "two": two,
        "two_open": two_open,
        "three": three,
        "learner": learner,
    }


async def test_a_course_reported_locked_is_refused_to_its_learner_and_only_that(
    client: httpx.AsyncClient,
    services: Services,
    demo: DemoTokens,
    admin: Api,
    levels: dict[str, str],
) -> None:
    """Whatever the read reports `isLocked`, the learner's write is refused, naming the
    plan and the level to complete first; whatever it reports open, the write passes."""
    learner = levels["learner"]
    learner_api = Api(client, await token_for(services, demo, learner))
    for step in ("one", "two"):
        reported = await learner_api.plan_courses(learner, levels["plan"])
        for course_id, course in reported.items():
            if course["completionStatus"] == "completed":
                continue
            before = await snapshot(services)
            response = await learner_api.progress(course_id, learner, {"completionPercentage": 10})
            if course["isLocked"]:
                body = assert_error(response, 409, 7052)
                level = int(course["level"]) - 1
                assert f"until level {level} is complete" in body["message"], body
                assert "learning plan" in body["message"]
                assert_snapshots_equal(before, await snapshot(services), "a locked course")
            else:
                ok_body(response)
        # Complete this level: the next one opens, in the read and in the write alike.
        ok_body(await learner_api.progress(levels[step], learner, {"completionPercentage": 100}))
    reported = await learner_api.plan_courses(learner, levels["plan"])
    assert not any(course["isLocked"] for course in reported.values())
    ok_body(await learner_api.progress(levels["three"], learner, {"completionPercentage": 40}))
    assert await assert_projection_matches(services)


async def test_an_admin_overrides_a_lock_and_the_event_says_so(
    client: httpx.AsyncClient,
    services: Services,
    demo: DemoTokens,
    admin: Api,
    levels: dict[str, str],
) -> None:
    learner, plan = levels["learner"], levels["plan"]
    assert (await admin.plan_courses(learner, plan))[levels["two"]]["isLocked"] is True
    ok_body(await admin.progress(levels["two"], learner, {"completionPercentage": 30}, key="o-1"))
    ok_body(await admin.progress(levels["one"], learner, {"completionPercentage": 20}, key="o-2"))
    # A reset is no progress: open to the learner even in a locked course.
    learner_api = Api(client, await token_for(services, demo, learner))
    ok_body(await learner_api.progress(levels["three"], learner, {"reset": True}))
    events = (await admin.ok("GET", f"/learners/{learner}/learning-plans/{plan}/history"))["events"]
    by_key = {event["idempotencyKey"]: event for event in events}
    assert by_key["o-1"]["override"] == "levelLock"
    assert by_key["o-1"]["courseId"] == levels["two"]
    assert by_key["o-2"]["override"] == "null"  # level 1 is never locked
    assert [e["override"] for e in events if e["idempotencyKey"] not in ("o-1",)] == ["null"] * (
        len(events) - 1
    )
    assert await assert_projection_matches(services)


async def test_a_course_locked_in_any_of_the_learners_plans_is_refused(
    client: httpx.AsyncClient, services: Services, demo: DemoTokens, admin: Api
) -> None:
    """Progress in a course counts in every plan that holds it: a course open in one plan but
    reported locked in another is refused, naming the plan that locks it."""
    gate, shared = await admin.course(), await admin.course()
    open_plan = await admin.plan([(shared, 1, True, False)])
    locking = await admin.plan([(gate, 1, True, False), (shared, 2, True, True)])
    [learner] = await admin.learners(1)
    await admin.enrol(open_plan, [learner])
    await admin.enrol(locking, [learner])
    learner_api = Api(client, await token_for(services, demo, learner))
    assert (await learner_api.plan_courses(learner, open_plan))[shared]["isLocked"] is False
    assert (await learner_api.plan_courses(learner, locking))[shared]["isLocked"] is True
    before = await snapshot(services)
    body = assert_error(
        await learner_api.progress(shared, learner, {"completionStatus": "inProgress"}), 409, 7052
    )
    name = (await admin.ok("GET", f"/learning-plans/{locking}"))["learningPlan"]["planInfo"][
        "planName"
    ]
    assert name in body["message"]
    assert_snapshots_equal(before, await snapshot(services), "locked in another plan")
    # Unenrolled from the locking plan, the course is open to the learner again.
    await admin.ok("DELETE", f"/learning-plans/{locking}/learners/{learner}")
    ok_body(await learner_api.progress(shared, learner, {"completionStatus": "inProgress"}))


# --- Completion times ---------------------------------------------------------------------------


async def test_a_completion_time_before_the_enrolment_is_400_naming_the_field(
    admin: Api, services: Services, clock: ManualClock, levels: dict[str, str]
) -> None:
    learner, course = levels["learner"], levels["one"]
    record = (await admin.ok("GET", f"/courses/{course}/learners/{learner}/course-progress"))[
        "courseProgress"
    ]
    enrolled = int(record["enrolledDate"])
    clock.advance(3600)
    before = await snapshot(services)
    for early in (enrolled - 1, 0):
        body = assert_error(
            await admin.progress(
                course, learner, {"completionPercentage": 100, "completionTime": early}
            ),
            400,
            7204,
        )
        assert error_fields(body) == {"completionTime"}
        assert "precede the enrolment" in body["errors"][0]["message"]
    assert_snapshots_equal(before, await snapshot(services), "a completion before the enrolment")
    done = ok_body(
        await admin.progress(
            course, learner, {"completionPercentage": 100, "completionTime": enrolled}
        )
    )
    assert done["courseProgress"]["completionDate"] == str(enrolled)


# --- The last active admin ----------------------------------------------------------------------


async def active_admins(services: Services, org_id: int) -> list[int]:
    rows = await sql(
        services,
        "SELECT id FROM learners WHERE org_id = :o AND role = 'admin' AND status = 'active'"
        " ORDER BY id",
        {"o": org_id},
    )
    return [row[0] for row in rows]


async def test_the_last_active_admin_is_neither_demoted_nor_deactivated(
    client: httpx.AsyncClient, services: Services, demo: DemoTokens, admin: Api
) -> None:
    org = demo.people.org_id
    assert await active_admins(services, org) == [demo.people.admin_id]
    [second] = await admin.learners(1)
    await admin.ok("PATCH", f"/learners/{second}", {"role": "admin"})
    second_api = Api(client, await token_for(services, demo, second))
    # With two admins, one may go; then the other is the last.
    await second_api.ok("DELETE", f"/learners/{demo.people.admin_id}")
    assert await active_admins(services, org) == [int(second)]
    before = await snapshot(services)
    for change in ({"role": "learner"}, {"role": "manager"}):
        body = assert_error(
            await second_api.send("PATCH", f"/learners/{second}", change), 409, 7052
        )
        assert "last active admin" in body["message"]
    assert_snapshots_equal(before, await snapshot(services), "demoting the last admin")
    # Changes that keep the admin an admin pass.
    await second_api.ok("PATCH", f"/learners/{second}", {"role": "admin", "displayName": "Ada"})
    # Reactivated, the first admin makes the second one demotable again.
    await second_api.ok("PATCH", f"/learners/{demo.people.admin_id}", {"status": "active"})
    await second_api.ok("PATCH", f"/learners/{second}", {"role": "learner"})
    assert await active_admins(services, org) == [demo.people.admin_id]
    body = assert_error(
        await admin.send("PATCH", f"/learners/{demo.people.admin_id}", {"role": "manager"}),
        409,
        7052,
    )
    assert "last active admin" in body["message"]


async def test_two_racing_demotions_of_the_last_two_admins_never_both_succeed(
    client: httpx.AsyncClient, services: Services, demo: DemoTokens, admin: Api
) -> None:
    """Each admin demotes the other at the same moment, round after round (on PostgreSQL
    the two transactions run side by side): exactly one demotion commits each time, and the
    organisation always keeps an admin. The survivor promotes the other back for the next
    round."""
    org = demo.people.org_id
    [second] = await admin.learners(1)
    await admin.ok("PATCH", f"/learners/{second}", {"role": "admin"})
    apis = {
        str(demo.people.admin_id): admin,
        second: Api(client, await token_for(services, demo, second)),
    }
    first = str(demo.people.admin_id)
    for round_ in range(8):
        a, b = (first, second) if round_ % 2 else (second, first)
        responses = await asyncio.gather(
            apis[a].send("PATCH", f"/learners/{b}", {"role": "learner"}),
            apis[b].send("PATCH", f"/learners/{a}", {"role": "learner"}),
        )
        statuses = sorted(response.status_code for response in responses)
        assert statuses[0] == 200 and statuses[1] in (403, 409), [r.text for r in responses]
        [survivor] = await active_admins(services, org)
        demoted = b if str(survivor) == a else a
        await apis[str(survivor)].ok("PATCH", f"/learners/{demoted}", {"role": "admin"})
    assert len(await active_admins(services, org)) == 2


# --- Flags ----------------------------------------------------------------------------------------


NOT_BOOLEANS = [1, 0, "yes", "on", "True", "1", None, [], {}]


async def test_reset_and_plan_course_flags_take_only_json_booleans(
    admin: Api, services: Services, levels: dict[str, str]
) -> None:
    """`reset`, `isMandatory` and `isLocked` are this product's own flags: JSON booleans
    and nothing else, not even "true" (Zoho writes none of them as a string)."""
    courses = f"/learning-plans/{levels['plan']}/courses"
    before = await snapshot(services)
    for value in [*NOT_BOOLEANS, "true", "false"]:
        body = assert_error(
            await admin.progress(levels["one"], levels["learner"], {"reset": value}), 400, 7204
        )
        assert error_fields(body) == {"reset"}, value
        for field in ("isMandatory", "isLocked"):
            course = {"courseId": int(levels["one"]), "isMandatory": True, field: value}
            body = assert_error(await admin.send("PUT", courses, {"courses": [course]}), 400, 7204)
            assert error_fields(body) == {f"courses.0.{field}"}, value
    assert_snapshots_equal(before, await snapshot(services), "flags that are not booleans")


async def test_disabled_takes_a_json_boolean_or_zohos_string_form(
    admin: Api, services: Services, levels: dict[str, str]
) -> None:
    """Zoho writes a plan's `disabled` as a string ("false"), so "true" and "false" are
    read as the booleans they stand for; nothing else is."""
    plan = f"/learning-plans/{levels['plan']}"
    for value in NOT_BOOLEANS:
        before = await snapshot(services)
        body = assert_error(await admin.send("PATCH", plan, {"disabled": value}), 400, 7204)
        assert error_fields(body) == {"disabled"}, value
        assert_snapshots_equal(before, await snapshot(services), f"disabled: {value!r}")
    for value, answered in (("true", "true"), (False, "false"), ("false", "false"), (True, "true")):
        info = (await admin.ok("PATCH", plan, {"disabled": value}))["learningPlan"]["planInfo"]
        assert info["disabled"] == answered


# --- The history --------------------------------------------------------------------------------


async def test_a_plans_history_keeps_the_events_of_courses_it_no_longer_holds(
    admin: Api, services: Services, levels: dict[str, str]
) -> None:
    learner, plan = levels["learner"], levels["plan"]
    ok_body(await admin.progress(levels["two_open"], learner, {"completionPercentage": 50}))
    url = f"/learners/{learner}/learning-plans/{plan}/history?limit=100"
    held = (await admin.ok("GET", url))["events"]
    assert not any(event["removedFromPlan"] for event in held)
    # The plan drops the optional course: its events stay, marked.
    await admin.set_courses(
        plan,
        [
            (levels["one"], 1, True, False),
            (levels["two"], 2, True, True),
            (levels["three"], 3, True, True),
        ],
    )
    events = (await admin.ok("GET", url))["events"]
    assert [e["eventId"] for e in events] == [e["eventId"] for e in held]
    removed = [e for e in events if e["removedFromPlan"]]
    assert removed and {e["courseId"] for e in removed} == {levels["two_open"]}
    assert {e["kind"] for e in removed} == {"course_enrolled", "course_progress"}
    # Progress after the removal is still the plan's history of that course, marked.
    ok_body(await admin.progress(levels["two_open"], learner, {"completionPercentage": 70}))
    later = (await admin.ok("GET", url))["events"]
    assert later[-1]["courseId"] == levels["two_open"] and later[-1]["removedFromPlan"] is True
    # Put back, the course is the plan's again: no event of it is marked.
    await admin.set_courses(
        plan, [(levels["one"], 1, True, False), (levels["two_open"], 2, False, False)]
    )
    back = (await admin.ok("GET", url))["events"]
    assert {e["courseId"] for e in back if e["removedFromPlan"]} == {levels["two"], levels["three"]}
    assert not any(e["removedFromPlan"] for e in back if e["courseId"] == levels["two_open"])


async def test_every_event_answers_camel_case_keys(admin: Api, services: Services) -> None:
    course = await admin.course()
    plan = await admin.plan([(course, 1, True, False)])
    [learner] = await admin.learners(1)
    await admin.enrol(plan, [learner])
    ok_body(await admin.progress(course, learner, {"completionPercentage": 100}))
    ok_body(await admin.progress(course, learner, {"reset": True}))
    await admin.ok("DELETE", f"/learning-plans/{plan}/learners/{learner}")
    events = (await admin.ok("GET", f"/learners/{learner}/learning-plans/{plan}/history"))["events"]
    kinds = {event["kind"] for event in events}
    assert kinds == {
        "enrolled",
        "course_enrolled",
        "course_progress",
        "joined",
        "plan_completed",
        "reset",
        "unenrolled",
    }
    for event in events:
        for state in (event["before"], event["after"]):
            for key in state or {}:
                assert "_" not in key and key[0].islower(), (event["kind"], key)
    course_events = [e for e in events if e["courseId"] != "null"]
    assert all(
        set(e["after"]) == {"status", "percentage", "enrolledTime", "completedTime"}
        for e in course_events
    )
