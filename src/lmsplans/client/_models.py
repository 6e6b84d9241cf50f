"""Typed records for the API's answers, each field declared once with the wire key it reads.

Counts become `int`, flags `bool`, epoch-millisecond strings aware UTC `datetime`, `"null"`
None (see `lmsplans.client._wire`); ids stay strings. Every record keeps the object exactly as
received in `.raw`, and is built with `Model.from_raw(record)`. Missing keys (Zoho's own
answers carry fewer fields than this server's) read as None.

The public records are `lmsplans.client`'s names (its `__all__` is the one list of them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from typing import Any

from lmsplans.client._wire import (
    Record,
    nested,
    nested_list,
    raw_field,
    record,
    to_bool,
    to_datetime,
    to_dict,
    to_id,
    to_ids,
    to_int,
    to_str,
    to_text,
    wire,
)


class DurationType(IntEnum):
    """The unit of a plan's `duration`."""

    DAYS = 0
    WEEKS = 1
    MONTHS = 2


@record
class PlanImageInfo(Record):
    """`planImageInfo`: a system image number or an uploaded image."""

    is_system: bool | None = wire("isSystem", to_bool)
    image: str | None = wire("image", to_str)
    image_url: str | None = wire("imageUrl", to_str)
    raw: dict[str, Any] = raw_field()


@record
class PlanInfo(Record):
    """`planInfo`: a learning plan as Zoho describes it."""

    plan_id: str = wire("planId", to_id)
    plan_name: str | None = wire("planName", to_str)
    duration: int | None = wire("duration", to_int)
    duration_type: int | None = wire("durationType", to_int)
    publish_state: int | None = wire("publishState", to_int)
    disabled: bool | None = wire("disabled", to_bool)
    active_course_count: int | None = wire("activeCourseCount", to_int)
    mandatory_course_count: int | None = wire("mandatoryCourseCount", to_int)
    created_time: datetime | None = wire("createdTime", to_datetime)
    is_plan_owner: bool | None = wire("isPlanOwner", to_bool)
    image: PlanImageInfo | None = wire("planImageInfo", nested(PlanImageInfo))
    raw: dict[str, Any] = raw_field()

    @property
    def is_published(self) -> bool:
        """`publishState` 1."""
        return self.publish_state == 1


@record
class PlanUserInfo(Record):
    """`userInfo`: a learner's enrolment in a plan (with identity fields on rosters)."""

    user_id: str = wire("userId", to_id)
    planuser_id: str | None = wire("planuserId", to_str)
    is_user_joined_plan: bool | None = wire("isUserJoinedPlan", to_bool)
    is_user_completed_plan: bool | None = wire("isUserCompletedPlan", to_bool)
    user_type: int | None = wire("userType", to_int)
    is_plan_admin: bool | None = wire("isPlanAdmin", to_bool)
    enrolled_time: datetime | None = wire("enrolledTime", to_datetime)
    email_id: str | None = wire("emailId", to_str)
    display_name: str | None = wire("displayName", to_str)
    employee_id: str | None = wire("employeeId", to_str)
    is_active: bool | None = wire("isActive", to_bool)
    raw: dict[str, Any] = raw_field()


@record
class ProgressInfo(Record):
    """`progressInfo`: where a learner stands in a plan (this server's addition to Zoho's shape).

    `progress_percentage` counts mandatory courses; `all_courses_percentage` counts all.
    """

    status: str | None = wire("status", to_str)
    completed_course_count: int | None = wire("completedCourseCount", to_int)
    course_count: int | None = wire("courseCount", to_int)
    completed_mandatory_course_count: int | None = wire("completedMandatoryCourseCount", to_int)
    mandatory_course_count: int | None = wire("mandatoryCourseCount", to_int)
    progress_percentage: int | None = wire("progressPercentage", to_int)
    all_courses_percentage: int | None = wire("allCoursesPercentage", to_int)
    due_time: datetime | None = wire("dueTime", to_datetime)
    is_overdue: bool | None = wire("isOverdue", to_bool)
    completed_time: datetime | None = wire("completedTime", to_datetime)
    raw: dict[str, Any] = raw_field()


@record
class LearningPlanProgress(Record):
    """One entry of the reference endpoint's `learningPlans`: a learner in one plan.

    `progress_info` is None against Zoho, whose answer has no `progressInfo`.
    """

    plan_id: str = wire("planId", to_id, fallback="planInfo.planId")
    user_info: PlanUserInfo = wire("userInfo", nested(PlanUserInfo, required=True))
    plan_info: PlanInfo = wire("planInfo", nested(PlanInfo, required=True))
    progress_info: ProgressInfo | None = wire("progressInfo", nested(ProgressInfo))
    raw: dict[str, Any] = raw_field()


