"""The demo seed: an organisation with realistic learners, courses, plans and varied
progress, and a second one to show isolation (`lmsplans demo`, and the tests' data).

Built once: running it again finds the organisation and only mints fresh access tokens.
Everything goes through the domain services, so the demo obeys the same progress rules and
writes the same history as the API does. Not server code: the server never imports it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from lmsplans.demo.data import (
    COURSES,
    DEMO_ORG,
    DRAFT_PLAN,
    FIRST_NAMES,
    LAST_NAMES,
    OTHER_ORG,
    OTHER_ORG_COURSES,
    OTHER_ORG_PLAN,
    PLANS,
    PlanSpec,
)
from lmsplans.server.auth import service as auth
from lmsplans.server.auth.schemas import Role
from lmsplans.server.courses.service import create_course
from lmsplans.server.db import Connection, Database
from lmsplans.server.learners.queries import organisation_named, resolve_learner
from lmsplans.server.learners.service import create_learner, create_organisation
from lmsplans.server.plans.enrolments import enrol
from lmsplans.server.plans.service import (
    PlanCourse,
    add_plan_admin,
    create_plan,
    publish_plan,
    set_plan_courses,
)
from lmsplans.server.progress.schemas import CourseStatus
from lmsplans.server.progress.service import set_course_progress
from lmsplans.server.writes import WriteContext

_DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class DemoPeople:
    """Who the demo's tokens belong to."""

    org_id: int
    admin_id: int
    manager_id: int
    learner_id: int
    other_org_learner_id: int


@dataclass(frozen=True, slots=True)
class DemoTokens:
    people: DemoPeople
    admin_token: str
    manager_token: str
    learner_token: str


async def build_demo(
    db: Database, *, now_ms: int, learners: int = 1200, seed: int = 2026
) -> DemoPeople:
    """The demo organisations, created on the first call and found on every later one."""
    async with db.transaction() as conn:
        existing = await _find(conn)
        if existing is not None:
            return existing
        rng = random.Random(seed)
        people = await _build_org(conn, rng=rng, now_ms=now_ms, learners=learners)
        other = await _build_other_org(conn, rng=rng, now_ms=now_ms)
        return DemoPeople(
            people.org_id, people.admin_id, people.manager_id, people.learner_id, other
        )


async def mint_demo_tokens(
    db: Database, *, people: DemoPeople, now_ms: int, ttl_seconds: int
) -> DemoTokens:
    """Fresh access tokens for the demo's admin (ALL), manager (READ) and learner (ALL)."""
    tokens: list[str] = []
    async with db.transaction() as conn:
        for user_id, scopes in (
            (people.admin_id, "ZOHOPEOPLE.training.ALL"),
            (people.manager_id, "ZOHOPEOPLE.training.READ"),
            (people.learner_id, "ZOHOPEOPLE.training.ALL"),
        ):
            issued = await auth.issue_access_token(
                conn,
                org_id=people.org_id,
                user_id=user_id,
                scopes=scopes,
                now_ms=now_ms,
                ttl_seconds=ttl_seconds,
            )
            tokens.append(issued.access_token)
    return DemoTokens(people, *tokens)


async def _find(conn: Connection) -> DemoPeople | None:
    org_id = await organisation_named(conn, name=DEMO_ORG)
    if org_id is None:
        return None
    other_org_id = await organisation_named(conn, name=OTHER_ORG)
    assert other_org_id is not None, "the demo's second organisation is missing"

    async def by_email(org: int, email: str) -> int:
        return (await resolve_learner(conn, org_id=org, learner_ref=email)).id

    return DemoPeople(
        org_id=org_id,
        admin_id=await by_email(org_id, "admin@zylker.example"),
        manager_id=await by_email(org_id, "manager@zylker.example"),
        learner_id=await by_email(org_id, "learner@zylker.example"),
        other_org_learner_id=await by_email(other_org_id, "learner@acme.example"),
    )


def _as_admin(org_id: int, admin_id: int, now_ms: int) -> WriteContext:
    """How the seed writes: as the organisation's admin, from `demo`."""
    return WriteContext(org_id, admin_id, "demo", now_ms, Role.ADMIN)


