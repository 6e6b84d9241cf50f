"""Course reads: a course, the organisation's courses, and the course record as Zoho writes it."""

from __future__ import annotations

from typing import Any

from lmsplans.server.db import Connection, Page, Row
from lmsplans.server.errors import NoSuchRecord
from lmsplans.server.wire import zoho_str


async def course_row(conn: Connection, *, org_id: int, course_id: int) -> Row:
    """A live course of the organisation, or 404 7049."""
    row = await conn.fetch_one(
        """SELECT * FROM courses
            WHERE id = :id AND org_id = :org_id AND deleted_time IS NULL""",
        {"id": course_id, "org_id": org_id},
    )
    if row is None:
        raise NoSuchRecord("No record for the given id: no such course")
    return row


def course_record(row: Row) -> dict[str, Any]:
    """A course row (`course_row`) as the course endpoints answer it."""
    return {
        "courseId": str(row["id"]),
        "courseName": row["name"],
        "courseType": str(row["course_type"]),
        "duration": zoho_str(row["duration_minutes"]),
        "createdTime": str(row["created_time"]),
        "modifiedTime": str(row["modified_time"]),
    }


async def list_courses(
    conn: Connection, *, org_id: int, page: Page
) -> tuple[list[dict[str, Any]], bool]:
    """One page of the organisation's live courses, oldest first, and whether another follows."""
    return await conn.fetch_page(
        """SELECT * FROM courses WHERE org_id = :org_id AND deleted_time IS NULL
            ORDER BY id LIMIT :page_limit OFFSET :page_offset""",
        {"org_id": org_id},
        page=page,
        record=course_record,
    )


async def live_courses(conn: Connection, *, org_id: int) -> list[Row]:
    """Every live course of the organisation (id, name, course_type, duration_minutes)."""
    return await conn.fetch_all(
        """SELECT id, name, course_type, duration_minutes FROM courses
            WHERE org_id = :org_id AND deleted_time IS NULL ORDER BY id""",
        {"org_id": org_id},
    )
