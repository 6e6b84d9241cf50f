"""An enrolment's history as a timeline: the events the history endpoint answers
(`progress.queries.plan_history`), each in a sentence, with who made it and when."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lmsplans.server.db import Connection
from lmsplans.server.learners import queries as learner_queries
from lmsplans.server.learners.queries import Learner
from lmsplans.server.ui.views import STATUS_LABELS, number


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    """One event: what happened (`text`), when, by whom (None: the system) and from where."""

    event_id: int
    kind: str
    text: str
    at_ms: int
    actor: str | None
    source: str


def _course_text(kind: str, course: str, after: dict[str, Any]) -> str:
    if kind == "course_enrolled":
        return f"Enrolled in {course}"
    if kind == "reset":
        return f"{course} reset to not started"
    status = after.get("status", "")
    if status == "completed":
        return f"Completed {course}"
    if status == "inProgress":
        return f"{course}: {after.get('percentage', 0)}%"
    return f"{course}: {STATUS_LABELS.get(status, status).lower()}"


_PLAN_TEXTS = {
    "joined": "Joined the plan",
    "plan_completed": "Completed the plan",
    "unenrolled": "Unenrolled from the plan",
}


def event_text(event: dict[str, Any], *, learner_id: int, course_names: dict[int, str]) -> str:
    """A history event (`progress.queries.event_record`) in a sentence."""
    kind = event["kind"]
    after = event["after"] or {}
    course_id = number(event["courseId"])
    if course_id is not None:
        return _course_text(kind, course_names.get(course_id, f"course {course_id}"), after)
    if kind == "enrolled":
        by_self = number(event["actorId"]) == learner_id
        return "Joined the plan (enrolled themself)" if by_self else "Enrolled in the plan"
    return _PLAN_TEXTS.get(kind, str(kind))


async def timeline(
    conn: Connection,
    *,
    org_id: int,
    learner: Learner,
    events: Sequence[dict[str, Any]],
    courses: Sequence[dict[str, Any]],
) -> list[TimelineEvent]:
    """The events, newest first, in sentences, with their actors' names."""
    names = {int(course["courseId"]): course["courseName"] for course in courses}
    actor_ids = [actor for event in events if (actor := number(event["actorId"])) is not None]
    actors = await learner_queries.display_names(conn, org_id=org_id, learner_ids=actor_ids)
    found = []
    for event in events:
        actor_id = number(event["actorId"])
        found.append(
            TimelineEvent(
                event_id=int(event["eventId"]),
                kind=event["kind"],
                text=event_text(event, learner_id=learner.id, course_names=names),
                at_ms=int(event["time"]),
                actor=None if actor_id is None else actors.get(actor_id, f"user {actor_id}"),
                source=event["source"],
            )
        )
    found.reverse()
    return found
