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
    "AsyncCourses",
    "AsyncEventFeed",
    "AsyncEvents",
    "AsyncLearners",
    "AsyncLearningPlans",
    "AsyncOAuth",
    "AsyncPager",
    "AsyncWebhooks",
    "AuthenticationError",
    "Client",
    "ConflictError",
    "Course",
    "CourseInPlanProgress",
    "CourseProgress",
    "Courses",
    "DurationType",
    "Enrolment",
    "Event",
    "EventFeed",
    "Events",
    "Governor",
    "HistoryEvent",
    "Learner",
    "LearnerUpsert",
    "Learners",
    "LearningPlanProgress",
    "LearningPlans",
    "LmsPlansError",
    "NotFoundError",
    "OAuth",
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
    "Webhook",
    "WebhookAttempt",
    "Webhooks",
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


RESOURCES = {"learners": "Learners", "learning_plans": "LearningPlans", "courses": "Courses"}
RESOURCES["oauth"] = "OAuth"
RESOURCES["webhooks"] = "Webhooks"


def resource_methods() -> list[str]:
    """`learners.get`, `courses.record_progress`, ...: every public method of every resource."""
    names = []
    for attribute, cls in RESOURCES.items():
        for name, _ in inspect.getmembers(getattr(lmsplans.client, cls), inspect.isfunction):
            if not name.startswith("_"):
                names.append(f"{attribute}.{name}")
    return names


def test_help_of_each_client_shows_every_resource_method() -> None:
    import pydoc

    methods = resource_methods()
    assert len(methods) >= 30
    for client in (lmsplans.client.Client, lmsplans.client.AsyncClient):
        shown = pydoc.render_doc(client, renderer=pydoc.plaintext)
        missing = [m for m in methods if f"{m}(" not in shown]
        assert missing == [], f"help({client.__name__}) does not show {missing}"


def test_the_readme_shows_every_resource_method() -> None:
    from tests.conftest import REPO_ROOT

    readme = (REPO_ROOT / "README.md").read_text()
    section = readme[readme.index("## The Python client") : readme.index("## Command line")]
    missing = [m for m in resource_methods() if f"{m}(" not in section]
    assert missing == [], f"the README's client section does not show {missing}"


def test_the_resource_classes_are_those_of_the_clients() -> None:
    client = lmsplans.client.Client(base_url="http://127.0.0.1:9", access_token="t")
    for attribute, cls in RESOURCES.items():
        assert type(getattr(client, attribute)) is getattr(lmsplans.client, cls)
        assert getattr(lmsplans.client, f"Async{cls}").__name__ == f"Async{cls}"
    client.close()
