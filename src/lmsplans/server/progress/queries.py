"""Progress reads: course progress (a learner's, a course's, one learner in one course), a
learner's courses in one plan, and the history of an enrolment; their rows as Zoho writes
them. (A learner's plans with their progress, the reference endpoint, is a plan read:
`plans.queries.learner_plans`.)"""

from __future__ import annotations

from typing import Any

import orjson

from lmsplans.server.db import Connection, Page, Row
from lmsplans.server.errors import NoSuchRecord
from lmsplans.server.learners.queries import Visibility
from lmsplans.server.progress.rules import PlanCourseState, course_locks
from lmsplans.server.progress.schemas import CourseStatus
from lmsplans.server.wire import zoho_state, zoho_str

_PLAN_COURSES = """
SELECT c.id AS course_id, c.name AS course_name, c.course_type, pc.level, pc.is_mandatory,
       pc.is_locked, cp.status, cp.percentage, cp.enrolled_time, cp.completed_time
  FROM plan_courses pc
  JOIN courses c ON c.id = pc.course_id
  LEFT JOIN course_progress cp ON cp.course_id = pc.course_id AND cp.learner_id = :learner_id
 WHERE pc.plan_id = :plan_id
 ORDER BY pc.level, pc.position, c.id
"""


def _status_of(row: Row) -> CourseStatus:
    return CourseStatus(row["status"] or CourseStatus.NOT_STARTED)


async def _plan_course_rows(conn: Connection, *, plan_id: int, learner_id: int) -> list[Row]:
    return await conn.fetch_all(_PLAN_COURSES, {"plan_id": plan_id, "learner_id": learner_id})


def _course_states(rows: list[Row]) -> list[PlanCourseState]:
    return [
        PlanCourseState(
            course_id=row["course_id"],
            level=row["level"],
            is_mandatory=bool(row["is_mandatory"]),
            lock_until_previous=bool(row["is_locked"]),
            status=_status_of(row),
        )
        for row in rows
    ]


async def plan_course_locks(conn: Connection, *, plan_id: int, learner_id: int) -> dict[int, int]:
    """The plan's courses locked for the learner now (`rules.course_locks`): course id -> the
    level to complete first. The same rows and rule as `isLocked` in `plan_courses_progress`."""
    rows = await _plan_course_rows(conn, plan_id=plan_id, learner_id=learner_id)
    return course_locks(_course_states(rows))


async def plans_locking_course(conn: Connection, *, learner_id: int, course_id: int) -> list[Row]:
    """The plans (id, name) the learner is enrolled in that mark the course locked until
    their previous level is complete, by id."""
    return await conn.fetch_all(
        """SELECT p.id, p.name FROM plan_enrolments e
             JOIN learning_plans p ON p.id = e.plan_id
             JOIN plan_courses pc ON pc.plan_id = e.plan_id AND pc.course_id = :course_id
            WHERE e.learner_id = :learner_id AND e.unenrolled_time IS NULL AND pc.is_locked
            ORDER BY p.id""",
        {"learner_id": learner_id, "course_id": course_id},
    )


async def plan_courses_progress(
    conn: Connection, *, org_id: int, plan_id: int, learner_id: int, page: Page
) -> tuple[list[dict[str, Any]], bool]:
    """One page of the learner's progress in each course of a plan they are enrolled in
    (404 7049 otherwise), by level; `isLocked` while the previous level is incomplete."""
    enrolment = await conn.fetch_one(
        """SELECT e.enrolled_time FROM plan_enrolments e JOIN learning_plans p
               ON p.id = e.plan_id
            WHERE e.plan_id = :plan_id AND e.learner_id = :learner_id
              AND e.unenrolled_time IS NULL AND p.org_id = :org_id""",
        {"plan_id": plan_id, "learner_id": learner_id, "org_id": org_id},
    )
    if enrolment is None:
        raise NoSuchRecord("No record for the given id: the learner is not in this plan")
    rows = await _plan_course_rows(conn, plan_id=plan_id, learner_id=learner_id)
    locks = course_locks(_course_states(rows))
    courses = [
        {
            "courseId": str(row["course_id"]),
            "courseName": row["course_name"],
            "courseType": str(row["course_type"]),
            "level": str(row["level"]),
            "isMandatory": bool(row["is_mandatory"]),
            "isLocked": row["course_id"] in locks,
            "completionStatus": _status_of(row).value,
            "completionPercentage": str(row["percentage"] or 0),
            "enrolledDate": zoho_str(row["enrolled_time"] or enrolment["enrolled_time"]),
            "completionDate": zoho_str(row["completed_time"]),
        }
        for row in rows
    ]
    return page.of(courses)


