"""Plan reads: the SELECT statements that answer `planInfo`, and their rows as Zoho writes them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from lmsplans.server.plans.schemas import PLAN_INFO_COLUMNS, plan_info
from lmsplans.server.progress.rules import (
    ALL_TIME,
    EnrolmentCounts,
    due_time,
    is_overdue,
    progress_info,
)
from lmsplans.server.wire import zoho_str


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
