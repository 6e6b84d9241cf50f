"""Learning plans: creating and managing them, and setting their courses (enrolling
learners in them: `plans.enrolments`).

The writes the API asks for (`create_draft`, `update_plan`, ..., `replace_plan_courses`)
check who may make them and take the locks they need; the ones below them (`create_plan`,
`set_plan_courses`, `add_plan_admin`) only write, and serve a seed or a test as well.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lmsplans.server.auth.schemas import Principal, Role
from lmsplans.server.db import Connection, Row, lock_key
from lmsplans.server.errors import (
    Conflict,
    InvalidParameter,
    NoSuchRecord,
    PermissionDenied,
)
from lmsplans.server.learners import service as learners
from lmsplans.server.learners.queries import Visibility, resolve_learners
from lmsplans.server.plans.queries import is_plan_admin, plan_admin_ids, plan_row
from lmsplans.server.plans.schemas import PlanIn, PlanPatch, system_image_url
from lmsplans.server.progress import service as progress
from lmsplans.server.wire import zoho_str
from lmsplans.server.writes import WriteContext


def roster_visibility(principal: Principal, *, is_plan_admin: bool) -> Visibility:
    """Whom a plan's roster shows the caller: admins and the plan's admins everyone,
    managers their reportees and themselves; learners read no roster (403 9000)."""
    if is_plan_admin:
        return Visibility(principal.user_id, everyone=True)
    if principal.role is Role.LEARNER:
        raise PermissionDenied("Permission denied: only admins and managers read rosters")
    return learners.visibility(principal)


async def reader_visibility(conn: Connection, principal: Principal, *, plan_id: int) -> Visibility:
    """Whom the plan's roster shows `principal` (`roster_visibility`); 404 7049 when the
    organisation has no such plan."""
    is_admin = await is_plan_admin(
        conn, org_id=principal.org_id, plan_id=plan_id, learner_id=principal.user_id
    )
    return roster_visibility(principal, is_plan_admin=is_admin)


def ensure_can_read_plan(principal: Principal, plan: Row) -> None:
    """Drafts are visible to admins only: anyone else is told there is no such plan."""
    if plan["publish_state"] != 1 and principal.role is not Role.ADMIN:
        raise NoSuchRecord("No record for the given id: no such learning plan")


@dataclass(frozen=True, slots=True)
class PlanCourse:
    course_id: int
    level: int
    is_mandatory: bool
    is_locked: bool = False


# --- The writes the API asks for ------------------------------------------------------------


async def managed_plan(conn: Connection, write: WriteContext, plan_id: int) -> Row:
    """The plan, for an admin of the organisation or of the plan. Its changes are
    serialised: one management write per plan at a time."""
    await conn.lock(lock_key("plan", plan_id))
    plan = await plan_row(conn, org_id=write.org_id, plan_id=plan_id)
    if not write.by_admin and write.actor_id not in (
        await plan_admin_ids(conn, plan_id=plan["plan_id"])
    ):
        raise PermissionDenied("Permission denied: only admins and plan admins manage a plan")
    return plan


async def create_draft(
    conn: Connection, *, write: WriteContext, data: PlanIn, plan_id: int | None = None
) -> int:
    """A draft plan owned by the writer, with the plan admins `data` names."""
    admins = await resolve_learners(
        conn, org_id=write.org_id, refs=data.planAdmins, field="planAdmins"
    )
    assert write.actor_id is not None, "a plan has an owner"
    plan_id = await create_plan(
        conn,
        write=write,
        name=data.planName,
        description=data.description,
        owner_id=write.actor_id,
        duration=data.duration,
        duration_type=data.durationType,
        image=data.image,
        plan_id=plan_id,
    )
    await _set_plan_admins(conn, plan_id=plan_id, learner_ids=admins)
    write.changes.touch("plan", plan_id)
    return plan_id


_PLAN_COLUMNS = {
    "planName": "name",
    "description": "description",
    "duration": "duration",
    "durationType": "duration_type",
    "disabled": "disabled",
}


async def update_plan(
    conn: Connection, *, write: WriteContext, plan_id: int, patch: PlanPatch
) -> None:
    """Change what `patch` names (`planAdmins` replaces the plan admins); absent fields
    stay as they are, and none may be set to null."""
    plan = await managed_plan(conn, write, plan_id)
    changes: dict[str, Any] = {}
    changed: dict[str, Any] = {}  # the event's: the fields by the API's names, ids as strings
    for field in patch.model_fields_set:
        value = getattr(patch, field)
        if value is None:
            raise InvalidParameter(field, "may not be null")
        if field in _PLAN_COLUMNS:
            changes[_PLAN_COLUMNS[field]] = changed[field] = value
        elif field == "image":
            changes.update(image=value, image_is_system=True, image_url=system_image_url(value))
            changed[field] = value
    if patch.planAdmins is not None:
        admins = await resolve_learners(
            conn, org_id=write.org_id, refs=patch.planAdmins, field="planAdmins"
        )
        await _set_plan_admins(conn, plan_id=plan["plan_id"], learner_ids=admins)
        changed["planAdmins"] = [zoho_str(admin) for admin in admins]
    await conn.update_row("learning_plans", plan["plan_id"], changes, now_ms=write.now_ms)
    disabling = changes.get("disabled") is True and not plan["disabled"]
    write.changes.event(
        "plan.disabled" if disabling else "plan.updated",
        plan_id=plan["plan_id"],
        data={"changed": changed},
    )


async def delete_plan(conn: Connection, *, write: WriteContext, plan_id: int) -> None:
    """Delete a draft plan. Published plans keep their history: disable them instead."""
    plan = await managed_plan(conn, write, plan_id)
    if plan["publish_state"] == 1:
        raise Conflict("Conflict: a published plan cannot be deleted; disable it instead")
    for table in ("plan_courses", "plan_removed_courses", "plan_admins"):
        await conn.execute(f"DELETE FROM {table} WHERE plan_id = :id", {"id": plan["plan_id"]})
    await conn.execute("DELETE FROM learning_plans WHERE id = :id", {"id": plan["plan_id"]})
    write.changes.event("plan.deleted", plan_id=plan["plan_id"])


async def publish_plan(conn: Connection, *, write: WriteContext, plan_id: int) -> None:
    """Publish a plan (publishing it again changes nothing); it needs at least one
    mandatory course (409 7052 otherwise)."""
    plan = await managed_plan(conn, write, plan_id)
    if plan["publish_state"] == 1:
        return
    mandatory = await conn.fetch_value(
        "SELECT count(*) FROM plan_courses WHERE plan_id = :plan_id AND is_mandatory",
        {"plan_id": plan_id},
    )
    if not mandatory:
        raise Conflict("Conflict: a plan needs at least one mandatory course to be published")
    await conn.execute(
        """UPDATE learning_plans SET publish_state = 1, published_time = :now, modified_time = :now
            WHERE id = :plan_id""",
        {"plan_id": plan_id, "now": write.now_ms},
    )
    write.changes.event("plan.published", plan_id=plan_id, data={"publishedTime": write.now_ms})


async def disable_plan(conn: Connection, *, write: WriteContext, plan_id: int) -> None:
    """No new enrolments; the enrolments and their history stay."""
    plan = await managed_plan(conn, write, plan_id)
    await conn.update_row(
        "learning_plans", plan["plan_id"], {"disabled": True}, now_ms=write.now_ms
    )
    write.changes.event("plan.disabled", plan_id=plan["plan_id"])


async def replace_plan_courses(
    conn: Connection, *, write: WriteContext, plan_id: int, courses: list[PlanCourse]
) -> None:
    """Set the plan's courses. Enrolled learners are enrolled in courses new to them, and
    incomplete enrolments are measured against the plan as it now is (they may complete);
    completed ones stay completed."""
    plan = await managed_plan(conn, write, plan_id)
    seen: set[int] = set()
    for index, course in enumerate(courses):
        if course.course_id in seen:
            raise InvalidParameter(f"courses.{index}.courseId", "appears twice")
        seen.add(course.course_id)
        found = await conn.fetch_value(
            """SELECT id FROM courses
                WHERE id = :id AND org_id = :org_id AND deleted_time IS NULL""",
            {"id": course.course_id, "org_id": write.org_id},
        )
        if found is None:
            raise NoSuchRecord(
                f"No record for the given id: no such course {course.course_id}",
                errors=[{"field": f"courses.{index}.courseId", "message": "no such course"}],
            )
    if plan["publish_state"] == 1 and not any(course.is_mandatory for course in courses):
        raise Conflict("Conflict: a published plan needs at least one mandatory course")
    await set_plan_courses(conn, write=write, plan_id=plan_id, courses=courses)
    await conn.update_row("learning_plans", plan_id, {}, now_ms=write.now_ms)
    write.changes.event(
        "plan.updated",
        plan_id=plan_id,
        data={"changed": {"courses": [zoho_str(course.course_id) for course in courses]}},
    )
    enrolled = await conn.fetch_all(
        """SELECT learner_id FROM plan_enrolments
            WHERE plan_id = :plan_id AND unenrolled_time IS NULL ORDER BY id""",
        {"plan_id": plan_id},
    )
    for learner_id in sorted(row["learner_id"] for row in enrolled):  # ascending: no deadlock
        await conn.lock(learner_id)
    for row in enrolled:
        await progress.enrol_in_plan_courses(
            conn, write=write, plan_id=plan_id, learner_id=row["learner_id"]
        )
        await progress.complete_finished_plans(
            conn, write=write, learner_id=row["learner_id"], plan_id=plan_id
        )


# --- The writes below them: no permission to check ------------------------------------------


async def create_plan(
    conn: Connection,
    *,
    write: WriteContext,
    name: str,
    owner_id: int,
    duration: int,
    duration_type: int,
    image: str,
    description: str = "",
    plan_id: int | None = None,
) -> int:
    """A draft plan with a system image (`image` is the number of a built-in picture)."""
    created = await conn.insert_row(
        "learning_plans",
        {
            "id": plan_id,
            "org_id": write.org_id,
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
            "created_time": write.now_ms,
            "modified_time": write.now_ms,
        },
    )
    write.changes.touch("plan", created)
    write.changes.touch_org("plans")
    return created


async def set_plan_courses(
    conn: Connection, *, write: WriteContext, plan_id: int, courses: Sequence[PlanCourse]
) -> None:
    """Replace the plan's courses, in order. The courses it loses are kept as removed from
    it (`plan_removed_courses`: the plan's history keeps their events)."""
    write.changes.touch("plan", plan_id)
    write.changes.touch_org("plans")
    params = {"plan_id": plan_id}
    await conn.execute(
        """INSERT INTO plan_removed_courses (plan_id, course_id)
           SELECT plan_id, course_id FROM plan_courses WHERE plan_id = :plan_id
           ON CONFLICT DO NOTHING""",
        params,
    )
    await conn.execute("DELETE FROM plan_courses WHERE plan_id = :plan_id", params)
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
    await conn.execute(
        """DELETE FROM plan_removed_courses WHERE plan_id = :plan_id
              AND course_id IN (SELECT course_id FROM plan_courses WHERE plan_id = :plan_id)""",
        params,
    )


async def add_plan_admin(
    conn: Connection, *, write: WriteContext, plan_id: int, learner_id: int
) -> None:
    write.changes.touch("plan", plan_id)
    write.changes.touch_org("plans")
    await conn.execute(
        "INSERT INTO plan_admins (plan_id, learner_id) VALUES (:plan_id, :learner_id)",
        {"plan_id": plan_id, "learner_id": learner_id},
    )


async def _set_plan_admins(conn: Connection, *, plan_id: int, learner_ids: list[int]) -> None:
    """Replace the plan's admins (its callers record the change)."""
    await conn.execute("DELETE FROM plan_admins WHERE plan_id = :plan_id", {"plan_id": plan_id})
    for learner_id in dict.fromkeys(learner_ids):
        await conn.execute(
            "INSERT INTO plan_admins (plan_id, learner_id) VALUES (:plan_id, :learner_id)",
            {"plan_id": plan_id, "learner_id": learner_id},
        )
