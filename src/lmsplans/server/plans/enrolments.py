"""Plan enrolments: enrolling learners in a plan, unenrolling them, and a learner joining.

As in `plans.service`, the writes the API asks for (`enrol_learners`, `unenrol_learner`,
`join_plan`) check who may make them; `enrol` and `unenrol` only write (a seed's or a
test's own data). Every change appends its event, in the write's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence

from lmsplans.server.db import Connection, Row
from lmsplans.server.errors import Conflict, NoSuchRecord, PermissionDenied
from lmsplans.server.learners.queries import resolve_learner, resolve_learners
from lmsplans.server.plans.queries import plan_row
from lmsplans.server.plans.service import managed_plan
from lmsplans.server.progress import service as progress
from lmsplans.server.progress.events import append_event
from lmsplans.server.writes import WriteContext


def _ensure_open_for_enrolment(plan: Row) -> None:
    if plan["publish_state"] != 1:
        raise Conflict("Conflict: learners can only be enrolled in a published plan")
    if plan["disabled"]:
        raise Conflict("Conflict: the plan is disabled")


async def enrol_learners(
    conn: Connection, *, write: WriteContext, plan_id: int, refs: Sequence[str]
) -> tuple[list[int], list[int]]:
    """Enrol the learners `refs` names (userIds, zuids or emails) in a published, enabled
    plan. Answers those enrolled now and those already enrolled, left as they were."""
    plan = await managed_plan(conn, write, plan_id)
    _ensure_open_for_enrolment(plan)
    learner_ids = await resolve_learners(conn, org_id=write.org_id, refs=refs, field="erecnosList")
    for learner_id in sorted(set(learner_ids)):  # ascending, so two batches never deadlock
        await conn.lock(learner_id)
    enrolled, already = [], []
    for learner_id in dict.fromkeys(learner_ids):
        if await _active_enrolment(conn, plan_id=plan_id, learner_id=learner_id):
            already.append(learner_id)
            continue
        await enrol(conn, write=write, plan_id=plan_id, learner_id=learner_id)
        enrolled.append(learner_id)
    return enrolled, already


async def unenrol_learner(
    conn: Connection, *, write: WriteContext, plan_id: int, learner_ref: str
) -> int:
    """Take the learner `learner_ref` names out of the plan; answers their userId."""
    await managed_plan(conn, write, plan_id)
    learner = await resolve_learner(conn, org_id=write.org_id, learner_ref=learner_ref)
    await unenrol(conn, write=write, plan_id=plan_id, learner_id=learner.id)
    return learner.id


async def join_plan(
    conn: Connection, *, write: WriteContext, plan_id: int, learner_ref: str
) -> tuple[int, int]:
    """The learner joins a published plan: enrolled by themself when not yet enrolled
    (joined at once; a disabled plan is 409), or joined now when an admin had enrolled
    them. Joining twice changes nothing. Admins may join a learner on their behalf; anyone
    else only themself. Answers the learner's userId and the planuserId."""
    learner = await resolve_learner(conn, org_id=write.org_id, learner_ref=learner_ref)
    if learner.id != write.actor_id and not write.by_admin:
        raise PermissionDenied("Permission denied: learners join plans themselves")
    plan = await plan_row(conn, org_id=write.org_id, plan_id=plan_id)
    if plan["publish_state"] != 1:
        raise NoSuchRecord("No record for the given id: no such learning plan")
    await conn.lock(learner.id)
    current = await _active_enrolment(conn, plan_id=plan_id, learner_id=learner.id)
    if current is not None:
        if not current["is_joined"]:
            await progress.join_enrolment(
                conn,
                write=write,
                learner_id=learner.id,
                plan_id=plan_id,
                enrolment_id=current["id"],
                at_ms=write.now_ms,
            )
        return learner.id, int(current["id"])
    _ensure_open_for_enrolment(plan)
    planuser_id = await enrol(
        conn, write=write.on_behalf_of(learner.id), plan_id=plan_id, learner_id=learner.id
    )
    return learner.id, planuser_id


