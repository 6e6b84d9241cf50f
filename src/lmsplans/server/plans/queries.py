"""Plan reads: every SELECT that answers a `planInfo` (the plans, a plan, a learner's plans
with their progress: the reference endpoint), and their rows as Zoho writes them. A plan
enrolment and its plan are read together in one statement; its `progressInfo` follows
`progress.rules`. A plan's roster has a module of its own, `plans.roster`."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

import orjson

from lmsplans.server.db import Connection, Page, Row
from lmsplans.server.errors import NoSuchRecord
from lmsplans.server.progress.rules import (
    ALL_TIME,
    EnrolmentCounts,
    due_time,
    is_overdue,
    progress_info,
)
from lmsplans.server.wire import zoho_str

# The columns `plan_info` reads, for a plan (table alias `p`).
_PLAN_INFO_COLUMNS = (
    "p.id AS plan_id, p.name AS plan_name, p.duration, p.duration_type, p.publish_state,"
    " p.disabled, p.owner_id, p.created_time AS plan_created_time, p.image_is_system,"
    " p.image, p.image_url,"
    " (SELECT count(*) FROM plan_courses pc WHERE pc.plan_id = p.id) AS course_count,"
    " (SELECT count(*) FROM plan_courses pc WHERE pc.plan_id = p.id AND pc.is_mandatory)"
    " AS mandatory_count"
)


def plan_info(row: Row, *, viewer_id: int) -> dict[str, Any]:
    """`planInfo`; `isPlanOwner` is relative to `viewer_id` (the learner the answer is about)."""
    return {
        "duration": str(row["duration"]),
        "publishState": str(row["publish_state"]),
        "planImageInfo": {
            "isSystem": bool(row["image_is_system"]),
            "image": row["image"],
            "imageUrl": row["image_url"],
        },
        "activeCourseCount": str(row["course_count"]),
        "planName": row["plan_name"],
        "createdTime": str(row["plan_created_time"]),
        "planId": str(row["plan_id"]),
        "disabled": "true" if row["disabled"] else "false",
        "durationType": str(row["duration_type"]),
        "mandatoryCourseCount": str(row["mandatory_count"]),
        "isPlanOwner": row["owner_id"] == viewer_id,
    }


async def list_plans(
    conn: Connection, *, org_id: int, drafts: bool, viewer_id: int, page: Page
) -> tuple[list[dict[str, Any]], bool]:
    """One page of the organisation's plans (`drafts`: unpublished ones too) as `planInfo`,
    and whether another page follows."""
    published_only = "" if drafts else "AND p.publish_state = 1"
    return await conn.fetch_page(
        f"""SELECT {_PLAN_INFO_COLUMNS} FROM learning_plans p
             WHERE p.org_id = :org_id {published_only}
             ORDER BY p.id LIMIT :page_limit OFFSET :page_offset""",
        {"org_id": org_id},
        page=page,
        record=partial(plan_info, viewer_id=viewer_id),
    )


async def plan_row(conn: Connection, *, org_id: int, plan_id: int) -> Row:
    """A plan of the organisation with its counts (what `plan_info` and `plan_detail`
    read, its `publish_state` and `disabled`), or 404 7049."""
    row = await conn.fetch_one(
        f"""SELECT {_PLAN_INFO_COLUMNS}, p.description, p.published_time, p.modified_time
              FROM learning_plans p WHERE p.id = :plan_id AND p.org_id = :org_id""",
        {"plan_id": plan_id, "org_id": org_id},
    )
    if row is None:
        raise NoSuchRecord("No record for the given id: no such learning plan")
    return row


async def plan_admin_ids(conn: Connection, *, plan_id: int) -> list[int]:
    rows = await conn.fetch_all(
        "SELECT learner_id FROM plan_admins WHERE plan_id = :plan_id ORDER BY learner_id",
        {"plan_id": plan_id},
    )
    return [row["learner_id"] for row in rows]


async def plan_courses(conn: Connection, *, plan_id: int) -> list[Row]:
    """The plan's courses by level, in the order they were set: `course_id`,
    `course_name`, `course_type`, `level`, `is_mandatory`, `is_locked`."""
    return await conn.fetch_all(
        """SELECT c.id AS course_id, c.name AS course_name, c.course_type, pc.level,
                  pc.is_mandatory, pc.is_locked
             FROM plan_courses pc JOIN courses c ON c.id = pc.course_id
            WHERE pc.plan_id = :plan_id ORDER BY pc.level, pc.position""",
        {"plan_id": plan_id},
    )


async def administered_plans(conn: Connection, *, learner_id: int) -> list[int]:
    """The plans the learner is a plan admin of."""
    rows = await conn.fetch_all(
        "SELECT plan_id FROM plan_admins WHERE learner_id = :learner_id ORDER BY plan_id",
        {"learner_id": learner_id},
    )
    return [row["plan_id"] for row in rows]


async def plan_detail(conn: Connection, *, plan: Row, viewer_id: int) -> dict[str, Any]:
    """A plan (`plan_row`) with its description, courses and admins: the management read."""
    courses = await plan_courses(conn, plan_id=plan["plan_id"])
    admin_ids = await plan_admin_ids(conn, plan_id=plan["plan_id"])
    return {
        "planInfo": plan_info(plan, viewer_id=viewer_id),
        "description": plan["description"],
        "publishedTime": zoho_str(plan["published_time"]),
        "modifiedTime": str(plan["modified_time"]),
        "planAdmins": [str(learner_id) for learner_id in admin_ids],
        "courses": [
            {
                "courseId": str(course["course_id"]),
                "courseName": course["course_name"],
                "courseType": str(course["course_type"]),
                "level": str(course["level"]),
                "isMandatory": bool(course["is_mandatory"]),
                "isLocked": bool(course["is_locked"]),
            }
            for course in courses
        ],
    }


# One row per enrolment (alias `e`) with its plan (alias `p`) and the learner's course counts
# in that plan as it is now. Correlated subqueries keep it one statement on SQLite and
# PostgreSQL alike; each is an index lookup.
def _count_courses(condition: str) -> str:
    return (
        "(SELECT count(*) FROM plan_courses pc JOIN course_progress cp"
        " ON cp.course_id = pc.course_id AND cp.learner_id = e.learner_id"
        f" WHERE pc.plan_id = e.plan_id AND {condition})"
    )


_ENROLMENT_COLUMNS = f"""
    e.id AS planuser_id, e.learner_id, e.user_type, e.enrolled_time, e.is_joined,
    e.is_completed, e.completed_time,
    EXISTS (SELECT 1 FROM plan_admins a
             WHERE a.plan_id = e.plan_id AND a.learner_id = e.learner_id) AS is_plan_admin,
    {_count_courses("cp.status = 'completed'")} AS completed_count,
    {_count_courses("cp.status = 'completed' AND pc.is_mandatory")} AS completed_mandatory_count,
    {_count_courses("cp.status <> 'notStarted'")} AS started_count,
    {_PLAN_INFO_COLUMNS}"""


# The reference endpoint's page: a learner's active enrolments in published plans, oldest
# first.
_LEARNER_PLANS = f"""
SELECT {_ENROLMENT_COLUMNS}
  FROM plan_enrolments e JOIN learning_plans p ON p.id = e.plan_id
 WHERE e.unenrolled_time IS NULL AND e.learner_id = :learner_id AND p.publish_state = 1
 ORDER BY e.id LIMIT :page_limit OFFSET :page_offset"""


def _counts(row: Row) -> EnrolmentCounts:
    return EnrolmentCounts(
        course_count=row["course_count"],
        mandatory_count=row["mandatory_count"],
        completed_count=row["completed_count"],
        completed_mandatory_count=row["completed_mandatory_count"],
        started_count=row["started_count"],
    )


def user_info(row: Row, *, is_plan_admin: bool) -> dict[str, Any]:
    """The reference's `userInfo` object for one enrolment row (`planuser_id`,
    `learner_id`, `user_type`, `enrolled_time`, `is_joined`, `is_completed`)."""
    return {
        "planuserId": str(row["planuser_id"]),
        "isUserJoinedPlan": bool(row["is_joined"]),
        "isUserCompletedPlan": bool(row["is_completed"]),
        "userType": str(row["user_type"]),
        "userId": str(row["learner_id"]),
        "isPlanAdmin": is_plan_admin,
        "enrolledTime": zoho_str(row["enrolled_time"]),
    }


def _progress_info(row: Row, *, now_ms: int) -> dict[str, Any]:
    return progress_info(
        counts=_counts(row),
        enrolled_ms=row["enrolled_time"],
        duration=row["duration"],
        duration_type=row["duration_type"],
        is_completed=bool(row["is_completed"]),
        completed_ms=row["completed_time"],
        now_ms=now_ms,
    )


@dataclass(slots=True)
class PlanProgress:
    """One entry of the reference endpoint's answer, serialised. Only `isOverdue` depends on
    when it is asked, so both versions are kept with it (until a change names its tags)."""

    due_ms: int | None
    is_completed: bool
    encoded: tuple[orjson.Fragment, orjson.Fragment]  # with isOverdue false, true

    def at(self, now_ms: int) -> orjson.Fragment:
        """The entry as of `now_ms`, ready to embed in the answer."""
        overdue = is_overdue(is_completed=self.is_completed, due_ms=self.due_ms, now_ms=now_ms)
        return self.encoded[overdue]

    def same_between(self, now_ms: int) -> tuple[int, int]:
        """The span of time [since, until) around `now_ms` over which `at` answers the same:
        a pending plan with a due time turns overdue at due + 1 ms (`is_overdue`)."""
        if self.is_completed or self.due_ms is None:
            return ALL_TIME
        if now_ms > self.due_ms:
            return (self.due_ms + 1, ALL_TIME[1])
        return (ALL_TIME[0], self.due_ms + 1)


def _plan_progress(row: Row, *, viewer_id: int) -> PlanProgress:
    """`userInfo`, `planId`, `planInfo` and `progressInfo` of one enrolment row."""
    progress = _progress_info(row, now_ms=0)
    body = {
        "userInfo": user_info(row, is_plan_admin=bool(row["is_plan_admin"])),
        "planId": str(row["plan_id"]),
        "planInfo": plan_info(row, viewer_id=viewer_id),
        "progressInfo": progress,
    }
    encoded = []
    for overdue in (False, True):
        progress["isOverdue"] = overdue
        encoded.append(orjson.Fragment(orjson.dumps(body)))
    return PlanProgress(
        due_ms=due_time(row["enrolled_time"], row["duration"], row["duration_type"]),
        is_completed=bool(row["is_completed"]),
        encoded=(encoded[0], encoded[1]),
    )


async def learner_plans(
    conn: Connection, *, learner_id: int, page: Page
) -> tuple[list[PlanProgress], bool]:
    """The reference endpoint's page: the learner's enrolments in published plans, oldest
    first, each encoded (`PlanProgress`); and whether another page follows."""
    record = partial(_plan_progress, viewer_id=learner_id)
    return await conn.fetch_page(
        _LEARNER_PLANS, {"learner_id": learner_id}, page=page, record=record
    )


async def is_plan_admin(conn: Connection, *, org_id: int, plan_id: int, learner_id: int) -> bool:
    """Whether the learner administers the organisation's plan; 404 7049 for no such plan."""
    plan = await conn.fetch_one(
        """SELECT p.id, EXISTS (SELECT 1 FROM plan_admins a
                                 WHERE a.plan_id = p.id AND a.learner_id = :viewer)
                        AS is_plan_admin
             FROM learning_plans p WHERE p.id = :plan_id AND p.org_id = :org_id""",
        {"plan_id": plan_id, "org_id": org_id, "viewer": learner_id},
    )
    if plan is None:
        raise NoSuchRecord("No record for the given id: no such learning plan")
    return bool(plan["is_plan_admin"])


