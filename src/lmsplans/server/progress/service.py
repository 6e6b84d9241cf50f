"""Progress writes: recording and resetting course progress, joining and completing plans.

Each write takes the learner's lock once and reads the state it changes once, then
decides by the rules of spec section 2 (a completed course goes back only through a
reset; progress joins the plans that hold the course; a plan completes when its last
mandatory course does). Every change appends its event (`events.append_event`) in the
same transaction.
"""

from __future__ import annotations

from typing import Any

from lmsplans.server.courses.queries import course_row
from lmsplans.server.courses.schemas import SELF_RECORDED_TYPES
from lmsplans.server.db import Connection
from lmsplans.server.errors import Conflict, InvalidParameter, NoSuchRecord, PermissionDenied
from lmsplans.server.learners.queries import Learner, resolve_learner
from lmsplans.server.learners.service import ensure_can_read
from lmsplans.server.progress import queries
from lmsplans.server.progress.events import LEVEL_LOCK, append_event, course_event_state
from lmsplans.server.progress.schemas import CourseStatus, ProgressIn
from lmsplans.server.writes import WriteContext

CourseState = dict[str, Any]  # the course_progress columns: status, percentage, enrolled_time,
# completed_time (events hold them camelCased: `events.course_event_state`)


async def record_progress(
    conn: Connection, *, write: WriteContext, learner_ref: str, course_id: int, data: ProgressIn
) -> Learner:
    """Record `data` for a learner in a course, as the progress endpoint asks; answers the
    learner.

    Admins record anyone's progress in the organisation; anyone else only their own, in
    courses whose type allows it (not blended courses). The learner must be in the course,
    and the time may not be in the future.
    """
    learner = await resolve_learner(conn, org_id=write.org_id, learner_ref=learner_ref)
    course = await course_row(conn, org_id=write.org_id, course_id=course_id)
    if not write.by_admin:
        if learner.id != write.actor_id:
            ensure_can_read(learner, viewer_id=write.actor_id, role=write.role)
            raise PermissionDenied("Permission denied: only admins record others' progress")
        if course["course_type"] not in SELF_RECORDED_TYPES:
            raise PermissionDenied(
                "Permission denied: progress in a blended course is recorded by an admin"
            )
    # Writes for one learner are serialised, so the state read here is still the state
    # when this transaction writes (PostgreSQL runs transactions side by side).
    await conn.lock(learner.id)
    before = await _course_state(conn, learner_id=learner.id, course_id=course_id)
    if before is None:
        raise NoSuchRecord("No record for the given id: the learner is not in this course")
    at_ms = write.now_ms if data.completionTime is None else data.completionTime
    if at_ms > write.now_ms:
        raise InvalidParameter("completionTime", "may not be in the future")
    if at_ms < before["enrolled_time"]:
        raise InvalidParameter(
            "completionTime",
            f"may not precede the enrolment in the course ({before['enrolled_time']})",
        )
    if data.reset:
        await _reset(conn, write, learner_id=learner.id, course_id=course_id, before=before)
    else:
        override = await _level_lock(conn, write, learner_id=learner.id, course_id=course_id)
        status, percentage = data.resolved(before["percentage"])
        await _record(
            conn,
            write,
            learner_id=learner.id,
            course_id=course_id,
            before=before,
            status=status,
            percentage=percentage,
            at_ms=at_ms,
            override=override,
        )
    return learner


async def _level_lock(
    conn: Connection, write: WriteContext, *, learner_id: int, course_id: int
) -> str | None:
    """Whether the course is locked for the learner in a plan of theirs (reported
    `"isLocked": true` there: `queries.plan_course_locks`, the read's own rule). A learner's
    or manager's write is refused (409 7052, naming the plan and the level to complete
    first); an admin's goes through as an override, answered `LEVEL_LOCK` for its event."""
    for plan in await queries.plans_locking_course(
        conn, learner_id=learner_id, course_id=course_id
    ):
        locks = await queries.plan_course_locks(conn, plan_id=plan["id"], learner_id=learner_id)
        if course_id not in locks:
            continue
        if write.by_admin:
            return LEVEL_LOCK
        raise Conflict(
            f"Conflict: the course is locked in learning plan {plan['name']!r} until level "
            f"{locks[course_id]} is complete: complete level {locks[course_id]} first"
        )
    return None


async def set_course_progress(
    conn: Connection,
    *,
    write: WriteContext,
    learner_id: int,
    course_id: int,
    status: CourseStatus,
    percentage: int,
    at_ms: int,
) -> bool:
    """Set a learner's state in a course as of `at_ms`, by the same rules as
    `record_progress` but with no permission to check (a seed's or a test's own data).
    Answers whether anything changed."""
    await conn.lock(learner_id)
    before = await _course_state(conn, learner_id=learner_id, course_id=course_id)
    return await _record(
        conn,
        write,
        learner_id=learner_id,
        course_id=course_id,
        before=before,
        status=status,
        percentage=percentage,
        at_ms=at_ms,
    )


async def _course_state(conn: Connection, *, learner_id: int, course_id: int) -> CourseState | None:
    row = await conn.fetch_one(
        """SELECT status, percentage, enrolled_time, completed_time FROM course_progress
            WHERE learner_id = :learner_id AND course_id = :course_id""",
        {"learner_id": learner_id, "course_id": course_id},
    )
    return None if row is None else dict(row)


