"""The event log: every change to progress or to an enrolment appends one event, in the
transaction that makes the change; the current state is a projection of the events.

Event kinds and what their `after` holds (enough to rebuild the state: see `replay`), every
key camelCased as the wire writes keys:

- `course_enrolled`: a course_progress row created: status, percentage, enrolledTime,
  completedTime (`course_event_state`)
- `course_progress`: a course_progress row changed: the same fields
- `reset`: a course_progress row reset to not started: the same fields
- `enrolled`: a plan enrolment (re)created: planuserId, enrolledTime, isJoined, joinedTime,
  isCompleted, completedTime
- `joined`: isJoined, joinedTime
- `plan_completed`: isCompleted, completedTime
- `unenrolled`: unenrolledTime

An event may also name a rule its writer overrode (`override_rule`): `LEVEL_LOCK`, an
admin recording progress in a course locked for the learner.

Each event is also recorded in the change log (`lmsplans.server.changes`), which makes the
learner's, plan's and course's cache entries stale, under the change feed's names
(`feed_event_type`): plan.enrollment.created/joined/completed/removed,
course.progress.updated/completed/reset; a course enrolled (a progress row created with its
plan enrolment) is only a change of those entries.

Events written before revision 0005 held course states with snake_case keys
(enrolled_time, completed_time); that migration rewrote them, so every event reads alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from lmsplans.server.db import Connection
from lmsplans.server.events import snapshots
from lmsplans.server.writes import WriteContext

# The rule an admin overrides by recording progress in a course locked for the learner.
LEVEL_LOCK = "levelLock"


def course_event_state(state: dict[str, Any]) -> dict[str, Any]:
    """A course_progress state (its columns) as events hold it."""
    return {
        "status": state["status"],
        "percentage": state["percentage"],
        "enrolledTime": state["enrolled_time"],
        "completedTime": state["completed_time"],
    }


_FEED_TYPES = {
    "reset": "course.progress.reset",
    "enrolled": "plan.enrollment.created",
    "joined": "plan.enrollment.joined",
    "plan_completed": "plan.enrollment.completed",
    "unenrolled": "plan.enrollment.removed",
}


def feed_event_type(
    kind: str, before: dict[str, Any] | None, after: dict[str, Any] | None
) -> str | None:
    """The change feed's name for an event of `kind` (None: not one the feed publishes)."""
    if kind == "course_progress":
        done = (after or {}).get("status") == "completed"
        was_done = (before or {}).get("status") == "completed"
        return "course.progress.completed" if done and not was_done else "course.progress.updated"
    return _FEED_TYPES.get(kind)


async def append_event(
    conn: Connection,
    write: WriteContext,
    *,
    learner_id: int,
    kind: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    plan_id: int | None = None,
    course_id: int | None = None,
    override: str | None = None,
) -> None:
    """Append one event of `kind` to the log: the write's organisation, actor, source,
    time and idempotency key, with the state before and after, and the rule the writer
    overrode, if any; and the change, in the write's change log."""
    event_type = feed_event_type(kind, before, after)
    if event_type is None:
        write.changes.touch("progress", learner_id)
        if plan_id is not None:
            write.changes.touch("plan", plan_id)
        if course_id is not None:
            write.changes.touch("course", course_id)
        write.changes.touch_org("enrolments")
    else:
        data = {
            "before": before,
            "after": after,
            "actorId": write.actor_id,
            "source": write.source,
            "overrideRule": override,
        }
        write.changes.event(
            event_type, learner_id=learner_id, plan_id=plan_id, course_id=course_id, data=data
        )
        # `userInfo` and `progressInfo` as the write leaves them (`events.snapshots`).
        if event_type.startswith("plan.enrollment."):
            snapshots.attach(write, data, learner_id=learner_id, plan_id=plan_id)
        else:
            snapshots.attach(write, data, learner_id=learner_id, course_id=course_id)
    await conn.execute(
        """INSERT INTO progress_events (org_id, learner_id, plan_id, course_id, kind, actor_id,
                                        source, idempotency_key, before_state, after_state,
                                        override_rule, created_time)
           VALUES (:org_id, :learner_id, :plan_id, :course_id, :kind, :actor_id, :source,
                   :idempotency_key, :before, :after, :override, :now)""",
        {
            "org_id": write.org_id,
            "learner_id": learner_id,
            "plan_id": plan_id,
            "course_id": course_id,
            "kind": kind,
            "actor_id": write.actor_id,
            "source": write.source,
            "idempotency_key": write.idempotency_key,
            "before": None if before is None else orjson.dumps(before).decode(),
            "after": None if after is None else orjson.dumps(after).decode(),
            "override": override,
            "now": write.now_ms,
        },
    )


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
