"""Typed records for the API's answers.

The API follows Zoho's conventions: counts and ids are strings (`"30"`), some flags are strings
(`"disabled": "false"`), times are epoch milliseconds as strings and an absent time is the
string `"null"`. These models turn them into `int`, `bool`, timezone-aware UTC `datetime` and
`None`, and keep the record exactly as received in `.raw`. Ids stay strings (they are opaque
and can be larger than what some languages hold in a number).

Models are built with `Model.from_raw(record)`. They tolerate missing keys (Zoho's own answers
carry fewer fields than this server's), which then read as None.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from typing import Any

__all__ = [
    "Course",
    "CourseInPlanProgress",
    "CourseProgress",
    "DurationType",
    "Enrolment",
    "HistoryEvent",
    "Learner",
    "LearningPlanProgress",
    "PlanCourse",
    "PlanCourseSpec",
    "PlanDetail",
    "PlanImageInfo",
    "PlanInfo",
    "PlanUserInfo",
    "ProgressInfo",
    "RosterMember",
    "RosterSummary",
    "to_bool",
    "to_datetime",
    "to_int",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NULLS = frozenset({"", "null", "none", "undefined"})


def _is_null(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip().lower() in _NULLS)


def to_int(value: Any) -> int | None:
    """`"30"` or `30` -> 30; `"null"`, `""` or None -> None. Anything else raises ValueError."""
    if _is_null(value):
        return None
    if isinstance(value, bool):
        raise ValueError(f"not an integer: {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        return int(value.strip())
    raise ValueError(f"not an integer: {value!r}")


def to_bool(value: Any) -> bool | None:
    """`true`/`"true"`/`"1"` -> True, `false`/`"false"`/`"0"` -> False, `"null"` -> None."""
    if _is_null(value):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("true", "1", "yes"):
            return True
        if text in ("false", "0", "no"):
            return False
    raise ValueError(f"not a boolean: {value!r}")


def to_datetime(value: Any) -> datetime | None:
    """Epoch milliseconds (`"1755596717804"` or a number) -> an aware UTC datetime.

    `"null"`, `""` and None read as None. The conversion is exact to the millisecond.
    """
    millis = to_int(value)
    if millis is None:
        return None
    return _EPOCH + timedelta(milliseconds=millis)


def _str(value: Any) -> str | None:
    if _is_null(value):
        return None
    return str(value)


def _obj(raw: dict[str, Any], key: str) -> dict[str, Any]:
    value = raw.get(key)
    return value if isinstance(value, dict) else {}


class DurationType(IntEnum):
    """The unit of a plan's `duration`."""

    DAYS = 0
    WEEKS = 1
    MONTHS = 2


@dataclass(frozen=True, slots=True)
class PlanImageInfo:
    """`planImageInfo`: a system image number or an uploaded image."""

    is_system: bool | None
    image: str | None
    image_url: str | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_raw(cls, raw: dict[str, Any]) -> PlanImageInfo:
        return cls(
            is_system=to_bool(raw.get("isSystem")),
            image=_str(raw.get("image")),
            image_url=_str(raw.get("imageUrl")),
            raw=raw,
        )


@dataclass(frozen=True, slots=True)
class PlanInfo:
    """`planInfo`: a learning plan as Zoho describes it."""

    plan_id: str
    plan_name: str | None
    duration: int | None
    duration_type: int | None
    publish_state: int | None
    disabled: bool | None
    active_course_count: int | None
    mandatory_course_count: int | None
    created_time: datetime | None
    is_plan_owner: bool | None
    image: PlanImageInfo | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @property
    def is_published(self) -> bool:
        """`publishState` 1."""
        return self.publish_state == 1

    @classmethod
    def from_raw(cls, raw: dict[str, Any]) -> PlanInfo:
        image = raw.get("planImageInfo")
        return cls(
            plan_id=str(raw.get("planId", "")),
            plan_name=_str(raw.get("planName")),
            duration=to_int(raw.get("duration")),
            duration_type=to_int(raw.get("durationType")),
            publish_state=to_int(raw.get("publishState")),
            disabled=to_bool(raw.get("disabled")),
            active_course_count=to_int(raw.get("activeCourseCount")),
            mandatory_course_count=to_int(raw.get("mandatoryCourseCount")),
            created_time=to_datetime(raw.get("createdTime")),
            is_plan_owner=to_bool(raw.get("isPlanOwner")),
            image=PlanImageInfo.from_raw(image) if isinstance(image, dict) else None,
            raw=raw,
        )


