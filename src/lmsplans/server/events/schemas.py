"""The feed's answer, and the catalogue of event types it publishes."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from lmsplans.server.wire import Envelope, EpochMs, OptionalId, ZohoId, ZohoRecord

# Every event type the feed publishes (README, "Events and webhooks").
EVENT_TYPES = (
    "plan.enrollment.created",
    "plan.enrollment.joined",
    "plan.enrollment.completed",
    "plan.enrollment.overdue",
    "plan.enrollment.removed",
    "course.progress.updated",
    "course.progress.completed",
    "course.progress.reset",
    "plan.published",
    "plan.disabled",
    "plan.updated",
    "plan.deleted",
    "learner.created",
    "learner.updated",
    "learner.deactivated",
)


class EventRecord(ZohoRecord):
    """One event of the feed."""

    id: ZohoId = Field(description="Stable: the same event always has the same id")
    type: str = Field(description="One of the catalogue's types")
    occurredTime: EpochMs = Field(description="When the write that made it was made")
    learnerId: OptionalId
    planId: OptionalId
    courseId: OptionalId
    data: dict[str, Any] | None = Field(
        description="What the write had in hand; for enrolment and progress events the "
        "`userInfo` and `progressInfo` the reads answer"
    )


class EventsPage(Envelope):
    events: list[EventRecord]
    nextCursor: str = Field(description="Where to go on from (`after=`): opaque")
    isNextAvailable: bool
