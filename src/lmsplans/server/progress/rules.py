"""The progress rules of spec section 2: pure functions, implemented once, used by every
read and write.

- A learner completes a plan when every mandatory course in it is completed; the completion
  time is when the last mandatory course was completed. Completion is sticky (stored on the
  enrolment); incomplete enrolments are measured against the plan as it is now.
- Due time = enrolled time + duration (in `durationType` units); overdue = not complete and
  now past the due time. A duration of 0 means no due time.
- Progress percentage = completed mandatory / mandatory courses, floored; the all-courses
  percentage is reported beside it. A completed enrolment reports 100.
- A course a plan marks locked is locked for a learner while the previous level of the plan
  is incomplete: reported `isLocked`, and closed to the learner's own progress.
"""

from __future__ import annotations

import calendar
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

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
    return status_of(is_completed=is_completed, started=counts.started_count > 0)


def status_of(*, is_completed: bool, started: bool) -> EnrolmentStatus:
    """Completed (the enrolment's sticky flag), else in progress once any of the plan's
    courses is started, else not started."""
    if is_completed:
        return EnrolmentStatus.COMPLETED
    if started:
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


def locked_levels(courses: Sequence[tuple[int, bool, CourseStatus]]) -> dict[int, int]:
    """Levels whose previous level is not complete yet, each with that previous level.

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
    return {
        level: previous for previous, level in itertools.pairwise(levels) if previous in incomplete
    }


@dataclass(frozen=True, slots=True)
class PlanCourseState:
    """One course of a plan, as one learner stands in it."""

    course_id: int
    level: int
    is_mandatory: bool
    lock_until_previous: bool  # the plan marks it locked until the previous level is complete
    status: CourseStatus


def course_locks(courses: Sequence[PlanCourseState]) -> dict[int, int]:
    """The courses of a plan locked for the learner now: course id -> the level they must
    complete first. The read reports exactly these as `"isLocked": true`, and a learner's
    progress in one of them is refused (`progress.service`): one rule, both sides."""
    levels = locked_levels([(c.level, c.is_mandatory, c.status) for c in courses])
    return {
        c.course_id: levels[c.level] for c in courses if c.lock_until_previous and c.level in levels
    }


ALL_TIME = (-(2**63), 2**63)  # a span of time [since, until) with no end either way
