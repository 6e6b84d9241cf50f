"""The Zoho-shaped `planInfo` object, key for key and type for type as the reference sample."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

from lmsplans.server.progress.schemas import ProgressInfo, UserInfo
from lmsplans.server.wire import (
    ClosedRecord,
    Digits,
    Envelope,
    EpochMs,
    Flag,
    IdIn,
    LearnerRefIn,
    NotAFlag,
    Patch,
    ZohoFlag,
    ZohoId,
    ZohoRecord,
    ZohoTime,
)


def system_image_url(image: str) -> str:
    """Where Zoho serves its built-in plan pictures."""
    return f"/newhr/images/lmsbg/cat{image}.png"


# --- Payloads (`planData`, `courses`, `erecnosList`) -----------------------------------------

MAX_ENROL_BATCH = 200
DurationType = Annotated[Literal[0, 1, 2], NotAFlag]
# In days, weeks or months (`durationType`); 0: no due date.
PlanDuration = Annotated[int, Field(ge=0, le=3650), NotAFlag]
Level = Annotated[int, Field(ge=1, le=100), NotAFlag]


# One learner of `erecnosList`: userId, zuid or email (ids may come as JSON numbers).
ErecnoRef = LearnerRefIn


class PlanIn(BaseModel):
    """A new plan (created as a draft)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    planName: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5000)
    duration: PlanDuration = Field(default=0, description="0: no due date.")
    durationType: DurationType = Field(default=0, description="0 days, 1 weeks, 2 months.")
    image: str = Field(default="1", pattern=r"^[0-9]{1,3}$", description="A built-in picture.")
    planAdmins: list[LearnerRefIn] = Field(
        default_factory=list, max_length=50, description="userIds, zuids or emails."
    )


class PlanPatch(Patch):
    planName: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    duration: PlanDuration | None = None
    durationType: DurationType | None = None
    image: str | None = Field(default=None, pattern=r"^[0-9]{1,3}$")
    planAdmins: list[LearnerRefIn] | None = Field(default=None, max_length=50)
    disabled: ZohoFlag | None = None


class PlanCourseIn(ClosedRecord):
    courseId: IdIn
    level: Level = 1
    isMandatory: Flag = False
    isLocked: Flag = Field(
        default=False, description="Locked until the previous level is complete."
    )


class PlanCoursesIn(ClosedRecord):
    courses: list[PlanCourseIn] = Field(max_length=500)


# --- The documented answers (OpenAPI components) ---------------------------------------------


class PlanImageInfo(ZohoRecord):
    isSystem: bool
    image: str
    imageUrl: str


class PlanInfo(ZohoRecord):
    """The reference's `planInfo`, key for key and type for type."""

    duration: Digits
    publishState: Literal["0", "1"] = Field(description="0 draft, 1 published")
    planImageInfo: PlanImageInfo
    activeCourseCount: Digits
    planName: str
    createdTime: EpochMs
    planId: ZohoId
    disabled: Literal["true", "false"]
    durationType: Literal["0", "1", "2"] = Field(description="0 days, 1 weeks, 2 months")
    mandatoryCourseCount: Digits
    isPlanOwner: bool


class PlansPage(Envelope):
    learningPlans: list[PlanInfo]
    isNextAvailable: bool


class LearnerPlanProgress(ZohoRecord):
    """One plan of the reference endpoint's `learningPlans`, plus `progressInfo`."""

    userInfo: UserInfo
    planId: ZohoId
    planInfo: PlanInfo
    progressInfo: ProgressInfo


class LearnerPlansProgressPage(Envelope):
    learningPlans: list[LearnerPlanProgress]
    isNextAvailable: bool


class RosterUserInfo(UserInfo):
    emailId: str
    displayName: str
    employeeId: str
    isActive: bool


class RosterMember(ZohoRecord):
    userInfo: RosterUserInfo
    progressInfo: ProgressInfo


class RosterSummary(ZohoRecord):
    """Counts over the whole roster the caller may see; `matchingCount` after the filter."""

    totalCount: Digits
    completedCount: Digits
    inProgressCount: Digits
    notStartedCount: Digits
    overdueCount: Digits
    matchingCount: Digits


class RosterPage(Envelope):
    learners: list[RosterMember]
    summary: RosterSummary
    isNextAvailable: bool


# --- The documented management shapes --------------------------------------------------------


PlanCourseList = Annotated[list[PlanCourseIn], Field(max_length=500)]


class PlanCoursesPayload(RootModel[PlanCoursesIn | PlanCourseList]):
    """`courses`: `{"courses": [...]}` or the bare list; it replaces the plan's courses."""

    root: PlanCoursesIn | PlanCourseList


class ErecnosList(RootModel[list[LearnerRefIn]]):
    """`erecnosList`: the learners to enrol."""

    root: list[LearnerRefIn] = Field(
        min_length=1,
        max_length=MAX_ENROL_BATCH,
        description="userIds (erecnos), zuids or email addresses; more than 200 is 422 7021.",
    )


class PlanCourse(ZohoRecord):
    courseId: ZohoId
    courseName: str
    courseType: Literal["1", "2", "3"] = Field(description="1 self-paced, 2 blended, 3 e-material")
    level: Digits
    isMandatory: bool
    isLocked: bool = Field(description="Locked until the previous level is complete")


class PlanDetail(ZohoRecord):
    """A plan with its description, courses and admins (`plan_detail`)."""

    planInfo: PlanInfo
    description: str
    publishedTime: ZohoTime
    modifiedTime: EpochMs
    planAdmins: list[ZohoId] = Field(description="The plan admins' userIds")
    courses: list[PlanCourse] = Field(description="By level, in the order they were set")


class PlanDetailOne(Envelope):
    learningPlan: PlanDetail


class PlanDeleted(Envelope):
    planId: ZohoId


class LearnersEnrolled(Envelope):
    planId: ZohoId
    enrolled: list[ZohoId] = Field(description="The userIds enrolled now")
    alreadyEnrolled: list[ZohoId] = Field(description="The userIds left as they were")


class LearnerUnenrolled(Envelope):
    planId: ZohoId
    userId: ZohoId


class PlanJoined(Envelope):
    planId: ZohoId
    userId: ZohoId
    planuserId: ZohoId = Field(description="The enrolment's id")
