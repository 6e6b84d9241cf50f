"""What an enrolment or progress event carries so a receiver need not call back: the
`userInfo` and `progressInfo` the reference endpoint answers, as the write leaves them.

The services record an event as they go (`WriteContext.changes.event`); the enrolment it is
about may change further in the same write (a course completed completes the plan), so its
snapshot is read once the write is done, in its transaction, just before the change rows
are written (`ChangeLog.before_writing`). An enrolment event's `data` gets `userInfo` and
`progressInfo`; a course progress event's gets `plans`: the learner's active enrolments in
the plans holding the course, each with `planId`, `userInfo` and `progressInfo`.
"""

from __future__ import annotations

from typing import Any

from lmsplans.server.db import Connection
from lmsplans.server.plans.queries import enrolment_progress
from lmsplans.server.writes import WriteContext


def attach(
    write: WriteContext,
    data: dict[str, Any],
    *,
    learner_id: int,
    plan_id: int | None = None,
    course_id: int | None = None,
) -> None:
    """Complete `data` (an event's, recorded in this write) with the snapshot of the
    learner's enrolment in `plan_id` or, without one, of their enrolments in the plans
    holding `course_id`, read when the write is done."""
    now_ms = write.now_ms

    async def complete(conn: Connection) -> None:
        found = await enrolment_progress(
            conn,
            learner_id=learner_id,
            plan_ids=None if plan_id is None else [plan_id],
            course_id=course_id,
            now_ms=now_ms,
        )
        if plan_id is None:
            data["plans"] = found
        elif found:
            data["userInfo"] = found[0]["userInfo"]
            data["progressInfo"] = found[0]["progressInfo"]

    write.changes.log.before_writing(complete)
