"""The progress rules of spec section 2, implemented once and used by every read.

- A learner completes a plan when every mandatory course in it is completed; the completion
  time is when the last mandatory course was completed. Completion is sticky (stored on the
  enrolment); incomplete enrolments are measured against the plan as it is now.
- Due time = enrolled time + duration (in `durationType` units); overdue = not complete and
  now past the due time. A duration of 0 means no due time.
- Progress percentage = completed mandatory / mandatory courses, floored; the all-courses
  percentage is reported beside it. A completed enrolment reports 100.
"""

from __future__ import annotations

import calendar
import itertools
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from lmsplans.server.db import Connection
from lmsplans.server.plans.schemas import PLAN_INFO_COLUMNS, plan_info
from lmsplans.server.progress.schemas import CourseStatus, EnrolmentStatus
from lmsplans.server.wire import zoho_str

_DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class EnrolmentCounts:
    """A learner's course counts in one plan, as the plan is now."""

    course_count: int
    mandatory_count: int
    completed_count: int
    completed_mandatory_count: int
    started_count: int  # courses in progress or completed


def due_time(enrolled_ms: int, duration: int, duration_type: int) -> int | None:
    """Enrolled time plus the plan's duration; None when the plan has no duration."""
    if duration <= 0:
        return None
    if duration_type == 0:
        return enrolled_ms + duration * _DAY_MS
    if duration_type == 1:
        return enrolled_ms + duration * 7 * _DAY_MS
    # Calendar months, in UTC; the day is clamped to the target month's length.
    start = datetime.fromtimestamp(enrolled_ms / 1000, UTC)
    months = start.month - 1 + duration
    year, month = start.year + months // 12, months % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return int(start.replace(year=year, month=month, day=day).timestamp() * 1000)


def percentage(done: int, total: int) -> int:
    return done * 100 // total if total else 0


def enrolment_status(*, is_completed: bool, counts: EnrolmentCounts) -> EnrolmentStatus:
    if is_completed:
        return EnrolmentStatus.COMPLETED
    if counts.started_count:
        return EnrolmentStatus.IN_PROGRESS
    return EnrolmentStatus.NOT_STARTED


def is_overdue(*, is_completed: bool, due_ms: int | None, now_ms: int) -> bool:
    return not is_completed and due_ms is not None and now_ms > due_ms


def is_plan_complete(mandatory_statuses: list[CourseStatus]) -> bool:
    """Every mandatory course completed (a plan with none is never complete by itself)."""
    return bool(mandatory_statuses) and all(
        status is CourseStatus.COMPLETED for status in mandatory_statuses
    )


def progress_info(
    *,
    counts: EnrolmentCounts,
    enrolled_ms: int,
    duration: int,
    duration_type: int,
    is_completed: bool,
    completed_ms: int | None,
    now_ms: int,
) -> dict[str, Any]:
    """The `progressInfo` object: counts as strings, times as strings, flags as booleans."""
    due_ms = due_time(enrolled_ms, duration, duration_type)
    mandatory_pct = (
        100
        if is_completed
        else percentage(counts.completed_mandatory_count, counts.mandatory_count)
    )
    return {
        "status": enrolment_status(is_completed=is_completed, counts=counts).value,
        "completedCourseCount": str(counts.completed_count),
        "courseCount": str(counts.course_count),
        "completedMandatoryCourseCount": str(counts.completed_mandatory_count),
        "mandatoryCourseCount": str(counts.mandatory_count),
        "progressPercentage": str(mandatory_pct),
        "allCoursesPercentage": str(percentage(counts.completed_count, counts.course_count)),
        "dueTime": zoho_str(due_ms),
        "isOverdue": is_overdue(is_completed=is_completed, due_ms=due_ms, now_ms=now_ms),
        "completedTime": zoho_str(completed_ms if is_completed else None),
    }


