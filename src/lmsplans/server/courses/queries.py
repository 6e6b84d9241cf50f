"""Course reads: a course, the organisation's courses, a blended course's batch, and the
course record as Zoho writes it."""

from __future__ import annotations

from typing import Any

import orjson

from lmsplans.server.courses.schemas import BLENDED, MINUTES_IN
from lmsplans.server.db import Connection, Page, Row
from lmsplans.server.errors import NoSuchRecord
from lmsplans.server.learners.queries import Visibility
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


def batch_id(row: Row) -> int | None:
    """The id of a course's one batch: a blended course is its own batch (lmsplans keeps no
    sessions or schedules, so a blended course has exactly one); other types have none."""
    return int(row["id"]) if row["course_type"] == BLENDED else None


async def batch_course_row(conn: Connection, *, org_id: int, course_id: int, batch: int) -> Row:
    """The live course whose batch `batch` is (`batch_id`), or 404 7049."""
    row = await course_row(conn, org_id=org_id, course_id=course_id)
    if batch_id(row) is None:
        raise NoSuchRecord("No record for the given id: only blended courses have batches")
    if batch != batch_id(row):
        raise NoSuchRecord("No record for the given id: no such batch of this course")
    return row


def course_record(row: Row) -> dict[str, Any]:
    """A course row (`course_row`) as the course endpoints answer it; the duration in the
    unit it was given in."""
    minutes = row["duration_minutes"]
    unit = row["duration_unit"]
    return {
        "courseId": str(row["id"]),
        "courseName": row["name"],
        "courseType": str(row["course_type"]),
        "description": row["description"],
        "aboutCourse": row["about_course"],
        "duration": zoho_str(None if minutes is None else minutes // MINUTES_IN[unit]),
        "durationUnit": unit,
        "courseCode": row["course_code"],
        "categories": orjson.loads(row["categories"]),
        "courseAdmins": orjson.loads(row["admin_ids"]),
        "permissionSettings": orjson.loads(row["permission_settings"]),
        "batchId": zoho_str(batch_id(row)),
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


async def course_batches(
    conn: Connection, *, row: Row, visibility: Visibility, page: Page
) -> tuple[list[dict[str, Any]], bool]:
    """One page of a course's batches as Zoho's batch list writes them: a blended course's
    one batch, with the learners in the course the caller may see; none for other types."""
    batch = batch_id(row)
    if batch is None:
        return page.of([])
    learners = await conn.fetch_value(
        """SELECT count(*) FROM course_progress cp JOIN learners l ON l.id = cp.learner_id
            WHERE cp.course_id = :course_id
              AND (:everyone OR l.id = :viewer_id OR (:reportees AND l.manager_id = :viewer_id))""",
        {"course_id": batch, **visibility.params()},
    )
    record = {
        "batchId": str(batch),
        "courseId": str(row["id"]),
        "name": row["name"],
        "learnersCount": int(learners),
        "publishStatus": "published",
    }
    return page.of([record])


async def live_courses(conn: Connection, *, org_id: int) -> list[Row]:
    """Every live course of the organisation (id, name, course_type, duration_minutes)."""
    return await conn.fetch_all(
        """SELECT id, name, course_type, duration_minutes FROM courses
            WHERE org_id = :org_id AND deleted_time IS NULL ORDER BY id""",
        {"org_id": org_id},
    )
