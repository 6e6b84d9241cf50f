"""`lmsplans.client`: a typed Python client for the Zoho People LMS API.

It works against Zoho People itself and against this project's server (`lmsplans serve`),
and needs only httpx (the command line adds typer and rich)::

    from lmsplans.client import Client

    with Client(base_url="http://127.0.0.1:8000", access_token="1000.xxx") as client:
        for entry in client.learners.learning_plans_progress("learner@zylker.example"):
            print(entry.plan_info.plan_name, entry.progress_info.progress_percentage)

    # Against Zoho (EU data centre), with a self client's refresh token:
    client = Client(dc="eu", refresh_token="1000.r...", client_id="1000.ID", client_secret="...")

Lists are pagers that fetch every page; records are typed dataclasses that keep `.raw`;
errors are exceptions per status family; every call is paced under the API's threshold.
`help(Client)` lists every resource method; the resource classes (`Learners`,
`LearningPlans`, `Courses`, `Events`, `OAuth`, `Webhooks` and their `Async` twins) are
importable by name. `lmsplans.client.webhooks.verify(payload, headers, secret)` checks a
webhook delivery's signature.
"""

# `lmsplans.client.webhooks.verify(payload, headers, secret)`: a module, beside the names.
from lmsplans.client import webhooks  # noqa: F401
from lmsplans.client._answers import AccessToken
from lmsplans.client._async.client import AsyncClient
from lmsplans.client._async.pager import AsyncPager
from lmsplans.client._async.resources.courses import AsyncCourses
from lmsplans.client._async.resources.events import AsyncEventFeed, AsyncEvents
from lmsplans.client._async.resources.learners import AsyncLearners
from lmsplans.client._async.resources.learning_plans import AsyncLearningPlans
from lmsplans.client._async.resources.oauth import AsyncOAuth
from lmsplans.client._async.resources.webhooks import AsyncWebhooks
from lmsplans.client._auth import RefreshBudget
from lmsplans.client._endpoints import Page
from lmsplans.client._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    ConflictError,
    LmsPlansError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ServerError,
    ValidationError,
)
from lmsplans.client._hosts import DATA_CENTRES, data_centre_urls
from lmsplans.client._models import (
    Course,
    CourseInPlanProgress,
    CourseProgress,
    DurationType,
    Enrolment,
    Event,
    HistoryEvent,
    Learner,
    LearnerUpsert,
    LearningPlanProgress,
    PlanCourse,
    PlanCourseSpec,
    PlanDetail,
    PlanImageInfo,
    PlanInfo,
    PlanUserInfo,
    ProgressInfo,
    RosterMember,
    RosterSummary,
    Webhook,
    WebhookAttempt,
)
from lmsplans.client._pacing import ApiStats, Governor, RateLimitPolicy, Ticket
from lmsplans.client._retry import RetryPolicy
from lmsplans.client._sync.client import Client
from lmsplans.client._sync.pager import SyncPager
from lmsplans.client._sync.resources.courses import Courses
from lmsplans.client._sync.resources.events import EventFeed, Events
from lmsplans.client._sync.resources.learners import Learners
from lmsplans.client._sync.resources.learning_plans import LearningPlans
from lmsplans.client._sync.resources.oauth import OAuth
from lmsplans.client._sync.resources.webhooks import Webhooks

__all__ = [
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