async def _build_org(
    conn: Connection, *, rng: random.Random, now_ms: int, learners: int
) -> DemoPeople:
    org_id = await create_organisation(conn, name=DEMO_ORG, now_ms=now_ms - 400 * _DAY_MS)
    base_id = 100002000000040600
    created = now_ms - 365 * _DAY_MS
    seed = _as_admin(org_id, base_id, created)  # the first learner it creates

    async def person(index: int, email: str, name: str, role: Role, manager_id: int | None) -> int:
        return await create_learner(
            conn,
            write=seed,
            learner_id=base_id + index * 7,
            zuid=60_010_000 + index,
            employee_id=f"ZY{index:05d}",
            email=email,
            display_name=name,
            role=role,
            manager_id=manager_id,
        )

    admin_id = await person(0, "admin@zylker.example", "Priya Sharma", Role.ADMIN, None)
    manager_count = max(2, learners // 25)
    managers = [await person(1, "manager@zylker.example", "Daniel Okafor", Role.MANAGER, admin_id)]
    for index in range(2, manager_count + 1):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email = f"{first}.{last}.{index}@zylker.example".lower()
        managers.append(await person(index, email, f"{first} {last}", Role.MANAGER, admin_id))
    learner_id = await person(
        manager_count + 1, "learner@zylker.example", "Hana Nakamura", Role.LEARNER, managers[0]
    )
    staff = [learner_id]
    for index in range(manager_count + 2, learners):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email = f"{first}.{last}.{index}@zylker.example".lower()
        # The first manager gets a team of a dozen, the rest are spread over all managers.
        manager = managers[0] if index < manager_count + 14 else rng.choice(managers)
        staff.append(await person(index, email, f"{first} {last}", Role.LEARNER, manager))

    course_ids = [
        await create_course(
            conn,
            write=seed,
            course_id=100002000000045000 + i * 11,
            name=name,
            course_type=1 + i % 3,
            duration_minutes=30 + (i * 17) % 150,
        )
        for i, name in enumerate(COURSES)
    ]
    plan_ids = []
    for i, spec in enumerate(PLANS):
        day = seed.at(created + i * _DAY_MS)
        plan_id = await _plan(
            conn,
            day,
            spec,
            course_ids,
            plan_id=100002000000046100 + i * 67,
            description=f"{spec.name}: a Zylker learning plan.",
        )
        await add_plan_admin(conn, write=day, plan_id=plan_id, learner_id=admin_id)
        await publish_plan(conn, write=day, plan_id=plan_id)
        plan_ids.append(plan_id)
    await _plan(conn, seed.at(now_ms - 3 * _DAY_MS), DRAFT_PLAN, course_ids)

    # The demo learner sees every state: completed, in progress, not started, and overdue.
    plans_of: dict[int, list[tuple[int, str, int]]] = {
        learner_id: [(0, "complete", 20), (1, "partial", 80), (3, "none", 5), (5, "partial", 100)]
    }
    for who in [*managers, *staff[1:]]:
        plans_of[who] = [
            (
                plan_index,
                rng.choices(["complete", "partial", "none"], weights=[3, 4, 3])[0],
                rng.randint(1, 150),
            )
            for plan_index in rng.sample(range(len(PLANS)), rng.randint(2, 5))
        ]
    # Zoho-like planuserIds: SQLite numbers the rows after the first one.
    planuser_id: int | None = 100002000000046189
    completed: set[tuple[int, int]] = set()  # (learner, course): stays completed
    for who, enrolments in plans_of.items():
        # Oldest enrolment first, so a course shared by two plans is completed in the first.
        for plan_index, profile, days_ago in sorted(enrolments, key=lambda e: -e[2]):
            await _enrol_with_progress(
                conn,
                rng,
                seed=seed,
                plan_id=plan_ids[plan_index],
                spec=PLANS[plan_index],
                course_ids=course_ids,
                learner_id=who,
                enrolled_ms=now_ms - days_ago * _DAY_MS,
                profile=profile,
                now_ms=now_ms,
                planuser_id=planuser_id,
                completed=completed,
            )
            planuser_id = None
    return DemoPeople(org_id, admin_id, managers[0], learner_id, 0)


async def _plan(
    conn: Connection,
    write: WriteContext,
    spec: PlanSpec,
    course_ids: list[int],
    *,
    plan_id: int | None = None,
    description: str = "",
) -> int:
    """A plan laid out as `spec` says (its courses indexes into `course_ids`), owned by the
    writer; answers its id."""
    assert write.actor_id is not None, "a plan has an owner"
    new_id = await create_plan(
        conn,
        write=write,
        plan_id=plan_id,
        name=spec.name,
        description=description,
        owner_id=write.actor_id,
        duration=spec.duration,
        duration_type=spec.duration_type,
        image=spec.image,
    )
    courses = [PlanCourse(course_ids[c], level, *flags) for c, level, *flags in spec.courses]
    await set_plan_courses(conn, write=write, plan_id=new_id, courses=courses)
    return new_id


async def _enrol_with_progress(
    conn: Connection,
    rng: random.Random,
    *,
    seed: WriteContext,
    plan_id: int,
    spec: PlanSpec,
    course_ids: list[int],
    learner_id: int,
    enrolled_ms: int,
    profile: str,
    now_ms: int,
    planuser_id: int | None,
    completed: set[tuple[int, int]],
) -> None:
    """Enrolled by the admin at `enrolled_ms`, with the learner's progress since then: all
    courses (`complete`), some (`partial`: the last of them in progress) or none. A course
    the learner completed in an earlier plan stays completed."""
    await enrol(
        conn,
        write=seed.at(enrolled_ms),
        plan_id=plan_id,
        learner_id=learner_id,
        planuser_id=planuser_id,
    )
    if profile == "none":
        return
    courses = [course_ids[c] for c, _, _, _ in spec.courses]
    if profile == "partial":
        courses = courses[: rng.randint(1, max(1, len(courses) - 2))]
    span = max(1, (now_ms - enrolled_ms) // len(courses))
    at = enrolled_ms
    for n, course_id in enumerate(courses):
        at += rng.randint(span // 4, span) if span > 4 else 1
        last_partial = profile == "partial" and n == len(courses) - 1
        status = CourseStatus.IN_PROGRESS if last_partial else CourseStatus.COMPLETED
        percentage = rng.randint(10, 90) if last_partial else 100
        if (learner_id, course_id) in completed:
            continue
        if status is CourseStatus.COMPLETED:
            completed.add((learner_id, course_id))
        await set_course_progress(
            conn,
            write=seed.at(min(at, now_ms)).on_behalf_of(learner_id),
            learner_id=learner_id,
            course_id=course_id,
            status=status,
            percentage=percentage,
            at_ms=min(at, now_ms),
        )


async def _build_other_org(conn: Connection, *, rng: random.Random, now_ms: int) -> int:
    """A second organisation, so isolation can be seen: its learners are invisible to Zylker."""
    org_id = await create_organisation(conn, name=OTHER_ORG, now_ms=now_ms - 200 * _DAY_MS)
    created = now_ms - 180 * _DAY_MS
    admin_id = 100003000000010007
    seed = _as_admin(org_id, admin_id, created)
    await create_learner(
        conn,
        write=seed,
        learner_id=admin_id,
        zuid=70_020_000,
        employee_id="AC00000",
        email="admin@acme.example",
        display_name="Ines Costa",
        role=Role.ADMIN,
        manager_id=None,
    )
    learner_ids = [
        await create_learner(
            conn,
            write=seed,
            learner_id=admin_id + i * 5,
            zuid=70_020_000 + i,
            employee_id=f"AC{i:05d}",
            email="learner@acme.example" if i == 1 else f"learner{i}@acme.example",
            display_name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
            role=Role.LEARNER,
            manager_id=admin_id,
        )
        for i in range(1, 51)
    ]
    course_ids = [
        await create_course(conn, write=seed, name=name, course_type=1, duration_minutes=45)
        for name in OTHER_ORG_COURSES
    ]
    plan_id = await _plan(conn, seed, OTHER_ORG_PLAN, course_ids)
    await publish_plan(conn, write=seed, plan_id=plan_id)
    for who in learner_ids:
        enrolled = seed.at(created + rng.randint(0, 100) * _DAY_MS)
        await enrol(conn, write=enrolled, plan_id=plan_id, learner_id=who)
    return learner_ids[0]
