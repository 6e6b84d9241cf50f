"""Learning plans: creating, setting their courses, publishing, enrolling learners."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lmsplans.server.auth.schemas import Principal, Role
from lmsplans.server.db import Connection
from lmsplans.server.errors import Conflict, InvalidParameter, NoSuchRecord, PermissionDenied
from lmsplans.server.learners import service as learners
from lmsplans.server.learners.queries import Visibility
from lmsplans.server.plans.schemas import system_image_url
from lmsplans.server.progress import service as progress
from lmsplans.server.progress.events import append_event


def roster_visibility(principal: Principal, *, is_plan_admin: bool) -> Visibility:
    """Whom a plan's roster shows the caller: admins and the plan's admins everyone,
    managers their reportees and themselves; learners read no roster (403 9000)."""
    if is_plan_admin:
        return Visibility(principal.user_id, everyone=True)
    if principal.role is Role.LEARNER:
        raise PermissionDenied("Permission denied: only admins and managers read rosters")
    return learners.visibility(principal)


@dataclass(frozen=True, slots=True)
class PlanCourse:
    course_id: int
    level: int
    is_mandatory: bool
    is_locked: bool = False


async def create_plan(
    conn: Connection,
    *,
    org_id: int,
    name: str,
    owner_id: int,
    duration: int,
    duration_type: int,
    image: str,
    now_ms: int,
    description: str = "",
    plan_id: int | None = None,
) -> int:
    """A draft plan with a system image (`image` is the number of a built-in picture)."""
    return await conn.insert_row(
        "learning_plans",
        {
            "id": plan_id,
            "org_id": org_id,
            "name": name,
            "description": description,
            "image_is_system": True,
            "image": image,
            "image_url": system_image_url(image),
            "duration": duration,
            "duration_type": duration_type,
            "publish_state": 0,
            "disabled": False,
            "owner_id": owner_id,
            "created_time": now_ms,
            "modified_time": now_ms,
        },
    )


async def set_plan_courses(conn: Connection, *, plan_id: int, courses: list[PlanCourse]) -> None:
    await conn.execute("DELETE FROM plan_courses WHERE plan_id = :plan_id", {"plan_id": plan_id})
    await conn.execute_many(
        """INSERT INTO plan_courses (plan_id, course_id, level, is_mandatory, is_locked, position)
           VALUES (:plan_id, :course_id, :level, :is_mandatory, :is_locked, :position)""",
        [
            {
                "plan_id": plan_id,
                "course_id": c.course_id,
                "level": c.level,
                "is_mandatory": c.is_mandatory,
                "is_locked": c.is_locked,
                "position": position,
            }
            for position, c in enumerate(courses)
        ],
    )


async def add_plan_admin(conn: Connection, *, plan_id: int, learner_id: int) -> None:
    await conn.execute(
        "INSERT INTO plan_admins (plan_id, learner_id) VALUES (:plan_id, :learner_id)",
        {"plan_id": plan_id, "learner_id": learner_id},
    )


async def publish_plan(conn: Connection, *, plan_id: int, now_ms: int) -> None:
    """Publish a plan; it needs at least one mandatory course (409 7052 otherwise)."""
    mandatory = await conn.fetch_value(
        "SELECT count(*) FROM plan_courses WHERE plan_id = :plan_id AND is_mandatory",
        {"plan_id": plan_id},
    )
    if not mandatory:
        raise Conflict("Conflict: a plan needs at least one mandatory course to be published")
    await conn.execute(
        """UPDATE learning_plans SET publish_state = 1, published_time = :now, modified_time = :now
            WHERE id = :plan_id""",
        {"plan_id": plan_id, "now": now_ms},
    )


async def enrol(
    conn: Connection,
    *,
    org_id: int,
    plan_id: int,
    learner_id: int,
    enrolled_by: int | None,
    now_ms: int,
    source: str,
    planuser_id: int | None = None,
    idempotency_key: str | None = None,
) -> int:
    """Enrol a learner in a plan and in each of its courses (not started), with events.

    Enrolled by an admin, the learner has not joined yet; enrolled by themself, they have.
    A learner unenrolled earlier is enrolled again on the same record (its history stays);
    a completion is kept (completion is sticky). Answers the enrolment id (planuserId).
    """
    await conn.lock(learner_id)
    joined = enrolled_by == learner_id
    previous = await conn.fetch_one(
        """SELECT id, is_completed, completed_time FROM plan_enrolments
            WHERE plan_id = :plan_id AND learner_id = :learner_id""",
        {"plan_id": plan_id, "learner_id": learner_id},
    )
    state = {
        "enrolledTime": now_ms,
        "isJoined": joined,
        "joinedTime": now_ms if joined else None,
        "isCompleted": bool(previous["is_completed"]) if previous else False,
        "completedTime": previous["completed_time"] if previous else None,
    }
    params = {
        "org_id": org_id,
        "plan_id": plan_id,
        "learner_id": learner_id,
        "now": now_ms,
        "enrolled_by": enrolled_by,
        "joined": joined,
        "joined_time": state["joinedTime"],
    }
    if previous is None:
        enrolment_id = await conn.insert_row(
            "plan_enrolments",
            {
                "id": planuser_id,
                "org_id": org_id,
                "plan_id": plan_id,
                "learner_id": learner_id,
                "user_type": 1,
                "enrolled_time": now_ms,
                "enrolled_by": enrolled_by,
                "is_joined": joined,
                "joined_time": state["joinedTime"],
                "is_completed": False,
            },
        )
    else:
        enrolment_id = previous["id"]
        await conn.execute(
            """UPDATE plan_enrolments
                  SET enrolled_time = :now, enrolled_by = :enrolled_by, is_joined = :joined,
                      joined_time = :joined_time, unenrolled_time = NULL
                WHERE id = :id""",
            {"id": enrolment_id, **params},
        )
    await append_event(
        conn,
        org_id=org_id,
        learner_id=learner_id,
        plan_id=plan_id,
        kind="enrolled",
        actor_id=enrolled_by,
        source=source,
        before=None,
        after={"planuserId": enrolment_id, **state},
        now_ms=now_ms,
        idempotency_key=idempotency_key,
    )
    await progress.enrol_in_plan_courses(
        conn,
        org_id=org_id,
        plan_id=plan_id,
        learner_id=learner_id,
        now_ms=now_ms,
        source=source,
        actor_id=enrolled_by,
    )
    # Courses the learner completed before may already complete the plan.
    await progress.complete_finished_plans(
        conn, org_id=org_id, learner_id=learner_id, source=source, now_ms=now_ms, plan_id=plan_id
    )
    return enrolment_id


async def unenrol(
    conn: Connection,
    *,
    org_id: int,
    plan_id: int,
    learner_id: int,
    actor_id: int | None,
    source: str,
    now_ms: int,
    idempotency_key: str | None = None,
) -> None:
    """Take a learner out of a plan. The enrolment, its progress and history are kept."""
    await conn.lock(learner_id)
    changed = await conn.execute(
        """UPDATE plan_enrolments SET unenrolled_time = :now
            WHERE plan_id = :plan_id AND learner_id = :learner_id AND unenrolled_time IS NULL""",
        {"plan_id": plan_id, "learner_id": learner_id, "now": now_ms},
    )
    if not changed:
        raise NoSuchRecord("No record for the given id: the learner is not in this plan")
    await append_event(
        conn,
        org_id=org_id,
        learner_id=learner_id,
        plan_id=plan_id,
        kind="unenrolled",
        actor_id=actor_id,
        source=source,
        before={"unenrolledTime": None},
        after={"unenrolledTime": now_ms},
        now_ms=now_ms,
        idempotency_key=idempotency_key,
    )


# --- Management ------------------------------------------------------------------------------


async def set_plan_admins(conn: Connection, *, plan_id: int, learner_ids: list[int]) -> None:
    await conn.execute("DELETE FROM plan_admins WHERE plan_id = :plan_id", {"plan_id": plan_id})
    for learner_id in dict.fromkeys(learner_ids):
        await add_plan_admin(conn, plan_id=plan_id, learner_id=learner_id)


async def update_plan(
    conn: Connection, *, plan_id: int, changes: dict[str, Any], now_ms: int
) -> None:
    """Change plan columns (already validated; keys are column names); always touches
    `modified_time`."""
    await conn.update_row("learning_plans", plan_id, changes, now_ms=now_ms)


async def delete_draft(conn: Connection, *, plan: Any) -> None:
    """Delete a draft plan. Published plans keep their history: disable them instead."""
    if plan["publish_state"] == 1:
        raise Conflict("Conflict: a published plan cannot be deleted; disable it instead")
    for table in ("plan_courses", "plan_admins"):
        await conn.execute(f"DELETE FROM {table} WHERE plan_id = :id", {"id": plan["plan_id"]})
    await conn.execute("DELETE FROM learning_plans WHERE id = :id", {"id": plan["plan_id"]})


async def replace_plan_courses(
    conn: Connection,
    *,
    org_id: int,
    plan: Any,
    courses: list[PlanCourse],
    actor_id: int,
    source: str,
    now_ms: int,
) -> None:
    """Set the plan's courses. Enrolled learners are enrolled in courses new to them, and
    incomplete enrolments are measured against the plan as it now is (they may complete);
    completed ones stay completed."""
    plan_id = plan["plan_id"]
    seen: set[int] = set()
    for index, course in enumerate(courses):
        if course.course_id in seen:
            raise InvalidParameter(f"courses.{index}.courseId", "appears twice")
        seen.add(course.course_id)
        found = await conn.fetch_value(
            """SELECT id FROM courses
                WHERE id = :id AND org_id = :org_id AND deleted_time IS NULL""",
            {"id": course.course_id, "org_id": org_id},
        )
        if found is None:
            raise NoSuchRecord(
                f"No record for the given id: no such course {course.course_id}",
                errors=[{"field": f"courses.{index}.courseId", "message": "no such course"}],
            )
    if plan["publish_state"] == 1 and not any(course.is_mandatory for course in courses):
        raise Conflict("Conflict: a published plan needs at least one mandatory course")
    await set_plan_courses(conn, plan_id=plan_id, courses=courses)
    await update_plan(conn, plan_id=plan_id, changes={}, now_ms=now_ms)
    enrolled = await conn.fetch_all(
        """SELECT learner_id FROM plan_enrolments
            WHERE plan_id = :plan_id AND unenrolled_time IS NULL ORDER BY id""",
        {"plan_id": plan_id},
    )
    for learner_id in sorted(row["learner_id"] for row in enrolled):  # ascending: no deadlock
        await conn.lock(learner_id)
    for row in enrolled:
        await progress.enrol_in_plan_courses(
            conn,
            org_id=org_id,
            plan_id=plan_id,
            learner_id=row["learner_id"],
            now_ms=now_ms,
            source=source,
            actor_id=actor_id,
        )
        await progress.complete_finished_plans(
            conn,
            org_id=org_id,
            learner_id=row["learner_id"],
            source=source,
            now_ms=now_ms,
            plan_id=plan_id,
        )


def ensure_open_for_enrolment(plan: Any) -> None:
    if plan["publish_state"] != 1:
        raise Conflict("Conflict: learners can only be enrolled in a published plan")
    if plan["disabled"]:
        raise Conflict("Conflict: the plan is disabled")


async def active_enrolment(conn: Connection, *, plan_id: int, learner_id: int) -> Any:
    return await conn.fetch_one(
        """SELECT id, is_joined FROM plan_enrolments
            WHERE plan_id = :plan_id AND learner_id = :learner_id AND unenrolled_time IS NULL""",
        {"plan_id": plan_id, "learner_id": learner_id},
    )


async def join_plan(
    conn: Connection,
    *,
    org_id: int,
    plan: Any,
    learner_id: int,
    actor_id: int,
    source: str,
    now_ms: int,
    idempotency_key: str | None = None,
) -> int:
    """The learner joins: enrolled by themself when not yet enrolled (joined at once),
    or joined now when an admin had enrolled them. Joining twice changes nothing."""
    await conn.lock(learner_id)
    current = await active_enrolment(conn, plan_id=plan["plan_id"], learner_id=learner_id)
    if current is not None:
        if not current["is_joined"]:
            await progress.join_enrolment(
                conn,
                org_id=org_id,
                learner_id=learner_id,
                plan_id=plan["plan_id"],
                enrolment_id=current["id"],
                actor_id=actor_id,
                source=source,
                at_ms=now_ms,
                now_ms=now_ms,
                idempotency_key=idempotency_key,
            )
        return int(current["id"])
    ensure_open_for_enrolment(plan)
    return await enrol(
        conn,
        org_id=org_id,
        plan_id=plan["plan_id"],
        learner_id=learner_id,
        enrolled_by=learner_id,
        now_ms=now_ms,
        source=source,
        idempotency_key=idempotency_key,
    )
