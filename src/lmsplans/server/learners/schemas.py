"""Learner payloads (`learnerData`) and the learner record, in Zoho's string conventions."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

from lmsplans.server.wire import (
    Envelope,
    EpochMs,
    IdIn,
    LearnerRefIn,
    OptionalId,
    Patch,
    ZohoId,
    ZohoRecord,
)

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
RoleName = Literal["admin", "manager", "learner"]
MAX_BATCH = 200


class LearnerIn(BaseModel):
    """One learner to create."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    emailId: str = Field(pattern=EMAIL_PATTERN, max_length=320)
    displayName: str = Field(min_length=1, max_length=200)
    employeeId: str = Field(min_length=1, max_length=64)
    zuid: IdIn | None = Field(default=None, description="Account id; assigned if absent.")
    role: RoleName = "learner"
    managerId: LearnerRefIn | None = Field(
        default=None, description="The manager's userId, zuid or email (in this organisation)."
    )


class LearnerPatch(Patch):
    """Fields to change; absent fields stay as they are. `managerId: null` removes the manager."""

    nullable = frozenset({"managerId"})

    emailId: str | None = Field(default=None, pattern=EMAIL_PATTERN, max_length=320)
    displayName: str | None = Field(default=None, min_length=1, max_length=200)
    employeeId: str | None = Field(default=None, min_length=1, max_length=64)
    role: RoleName | None = None
    managerId: LearnerRefIn | None = None
    status: Literal["active", "inactive"] | None = None


class LearnerUpsertIn(BaseModel):
    """One learner to create or update (`PUT /api/v1/learners`, `lmsplans import learners`),
    matched on `employeeId`, else on `emailId`. An absent field keeps its value (a new
    learner: role learner, active, no manager); `managerId: null` removes the manager."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    employeeId: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="The key. Absent: the learner is matched on emailId (a new one needs it).",
    )
    emailId: str = Field(pattern=EMAIL_PATTERN, max_length=320)
    displayName: str = Field(min_length=1, max_length=200)
    role: RoleName | None = None
    managerId: str | None = Field(
        default=None,
        description="The manager's userId, zuid or email, in the organisation or the batch.",
    )
    managerEmployeeId: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="Or the manager's employee id, in the organisation or the batch.",
    )
    status: Literal["active", "inactive"] | None = None


# --- The documented shapes (OpenAPI components) ----------------------------------------------


LearnerBatch = Annotated[list[LearnerIn], Field(min_length=1, max_length=MAX_BATCH)]


class LearnersPayload(RootModel[LearnerIn | LearnerBatch]):
    """`learnerData`: one learner, or a list of 1 to 200 created together, all or none
    (more is 422 7021)."""

    root: LearnerIn | LearnerBatch


class LearnersUpsertPayload(RootModel[list[LearnerUpsertIn]]):
    """`learnerData`: 1 to 200 learners, created or updated together, all or none (more is
    422 7021)."""

    root: Annotated[list[LearnerUpsertIn], Field(min_length=1, max_length=MAX_BATCH)]


class LearnerRecord(ZohoRecord):
    """A learner (`learner_record`)."""

    userId: ZohoId = Field(description="The learner's erecno")
    zuid: ZohoId
    employeeId: str
    emailId: str
    displayName: str
    role: RoleName
    managerId: OptionalId
    isActive: bool = Field(description="false once deactivated (DELETE)")
    createdTime: EpochMs
    modifiedTime: EpochMs


class LearnersPage(Envelope):
    learners: list[LearnerRecord]
    isNextAvailable: bool


class LearnersCreated(Envelope):
    learners: list[LearnerRecord] = Field(description="In the order they were sent")


class LearnerOne(Envelope):
    learner: LearnerRecord


class LearnersUpserted(Envelope):
    learners: list[LearnerRecord] = Field(description="In the order they were sent")
    created: list[ZohoId] = Field(description="The userIds created now")
    updated: list[ZohoId] = Field(description="The userIds changed")
    unchanged: list[ZohoId] = Field(description="The userIds already as sent")
