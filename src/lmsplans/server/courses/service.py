"""Courses."""

from __future__ import annotations

from lmsplans.server.db import Connection


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
    return await conn.insert(
        """INSERT INTO courses (id, org_id, name, course_type, duration_minutes, created_time,
                                modified_time)
           VALUES (:id, :org_id, :name, :course_type, :duration, :now, :now)""",
        {
            "id": course_id,
            "org_id": org_id,
            "name": name,
            "course_type": course_type,
            "duration": duration_minutes,
            "now": now_ms,
        },
    )
