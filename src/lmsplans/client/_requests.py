"""Building requests: headers, idempotency keys and the management calls' bodies."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from lmsplans.client._models import PlanCourseSpec

__all__ = ["build_headers", "fields", "new_idempotency_key"]

AUTH_SCHEME = "Zoho-oauthtoken"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def new_idempotency_key() -> str:
    return uuid.uuid4().hex


def build_headers(
    base: Mapping[str, str], token: str | None, idempotency_key: str | None
) -> dict[str, str]:
    headers = dict(base)
    if token is not None:
        headers["Authorization"] = f"{AUTH_SCHEME} {token}"
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    return headers


def fields(**values: Any) -> dict[str, Any]:
    """The given fields, without those left as None (absent fields stay as they are)."""
    return {name: value for name, value in values.items() if value is not None}


def learner_payload(
    email_id: str | None,
    display_name: str | None,
    employee_id: str | None,
    role: str | None,
    manager_id: str | int | None,
    **more: Any,
) -> dict[str, Any]:
    """A learner in the API's field names (and `more` of them), without those left as None."""
    return fields(
        emailId=email_id,
        displayName=display_name,
        employeeId=employee_id,
        role=role,
        managerId=None if manager_id is None else str(manager_id),
        **more,
    )


def learner_filters(
    search: str | None, role: str | None, status: str | None
) -> dict[str, str] | None:
    return fields(search=search, role=role, status=status) or None


def epoch_ms(value: datetime | int | None) -> int | None:
    """A datetime (aware, or naive UTC) or epoch milliseconds -> epoch milliseconds."""
    if value is None or isinstance(value, int):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return round(value.timestamp() * 1000)


def progress_payload(
    percentage: int | None,
    status: str | None,
    completion_time: datetime | int | None,
    reset: bool,
) -> dict[str, Any]:
    """`progressData`: a percentage, a status (or both), when; or `reset: true`."""
    data = fields(
        completionPercentage=percentage,
        completionStatus=status,
        completionTime=epoch_ms(completion_time),
    )
    if reset:
        data["reset"] = True
    return data


def plan_payload(
    name: str | None,
    description: str | None,
    duration: int | None,
    duration_type: int | None,
    image: str | None,
    plan_admins: Sequence[str | int] | None,
) -> dict[str, Any]:
    """`planData`, in the API's field names, without the fields left as None."""
    return fields(
        planName=name,
        description=description,
        duration=duration,
        durationType=duration_type,
        image=image,
        planAdmins=None if plan_admins is None else [str(admin) for admin in plan_admins],
    )


def plan_courses_payload(
    courses: Sequence[PlanCourseSpec | Mapping[str, Any]],
) -> list[dict[str, Any]]:
    return [c.to_raw() if isinstance(c, PlanCourseSpec) else dict(c) for c in courses]
