"""Course writes: create, update, delete."""

from __future__ import annotations

from typing import Any

from lmsplans.server.courses.queries import course_row
from lmsplans.server.courses.schemas import CoursePatch
from lmsplans.server.db import Connection, Row
from lmsplans.server.errors import Conflict, InvalidParameter
from lmsplans.server.writes import WriteContext


async def create_course(
    conn: Connection,
    *,
    write: WriteContext,
    name: str,
    course_type: int,
    duration_minutes: int | None,
    course_id: int | None = None,
) -> int:
    """A course of the writer's organisation; answers its id."""
    return await conn.insert_row(
        "courses",
        {
            "id": course_id,
            "org_id": write.org_id,
            "name": name,
            "course_type": course_type,
            "duration_minutes": duration_minutes,
            "created_time": write.now_ms,
            "modified_time": write.now_ms,
        },
    )


async def update_course(
    conn: Connection, *, write: WriteContext, course_id: int, patch: CoursePatch
) -> None:
    """Change what `patch` names (404 7049 for no such course); `duration` alone may be
    set to null."""
    await course_row(conn, org_id=write.org_id, course_id=course_id)
    changes: dict[str, Any] = {}
    for field, column in (
        ("courseName", "name"),
        ("courseType", "course_type"),
        ("duration", "duration_minutes"),
    ):
        if field in patch.model_fields_set:
            value = getattr(patch, field)
            if value is None and field != "duration":
                raise InvalidParameter(field, "may not be null")
            changes[column] = value
    if not changes:
        return
    await conn.update_row("courses", course_id, changes, now_ms=write.now_ms)


async def delete_course(conn: Connection, *, write: WriteContext, course_id: int) -> Row:
    """Delete a course no published plan uses (409 7052 otherwise); it leaves the draft
    plans that had it. Learners' progress in it is kept (history). Answers the course as
    it was."""
    row = await course_row(conn, org_id=write.org_id, course_id=course_id)
    in_use = await conn.fetch_all(
        """SELECT p.name FROM plan_courses pc JOIN learning_plans p ON p.id = pc.plan_id
            WHERE pc.course_id = :id AND p.publish_state = 1 ORDER BY p.id""",
        {"id": course_id},
    )
    if in_use:
        names = ", ".join(plan["name"] for plan in in_use)
        raise Conflict(f"Conflict: the course is used by published plans: {names}")
    await conn.execute(
        """INSERT INTO plan_removed_courses (plan_id, course_id)
           SELECT plan_id, course_id FROM plan_courses WHERE course_id = :id
           ON CONFLICT DO NOTHING""",
        {"id": course_id},
    )
    await conn.execute("DELETE FROM plan_courses WHERE course_id = :id", {"id": course_id})
    await conn.execute(
        "UPDATE courses SET deleted_time = :now, modified_time = :now WHERE id = :id",
        {"now": write.now_ms, "id": course_id},
    )
    return row
