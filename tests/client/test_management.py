"""The management methods against a real server on loopback: courses, plans, learners,
enrolment and progress through the typed client, down to the reference endpoint's answer.

The server runs over a small demo organisation of its own, so what these tests create never
shows in the other client tests' counts."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from starlette.applications import Starlette

from lmsplans.client import (
    AsyncClient,
    Client,
    ConflictError,
    Course,
    HistoryEvent,
    Learner,
    LearnerUpsert,
    NotFoundError,
    PlanCourseSpec,
    PlanDetail,
    ValidationError,
)
from lmsplans.demo import DemoTokens, build_demo, mint_demo_tokens
from lmsplans.server.app import create_app
from lmsplans.server.settings import Settings
from tests.client.conftest import DemoDatabase, FaultyTransport, LiveServer, start_server

MakeClient = Callable[..., Client]


async def _small_demo(url: str) -> DemoDatabase:
    app = create_app(Settings(database_url=url))
    async with LifespanManager(app, startup_timeout=60):
        db = app.state.services.db
        now_ms = time.time_ns() // 1_000_000
        people = await build_demo(db, now_ms=now_ms, learners=12)
        tokens = await mint_demo_tokens(db, people=people, now_ms=now_ms, ttl_seconds=7200)
    path = Path(url.removeprefix("sqlite:///"))
    return DemoDatabase(
        path, url, people, tokens.admin_token, tokens.manager_token, tokens.learner_token
    )


@pytest.fixture(scope="module")
def small_db(tmp_path_factory: pytest.TempPathFactory) -> DemoDatabase:
    path = tmp_path_factory.mktemp("management") / "demo.db"
    return asyncio.run(_small_demo(f"sqlite:///{path}"))


@pytest.fixture(scope="module")
def server(small_db: DemoDatabase) -> Iterator[LiveServer]:
    live = start_server(small_db, rate_limit_threshold=100_000)
    yield live
    live.stop()


@pytest.fixture
def admin(make_client: MakeClient, server: LiveServer, small_db: DemoDatabase) -> Client:
    return make_client(base_url=server.url, access_token=small_db.admin_token)


def _unique() -> str:
    return uuid.uuid4().hex[:10]


def _new_learner(client: Client, tag: str) -> Learner:
    return client.learners.create(
        email_id=f"{tag}@mgmt.example", display_name=f"Learner {tag}", employee_id=f"E-{tag}"
    )


def test_a_plan_from_nothing_to_completed(admin: Client) -> None:
    tag = _unique()
    safety = admin.courses.create(f"Safety {tag}", duration=30)
    extras = admin.courses.create(f"Extras {tag}", course_type=3)
    assert isinstance(safety, Course)
    assert (safety.course_name, safety.course_type, safety.duration) == (f"Safety {tag}", 1, 30)
    assert admin.courses.get(safety.course_id) == safety
    listed = {c.course_id for c in admin.courses.list(page_size=2)}
    assert {safety.course_id, extras.course_id} <= listed

    plan = admin.learning_plans.create(f"Onboarding {tag}", duration=2, duration_type=1)
    assert isinstance(plan, PlanDetail)
    assert not plan.plan_info.is_published and plan.courses == ()
    with pytest.raises(ConflictError) as no_mandatory:
        admin.learning_plans.publish(plan.plan_id)  # a plan needs a mandatory course
    assert (no_mandatory.value.status, no_mandatory.value.code) == (409, 7052)

    plan = admin.learning_plans.set_courses(
        plan.plan_id,
        [
            PlanCourseSpec(safety.course_id, level=1, is_mandatory=True),
            {"courseId": int(extras.course_id), "level": 2},
        ],
    )
    assert [(c.course_id, c.level, c.is_mandatory) for c in plan.courses] == [
        (safety.course_id, 1, True),
        (extras.course_id, 2, False),
    ]
    plan = admin.learning_plans.publish(plan.plan_id)
    assert plan.plan_info.is_published and plan.plan_info.mandatory_course_count == 1
    assert admin.learning_plans.get(plan.plan_id).raw == plan.raw

    learner = _new_learner(admin, tag)
    assert (learner.email_id, learner.role, learner.is_active) == (
        f"{tag}@mgmt.example",
        "learner",
        True,
    )
    assert admin.learners.get(learner.email_id or "") == learner
    assert [x.user_id for x in admin.learners.list(search=tag)] == [learner.user_id]

    enrolment = admin.learning_plans.enrol(plan.plan_id, [learner.user_id])
    assert (enrolment.enrolled, enrolment.already_enrolled) == ((learner.user_id,), ())
    again = admin.learning_plans.enrol(plan.plan_id, [learner.email_id or ""])
    assert (again.enrolled, again.already_enrolled) == ((), (learner.user_id,))

    half = admin.courses.record_progress(safety.course_id, learner.user_id, percentage=50)
    assert (half.completion_status, half.completion_percentage) == ("inProgress", 50)
    done = admin.courses.record_progress(safety.course_id, learner.user_id, status="completed")
    assert (done.completion_status, done.completion_percentage) == ("completed", 100)
    assert done.completion_date is not None

    # The reference endpoint, read through the client, sees the plan completed.
    entries = admin.learners.learning_plans_progress(learner.user_id).to_list()
    assert [e.plan_id for e in entries] == [plan.plan_id]
    progress = entries[0].progress_info
    assert progress is not None
    assert (progress.status, progress.progress_percentage) == ("completed", 100)
    assert entries[0].user_info.is_user_completed_plan is True

    history = admin.learners.plan_history(learner.user_id, plan.plan_id, page_size=2).to_list()
    assert all(isinstance(e, HistoryEvent) for e in history)
    kinds = [e.kind for e in history]
    assert kinds[0] == "enrolled" and "plan_completed" in kinds
    assert kinds.count("course_progress") == 2
    assert [e.event_id for e in history] == sorted((e.event_id for e in history), key=int)
    assert all(e.time is not None and e.source == "api" for e in history)


def test_a_retried_write_is_applied_once(
    make_client: MakeClient, admin: Client, server: LiveServer, small_db: DemoDatabase
) -> None:
    tag = _unique()
    course = admin.courses.create(f"Retried {tag}")
    plan = admin.learning_plans.create(f"Retry plan {tag}")
    admin.learning_plans.set_courses(plan.plan_id, [PlanCourseSpec(course.course_id, 1, True)])
    admin.learning_plans.publish(plan.plan_id)
    learner = _new_learner(admin, tag)
    admin.learning_plans.enrol(plan.plan_id, [learner.user_id])

    # The first answer is lost after the server applied the write; the retry carries the
    # same Idempotency-Key, and the server answers it without applying it again.
    transport = FaultyTransport(drop=1)
    flaky = make_client(
        base_url=server.url,
        access_token=small_db.admin_token,
        transport=transport,
        sleep=lambda _: None,
    )
    recorded = flaky.courses.record_progress(
        course.course_id, learner.user_id, percentage=40, idempotency_key=f"key-{tag}"
    )
    assert recorded.completion_percentage == 40
    assert transport.statuses("course-progress") == [None, 200]
    assert {e.headers.get("idempotency-key") for e in transport.log} == {f"key-{tag}"}
    # The same key sent again by hand is answered as before, and applied once.
    assert (
        admin.courses.record_progress(
            course.course_id, learner.user_id, percentage=40, idempotency_key=f"key-{tag}"
        ).raw
        == recorded.raw
    )
    events = admin.learners.plan_history(learner.user_id, plan.plan_id).to_list()
    keyed = [e for e in events if e.idempotency_key == f"key-{tag}"]
    assert [e.kind for e in keyed] == ["course_progress"]
    assert keyed[0].after is not None


def test_errors_map_to_exceptions(admin: Client) -> None:
    tag = _unique()
    learner = _new_learner(admin, tag)
    with pytest.raises(ConflictError) as duplicate:
        _new_learner(admin, tag)  # the same email address and employee id
    assert (duplicate.value.status, duplicate.value.code) == (409, 7052)
    with pytest.raises(NotFoundError) as no_course:
        admin.courses.get(987_654_321)
    assert (no_course.value.status, no_course.value.code) == (404, 7049)
    with pytest.raises(NotFoundError) as no_learner:
        admin.learners.get(f"nobody-{tag}@mgmt.example")
    assert (no_learner.value.status, no_learner.value.code) == (404, 7048)
    with pytest.raises(ValidationError) as bad_name:
        admin.courses.create("   ")
    assert (bad_name.value.status, bad_name.value.code) == (400, 7204)
    course = admin.courses.create(f"Errors {tag}")
    with pytest.raises(ValidationError) as too_much:
        admin.courses.record_progress(course.course_id, learner.user_id, percentage=150)
    assert (too_much.value.status, too_much.value.code) == (400, 7204)
    with pytest.raises(NotFoundError) as not_enrolled:
        admin.courses.record_progress(course.course_id, learner.user_id, percentage=10)
    assert not_enrolled.value.code == 7049


def test_upsert_many_creates_then_updates_by_employee_id(admin: Client) -> None:
    tag = _unique()
    people = [
        {"employeeId": f"U-{tag}-2", "emailId": f"u2-{tag}@mgmt.example",
         "displayName": "Two", "managerEmployeeId": f"U-{tag}-1"},
        {"employeeId": f"U-{tag}-1", "emailId": f"u1-{tag}@mgmt.example",
         "displayName": "One", "role": "manager"},
    ]  # fmt: skip
    first = admin.learners.upsert_many(people)
    assert isinstance(first, LearnerUpsert)
    assert len(first.created) == 2 and first.updated == first.unchanged == ()
    two, one = first.learners
    assert (two.manager_id, one.role) == (one.user_id, "manager")
    renamed = [{**people[0], "displayName": "Two, renamed"}, people[1]]
    second = admin.learners.upsert_many(renamed, idempotency_key=f"upsert-{tag}")
    assert (second.updated, second.unchanged) == ((two.user_id,), (one.user_id,))
    assert second.learners[0].display_name == "Two, renamed"
    with pytest.raises(ConflictError) as loop:
        admin.learners.upsert_many([{**people[1], "managerEmployeeId": f"U-{tag}-2"}])
    assert any("reporting loop" in e["message"] for e in loop.value.errors)


def test_the_rest_of_the_lifecycle(admin: Client, small_db: DemoDatabase) -> None:
    tag = _unique()
    course = admin.courses.create(f"Lifecycle {tag}", duration=15)
    course = admin.courses.update(course.course_id, name=f"Renamed {tag}", clear_duration=True)
    assert (course.course_name, course.duration) == (f"Renamed {tag}", None)

    draft = admin.learning_plans.create(f"Draft {tag}", description="to delete")
    draft = admin.learning_plans.update(draft.plan_id, name=f"Draft 2 {tag}", duration=5)
    assert (draft.plan_info.plan_name, draft.plan_info.duration) == (f"Draft 2 {tag}", 5)
    assert draft.description == "to delete"
    assert admin.learning_plans.delete(draft.plan_id) == draft.plan_id
    with pytest.raises(NotFoundError):
        admin.learning_plans.get(draft.plan_id)

    plan = admin.learning_plans.create(f"Published {tag}")
    admin.learning_plans.set_courses(plan.plan_id, [PlanCourseSpec(course.course_id, 1, True)])
    admin.learning_plans.publish(plan.plan_id)
    with pytest.raises(ConflictError):
        admin.learning_plans.delete(plan.plan_id)  # published: disable it instead
    with pytest.raises(ConflictError):
        admin.courses.delete(course.course_id)  # a published plan uses it

    manager = _new_learner(admin, f"m{tag}")
    first, second = admin.learners.create_many(
        [
            {"emailId": f"a{tag}@mgmt.example", "displayName": "A", "employeeId": f"A-{tag}"},
            {
                "emailId": f"b{tag}@mgmt.example",
                "displayName": "B",
                "employeeId": f"B-{tag}",
                "managerId": manager.user_id,
            },
        ]
    )
    assert (first.manager_id, second.manager_id) == (None, manager.user_id)
    first = admin.learners.update(first.user_id, manager_id=manager.user_id, role="manager")
    assert (first.manager_id, first.role) == (manager.user_id, "manager")
    assert admin.learners.update(first.user_id, remove_manager=True).manager_id is None

    enrolment = admin.learning_plans.enrol(plan.plan_id, [second.user_id])
    joined = admin.learning_plans.join(plan.plan_id, second.user_id)
    assert (joined["planId"], joined["userId"]) == (plan.plan_id, second.user_id)
    assert enrolment.enrolled == (second.user_id,) and joined["planuserId"]
    unenrolled = admin.learning_plans.unenrol(plan.plan_id, second.user_id)
    assert unenrolled["userId"] == second.user_id
    assert admin.learners.learning_plans_progress(second.user_id).to_list() == []
    kinds = [e.kind for e in admin.learners.plan_history(second.user_id, plan.plan_id)]
    assert kinds[0] == "enrolled" and "joined" in kinds and kinds[-1] == "unenrolled"

    disabled = admin.learning_plans.disable(plan.plan_id)
    assert disabled.plan_info.disabled is True
    with pytest.raises(ConflictError):
        admin.learning_plans.enrol(plan.plan_id, [first.user_id])  # disabled

    gone = admin.learners.deactivate(first.user_id)
    assert gone.is_active is False
    inactive = {x.user_id for x in admin.learners.list(status="inactive", search=tag)}
    assert inactive == {first.user_id}
    with pytest.raises(ConflictError):
        admin.learners.deactivate(small_db.people.admin_id)  # not yourself


async def test_the_async_twin(app: Starlette, demo: DemoTokens) -> None:
    tag = _unique()
    async with AsyncClient(
        base_url="http://testserver",
        access_token=demo.admin_token,
        transport=httpx.ASGITransport(app=app),
    ) as client:
        course = await client.courses.create(f"Async {tag}")
        assert (await client.courses.get(course.course_id)) == course
        assert course.course_id in {c.course_id async for c in client.courses.list()}
        plan = await client.learning_plans.create(f"Async plan {tag}")
        await client.learning_plans.set_courses(
            plan.plan_id, [PlanCourseSpec(course.course_id, 1, True)]
        )
        plan = await client.learning_plans.publish(plan.plan_id)
        assert plan.plan_info.is_published
        learner = await client.learners.create(
            email_id=f"{tag}@async.example", display_name="Async", employee_id=f"AS-{tag}"
        )
        assert [x.user_id async for x in client.learners.list(search=tag)] == [learner.user_id]
        enrolment = await client.learning_plans.enrol(plan.plan_id, [learner.user_id])
        assert enrolment.enrolled == (learner.user_id,)
        done = await client.courses.record_progress(
            course.course_id, learner.user_id, percentage=100
        )
        assert done.completion_status == "completed"
        entries = await client.learners.learning_plans_progress(learner.user_id).to_list()
        assert entries[0].progress_info is not None
        assert entries[0].progress_info.status == "completed"
        history = await client.learners.plan_history(learner.user_id, plan.plan_id).to_list()
        assert "plan_completed" in [e.kind for e in history]
        with pytest.raises(NotFoundError):
            await client.learners.get(f"nobody-{tag}@async.example")
        with pytest.raises(ConflictError):
            await client.learning_plans.delete(plan.plan_id)
