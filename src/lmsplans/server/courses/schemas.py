"""Course payloads (`courseData`) and the course record.

A course payload is this product's (`courseName`, `courseType`, `duration` in minutes) or
Zoho's, as its Create Course and Update Course APIs document `courseData`: `name`, `type`,
`description`, `aboutCourse`, `duration` with `durationUnit` (minute, hour, day),
`courseCode`, `courseAdmins` (erecnos), `categories` (category ids) and
`permissionSettings`. Both spellings of the name and the type are accepted; sending both
spellings of one field is 400 7204.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from lmsplans.server.errors import InvalidParameter
from lmsplans.server.wire import (
    MAX_INT32,
    ClosedRecord,
    Envelope,
    EpochMs,
    NotAFlag,
    OptionalId,
    Patch,
    ZohoId,
    ZohoRecord,
)

# 1 self-paced, 2 blended (classroom), 3 e-material.
CourseType = Annotated[Literal[1, 2, 3], NotAFlag]
BLENDED = 2
# Course types whose learners may record their own progress; blended courses need an admin.
SELF_RECORDED_TYPES = frozenset({1, 3})

DurationUnit = Literal["minute", "hour", "day"]
MINUTES_IN = {"minute": 1, "hour": 60, "day": 1440}
# The longest duration stored (minutes, a 32-bit column on PostgreSQL).
MAX_DURATION_MINUTES = MAX_INT32
MAX_LISTED = 50


def _type_text(value: Any) -> Any:
    """Zoho writes a course type as a string ("1"); read it as the number."""
    return int(value) if isinstance(value, str) and value in ("1", "2", "3") else value


def _id_list(value: Any) -> Any:
    """A list of ids, as Zoho's "<Erec Nos>" and "<category Ids>" may come: a JSON list, one
    id, or ids in one string apart by commas. Numbers become their decimal strings."""
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    elif isinstance(value, int) and not isinstance(value, bool):
        value = [value]
    if isinstance(value, list):
        return [str(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in value]
    return value


def _below_2_63(value: str) -> str:
    if int(value) >= 2**63:
        raise ValueError("must be below 2^63")
    return value


TypeIn = Annotated[CourseType, BeforeValidator(_type_text)]
# A course's length in its unit (stored in minutes, a 32-bit column).
Duration = Annotated[int, Field(ge=0, le=MAX_DURATION_MINUTES), NotAFlag]
Name = Annotated[str, Field(min_length=1, max_length=200)]
CategoryId = Annotated[str, Field(pattern=r"^[1-9][0-9]{0,18}$"), AfterValidator(_below_2_63)]
Categories = Annotated[
    list[CategoryId],
    BeforeValidator(_id_list),
    Field(
        max_length=MAX_LISTED, description="Category ids: a list, one id, or ids apart by commas"
    ),
]
CourseAdmins = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=320)]],
    BeforeValidator(_id_list),
    Field(
        max_length=MAX_LISTED,
        description="The course admins' erecnos (userId, zuid or email address): a list, one, "
        "or several apart by commas",
    ),
]
Permission = Literal["admin", "courseAdmin", "manager", "learner"]


class PermissionSettings(ClosedRecord):
    """Zoho's `permissionSettings` of a course: who may enrol and unenrol, and when an
    entity, a module and the course count as completed (1 when the learner marks it, 2 when
    its criteria are met). Stored and answered as sent; in lmsplans learners join courses
    through plans and a course is completed as a whole."""

    whoCanEnroll: list[Permission] | None = Field(default=None, max_length=4)
    whoCanUnenroll: list[Permission] | None = Field(default=None, max_length=4)
    whenAnEntityIsConsideredAsCompleted: Literal[1, 2] | None = None
    whenACourseIsConsideredAsCompleted: Literal[1, 2] | None = None
    whenAModuleIsConsideredAsCompleted: Literal[1, 2] | None = None


class _CourseFields(BaseModel):
    """What a create and an update share; the update's fields are all optional."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    courseName: Name | None = None
    name: Name | None = Field(default=None, description="Zoho's name for `courseName`.")
    courseType: TypeIn | None = Field(
        default=None, description="1 self-paced, 2 blended, 3 e-material."
    )
    type: TypeIn | None = Field(default=None, description="Zoho's name for `courseType`.")
    description: str | None = Field(default=None, max_length=5000)
    aboutCourse: str | None = Field(
        default=None, max_length=20000, description="What the course covers."
    )
    duration: Duration | None = Field(
        default=None,
        description="The course's length, in `durationUnit`s (at most 2^31 - 1 minutes).",
    )
    durationUnit: DurationUnit | None = Field(
        default=None,
        description="The unit of `duration`: minute (this product's default), hour or day. "
        "Without it, `duration` is in the course's present unit.",
    )
    courseCode: str | None = Field(default=None, max_length=64)
    courseAdmins: CourseAdmins | None = None
    categories: Categories | None = None
    permissionSettings: PermissionSettings | None = None

    @model_validator(mode="after")
    def _one_spelling(self) -> Any:
        for ours, zoho in (("courseName", "name"), ("courseType", "type")):
            if ours in self.model_fields_set and zoho in self.model_fields_set:
                raise ValueError(f"{ours} and {zoho} are the same field: send one of them")
        return self

    @property
    def course_name(self) -> str | None:
        return self.courseName if "courseName" in self.model_fields_set else self.name

    @property
    def course_type(self) -> int | None:
        return self.courseType if "courseType" in self.model_fields_set else self.type

    def given(self, ours: str, zoho: str) -> bool:
        """Whether the payload holds the field, under either spelling."""
        return bool({ours, zoho} & self.model_fields_set)


