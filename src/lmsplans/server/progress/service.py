"""Progress writes: recording and resetting course progress, joining and completing plans.

Every change appends its event (`events.append_event`) in the same transaction; the rules
it follows are `rules`'.
"""

from __future__ import annotations

from typing import Any

from lmsplans.server.db import Connection
from lmsplans.server.progress.events import append_event
from lmsplans.server.progress.schemas import CourseStatus

COURSE_STATE_COLUMNS = "status, percentage, enrolled_time, completed_time"


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