def locked_levels(courses: list[tuple[int, bool, CourseStatus]]) -> set[int]:
    """Levels whose previous level is not complete yet.

    `courses` holds (level, is_mandatory, status) for every course of a plan. A level is
    complete when all its mandatory courses are completed (all its courses, if none is
    mandatory). A course marked lock-until-previous-level is locked while its level is here.
    """
    levels = sorted({level for level, _, _ in courses})
    incomplete: set[int] = set()
    for level in levels:
        in_level = [(mandatory, status) for lvl, mandatory, status in courses if lvl == level]
        gate = [status for mandatory, status in in_level if mandatory] or [
            status for _, status in in_level
        ]
        if any(status is not CourseStatus.COMPLETED for status in gate):
            incomplete.add(level)
    locked: set[int] = set()
    for previous, level in itertools.pairwise(levels):
        if previous in incomplete:
            locked.add(level)
    return locked


# --- Reads -----------------------------------------------------------------------------------


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
    {PLAN_INFO_COLUMNS}"""


def enrolment_progress_sql(*, where: str, extra_join: str = "", extra_columns: str = "") -> str:
    """Active enrolments matching `where`, oldest first, with their plan and counts."""
    columns = _ENROLMENT_COLUMNS + (", " + extra_columns if extra_columns else "")
    return (
        f"SELECT {columns} FROM plan_enrolments e JOIN learning_plans p ON p.id = e.plan_id"
        f" {extra_join} WHERE e.unenrolled_time IS NULL AND {where} ORDER BY e.id"
    )


_LEARNER_PLANS_SQL = (
    enrolment_progress_sql(where="e.learner_id = :learner_id AND p.publish_state = 1")
    + " LIMIT :page_limit OFFSET :page_offset"
)


def counts_of(row: Any) -> EnrolmentCounts:
    return EnrolmentCounts(
        course_count=row["course_count"],
        mandatory_count=row["mandatory_count"],
        completed_count=row["completed_count"],
        completed_mandatory_count=row["completed_mandatory_count"],
        started_count=row["started_count"],
    )


def user_info(row: Any) -> dict[str, Any]:
    """The reference's `userInfo` object for one enrolment row."""
    return {
        "planuserId": str(row["planuser_id"]),
        "isUserJoinedPlan": bool(row["is_joined"]),
        "isUserCompletedPlan": bool(row["is_completed"]),
        "userType": str(row["user_type"]),
        "userId": str(row["learner_id"]),
        "isPlanAdmin": bool(row["is_plan_admin"]),
        "enrolledTime": zoho_str(row["enrolled_time"]),
    }


def enrolment_progress_info(row: Any, *, now_ms: int) -> dict[str, Any]:
    return progress_info(
        counts=counts_of(row),
        enrolled_ms=row["enrolled_time"],
        duration=row["duration"],
        duration_type=row["duration_type"],
        is_completed=bool(row["is_completed"]),
        completed_ms=row["completed_time"],
        now_ms=now_ms,
    )


ALL_TIME = (-(2**63), 2**63)  # a span of time [since, until) with no end either way


@dataclass(slots=True)
class PlanProgress:
    """One entry of the reference endpoint's answer, serialised. Only `isOverdue` depends on
    when it is asked, so both versions are kept while the data version holds."""

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