@dataclass(frozen=True, slots=True)
class PlanUserInfo:
    """`userInfo`: a learner's enrolment in a plan (with identity fields on rosters)."""

    user_id: str
    planuser_id: str | None
    is_user_joined_plan: bool | None
    is_user_completed_plan: bool | None
    user_type: int | None
    is_plan_admin: bool | None
    enrolled_time: datetime | None
    email_id: str | None
    display_name: str | None
    employee_id: str | None
    is_active: bool | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_raw(cls, raw: dict[str, Any]) -> PlanUserInfo:
        return cls(
            user_id=str(raw.get("userId", "")),
            planuser_id=_str(raw.get("planuserId")),
            is_user_joined_plan=to_bool(raw.get("isUserJoinedPlan")),
            is_user_completed_plan=to_bool(raw.get("isUserCompletedPlan")),
            user_type=to_int(raw.get("userType")),
            is_plan_admin=to_bool(raw.get("isPlanAdmin")),
            enrolled_time=to_datetime(raw.get("enrolledTime")),
            email_id=_str(raw.get("emailId")),
            display_name=_str(raw.get("displayName")),
            employee_id=_str(raw.get("employeeId")),
            is_active=to_bool(raw.get("isActive")),
            raw=raw,
        )


@dataclass(frozen=True, slots=True)
class ProgressInfo:
    """`progressInfo`: where a learner stands in a plan (this server's addition to Zoho's shape).

    `progress_percentage` counts mandatory courses; `all_courses_percentage` counts all.
    """

    status: str | None
    completed_course_count: int | None
    course_count: int | None
    completed_mandatory_course_count: int | None
    mandatory_course_count: int | None
    progress_percentage: int | None
    all_courses_percentage: int | None
    due_time: datetime | None
    is_overdue: bool | None
    completed_time: datetime | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_raw(cls, raw: dict[str, Any]) -> ProgressInfo:
        return cls(
            status=_str(raw.get("status")),
            completed_course_count=to_int(raw.get("completedCourseCount")),
            course_count=to_int(raw.get("courseCount")),
            completed_mandatory_course_count=to_int(raw.get("completedMandatoryCourseCount")),
            mandatory_course_count=to_int(raw.get("mandatoryCourseCount")),
            progress_percentage=to_int(raw.get("progressPercentage")),
            all_courses_percentage=to_int(raw.get("allCoursesPercentage")),
            due_time=to_datetime(raw.get("dueTime")),
            is_overdue=to_bool(raw.get("isOverdue")),
            completed_time=to_datetime(raw.get("completedTime")),
            raw=raw,
        )


@dataclass(frozen=True, slots=True)
class LearningPlanProgress:
    """One entry of the reference endpoint's `learningPlans`: a learner in one plan.

    `progress_info` is None against Zoho, whose answer has no `progressInfo`.
    """

    plan_id: str
    user_info: PlanUserInfo
    plan_info: PlanInfo
    progress_info: ProgressInfo | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_raw(cls, raw: dict[str, Any]) -> LearningPlanProgress:
        plan_info = _obj(raw, "planInfo")
        progress = raw.get("progressInfo")
        return cls(
            plan_id=str(raw.get("planId") or plan_info.get("planId", "")),
            user_info=PlanUserInfo.from_raw(_obj(raw, "userInfo")),
            plan_info=PlanInfo.from_raw(plan_info),
            progress_info=ProgressInfo.from_raw(progress) if isinstance(progress, dict) else None,
            raw=raw,
        )