@record
class CourseInPlanProgress(Record):
    """A course of a plan, with one learner's progress in it."""

    course_id: str = wire("courseId", to_id)
    course_name: str | None = wire("courseName", to_str)
    course_type: int | None = wire("courseType", to_int)
    level: int | None = wire("level", to_int)
    is_mandatory: bool | None = wire("isMandatory", to_bool)
    is_locked: bool | None = wire("isLocked", to_bool)
    completion_status: str | None = wire("completionStatus", to_str)
    completion_percentage: int | None = wire("completionPercentage", to_int)
    enrolled_date: datetime | None = wire("enrolledDate", to_datetime)
    completion_date: datetime | None = wire("completionDate", to_datetime)
    raw: dict[str, Any] = raw_field()


@record
class CourseProgress(Record):
    """One learner's progress in one course (`courseProgress` records)."""

    course_id: str = wire("courseId", to_id)
    course_name: str | None = wire("courseName", to_str)
    course_type: int | None = wire("courseType", to_int)
    user_id: str | None = wire("userId", to_str)
    email_id: str | None = wire("emailId", to_str)
    display_name: str | None = wire("displayName", to_str)
    completion_status: str | None = wire("completionStatus", to_str)
    completion_percentage: int | None = wire("completionPercentage", to_int)
    enrolled_date: datetime | None = wire("enrolledDate", to_datetime)
    completion_date: datetime | None = wire("completionDate", to_datetime)
    raw: dict[str, Any] = raw_field()


@record
class RosterMember(Record):
    """A learner on a plan's roster: the enrolment and the progress."""

    user_info: PlanUserInfo = wire("userInfo", nested(PlanUserInfo, required=True))
    progress_info: ProgressInfo | None = wire("progressInfo", nested(ProgressInfo))
    raw: dict[str, Any] = raw_field()

    @property
    def user_id(self) -> str:
        return self.user_info.user_id


@record
class RosterSummary(Record):
    """Counts over a plan's whole roster (not only the page, nor only the filter's matches)."""

    total_count: int | None = wire("totalCount", to_int)
    completed_count: int | None = wire("completedCount", to_int)
    in_progress_count: int | None = wire("inProgressCount", to_int)
    not_started_count: int | None = wire("notStartedCount", to_int)
    overdue_count: int | None = wire("overdueCount", to_int)
    matching_count: int | None = wire("matchingCount", to_int)
    raw: dict[str, Any] = raw_field()


# --- management records (this product's own endpoints) -------------------------------------


@record
class Learner(Record):
    """A learner of the organisation (`learner` records of `/api/v1/learners`)."""

    user_id: str = wire("userId", to_id)
    zuid: str | None = wire("zuid", to_str)
    employee_id: str | None = wire("employeeId", to_str)
    email_id: str | None = wire("emailId", to_str)
    display_name: str | None = wire("displayName", to_str)
    role: str | None = wire("role", to_str)
    manager_id: str | None = wire("managerId", to_str)
    is_active: bool | None = wire("isActive", to_bool)
    created_time: datetime | None = wire("createdTime", to_datetime)
    modified_time: datetime | None = wire("modifiedTime", to_datetime)
    raw: dict[str, Any] = raw_field()


@record
class LearnerUpsert(Record):
    """The answer to a learner upsert: the learners in the order sent, and which of them
    were created, updated or already as sent (userIds)."""

    learners: tuple[Learner, ...] = wire("learners", nested_list(Learner))
    created: tuple[str, ...] = wire("created", to_ids)
    updated: tuple[str, ...] = wire("updated", to_ids)
    unchanged: tuple[str, ...] = wire("unchanged", to_ids)
    raw: dict[str, Any] = raw_field()


@record
class Course(Record):
    """A course (`course` records of `/api/v1/courses`); `duration` is in `duration_unit`s
    (minute, hour or day), and a blended course's `batch_id` is its own id."""

    course_id: str = wire("courseId", to_id)
    course_name: str | None = wire("courseName", to_str)
    course_type: int | None = wire("courseType", to_int)
    duration: int | None = wire("duration", to_int)
    duration_unit: str | None = wire("durationUnit", to_str)
    description: str | None = wire("description", to_text)
    about_course: str | None = wire("aboutCourse", to_text)
    course_code: str | None = wire("courseCode", to_text)
    categories: tuple[str, ...] = wire("categories", to_ids)
    course_admins: tuple[str, ...] = wire("courseAdmins", to_ids)
    permission_settings: dict[str, Any] | None = wire("permissionSettings", to_dict)
    batch_id: str | None = wire("batchId", to_str)
    created_time: datetime | None = wire("createdTime", to_datetime)
    modified_time: datetime | None = wire("modifiedTime", to_datetime)
    raw: dict[str, Any] = raw_field()


@record
class PlanCourse(Record):
    """A course of a plan, as the plan's detail lists it."""

    course_id: str = wire("courseId", to_id)
    course_name: str | None = wire("courseName", to_str)
    course_type: int | None = wire("courseType", to_int)
    level: int | None = wire("level", to_int)
    is_mandatory: bool | None = wire("isMandatory", to_bool)
    is_locked: bool | None = wire("isLocked", to_bool)
    raw: dict[str, Any] = raw_field()


