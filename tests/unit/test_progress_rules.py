"""The progress rules of spec section 2, as the pure functions of `progress/rules.py`."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lmsplans.server.progress.rules import (
    EnrolmentCounts,
    PlanCourseState,
    course_locks,
    due_time,
    enrolment_status,
    is_overdue,
    is_plan_complete,
    locked_levels,
    percentage,
    progress_info,
)
from lmsplans.server.progress.schemas import CourseStatus, EnrolmentStatus

DAY_MS = 86_400_000
DAYS, WEEKS, MONTHS = 0, 1, 2
DONE, DOING, TODO = CourseStatus.COMPLETED, CourseStatus.IN_PROGRESS, CourseStatus.NOT_STARTED


def ms(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp() * 1000)  # type: ignore[misc]


def counts(
    *,
    courses: int = 4,
    mandatory: int = 2,
    done: int = 0,
    done_mandatory: int = 0,
    started: int = 0,
) -> EnrolmentCounts:
    return EnrolmentCounts(
        course_count=courses,
        mandatory_count=mandatory,
        completed_count=done,
        completed_mandatory_count=done_mandatory,
        started_count=started,
    )


# --- Due time -----------------------------------------------------------------------------------


def test_due_time_in_days_and_weeks() -> None:
    enrolled = ms(2025, 3, 10, 8, 30)
    assert due_time(enrolled, 1, DAYS) == enrolled + DAY_MS
    assert due_time(enrolled, 45, DAYS) == enrolled + 45 * DAY_MS
    assert due_time(enrolled, 1, WEEKS) == enrolled + 7 * DAY_MS
    assert due_time(enrolled, 6, WEEKS) == ms(2025, 4, 21, 8, 30)


@pytest.mark.parametrize(
    ("enrolled", "months", "due"),
    [
        ((2025, 3, 10, 8, 30, 15), 1, (2025, 4, 10, 8, 30, 15)),  # time of day kept
        ((2025, 11, 20), 2, (2026, 1, 20)),  # across the year end
        ((2025, 12, 1), 1, (2026, 1, 1)),
        ((2025, 1, 15), 12, (2026, 1, 15)),
        ((2025, 1, 15), 25, (2027, 2, 15)),
        ((2024, 1, 31, 23, 59), 1, (2024, 2, 29, 23, 59)),  # clamped, leap year
        ((2025, 1, 31), 1, (2025, 2, 28)),  # clamped, common year
        ((2025, 3, 31), 1, (2025, 4, 30)),
        ((2025, 8, 31), 1, (2025, 9, 30)),
        ((2025, 1, 30), 1, (2025, 2, 28)),
        ((2024, 2, 29), 12, (2025, 2, 28)),
        ((2024, 2, 29), 48, (2028, 2, 29)),
        ((2025, 2, 28), 1, (2025, 3, 28)),  # not pushed to the month's end
    ],
)
def test_due_time_in_calendar_months(
    enrolled: tuple[int, ...], months: int, due: tuple[int, ...]
) -> None:
    assert due_time(ms(*enrolled), months, MONTHS) == ms(*due)


def test_due_time_keeps_milliseconds() -> None:
    enrolled = ms(2025, 5, 31, 12) + 789
    assert due_time(enrolled, 1, MONTHS) == ms(2025, 6, 30, 12) + 789
    assert due_time(enrolled, 1, DAYS) == enrolled + DAY_MS


@pytest.mark.parametrize("duration_type", [DAYS, WEEKS, MONTHS])
@pytest.mark.parametrize("duration", [0, -1])
def test_no_duration_means_no_due_time(duration_type: int, duration: int) -> None:
    assert due_time(ms(2025, 1, 1), duration, duration_type) is None


# --- Percentages ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("done", "total", "expected"),
    [(0, 3, 0), (1, 3, 33), (2, 3, 66), (3, 3, 100), (1, 7, 14), (6, 7, 85), (99, 100, 99)],
)
def test_percentage_is_floored(done: int, total: int, expected: int) -> None:
    assert percentage(done, total) == expected


def test_percentage_of_nothing_is_zero() -> None:
    assert percentage(0, 0) == 0


# --- Overdue ------------------------------------------------------------------------------------


def test_overdue_only_when_incomplete_and_past_the_due_time() -> None:
    due = ms(2025, 6, 1)
    assert is_overdue(is_completed=False, due_ms=due, now_ms=due + 1)
    assert not is_overdue(is_completed=False, due_ms=due, now_ms=due)  # at the due time: not yet
    assert not is_overdue(is_completed=False, due_ms=due, now_ms=due - 1)
    assert not is_overdue(is_completed=True, due_ms=due, now_ms=due + DAY_MS)
    assert not is_overdue(is_completed=False, due_ms=None, now_ms=due + 1000 * DAY_MS)


# --- Status and completion ----------------------------------------------------------------------


def test_enrolment_status() -> None:
    assert enrolment_status(is_completed=False, counts=counts()) is EnrolmentStatus.NOT_STARTED
    assert (
        enrolment_status(is_completed=False, counts=counts(started=1))
        is EnrolmentStatus.IN_PROGRESS
    )
    assert (
        enrolment_status(is_completed=False, counts=counts(done=1, started=1))
        is EnrolmentStatus.IN_PROGRESS
    )
    # Completion is sticky: a completed enrolment stays completed whatever the counts say now.
    assert enrolment_status(is_completed=True, counts=counts()) is EnrolmentStatus.COMPLETED


def test_plan_complete_when_every_mandatory_course_is_completed() -> None:
    assert is_plan_complete([DONE])
    assert is_plan_complete([DONE, DONE, DONE])
    assert not is_plan_complete([DONE, DOING])
    assert not is_plan_complete([TODO, DONE])
    assert not is_plan_complete([DOING])
    assert not is_plan_complete([])  # a plan with no mandatory course is never complete


# --- Locked levels --------------------------------------------------------------------------------


def test_nothing_is_locked_in_a_single_level() -> None:
    assert locked_levels([(1, True, TODO), (1, False, TODO)]) == {}
    assert locked_levels([]) == {}


def test_a_level_is_locked_until_the_previous_level_is_complete() -> None:
    plan = [(1, True, DONE), (1, True, DOING), (2, True, TODO), (3, True, TODO)]
    assert locked_levels(plan) == {2: 1, 3: 2}
    plan = [(1, True, DONE), (1, True, DONE), (2, True, DOING), (3, True, TODO)]
    assert locked_levels(plan) == {3: 2}
    plan = [(1, True, DONE), (2, True, DONE), (3, True, TODO)]
    assert locked_levels(plan) == {}


def test_only_mandatory_courses_gate_a_level() -> None:
    plan = [(1, True, DONE), (1, False, TODO), (2, True, TODO)]
    assert locked_levels(plan) == {}


def test_a_level_without_mandatory_courses_needs_all_its_courses() -> None:
    plan = [(1, False, DONE), (1, False, DOING), (2, True, TODO)]
    assert locked_levels(plan) == {2: 1}
    plan = [(1, False, DONE), (1, False, DONE), (2, True, TODO)]
    assert locked_levels(plan) == {}


def test_levels_with_gaps_follow_their_predecessor() -> None:
    plan = [(3, True, TODO), (1, True, TODO), (5, True, TODO)]
    assert locked_levels(plan) == {3: 1, 5: 3}
    plan = [(3, True, TODO), (1, True, DONE), (5, True, TODO)]
    assert locked_levels(plan) == {5: 3}


def test_only_courses_marked_locked_are_locked_and_each_names_the_level_to_complete() -> None:
    plan = [
        PlanCourseState(11, 1, True, False, DOING),
        PlanCourseState(21, 2, True, True, TODO),
        PlanCourseState(22, 2, False, False, TODO),  # not marked: open whatever the level
        PlanCourseState(31, 3, True, True, TODO),
    ]
    assert course_locks(plan) == {21: 1, 31: 2}
    done = [PlanCourseState(11, 1, True, False, DONE), *plan[1:]]
    assert course_locks(done) == {31: 2}
    assert course_locks([PlanCourseState(1, 1, True, True, TODO)]) == {}


# --- progressInfo ------------------------------------------------------------------------------


def test_progress_info_of_an_incomplete_overdue_enrolment() -> None:
    enrolled = ms(2025, 1, 31)
    info = progress_info(
        counts=counts(courses=5, mandatory=3, done=2, done_mandatory=1, started=3),
        enrolled_ms=enrolled,
        duration=1,
        duration_type=MONTHS,
        is_completed=False,
        completed_ms=None,
        now_ms=ms(2025, 3, 1),
    )
    assert info == {
        "status": "inProgress",
        "completedCourseCount": "2",
        "courseCount": "5",
        "completedMandatoryCourseCount": "1",
        "mandatoryCourseCount": "3",
        "progressPercentage": "33",
        "allCoursesPercentage": "40",
        "dueTime": str(ms(2025, 2, 28)),
        "isOverdue": True,
        "completedTime": "null",
    }


def test_progress_info_of_a_completed_enrolment_after_the_plan_grew() -> None:
    """Sticky completion: a course added later does not take the 100 % away."""
    completed = ms(2025, 2, 10)
    info = progress_info(
        counts=counts(courses=3, mandatory=3, done=2, done_mandatory=2, started=2),
        enrolled_ms=ms(2025, 1, 1),
        duration=2,
        duration_type=WEEKS,
        is_completed=True,
        completed_ms=completed,
        now_ms=ms(2025, 6, 1),
    )
    assert info["status"] == "completed"
    assert info["progressPercentage"] == "100"
    assert info["allCoursesPercentage"] == "66"
    assert info["isOverdue"] is False
    assert info["completedTime"] == str(completed)
    assert info["dueTime"] == str(ms(2025, 1, 15))


def test_progress_info_without_a_duration() -> None:
    info = progress_info(
        counts=counts(courses=0, mandatory=0),
        enrolled_ms=ms(2025, 1, 1),
        duration=0,
        duration_type=DAYS,
        is_completed=False,
        completed_ms=ms(2025, 1, 2),  # ignored while the enrolment is not complete
        now_ms=ms(2030, 1, 1),
    )
    assert info["dueTime"] == "null"
    assert info["isOverdue"] is False
    assert info["completedTime"] == "null"
    assert info["status"] == "notStarted"
    assert info["progressPercentage"] == "0"
    assert info["allCoursesPercentage"] == "0"