@dataclass(frozen=True, slots=True)
class CourseInPlanProgress:
    """A course of a plan, with one learner's progress in it."""

    course_id: str
    course_name: str | None
    course_type: int | None
    level: int | None
    is_mandatory: bool | None
    is_locked: bool | None
    completion_status: str | None
    completion_percentage: int | None
    enrolled_date: datetime | None
    completion_date: datetime | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_raw(cls, raw: dict[str, Any]) -> CourseInPlanProgress:
        return cls(
            course_id=str(raw.get("courseId", "")),
            course_name=_str(raw.get("courseName")),
            course_type=to_int(raw.get("courseType")),
            level=to_int(raw.get("level")),
            is_mandatory=to_bool(raw.get("isMandatory")),
            is_locked=to_bool(raw.get("isLocked")),
            completion_status=_str(raw.get("completionStatus")),
            completion_percentage=to_int(raw.get("completionPercentage")),
            enrolled_date=to_datetime(raw.get("enrolledDate")),
            completion_date=to_datetime(raw.get("completionDate")),
            raw=raw,
        )


@dataclass(frozen=True, slots=True)
class CourseProgress:
    """One learner's progress in one course (`courseProgress` records)."""

    course_id: str
    course_name: str | None
    course_type: int | None
    user_id: str | None
    email_id: str | None
    display_name: str | None
    completion_status: str | None
    completion_percentage: int | None
    enrolled_date: datetime | None
    completion_date: datetime | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_raw(cls, raw: dict[str, Any]) -> CourseProgress:
        return cls(
            course_id=str(raw.get("courseId", "")),
            course_name=_str(raw.get("courseName")),
            course_type=to_int(raw.get("courseType")),
            user_id=_str(raw.get("userId")),
            email_id=_str(raw.get("emailId")),
            display_name=_str(raw.get("displayName")),
            completion_status=_str(raw.get("completionStatus")),
            completion_percentage=to_int(raw.get("completionPercentage")),
            enrolled_date=to_datetime(raw.get("enrolledDate")),
            completion_date=to_datetime(raw.get("completionDate")),
            raw=raw,
        )


@dataclass(frozen=True, slots=True)
class RosterMember:
    """A learner on a plan's roster: the enrolment and the progress."""

    user_info: PlanUserInfo
    progress_info: ProgressInfo | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @property
    def user_id(self) -> str:
        return self.user_info.user_id

    @classmethod
    def from_raw(cls, raw: dict[str, Any]) -> RosterMember:
        progress = raw.get("progressInfo")
        return cls(
            user_info=PlanUserInfo.from_raw(_obj(raw, "userInfo")),
            progress_info=ProgressInfo.from_raw(progress) if isinstance(progress, dict) else None,
            raw=raw,
        )


@dataclass(frozen=True, slots=True)
class RosterSummary:
    """Counts over a plan's whole roster (not only the page, nor only the filter's matches)."""

    total_count: int | None
    completed_count: int | None
    in_progress_count: int | None
    not_started_count: int | None
    overdue_count: int | None
    matching_count: int | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_raw(cls, raw: dict[str, Any]) -> RosterSummary:
        return cls(
            total_count=to_int(raw.get("totalCount")),
            completed_count=to_int(raw.get("completedCount")),
            in_progress_count=to_int(raw.get("inProgressCount")),
            not_started_count=to_int(raw.get("notStartedCount")),
            overdue_count=to_int(raw.get("overdueCount")),
            matching_count=to_int(raw.get("matchingCount")),
            raw=raw,
        )


# --- management records (this product's own endpoints) -------------------------------------


def _ids(value: Any) -> tuple[str, ...]:
    return tuple(str(item) for item in value) if isinstance(value, list) else ()


@dataclass(frozen=True, slots=True)
class Learner:
    """A learner of the organisation (`learner` records of `/api/v1/learners`)."""

    user_id: str
    zuid: str | None
    employee_id: str | None
    email_id: str | None
    display_name: str | None
    role: str | None
    manager_id: str | None
    is_active: bool | None
    created_time: datetime | None
    modified_time: datetime | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_raw(cls, raw: dict[str, Any]) -> Learner:
        return cls(
            user_id=str(raw.get("userId", "")),
            zuid=_str(raw.get("zuid")),
            employee_id=_str(raw.get("employeeId")),
            email_id=_str(raw.get("emailId")),
            display_name=_str(raw.get("displayName")),
            role=_str(raw.get("role")),
            manager_id=_str(raw.get("managerId")),
            is_active=to_bool(raw.get("isActive")),
            created_time=to_datetime(raw.get("createdTime")),
            modified_time=to_datetime(raw.get("modifiedTime")),
            raw=raw,
        )