@dataclass(frozen=True, slots=True)
class PlanCourseSpec:
    """A course to put in a plan (`set_courses`): its level, whether it is mandatory, whether
    it stays locked until the previous level is complete."""

    course_id: str | int
    level: int = 1
    is_mandatory: bool = False
    is_locked: bool = False

    def to_raw(self) -> dict[str, Any]:
        return {
            "courseId": int(self.course_id),
            "level": self.level,
            "isMandatory": self.is_mandatory,
            "isLocked": self.is_locked,
        }


@record
class PlanDetail(Record):
    """A learning plan with its description, courses and admins (the management read)."""

    plan_info: PlanInfo = wire("planInfo", nested(PlanInfo, required=True))
    description: str | None = wire("description", to_text)
    published_time: datetime | None = wire("publishedTime", to_datetime)
    modified_time: datetime | None = wire("modifiedTime", to_datetime)
    plan_admins: tuple[str, ...] = wire("planAdmins", to_ids)
    courses: tuple[PlanCourse, ...] = wire("courses", nested_list(PlanCourse))
    raw: dict[str, Any] = raw_field()

    @property
    def plan_id(self) -> str:
        return self.plan_info.plan_id


@record
class Enrolment(Record):
    """The answer to an enrolment: who was enrolled now and who already was."""

    plan_id: str = wire("planId", to_id)
    enrolled: tuple[str, ...] = wire("enrolled", to_ids)
    already_enrolled: tuple[str, ...] = wire("alreadyEnrolled", to_ids)
    raw: dict[str, Any] = raw_field()


@record
class HistoryEvent(Record):
    """One event of a learner's history in a plan: what changed, who did it, from where, with
    which `Idempotency-Key`, the rule it overrode (`"levelLock"`, or None), whether its course
    has since left the plan, and the state before and after."""

    event_id: str = wire("eventId", to_id)
    kind: str | None = wire("kind", to_str)
    plan_id: str | None = wire("planId", to_str)
    course_id: str | None = wire("courseId", to_str)
    actor_id: str | None = wire("actorId", to_str)
    source: str | None = wire("source", to_str)
    idempotency_key: str | None = wire("idempotencyKey", to_str)
    override: str | None = wire("override", to_str)
    removed_from_plan: bool | None = wire("removedFromPlan", to_bool)
    before: dict[str, Any] | None = wire("before", to_dict)
    after: dict[str, Any] | None = wire("after", to_dict)
    time: datetime | None = wire("time", to_datetime)
    raw: dict[str, Any] = raw_field()


@record
class Webhook(Record):
    """A webhook endpoint (`/api/v1/webhooks`); `secret` only in the answers that show it
    (creating the endpoint, rotating its secret), None elsewhere."""

    webhook_id: str = wire("webhookId", to_id)
    url: str | None = wire("url", to_str)
    description: str | None = wire("description", to_text)
    event_types: tuple[str, ...] = wire("eventTypes", to_ids)
    enabled: bool | None = wire("enabled", to_bool)
    disabled_reason: str | None = wire("disabledReason", to_text)
    previous_secret_expires_time: datetime | None = wire("previousSecretExpiresTime", to_datetime)
    secret: str | None = wire("secret", to_str)
    created_time: datetime | None = wire("createdTime", to_datetime)
    modified_time: datetime | None = wire("modifiedTime", to_datetime)
    raw: dict[str, Any] = raw_field()


@record
class WebhookAttempt(Record):
    """One attempt to deliver an event to a webhook (its delivery log)."""

    attempt_id: str = wire("attemptId", to_id)
    event_id: str | None = wire("eventId", to_str)
    event_type: str | None = wire("eventType", to_str)
    attempt: int | None = wire("attempt", to_int)
    attempt_time: datetime | None = wire("attemptTime", to_datetime)
    status_code: int | None = wire("statusCode", to_int)
    duration_ms: int | None = wire("durationMs", to_int)
    response_excerpt: str | None = wire("responseExcerpt", to_text)
    error: str | None = wire("error", to_text)
    succeeded: bool | None = wire("succeeded", to_bool)
    raw: dict[str, Any] = raw_field()


@record
class Event(Record):
    """One event of the organisation's change feed (`client.events.iter`): its stable `id`,
    its `type` (`course.progress.completed`, ...), when it occurred, the ids involved (None
    where none is) and `data`, the snapshot the write recorded (for enrolment and progress
    events, the reads' `userInfo` and `progressInfo`)."""

    id: str = wire("id", to_id)
    type: str | None = wire("type", to_str)
    occurred_time: datetime | None = wire("occurredTime", to_datetime)
    learner_id: str | None = wire("learnerId", to_str)
    plan_id: str | None = wire("planId", to_str)
    course_id: str | None = wire("courseId", to_str)
    data: dict[str, Any] | None = wire("data", to_dict)
    raw: dict[str, Any] = raw_field()
