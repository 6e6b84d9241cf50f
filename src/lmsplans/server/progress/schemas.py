"""The Zoho-shaped progress records: ids, counts and times as strings, `"null"` for no time."""

from __future__ import annotations

from enum import StrEnum


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


def zoho_time(epoch_ms: int | None) -> str:
    """Epoch milliseconds as a string, `"null"` when absent (the reference's convention)."""
    return "null" if epoch_ms is None else str(epoch_ms)