@dataclass(frozen=True, slots=True)
class Course:
    """A course (`course` records of `/api/v1/courses`); `duration` is in minutes."""

    course_id: str
    course_name: str | None
    course_type: int | None
    duration: int | None
    created_time: datetime | None
    modified_time: datetime | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_raw(cls, raw: dict[str, Any]) -> Course:
        return cls(
            course_id=str(raw.get("courseId", "")),
            course_name=_str(raw.get("courseName")),
            course_type=to_int(raw.get("courseType")),
            duration=to_int(raw.get("duration")),
            created_time=to_datetime(raw.get("createdTime")),
            modified_time=to_datetime(raw.get("modifiedTime")),
            raw=raw,
        )


@dataclass(frozen=True, slots=True)
class PlanCourse:
    """A course of a plan, as the plan's detail lists it."""

    course_id: str
    course_name: str | None
    course_type: int | None
    level: int | None
    is_mandatory: bool | None
    is_locked: bool | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_raw(cls, raw: dict[str, Any]) -> PlanCourse:
        return cls(
            course_id=str(raw.get("courseId", "")),
            course_name=_str(raw.get("courseName")),
            course_type=to_int(raw.get("courseType")),
            level=to_int(raw.get("level")),
            is_mandatory=to_bool(raw.get("isMandatory")),
            is_locked=to_bool(raw.get("isLocked")),
            raw=raw,
        )


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


@dataclass(frozen=True, slots=True)
class PlanDetail:
    """A learning plan with its description, courses and admins (the management read)."""

    plan_info: PlanInfo
    description: str | None
    published_time: datetime | None
    modified_time: datetime | None
    plan_admins: tuple[str, ...]
    courses: tuple[PlanCourse, ...]
    raw: dict[str, Any] = field(repr=False, compare=False)

    @property
    def plan_id(self) -> str:
        return self.plan_info.plan_id

    @classmethod
    def from_raw(cls, raw: dict[str, Any]) -> PlanDetail:
        courses = raw.get("courses")
        return cls(
            plan_info=PlanInfo.from_raw(_obj(raw, "planInfo")),
            description=raw.get("description") if isinstance(raw.get("description"), str) else None,
            published_time=to_datetime(raw.get("publishedTime")),
            modified_time=to_datetime(raw.get("modifiedTime")),
            plan_admins=_ids(raw.get("planAdmins")),
            courses=tuple(PlanCourse.from_raw(c) for c in (courses or []) if isinstance(c, dict)),
            raw=raw,
        )


@dataclass(frozen=True, slots=True)
class Enrolment:
    """The answer to an enrolment: who was enrolled now and who already was."""

    plan_id: str
    enrolled: tuple[str, ...]
    already_enrolled: tuple[str, ...]
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_raw(cls, raw: dict[str, Any]) -> Enrolment:
        return cls(
            plan_id=str(raw.get("planId", "")),
            enrolled=_ids(raw.get("enrolled")),
            already_enrolled=_ids(raw.get("alreadyEnrolled")),
            raw=raw,
        )


@dataclass(frozen=True, slots=True)
class HistoryEvent:
    """One event of a learner's history in a plan: what changed, who did it, from where, with
    which `Idempotency-Key`, and the state before and after."""

    event_id: str
    kind: str | None
    plan_id: str | None
    course_id: str | None
    actor_id: str | None
    source: str | None
    idempotency_key: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    time: datetime | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_raw(cls, raw: dict[str, Any]) -> HistoryEvent:
        before, after = raw.get("before"), raw.get("after")
        return cls(
            event_id=str(raw.get("eventId", "")),
            kind=_str(raw.get("kind")),
            plan_id=_str(raw.get("planId")),
            course_id=_str(raw.get("courseId")),
            actor_id=_str(raw.get("actorId")),
            source=_str(raw.get("source")),
            idempotency_key=_str(raw.get("idempotencyKey")),
            before=before if isinstance(before, dict) else None,
            after=after if isinstance(after, dict) else None,
            time=to_datetime(raw.get("time")),
            raw=raw,
        )
