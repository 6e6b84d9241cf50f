"""Progress payloads (`progressData`) and the documented shapes of the progress answers."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, model_validator

from lmsplans.server.errors import InvalidParameter
from lmsplans.server.wire import (
    ClosedRecord,
    Digits,
    Envelope,
    EpochMs,
    EpochMsIn,
    Flag,
    NotAFlag,
    OptionalId,
    Percent,
    ZohoId,
    ZohoRecord,
    ZohoTime,
)


class CourseStatus(StrEnum):
    NOT_STARTED = "notStarted"
    IN_PROGRESS = "inProgress"
    COMPLETED = "completed"


class EnrolmentStatus(StrEnum):
    """Where a learner stands in a plan (roster filter `status=`)."""

    COMPLETED = "completed"
    IN_PROGRESS = "inProgress"
    NOT_STARTED = "notStarted"
    OVERDUE = "overdue"


def enrolment_status_param(raw: str | None) -> EnrolmentStatus | None:
    """The roster filter `status` (absent or empty: none); 400 7204 for another value."""
    if not raw:
        return None
    try:
        return EnrolmentStatus(raw)
    except ValueError:
        allowed = ", ".join(status.value for status in EnrolmentStatus)
        raise InvalidParameter("status", f"must be one of {allowed}") from None


Percentage = Annotated[int, Field(ge=0, le=100), NotAFlag]


class ProgressIn(ClosedRecord):
    """A progress record for one learner in one course.

    Give a percentage, a status, or both (they must agree: 100 is completed, 0 is not
    started); `completionTime` (epoch ms) dates it, default now. `reset: true` takes the
    course back to not started, the only way out of `completed`.
    """

    completionPercentage: Percentage | None = None
    completionStatus: CourseStatus | None = None
    completionTime: EpochMsIn | None = None
    reset: Flag = False

    @model_validator(mode="after")
    def _consistent(self) -> ProgressIn:
        if self.reset:
            if self.completionPercentage is not None or self.completionStatus is not None:
                raise ValueError("reset takes no percentage or status")
            return self
        pct, status = self.completionPercentage, self.completionStatus
        if pct is None and status is None:
            raise ValueError("give completionPercentage, completionStatus or reset")
        if pct is not None and status is not None:
            expected = status_for(pct)
            if expected is not status and not (status is CourseStatus.IN_PROGRESS and pct == 0):
                raise ValueError(f"completionPercentage {pct} contradicts status {status.value}")
        return self

    def resolved(self, current_percentage: int) -> tuple[CourseStatus, int]:
        """The status and percentage to record."""
        if self.completionStatus is None:
            assert self.completionPercentage is not None
            return status_for(self.completionPercentage), self.completionPercentage
        if self.completionPercentage is not None:
            return self.completionStatus, self.completionPercentage
        percentage = {
            CourseStatus.COMPLETED: 100,
            CourseStatus.NOT_STARTED: 0,
        }.get(self.completionStatus, min(current_percentage, 99))
        return self.completionStatus, percentage


def status_for(percentage: int) -> CourseStatus:
    if percentage >= 100:
        return CourseStatus.COMPLETED
    return CourseStatus.IN_PROGRESS if percentage > 0 else CourseStatus.NOT_STARTED


# --- The documented shapes (OpenAPI components) ----------------------------------------------


class UserInfo(ZohoRecord):
    """The reference's `userInfo`: the learner's enrolment in one plan."""

    planuserId: ZohoId
    isUserJoinedPlan: bool
    isUserCompletedPlan: bool
    userType: Digits
    userId: ZohoId
    isPlanAdmin: bool
    enrolledTime: ZohoTime


class ProgressInfo(ZohoRecord):
    """Where the learner stands in the plan, measured against the plan as it is now."""

    status: Literal["completed", "inProgress", "notStarted"]
    completedCourseCount: Digits
    courseCount: Digits
    completedMandatoryCourseCount: Digits
    mandatoryCourseCount: Digits
    progressPercentage: Percent = Field(description="Completed mandatory / mandatory courses")
    allCoursesPercentage: Percent
    dueTime: ZohoTime
    isOverdue: bool
    completedTime: ZohoTime


class PlanCourseProgress(ZohoRecord):
    courseId: ZohoId
    courseName: str
    courseType: Literal["1", "2", "3"] = Field(description="1 self-paced, 2 blended, 3 e-material")
    level: Digits
    isMandatory: bool
    isLocked: bool
    completionStatus: CourseStatus
    completionPercentage: Percent
    enrolledDate: ZohoTime
    completionDate: ZohoTime


class PlanCoursesProgressPage(Envelope):
    courses: list[PlanCourseProgress]
    isNextAvailable: bool


class CourseProgressRecord(ZohoRecord):
    """One learner's progress in one course."""

    courseId: ZohoId
    courseName: str
    courseType: Literal["1", "2", "3"]
    userId: ZohoId
    emailId: str
    displayName: str
    completionStatus: CourseStatus
    completionPercentage: Percent
    enrolledDate: ZohoTime
    completionDate: ZohoTime


class CourseProgressPage(Envelope):
    courseProgress: list[CourseProgressRecord]
    isNextAvailable: bool


class CourseProgressOne(Envelope):
    courseProgress: CourseProgressRecord


EventKind = Literal[
    "course_enrolled",
    "course_progress",
    "reset",
    "enrolled",
    "joined",
    "plan_completed",
    "unenrolled",
]


class HistoryEvent(ZohoRecord):
    """One change to an enrolment or to course progress (`event_record`)."""

    eventId: ZohoId = Field(description="Increasing: the events' order")
    kind: EventKind
    planId: OptionalId = Field(description='The plan; "null" for a course event')
    courseId: OptionalId = Field(description='The course; "null" for a plan event')
    actorId: OptionalId = Field(description='Who made the change; "null" for the system')
    source: str = Field(description="Where the change came from: api, demo, ...")
    idempotencyKey: str = Field(description='The write\'s Idempotency-Key; "null" without one')
    override: Literal["levelLock", "null"] = Field(
        description='The rule the writer overrode: "levelLock", an admin recording progress '
        'in a course locked for the learner; "null" for none'
    )
    removedFromPlan: bool = Field(
        description="true for an event of a course the plan no longer holds"
    )
    before: dict[str, str | bool] | None = Field(
        description="The state before, keys camelCased; null when new. Ids, counts and times "
        'are strings ("null" when absent), flags booleans.'
    )
    after: dict[str, str | bool] | None = Field(description="The state after, keys camelCased")
    time: EpochMs


class HistoryPage(Envelope):
    events: list[HistoryEvent]
    isNextAvailable: bool
