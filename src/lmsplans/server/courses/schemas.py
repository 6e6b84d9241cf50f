"""Course payloads (`courseData`) and the course record."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from lmsplans.server.wire import (
    MAX_INT32,
    Envelope,
    EpochMs,
    NotAFlag,
    Patch,
    ZohoId,
    ZohoRecord,
)

# 1 self-paced, 2 blended (classroom), 3 e-material.
CourseType = Annotated[Literal[1, 2, 3], NotAFlag]
# A course's length in minutes (its column is a 32-bit integer).
Minutes = Annotated[int, Field(ge=0, le=MAX_INT32), NotAFlag]
# Course types whose learners may record their own progress; blended courses need an admin.
SELF_RECORDED_TYPES = frozenset({1, 3})


class CourseIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    courseName: str = Field(min_length=1, max_length=200)
    courseType: CourseType = 1
    duration: Minutes | None = Field(default=None, description="Length in minutes.")


class CoursePatch(Patch):
    nullable = frozenset({"duration"})

    courseName: str | None = Field(default=None, min_length=1, max_length=200)
    courseType: CourseType | None = None
    duration: Minutes | None = None


# --- The documented shapes (OpenAPI components) ----------------------------------------------


class CourseRecord(ZohoRecord):
    """A course (`course_record`)."""

    courseId: ZohoId
    courseName: str
    courseType: Literal["1", "2", "3"] = Field(description="1 self-paced, 2 blended, 3 e-material")
    duration: str = Field(pattern=r"^([0-9]+|null)$", description='Minutes; "null" when unset')
    createdTime: EpochMs
    modifiedTime: EpochMs


class CoursesPage(Envelope):
    courses: list[CourseRecord]
    isNextAvailable: bool


class CourseOne(Envelope):
    course: CourseRecord