async def _record(
    conn: Connection,
    write: WriteContext,
    *,
    learner_id: int,
    course_id: int,
    before: CourseState | None,
    status: CourseStatus,
    percentage: int,
    at_ms: int,
    override: str | None = None,
) -> bool:
    """Set the state `before` (read under the learner's lock) to `status`, append the
    event (saying which rule the writer `override`s, if any), join the plans that hold the
    course and complete any plan whose mandatory courses are now all completed. Answers
    whether anything changed.

    A completed course stays completed: recording it completed again changes nothing, and
    anything else is 409 7052 (only a reset takes it back).
    """
    if before is not None and before["status"] == CourseStatus.COMPLETED:
        if status is not CourseStatus.COMPLETED:
            raise Conflict("Conflict: the course is completed; send reset: true to take it back")
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
        write,
        learner_id=learner_id,
        course_id=course_id,
        kind="course_progress",
        before=before,
        after=after,
        override=override,
    )
    if status is not CourseStatus.NOT_STARTED:
        await _join_plans_on_progress(
            conn, write, learner_id=learner_id, course_id=course_id, at_ms=at_ms
        )
    if status is CourseStatus.COMPLETED:
        await complete_finished_plans(conn, write=write, learner_id=learner_id)
    return True


async def _reset(
    conn: Connection, write: WriteContext, *, learner_id: int, course_id: int, before: CourseState
) -> None:
    """Take a course back to not started: the one way out of `completed`. Plans already
    completed stay completed (completion is sticky)."""
    after = {
        **before,
        "status": CourseStatus.NOT_STARTED.value,
        "percentage": 0,
        "completed_time": None,
    }
    if after != before:
        await _write_course_state(
            conn,
            write,
            learner_id=learner_id,
            course_id=course_id,
            kind="reset",
            before=before,
            after=after,
        )


async def _write_course_state(
    conn: Connection,
    write: WriteContext,
    *,
    learner_id: int,
    course_id: int,
    kind: str,
    before: CourseState | None,
    after: CourseState,
    plan_id: int | None = None,
    override: str | None = None,
) -> None:
    """Upsert the course_progress row and append its event (of the plan it was enrolled
    through, for a course enrolment), the states in the event's camelCase."""
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
            "org_id": write.org_id,
            "now": write.now_ms,
            **after,
        },
    )
    await append_event(
        conn,
        write,
        learner_id=learner_id,
        course_id=course_id,
        kind=kind,
        before=None if before is None else course_event_state(before),
        after=course_event_state(after),
        plan_id=plan_id,
        override=override,
    )


async def enrol_in_plan_courses(
    conn: Connection, *, write: WriteContext, plan_id: int, learner_id: int
) -> None:
    """Course enrolments (not started) for each of the plan's courses the learner lacks:
    the consequence of an enrolment, or of courses added to the plan."""
    missing = await conn.fetch_all(
        """SELECT pc.course_id FROM plan_courses pc
            WHERE pc.plan_id = :plan_id
              AND NOT EXISTS (SELECT 1 FROM course_progress cp
                               WHERE cp.learner_id = :learner_id
                                 AND cp.course_id = pc.course_id)
            ORDER BY pc.position""",
        {"learner_id": learner_id, "plan_id": plan_id},
    )
    enrolling = write.consequence(actor_id=write.actor_id)
    for row in missing:
        state = {
            "status": CourseStatus.NOT_STARTED.value,
            "percentage": 0,
            "enrolled_time": write.now_ms,
            "completed_time": None,
        }
        await _write_course_state(
            conn,
            enrolling,
            learner_id=learner_id,
            course_id=row["course_id"],
            kind="course_enrolled",
            before=None,
            after=state,
            plan_id=plan_id,
        )


async def _join_plans_on_progress(
    conn: Connection, write: WriteContext, *, learner_id: int, course_id: int, at_ms: int
) -> None:
    """Progress in a course joins the learner to every plan of theirs that holds it: the
    learner's own act, whoever recorded the progress, dated by the progress (never before
    the enrolment: progress in a course may be older than a plan that holds it)."""
    rows = await conn.fetch_all(
        """SELECT e.id, e.plan_id, e.enrolled_time FROM plan_enrolments e
             JOIN plan_courses pc ON pc.plan_id = e.plan_id AND pc.course_id = :course_id
            WHERE e.learner_id = :learner_id AND e.unenrolled_time IS NULL AND NOT e.is_joined""",
        {"learner_id": learner_id, "course_id": course_id},
    )
    joining = write.consequence(actor_id=learner_id)
    for row in rows:
        await join_enrolment(
            conn,
            write=joining,
            learner_id=learner_id,
            plan_id=row["plan_id"],
            enrolment_id=row["id"],
            at_ms=max(at_ms, row["enrolled_time"]),
        )


async def join_enrolment(
    conn: Connection,
    *,
    write: WriteContext,
    learner_id: int,
    plan_id: int,
    enrolment_id: int,
    at_ms: int,
) -> None:
    """Mark an enrolment joined at `at_ms`."""
    await conn.execute(
        "UPDATE plan_enrolments SET is_joined = TRUE, joined_time = :at WHERE id = :id",
        {"id": enrolment_id, "at": at_ms},
    )
    await append_event(
        conn,
        write,
        learner_id=learner_id,
        plan_id=plan_id,
        kind="joined",
        before={"isJoined": False},
        after={"isJoined": True, "joinedTime": at_ms},
    )


async def complete_finished_plans(
    conn: Connection, *, write: WriteContext, learner_id: int, plan_id: int | None = None
) -> None:
    """Mark complete every incomplete enrolment (of `plan_id`, or of any plan) whose
    mandatory courses are all completed, as the plan is now; its completion time is when
    the last of them was completed. Completion is sticky: nothing here ever un-completes.
    The system completes a plan, whoever wrote what completed it."""
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
    system = write.consequence(actor_id=None)
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
            system,
            learner_id=learner_id,
            plan_id=row["plan_id"],
            kind="plan_completed",
            before={"isCompleted": False, "completedTime": None},
            after={"isCompleted": True, "completedTime": row["last_completed"]},
        )
