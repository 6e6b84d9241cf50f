"""A catalogue: the courses and learning plans an organisation runs, described in one
document (`lmsplans import plans FILE`, YAML or JSON; docs/plans-file.md documents it).

Courses and plans are named, not numbered: a name finds the course or plan of that name
(ignoring case) in the document or the organisation. A field the document leaves out keeps
its value; a new course or plan takes the defaults below.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from lmsplans.server.organisations.schemas import NAME_PATTERN

COURSE_TYPES = {"self-paced": 1, "blended": 2, "e-material": 3}
DURATION_TYPES = {"days": 0, "weeks": 1, "months": 2}


def _named(names: dict[str, int]) -> Any:
    """A number given by its name (`"months"`), or the number itself."""

    def convert(value: Any) -> Any:
        if isinstance(value, str) and value.strip().lower() in names:
            return names[value.strip().lower()]
        return value

    return convert


def _text(value: Any) -> Any:
    """A name or a reference written as a number in YAML (`employee: 1042`) is its text."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


Name = Annotated[str, Field(min_length=1, max_length=200, pattern=NAME_PATTERN)]
Ref = Annotated[str, BeforeValidator(_text), Field(min_length=1, max_length=320)]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CourseSpec(_Spec):
    name: Annotated[Name, BeforeValidator(_text)]
    type: Annotated[Literal[1, 2, 3], BeforeValidator(_named(COURSE_TYPES))] = Field(
        default=1, description="self-paced (1), blended (2) or e-material (3)"
    )
    duration: int | None = Field(default=None, ge=0, le=100_000, description="Minutes.")


class PlanCourseSpec(_Spec):
    course: Annotated[Name, BeforeValidator(_text)] = Field(description="A course's name.")
    level: int = Field(default=1, ge=1, le=100)
    mandatory: bool = False
    locked: bool = Field(default=False, description="Until the previous level is complete.")


class PlanSpec(_Spec):
    name: Annotated[Name, BeforeValidator(_text)]
    description: str = Field(default="", max_length=5000)
    duration: int = Field(default=0, ge=0, le=3650, description="0: no due date.")
    durationType: Annotated[Literal[0, 1, 2], BeforeValidator(_named(DURATION_TYPES))] = 0
    image: Annotated[str, BeforeValidator(_text)] = Field(default="1", pattern=r"^[0-9]{1,3}$")
    admins: list[Ref] = Field(default_factory=list, max_length=50)
    published: bool = True
    disabled: bool = False
    courses: list[PlanCourseSpec] = Field(default_factory=list, max_length=500)
    enrol: Literal["all"] | list[Ref] | None = Field(
        default=None, description='"all" active learners, or emails / employee ids / userIds.'
    )


class Catalogue(_Spec):
    courses: list[CourseSpec] = Field(default_factory=list, max_length=10_000)
    plans: list[PlanSpec] = Field(default_factory=list, max_length=10_000)
