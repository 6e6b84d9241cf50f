"""Known data for the read tests, written with the domain services (the path the API's writes
take), so every number a read answers can be worked out by hand."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lmsplans.demo import DemoTokens
from lmsplans.server.auth import service as auth_service
from lmsplans.server.auth.schemas import Role
from lmsplans.server.courses.service import create_course
from lmsplans.server.http import Services
from lmsplans.server.learners.service import create_learner
from lmsplans.server.plans.enrolments import enrol
from lmsplans.server.plans.service import PlanCourse, create_plan, publish_plan
from lmsplans.server.plans.service import set_plan_courses as set_courses
from lmsplans.server.progress.schemas import CourseStatus
from lmsplans.server.progress.service import set_course_progress
from lmsplans.server.writes import WriteContext

DAY_MS = 86_400_000
TEN_YEARS_S = 10 * 365 * 86_400

_serial = itertools.count(1)


@dataclass(frozen=True, slots=True)
class C:
    """A course of a plan to build: mandatory or not, its level, locked until the previous."""

    mandatory: bool
    level: int = 1
    locked: bool = False


@dataclass(frozen=True, slots=True)
class Plan:
    id: int
    course_ids: list[int]


def as_admin(demo: DemoTokens, now_ms: int) -> WriteContext:
    """A test's own write, made as the demo organisation's admin at `now_ms`."""
    return WriteContext(
        org_id=demo.people.org_id,
        actor_id=demo.people.admin_id,
        source="test",
        now_ms=now_ms,
        role=Role.ADMIN,
    )


async def long_token(
    services: Services, *, org_id: int, user_id: int, now_ms: int, scopes: str = ""
) -> str:
    """An access token that outlives any clock move a test makes."""
    async with services.db.transaction() as conn:
        issued = await auth_service.issue_access_token(
            conn,
            org_id=org_id,
            user_id=user_id,
            scopes=scopes or "ZOHOPEOPLE.training.ALL",
            now_ms=now_ms,
            ttl_seconds=TEN_YEARS_S,
        )
    return issued.access_token


async def admin_token(services: Services, demo: DemoTokens, now_ms: int) -> str:
    return await long_token(
        services, org_id=demo.people.org_id, user_id=demo.people.admin_id, now_ms=now_ms
    )


async def add_learner(
    services: Services,
    demo: DemoTokens,
    *,
    now_ms: int,
    manager_id: int | None = None,
    role: Role = Role.LEARNER,
) -> int:
    """A new learner of the demo organisation (reporting to the demo manager by default)."""
    n = next(_serial)
    async with services.db.transaction() as conn:
        return await create_learner(
            conn,
            write=as_admin(demo, now_ms),
            zuid=90_000_000 + n,
            employee_id=f"T{n:06d}",
            email=f"test.learner.{n}@zylker.example",
            display_name=f"Test Learner {n}",
            role=role,
            manager_id=manager_id or demo.people.manager_id,
        )


async def add_plan(
    services: Services,
    demo: DemoTokens,
    *,
    courses: Sequence[C],
    now_ms: int,
    duration: int = 30,
    duration_type: int = 0,
    publish: bool = True,
) -> Plan:
    """A plan of the demo organisation with new courses, in the order given."""
    n = next(_serial)
    write = as_admin(demo, now_ms)
    async with services.db.transaction() as conn:
        course_ids = [
            await create_course(
                conn,
                write=write,
                name=f"Test course {n}.{i}",
                course_type=1,
                duration_minutes=30,
            )
            for i in range(len(courses))
        ]
        plan_id = await create_plan(
            conn,
            write=write,
            name=f"Test plan {n}",
            owner_id=demo.people.admin_id,
            duration=duration,
            duration_type=duration_type,
            image="5",
        )
        await set_courses(
            conn,
            write=write,
            plan_id=plan_id,
            courses=[
                PlanCourse(cid, c.level, c.mandatory, c.locked)
                for cid, c in zip(course_ids, courses, strict=True)
            ],
        )
        if publish:
            await publish_plan(conn, write=write, plan_id=plan_id)
    return Plan(plan_id, course_ids)


async def set_plan_courses(
    services: Services, demo: DemoTokens, *, plan_id: int, courses: Sequence[tuple[int, C]]
) -> None:
    """The plan's courses replaced as they are written, without the enrolments that
    `PUT .../courses` adds: the reads must measure every enrolment against the plan now."""
    async with services.db.transaction() as conn:
        await set_courses(
            conn,
            write=as_admin(demo, 0),
            plan_id=plan_id,
            courses=[PlanCourse(cid, c.level, c.mandatory, c.locked) for cid, c in courses],
        )


async def enrol_learner(
    services: Services, demo: DemoTokens, *, plan_id: int, learner_id: int, enrolled_ms: int
) -> int:
    """Enrolled by the demo admin at `enrolled_ms`; answers the planuserId."""
    async with services.db.transaction() as conn:
        return await enrol(
            conn, write=as_admin(demo, enrolled_ms), plan_id=plan_id, learner_id=learner_id
        )


async def record(
    services: Services,
    demo: DemoTokens,
    *,
    learner_id: int,
    course_id: int,
    status: CourseStatus,
    at_ms: int,
    percentage: int | None = None,
) -> None:
    if percentage is None:
        percentage = 100 if status is CourseStatus.COMPLETED else 40
    async with services.db.transaction() as conn:
        await set_course_progress(
            conn,
            write=as_admin(demo, at_ms).on_behalf_of(learner_id),
            learner_id=learner_id,
            course_id=course_id,
            status=status,
            percentage=percentage,
            at_ms=at_ms,
        )


async def sql(services: Services, query: str, params: dict[str, Any] | None = None) -> list[Any]:
    """Rows straight from the database, to check the API against."""
    async with services.db.read() as conn:
        return await conn.fetch_all(query, params or {})


def is_decimal(value: Any) -> bool:
    return isinstance(value, str) and value.isascii() and value.isdigit()


def is_time(value: Any) -> bool:
    """Epoch milliseconds as a string, or the string "null"."""
    return value == "null" or is_decimal(value)


def assert_same_shape(actual: Any, sample: Any, path: str = "$") -> None:
    """Every key of `sample` at the same place in `actual`, with the same JSON type; strings
    keep the sample's kind (decimal id/count, time or "null", "false"/"true")."""
    if isinstance(sample, dict):
        assert isinstance(actual, dict), f"{path}: {actual!r} is not an object"
        for key, value in sample.items():
            assert key in actual, f"{path}.{key} is missing"
            assert_same_shape(actual[key], value, f"{path}.{key}")
    elif isinstance(sample, list):
        assert isinstance(actual, list), f"{path}: {actual!r} is not a list"
        assert actual, f"{path}: empty, nothing to compare"
        for i, item in enumerate(actual):
            assert_same_shape(item, sample[0], f"{path}[{i}]")
    elif isinstance(sample, bool):
        assert isinstance(actual, bool), f"{path}: {actual!r} is not a boolean"
    elif isinstance(sample, int):
        assert type(actual) is int, f"{path}: {actual!r} is not an integer"
    else:
        assert isinstance(sample, str)
        assert isinstance(actual, str), f"{path}: {actual!r} is not a string"
        if sample == "null":
            assert is_time(actual), f"{path}: {actual!r} is not a time string"
        elif sample in ("false", "true"):
            assert actual in ("false", "true"), f"{path}: {actual!r} is not 'false'/'true'"
        elif is_decimal(sample):
            assert is_decimal(actual), f"{path}: {actual!r} is not a decimal string"