# `progress_status`, not `status`: a name no learner column can shadow.
_COURSE_PROGRESS = """
SELECT c.id AS course_id, c.name AS course_name, c.course_type, cp.status AS progress_status,
       cp.percentage, cp.enrolled_time, cp.completed_time, l.id, l.email, l.display_name
  FROM course_progress cp
  JOIN courses c ON c.id = cp.course_id
  JOIN learners l ON l.id = cp.learner_id"""


def _course_progress_record(row: Row) -> dict[str, Any]:
    """One learner's progress in one course."""
    return {
        "courseId": str(row["course_id"]),
        "courseName": row["course_name"],
        "courseType": str(row["course_type"]),
        "userId": str(row["id"]),
        "emailId": row["email"],
        "displayName": row["display_name"],
        "completionStatus": row["progress_status"],
        "completionPercentage": str(row["percentage"]),
        "enrolledDate": zoho_str(row["enrolled_time"]),
        "completionDate": zoho_str(row["completed_time"]),
    }


async def learner_course_progress(
    conn: Connection, *, learner_id: int, page: Page
) -> tuple[list[dict[str, Any]], bool]:
    """One page of the learner's progress in every live course, by course id."""
    return await conn.fetch_page(
        f"""{_COURSE_PROGRESS}
             WHERE cp.learner_id = :learner_id AND c.deleted_time IS NULL
             ORDER BY c.id LIMIT :page_limit OFFSET :page_offset""",
        {"learner_id": learner_id},
        page=page,
        record=_course_progress_record,
    )


async def course_progress(
    conn: Connection, *, course_id: int, visibility: Visibility, page: Page
) -> tuple[list[dict[str, Any]], bool]:
    """One page of the progress in a course of the learners `visibility` shows, by userId."""
    return await conn.fetch_page(
        f"""{_COURSE_PROGRESS}
             WHERE cp.course_id = :course_id
               AND (:everyone OR l.id = :viewer_id OR (:reportees AND l.manager_id = :viewer_id))
             ORDER BY l.id LIMIT :page_limit OFFSET :page_offset""",
        {"course_id": course_id, **visibility.params()},
        page=page,
        record=_course_progress_record,
    )


async def one_course_progress(
    conn: Connection, *, course_id: int, learner_id: int
) -> dict[str, Any] | None:
    """One learner's record in one course, or None when they are not in it."""
    row = await conn.fetch_one(
        f"{_COURSE_PROGRESS} WHERE cp.course_id = :course_id AND cp.learner_id = :learner_id",
        {"course_id": course_id, "learner_id": learner_id},
    )
    return None if row is None else _course_progress_record(row)


def event_record(row: Row) -> dict[str, Any]:
    """One progress event of a plan's history, in the same string conventions."""
    return {
        "eventId": str(row["id"]),
        "kind": row["kind"],
        "planId": zoho_str(row["plan_id"]),
        "courseId": zoho_str(row["course_id"]),
        "actorId": zoho_str(row["actor_id"]),
        "source": row["source"],
        "idempotencyKey": row["idempotency_key"] or "null",
        "override": row["override_rule"] or "null",
        "removedFromPlan": bool(row["removed_from_plan"]),
        # Ids and times inside the states are strings too, as everywhere on the wire.
        "before": zoho_state(orjson.loads(row["before_state"]) if row["before_state"] else None),
        "after": zoho_state(orjson.loads(row["after_state"]) if row["after_state"] else None),
        "time": str(row["created_time"]),
    }


async def plan_history(
    conn: Connection, *, org_id: int, plan_id: int, learner_id: int, page: Page
) -> tuple[list[dict[str, Any]], bool]:
    """One page of the events of the learner's enrolment in an organisation's plan (404 7049
    for no such plan) and of their progress in its courses, those it holds and those it
    held once (`removedFromPlan`), oldest first."""
    known = await conn.fetch_value(
        "SELECT 1 FROM learning_plans WHERE id = :plan_id AND org_id = :org_id",
        {"plan_id": plan_id, "org_id": org_id},
    )
    if known is None:
        raise NoSuchRecord("No record for the given id: no such learning plan")
    return await conn.fetch_page(
        """SELECT e.*,
                  CASE WHEN e.course_id IS NOT NULL AND NOT EXISTS
                            (SELECT 1 FROM plan_courses pc
                              WHERE pc.plan_id = :plan_id AND pc.course_id = e.course_id)
                       THEN 1 ELSE 0 END AS removed_from_plan
             FROM progress_events e
            WHERE e.learner_id = :learner_id
              AND (e.plan_id = :plan_id
                   OR (e.plan_id IS NULL AND e.course_id IN
                       (SELECT course_id FROM plan_courses WHERE plan_id = :plan_id
                        UNION
                        SELECT course_id FROM plan_removed_courses WHERE plan_id = :plan_id)))
            ORDER BY e.id LIMIT :page_limit OFFSET :page_offset""",
        {"learner_id": learner_id, "plan_id": plan_id},
        page=page,
        record=event_record,
    )