# --- The writes below them: no permission to check ------------------------------------------


async def _active_enrolment(conn: Connection, *, plan_id: int, learner_id: int) -> Row | None:
    return await conn.fetch_one(
        """SELECT id, is_joined FROM plan_enrolments
            WHERE plan_id = :plan_id AND learner_id = :learner_id AND unenrolled_time IS NULL""",
        {"plan_id": plan_id, "learner_id": learner_id},
    )


async def enrol(
    conn: Connection,
    *,
    write: WriteContext,
    plan_id: int,
    learner_id: int,
    planuser_id: int | None = None,
) -> int:
    """Enrol a learner in a plan and in each of its courses (not started), with events.

    Enrolled by an admin (the writer), the learner has not joined yet; enrolled by
    themself, they have. A learner unenrolled earlier is enrolled again on the same record
    (its history stays); a completion is kept (completion is sticky). Answers the
    enrolment id (planuserId).
    """
    await conn.lock(learner_id)
    enrolled_by, now_ms = write.actor_id, write.now_ms
    joined = enrolled_by == learner_id
    previous = await conn.fetch_one(
        """SELECT id, is_completed, completed_time FROM plan_enrolments
            WHERE plan_id = :plan_id AND learner_id = :learner_id""",
        {"plan_id": plan_id, "learner_id": learner_id},
    )
    state = {
        "enrolledTime": now_ms,
        "isJoined": joined,
        "joinedTime": now_ms if joined else None,
        "isCompleted": bool(previous["is_completed"]) if previous else False,
        "completedTime": previous["completed_time"] if previous else None,
    }
    if previous is None:
        enrolment_id = await conn.insert_row(
            "plan_enrolments",
            {
                "id": planuser_id,
                "org_id": write.org_id,
                "plan_id": plan_id,
                "learner_id": learner_id,
                "user_type": 1,
                "enrolled_time": now_ms,
                "enrolled_by": enrolled_by,
                "is_joined": joined,
                "joined_time": state["joinedTime"],
                "is_completed": False,
            },
        )
    else:
        enrolment_id = previous["id"]
        await conn.execute(
            """UPDATE plan_enrolments
                  SET enrolled_time = :now, enrolled_by = :enrolled_by, is_joined = :joined,
                      joined_time = :joined_time, unenrolled_time = NULL
                WHERE id = :id""",
            {
                "id": enrolment_id,
                "now": now_ms,
                "enrolled_by": enrolled_by,
                "joined": joined,
                "joined_time": state["joinedTime"],
            },
        )
    await append_event(
        conn,
        write,
        learner_id=learner_id,
        plan_id=plan_id,
        kind="enrolled",
        before=None,
        after={"planuserId": enrolment_id, **state},
    )
    await progress.enrol_in_plan_courses(conn, write=write, plan_id=plan_id, learner_id=learner_id)
    # Courses the learner completed before may already complete the plan.
    await progress.complete_finished_plans(
        conn, write=write, learner_id=learner_id, plan_id=plan_id
    )
    return enrolment_id


async def unenrol(conn: Connection, *, write: WriteContext, plan_id: int, learner_id: int) -> None:
    """Take a learner out of a plan (404 7049 when not in it). The enrolment, its progress
    and history are kept."""
    await conn.lock(learner_id)
    changed = await conn.execute(
        """UPDATE plan_enrolments SET unenrolled_time = :now
            WHERE plan_id = :plan_id AND learner_id = :learner_id AND unenrolled_time IS NULL""",
        {"plan_id": plan_id, "learner_id": learner_id, "now": write.now_ms},
    )
    if not changed:
        raise NoSuchRecord("No record for the given id: the learner is not in this plan")
    await append_event(
        conn,
        write,
        learner_id=learner_id,
        plan_id=plan_id,
        kind="unenrolled",
        before={"unenrolledTime": None},
        after={"unenrolledTime": write.now_ms},
    )