def duration_minutes(duration: int, unit: str, field: str = "duration") -> int:
    """`duration` in `unit`s as minutes, within what is stored (400 7204 beyond)."""
    minutes = duration * MINUTES_IN[unit]
    if minutes > MAX_DURATION_MINUTES:
        raise InvalidParameter(
            field, f"may be at most {MAX_DURATION_MINUTES // MINUTES_IN[unit]} {unit}s"
        )
    return minutes


class CourseIn(_CourseFields):
    """A new course: `courseName` (or Zoho's `name`) is required; the type is self-paced
    unless given."""

    @model_validator(mode="after")
    def _named(self) -> Any:
        if self.course_name is None:
            raise InvalidParameter("courseName", "is required (or Zoho's name)")
        return self


class CoursePatch(Patch, _CourseFields):
    """Fields to change; absent fields stay as they are. `duration: null` clears the
    duration (no other field may be null); `courseAdmins`, `categories` and
    `permissionSettings` replace the course's."""

    nullable = frozenset({"duration"})


# --- The documented shapes (OpenAPI components) ----------------------------------------------


class CourseRecord(ZohoRecord):
    """A course (`course_record`)."""

    courseId: ZohoId
    courseName: str
    courseType: Literal["1", "2", "3"] = Field(description="1 self-paced, 2 blended, 3 e-material")
    description: str
    aboutCourse: str
    duration: str = Field(
        pattern=r"^([0-9]+|null)$", description='In `durationUnit`s; "null" when unset'
    )
    durationUnit: DurationUnit
    courseCode: str
    categories: list[ZohoId] = Field(description="Category ids, as sent")
    courseAdmins: list[ZohoId] = Field(description="The course admins' userIds")
    permissionSettings: dict[str, Any] = Field(description="As sent; {} when never set")
    batchId: OptionalId = Field(
        description='A blended course\'s one batch: its own id; "null" for other types'
    )
    createdTime: EpochMs
    modifiedTime: EpochMs


class CoursesPage(Envelope):
    courses: list[CourseRecord]
    isNextAvailable: bool


class CourseOne(Envelope):
    course: CourseRecord


class Batch(ZohoRecord):
    """A batch of a blended course, in the shape of Zoho's Fetch Course Batch List API. A
    blended course in lmsplans has one batch, the course itself."""

    batchId: ZohoId = Field(description="The course's own id")
    courseId: ZohoId
    name: str = Field(description="The course's name")
    learnersCount: int = Field(ge=0, description="Learners in the course the caller may see")
    publishStatus: Literal["published"]


class BatchesPage(Envelope):
    batches: list[Batch]
    isNextAvailable: bool
