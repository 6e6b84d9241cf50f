"""Courses."""

from __future__ import annotations

from typing import Any

from lmsplans.server.courses.schemas import CoursePatch
from lmsplans.server.db import Connection
from lmsplans.server.errors import Conflict, InvalidParameter


async def create_course(
    conn: Connection,
    *,
    org_id: int,
    name: str,
    course_type: int,
    duration_minutes: int | None,
    now_ms: int,
    course_id: int | None = None,
) -> int:
    return await conn.insert_row(
        "courses",
        {
            "id": course_id,
            "org_id": org_id,
            "name": name,
            "course_type": course_type,
            "duration_minutes": duration_minutes,
            "created_time": now_ms,
            "modified_time": now_ms,
        },
    )


async def update_course(
    conn: Connection, *, course_id: int, patch: CoursePatch, now_ms: int
) -> None:
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
    await conn.update_row("courses", course_id, changes, now_ms=now_ms)


async def delete_course(conn: Connection, *, course_id: int, now_ms: int) -> None:
    """Delete a course no published plan uses; it leaves the draft plans that had it.
    Learners' progress in it is kept (history)."""
    in_use = await conn.fetch_all(
        """SELECT p.name FROM plan_courses pc JOIN learning_plans p ON p.id = pc.plan_id
            WHERE pc.course_id = :id AND p.publish_state = 1 ORDER BY p.id""",
        {"id": course_id},
    )
    if in_use:
        names = ", ".join(row["name"] for row in in_use)
        raise Conflict(f"Conflict: the course is used by published plans: {names}")
    await conn.execute("DELETE FROM plan_courses WHERE course_id = :id", {"id": course_id})
    await conn.execute(
        "UPDATE courses SET deleted_time = :now, modified_time = :now WHERE id = :id",
        {"now": now_ms, "id": course_id},
    )
