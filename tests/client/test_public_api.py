"""`lmsplans.client`'s public names are held in place, as httpx holds its own: a name added,
dropped or renamed by accident fails here; one added on purpose is added here too."""

from __future__ import annotations

import inspect
import types

import lmsplans.client

PUBLIC = [
    "DATA_CENTRES",
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AccessToken",
    "ApiStats",
    "AsyncClient",
    "AsyncPager",
    "AuthenticationError",
    "Client",
    "ConflictError",
    "Course",
    "CourseInPlanProgress",
    "CourseProgress",
    "DurationType",
    "Enrolment",
    "Governor",
    "HistoryEvent",
    "Learner",
    "LearningPlanProgress",
    "LmsPlansError",
    "NotFoundError",
    "Page",
    "PermissionDeniedError",
    "PlanCourse",
    "PlanCourseSpec",
    "PlanDetail",
    "PlanImageInfo",
    "PlanInfo",
    "PlanUserInfo",
    "ProgressInfo",
    "RateLimitPolicy",
    "RateLimitedError",
    "RefreshBudget",
    "RetryPolicy",
    "RosterMember",
    "RosterSummary",
    "ServerError",
    "SyncPager",
    "Ticket",
    "ValidationError",
    "data_centre_urls",
]


def test_all_is_exactly_the_public_names() -> None:
    assert lmsplans.client.__all__ == PUBLIC


def test_every_public_member_of_the_package_is_in_all() -> None:
    members = {
        name
        for name, value in vars(lmsplans.client).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert members == set(PUBLIC)


def test_every_public_class_and_function_says_what_it_is() -> None:
    for name in PUBLIC:
        value = getattr(lmsplans.client, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert (value.__doc__ or "").strip(), f"{name} has no docstring"
            assert value.__module__.startswith("lmsplans.client"), name