async def org_plans(conn: Connection, *, org_id: int) -> list[Row]:
    """Every plan of the organisation with the fields a catalogue sets."""
    return await conn.fetch_all(
        """SELECT id, name, description, duration, duration_type, image, publish_state, disabled
             FROM learning_plans WHERE org_id = :org_id ORDER BY id""",
        {"org_id": org_id},
    )


async def plan_course_list(conn: Connection, *, plan_id: int) -> list[tuple[int, int, bool, bool]]:
    """The plan's courses in order: (course id, level, mandatory, locked)."""
    rows = await conn.fetch_all(
        """SELECT course_id, level, is_mandatory, is_locked FROM plan_courses
            WHERE plan_id = :plan_id ORDER BY position""",
        {"plan_id": plan_id},
    )
    return [(r[0], r[1], bool(r[2]), bool(r[3])) for r in rows]


async def enrolment_progress(
    conn: Connection,
    *,
    learner_id: int,
    plan_ids: list[int] | None,
    course_id: int | None,
    now_ms: int,
) -> list[dict[str, Any]]:
    """The learner's enrolments with `userInfo` and `progressInfo` as the reference endpoint
    answers them (and `planId`), as of `now_ms`: in the plans `plan_ids` (whatever their
    state), or else the active ones in plans holding `course_id`. The change feed's
    snapshot of an enrolment or progress event (`events.snapshots`)."""
    params: dict[str, Any] = {"learner_id": learner_id}
    if plan_ids is not None:
        marks = ", ".join(f":p{index}" for index in range(len(plan_ids)))
        where = f"e.plan_id IN ({marks})"
        params.update((f"p{index}", value) for index, value in enumerate(plan_ids))
    else:
        where = (
            "e.unenrolled_time IS NULL AND EXISTS (SELECT 1 FROM plan_courses c"
            " WHERE c.plan_id = e.plan_id AND c.course_id = :course_id)"
        )
        params["course_id"] = course_id
    rows = await conn.fetch_all(
        f"""SELECT {_ENROLMENT_COLUMNS}
              FROM plan_enrolments e JOIN learning_plans p ON p.id = e.plan_id
             WHERE e.learner_id = :learner_id AND {where}
             ORDER BY e.id""",
        params,
    )
    return [
        {
            "planId": str(row["plan_id"]),
            "userInfo": user_info(row, is_plan_admin=bool(row["is_plan_admin"])),
            "progressInfo": _progress_info(row, now_ms=now_ms),
        }
        for row in rows
    ]