def plan_progress(row: Any, *, viewer_id: int) -> PlanProgress:
    """`userInfo`, `planId`, `planInfo` and `progressInfo` of one enrolment row."""
    progress = enrolment_progress_info(row, now_ms=0)
    body = {
        "userInfo": user_info(row),
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


# --- Writes: every change appends an event in the same transaction ----------------------------
#
# Event kinds and what their `after` holds (enough to rebuild the state: see `replay`):
#   course_enrolled  course_progress row created: status, percentage, enrolled_time, completed_time
#   course_progress  course_progress row changed: the same fields
#   reset            course_progress row reset to not started: the same fields
#   enrolled         plan enrolment (re)created: planuserId, enrolledTime, isJoined, joinedTime,
#                    isCompleted, completedTime
#   joined           isJoined, joinedTime
#   plan_completed   isCompleted, completedTime
#   unenrolled       unenrolledTime

COURSE_STATE_COLUMNS = "status, percentage, enrolled_time, completed_time"


async def append_event(
    conn: Connection,
    *,
    org_id: int,
    learner_id: int,
    kind: str,
    actor_id: int | None,
    source: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    now_ms: int,
    plan_id: int | None = None,
    course_id: int | None = None,
    idempotency_key: str | None = None,
) -> None:
    await conn.execute(
        """INSERT INTO progress_events (org_id, learner_id, plan_id, course_id, kind, actor_id,
                                        source, idempotency_key, before_state, after_state,
                                        created_time)
           VALUES (:org_id, :learner_id, :plan_id, :course_id, :kind, :actor_id, :source,
                   :idempotency_key, :before, :after, :now)""",
        {
            "org_id": org_id,
            "learner_id": learner_id,
            "plan_id": plan_id,
            "course_id": course_id,
            "kind": kind,
            "actor_id": actor_id,
            "source": source,
            "idempotency_key": idempotency_key,
            "before": None if before is None else orjson.dumps(before).decode(),
            "after": None if after is None else orjson.dumps(after).decode(),
            "now": now_ms,
        },
    )


async def enrol_in_plan_courses(
    conn: Connection,
    *,
    org_id: int,
    plan_id: int,
    learner_id: int,
    now_ms: int,
    source: str,
    actor_id: int | None,
) -> None:
    """Course enrolments (not started) for each of the plan's courses the learner lacks."""
    missing = await conn.fetch_all(
        """SELECT pc.course_id FROM plan_courses pc
            WHERE pc.plan_id = :plan_id
              AND NOT EXISTS (SELECT 1 FROM course_progress cp
                               WHERE cp.learner_id = :learner_id
                                 AND cp.course_id = pc.course_id)
            ORDER BY pc.position""",
        {"learner_id": learner_id, "plan_id": plan_id},
    )
    for row in missing:
        state = {
            "status": CourseStatus.NOT_STARTED.value,
            "percentage": 0,
            "enrolled_time": now_ms,
            "completed_time": None,
        }
        await conn.execute(
            """INSERT INTO course_progress (learner_id, course_id, org_id, status, percentage,
                                            enrolled_time, completed_time, modified_time)
               VALUES (:learner_id, :course_id, :org_id, :status, :percentage,
                       :enrolled_time, :completed_time, :now)""",
            {
                "learner_id": learner_id,
                "course_id": row["course_id"],
                "org_id": org_id,
                "now": now_ms,
                **state,
            },
        )
        await append_event(
            conn,
            org_id=org_id,
            learner_id=learner_id,
            plan_id=plan_id,
            course_id=row["course_id"],
            kind="course_enrolled",
            actor_id=actor_id,
            source=source,
            before=None,
            after=state,
            now_ms=now_ms,
        )


async def course_state(
    conn: Connection, *, learner_id: int, course_id: int
) -> dict[str, Any] | None:
    row = await conn.fetch_one(
        f"""SELECT {COURSE_STATE_COLUMNS} FROM course_progress
             WHERE learner_id = :learner_id AND course_id = :course_id""",
        {"learner_id": learner_id, "course_id": course_id},
    )
    return None if row is None else dict(row)


async def _write_course_state(
    conn: Connection,
    *,
    org_id: int,
    learner_id: int,
    course_id: int,
    kind: str,
    before: dict[str, Any] | None,
    after: dict[str, Any],
    actor_id: int | None,
    source: str,
    now_ms: int,
    idempotency_key: str | None,
) -> None:
    await conn.execute(
        """INSERT INTO course_progress (learner_id, course_id, org_id, status, percentage,
                                        enrolled_time, completed_time, modified_time)
           VALUES (:learner_id, :course_id, :org_id, :status, :percentage, :enrolled_time,
                   :completed_time, :now)
           ON CONFLICT (learner_id, course_id) DO UPDATE
              SET status = excluded.status, percentage = excluded.percentage,
                  completed_time = excluded.completed_time,
                  modified_time = excluded.modified_time""",
        {
            "learner_id": learner_id,
            "course_id": course_id,
            "org_id": org_id,
            "now": now_ms,
            **after,
        },
    )
    await append_event(
        conn,
        org_id=org_id,
        learner_id=learner_id,
        course_id=course_id,
        kind=kind,
        actor_id=actor_id,
        source=source,
        before=before,
        after=after,
        now_ms=now_ms,
        idempotency_key=idempotency_key,
    )


async def record_course_progress(
    conn: Connection,
    *,
    org_id: int,
    learner_id: int,
    course_id: int,
    status: CourseStatus,
    percentage: int,
    at_ms: int,
    actor_id: int | None,
    source: str,
    now_ms: int,
    idempotency_key: str | None = None,
) -> bool:
    """Set a learner's state in a course, append the event, join the plans that hold it and
    complete any plan whose mandatory courses are now all completed.

    A completed course stays completed (only `reset_course_progress` takes it back):
    recording over it changes nothing and answers False.
    """
    await conn.lock(learner_id)  # one writer per learner at a time (PostgreSQL)
    before = await course_state(conn, learner_id=learner_id, course_id=course_id)
    if before is not None and before["status"] == CourseStatus.COMPLETED:
        return False
    after = {
        "status": status.value,
        "percentage": percentage,
        "enrolled_time": before["enrolled_time"] if before else at_ms,
        "completed_time": at_ms if status is CourseStatus.COMPLETED else None,
    }
    if after == before:
        return False
    await _write_course_state(
        conn,
        org_id=org_id,
        learner_id=learner_id,
        course_id=course_id,
        kind="course_progress",
        before=before,
        after=after,
        actor_id=actor_id,
        source=source,
        now_ms=now_ms,
        idempotency_key=idempotency_key,
    )
    if status is not CourseStatus.NOT_STARTED:
        await join_plans_on_progress(
            conn,
            org_id=org_id,
            learner_id=learner_id,
            course_id=course_id,
            source=source,
            at_ms=at_ms,
            now_ms=now_ms,
        )
    if status is CourseStatus.COMPLETED:
        await complete_finished_plans(
            conn, org_id=org_id, learner_id=learner_id, source=source, now_ms=now_ms
        )
    return True


async def reset_course_progress(
    conn: Connection,
    *,
    org_id: int,
    learner_id: int,
    course_id: int,
    actor_id: int | None,
    source: str,
    now_ms: int,
    idempotency_key: str | None = None,
) -> bool:
    """Take a course back to not started: the one way out of `completed`. Plans already
    completed stay completed (completion is sticky). Answers whether anything changed."""
    await conn.lock(learner_id)
    before = await course_state(conn, learner_id=learner_id, course_id=course_id)
    if before is None:
        return False
    after = {
        **before,
        "status": CourseStatus.NOT_STARTED.value,
        "percentage": 0,
        "completed_time": None,
    }
    if after == before:
        return False
    await _write_course_state(
        conn,
        org_id=org_id,
        learner_id=learner_id,
        course_id=course_id,
        kind="reset",
        before=before,
        after=after,
        actor_id=actor_id,
        source=source,
        now_ms=now_ms,
        idempotency_key=idempotency_key,
    )
    return True


async def join_plans_on_progress(
    conn: Connection,
    *,
    org_id: int,
    learner_id: int,
    course_id: int,
    source: str,
    at_ms: int,
    now_ms: int,
) -> None:
    """Progress in a course joins the learner to every plan of theirs that holds it."""
    rows = await conn.fetch_all(
        """SELECT e.id, e.plan_id FROM plan_enrolments e
             JOIN plan_courses pc ON pc.plan_id = e.plan_id AND pc.course_id = :course_id
            WHERE e.learner_id = :learner_id AND e.unenrolled_time IS NULL AND NOT e.is_joined""",
        {"learner_id": learner_id, "course_id": course_id},
    )
    for row in rows:
        await join_enrolment(
            conn,
            org_id=org_id,
            learner_id=learner_id,
            plan_id=row["plan_id"],
            enrolment_id=row["id"],
            actor_id=learner_id,
            source=source,
            at_ms=at_ms,
            now_ms=now_ms,
        )


async def join_enrolment(
    conn: Connection,
    *,
    org_id: int,
    learner_id: int,
    plan_id: int,
    enrolment_id: int,
    actor_id: int | None,
    source: str,
    at_ms: int,
    now_ms: int,
    idempotency_key: str | None = None,
) -> None:
    await conn.execute(
        "UPDATE plan_enrolments SET is_joined = TRUE, joined_time = :at WHERE id = :id",
        {"id": enrolment_id, "at": at_ms},
    )
    await append_event(
        conn,
        org_id=org_id,
        learner_id=learner_id,
        plan_id=plan_id,
        kind="joined",
        actor_id=actor_id,
        source=source,
        before={"isJoined": False},
        after={"isJoined": True, "joinedTime": at_ms},
        now_ms=now_ms,
        idempotency_key=idempotency_key,
    )


async def complete_finished_plans(
    conn: Connection,
    *,
    org_id: int,
    learner_id: int,
    source: str,
    now_ms: int,
    plan_id: int | None = None,
) -> None:
    """Mark complete every incomplete enrolment (of `plan_id`, or of any plan) whose
    mandatory courses are all completed, as the plan is now; its completion time is when
    the last of them was completed. Completion is sticky: nothing here ever un-completes."""
    rows = await conn.fetch_all(
        """SELECT e.id, e.plan_id, max(cp.completed_time) AS last_completed,
                  count(pc.course_id) AS mandatory,
                  count(cp.course_id) FILTER (WHERE cp.status = 'completed') AS done
             FROM plan_enrolments e
             JOIN plan_courses pc ON pc.plan_id = e.plan_id AND pc.is_mandatory
             LEFT JOIN course_progress cp
                    ON cp.learner_id = e.learner_id AND cp.course_id = pc.course_id
            WHERE e.learner_id = :learner_id AND e.unenrolled_time IS NULL
              AND NOT e.is_completed AND (CAST(:plan_id AS BIGINT) IS NULL OR e.plan_id = :plan_id)
            GROUP BY e.id, e.plan_id""",
        {"learner_id": learner_id, "plan_id": plan_id},
    )
    for row in rows:
        if not (row["mandatory"] and row["done"] == row["mandatory"]):
            continue
        await conn.execute(
            """UPDATE plan_enrolments SET is_completed = TRUE, completed_time = :at
                WHERE id = :id""",
            {"id": row["id"], "at": row["last_completed"]},
        )
        await append_event(
            conn,
            org_id=org_id,
            learner_id=learner_id,
            plan_id=row["plan_id"],
            kind="plan_completed",
            actor_id=None,
            source=source,
            before={"isCompleted": False, "completedTime": None},
            after={"isCompleted": True, "completedTime": row["last_completed"]},
            now_ms=now_ms,
        )


# --- Replay: the current state is a projection of the events ---------------------------------


@dataclass
class Projection:
    """Course progress by (learner, course) and enrolment flags by (learner, plan)."""

    courses: dict[tuple[int, int], dict[str, Any]]
    enrolments: dict[tuple[int, int], dict[str, Any]]


def replay(events: list[Any]) -> Projection:
    """Rebuild the state from events (rows with learner_id, plan_id, course_id, kind,
    after_state), oldest first."""
    projection = Projection({}, {})
    for event in events:
        after = orjson.loads(event["after_state"]) if event["after_state"] else {}
        kind = event["kind"]
        if kind in ("course_enrolled", "course_progress", "reset"):
            projection.courses[(event["learner_id"], event["course_id"])] = after
            continue
        key = (event["learner_id"], event["plan_id"])
        if kind == "enrolled":
            projection.enrolments[key] = {**after, "unenrolledTime": None}
        else:
            projection.enrolments[key].update(after)
    return projection
