"""Course writes: create, update, delete."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from lmsplans.server.courses.queries import course_row
from lmsplans.server.courses.schemas import MINUTES_IN, CourseIn, CoursePatch, duration_minutes
from lmsplans.server.db import Connection, Row
from lmsplans.server.errors import Conflict, InvalidParameter
from lmsplans.server.learners.queries import resolve_learners
from lmsplans.server.writes import WriteContext


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


async def create_course(
    conn: Connection,
    *,
    write: WriteContext,
    name: str,
    course_type: int,
    duration_minutes: int | None,
    course_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> int:
    """A course of the writer's organisation; answers its id. `details` holds the columns
    of Zoho's course fields (`course_details`), absent ones at their defaults."""
    created = await conn.insert_row(
        "courses",
        {
            "id": course_id,
            "org_id": write.org_id,
            "name": name,
            "course_type": course_type,
            "duration_minutes": duration_minutes,
            "created_time": write.now_ms,
            "modified_time": write.now_ms,
            **(details or {}),
        },
    )
    write.changes.touch("course", created)
    return created


async def create_from_payload(conn: Connection, *, write: WriteContext, data: CourseIn) -> int:
    """A course as a `courseData` payload describes it, in this product's fields or Zoho's."""
    unit = data.durationUnit or "minute"
    name = data.course_name
    assert name is not None, "CourseIn requires a name"
    return await create_course(
        conn,
        write=write,
        name=name,
        course_type=data.course_type or 1,
        duration_minutes=None if data.duration is None else duration_minutes(data.duration, unit),
        details=await course_details(conn, write=write, data=data),
    )


# The Zoho course fields kept as they come, and those kept as JSON: field -> column.
_TEXT_COLUMNS = {
    "description": "description",
    "aboutCourse": "about_course",
    "courseCode": "course_code",
    "durationUnit": "duration_unit",
}
_JSON_COLUMNS = {"categories": "categories", "permissionSettings": "permission_settings"}


def _given(data: CourseIn | CoursePatch, fields: Iterable[str]) -> Iterator[tuple[str, Any]]:
    """Each of `fields` that `data` gives, with its value; null is 400 7204 (it clears
    `duration` alone, which is not among these)."""
    for field in fields:
        if field in data.model_fields_set:
            value = getattr(data, field)
            if value is None:
                raise InvalidParameter(field, "may not be null")
            yield field, value


async def course_details(
    conn: Connection, *, write: WriteContext, data: CourseIn | CoursePatch
) -> dict[str, Any]:
    """The columns of the Zoho course fields `data` holds (course admins resolved in the
    organisation: 404 7048 naming an unknown one)."""
    details: dict[str, Any] = {}
    for field, value in _given(data, _TEXT_COLUMNS):
        details[_TEXT_COLUMNS[field]] = value
    for field, value in _given(data, _JSON_COLUMNS):
        details[_JSON_COLUMNS[field]] = _json(
            value.model_dump(exclude_none=True) if field == "permissionSettings" else value
        )
    for field, refs in _given(data, ("courseAdmins",)):
        admins = await resolve_learners(conn, org_id=write.org_id, refs=refs, field=field)
        details["admin_ids"] = _json([str(admin) for admin in dict.fromkeys(admins)])
    return details


async def update_course(
    conn: Connection, *, write: WriteContext, course_id: int, patch: CoursePatch
) -> None:
    """Change what `patch` names (404 7049 for no such course); `duration` alone may be
    set to null. A `duration` without `durationUnit` is in the course's present unit; a
    `durationUnit` without `duration` says the same length in another unit (400 7204 when it
    is not a whole number of them)."""
    row = await course_row(conn, org_id=write.org_id, course_id=course_id)
    changes: dict[str, Any] = {}
    for field, name, column in (
        ("courseName", "name", "name"),
        ("courseType", "type", "course_type"),
    ):
        if patch.given(field, name):
            value = patch.course_name if column == "name" else patch.course_type
            if value is None:
                raise InvalidParameter(field, "may not be null")
            changes[column] = value
    changes.update(await course_details(conn, write=write, data=patch))
    unit = changes.get("duration_unit", row["duration_unit"])
    if "duration" in patch.model_fields_set:
        changes["duration_minutes"] = (
            None if patch.duration is None else duration_minutes(patch.duration, unit)
        )
    elif row["duration_minutes"] is not None and row["duration_minutes"] % MINUTES_IN[unit]:
        raise InvalidParameter(
            "durationUnit",
            f"the course's {row['duration_minutes']} minutes are no whole number of {unit}s: "
            "send duration too",
        )
    if not changes:
        return
    await conn.update_row("courses", course_id, changes, now_ms=write.now_ms)
    # Its name and kind show in the plans that hold it, their rosters and reports.
    write.changes.touch("course", course_id)
    write.changes.touch_org("plans")


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
    write.changes.touch("course", course_id)
    write.changes.touch_org("plans", "enrolments")
    return row
