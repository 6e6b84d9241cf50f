"""Every API the client calls (method, route template, list key, paging) and the paging itself."""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from lmsplans.client._errors import LmsPlansError
from lmsplans.client._wire import to_bool

__all__ = ["Cursor", "Endpoint", "Page"]

T = TypeVar("T")
MAX_PAGES = 1_000_000  # a bound that keeps every walk finite, whatever a server answers


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One API: its method, route template, list key and paging convention."""

    method: str
    template: str
    key: str | None = None
    first_index: int = 1  # spec section 3: 0 where Zoho defaults `startIndex` to 0
    page_size: int | None = 100  # `limit` sent by default; None sends none (Zoho's 25)

    @property
    def api(self) -> str:
        """The governor's key: method plus route template."""
        return f"{self.method} {self.template}"

    def path(self, **params: str | int) -> str:
        values = {k: urllib.parse.quote(str(v), safe="") for k, v in params.items()}
        for name, value in values.items():
            if not value:
                raise LmsPlansError(f"{name} must not be empty")
        return self.template.format(**values)


LEARNER_PLANS_PROGRESS = Endpoint(
    "GET",
    "/api/v1/learners/{learnerId}/learning-plans/progress",
    key="learningPlans",
    first_index=0,
    page_size=None,
)
LEARNER_PLAN_COURSES_PROGRESS = Endpoint(
    "GET", "/api/v1/learners/{learnerId}/learning-plans/{planId}/courses/progress", key="courses"
)
LEARNING_PLANS = Endpoint("GET", "/api/v1/learning-plans", key="learningPlans")
PLAN_LEARNERS = Endpoint("GET", "/api/v1/learning-plans/{planId}/learners", key="learners")
LEARNER_COURSE_PROGRESS = Endpoint(
    "GET", "/api/v1/learners/{learnerId}/course-progress", key="courseProgress", first_index=0
)
COURSE_PROGRESS = Endpoint(
    "GET", "/api/v1/courses/{courseId}/course-progress", key="courseProgress", first_index=0
)
COURSE_LEARNER_PROGRESS = Endpoint(
    "GET", "/api/v1/courses/{courseId}/learners/{learnerId}/course-progress", key="courseProgress"
)
# Management (this product's own; Zoho documents none of these).
LEARNERS_CREATE = Endpoint("POST", "/api/v1/learners", key="learners")
LEARNERS_UPSERT = Endpoint("PUT", "/api/v1/learners", key="learners")
LEARNERS = Endpoint("GET", "/api/v1/learners", key="learners")
LEARNER = Endpoint("GET", "/api/v1/learners/{learnerId}", key="learner")
LEARNER_UPDATE = Endpoint("PATCH", "/api/v1/learners/{learnerId}", key="learner")
LEARNER_DEACTIVATE = Endpoint("DELETE", "/api/v1/learners/{learnerId}", key="learner")
COURSE_CREATE = Endpoint("POST", "/api/v1/courses", key="course")
COURSES = Endpoint("GET", "/api/v1/courses", key="courses")
COURSE = Endpoint("GET", "/api/v1/courses/{courseId}", key="course")
COURSE_UPDATE = Endpoint("PATCH", "/api/v1/courses/{courseId}", key="course")
COURSE_DELETE = Endpoint("DELETE", "/api/v1/courses/{courseId}", key="course")
PLAN_CREATE = Endpoint("POST", "/api/v1/learning-plans", key="learningPlan")
PLAN = Endpoint("GET", "/api/v1/learning-plans/{planId}", key="learningPlan")
PLAN_UPDATE = Endpoint("PATCH", "/api/v1/learning-plans/{planId}", key="learningPlan")
PLAN_DELETE = Endpoint("DELETE", "/api/v1/learning-plans/{planId}")
PLAN_PUBLISH = Endpoint("POST", "/api/v1/learning-plans/{planId}/publish", key="learningPlan")
PLAN_DISABLE = Endpoint("POST", "/api/v1/learning-plans/{planId}/disable", key="learningPlan")
PLAN_COURSES = Endpoint("PUT", "/api/v1/learning-plans/{planId}/courses", key="learningPlan")
PLAN_ENROL = Endpoint("PUT", "/api/v1/learning-plans/{planId}/learners")
PLAN_UNENROL = Endpoint("DELETE", "/api/v1/learning-plans/{planId}/learners/{learnerId}")
PLAN_JOIN = Endpoint("POST", "/api/v1/learners/{learnerId}/learning-plans/{planId}/join")
RECORD_PROGRESS = Endpoint(
    "PUT", "/api/v1/courses/{courseId}/learners/{learnerId}/course-progress", key="courseProgress"
)
PLAN_HISTORY = Endpoint(
    "GET", "/api/v1/learners/{learnerId}/learning-plans/{planId}/history", key="events"
)
WEBHOOK_CREATE = Endpoint("POST", "/api/v1/webhooks", key="webhook")
WEBHOOKS = Endpoint("GET", "/api/v1/webhooks", key="webhooks", first_index=0)
WEBHOOK = Endpoint("GET", "/api/v1/webhooks/{webhookId}", key="webhook")
WEBHOOK_UPDATE = Endpoint("PATCH", "/api/v1/webhooks/{webhookId}", key="webhook")
WEBHOOK_DELETE = Endpoint("DELETE", "/api/v1/webhooks/{webhookId}", key="webhook")
WEBHOOK_ROTATE = Endpoint("POST", "/api/v1/webhooks/{webhookId}/rotate-secret", key="webhook")
WEBHOOK_TEST = Endpoint("POST", "/api/v1/webhooks/{webhookId}/test", key="eventIds")
WEBHOOK_DELIVERIES = Endpoint(
    "GET", "/api/v1/webhooks/{webhookId}/deliveries", key="deliveries", first_index=0
)
WEBHOOK_REPLAY = Endpoint("POST", "/api/v1/webhooks/{webhookId}/replay", key="eventIds")
EVENTS = Endpoint("GET", "/api/v1/events", key="events")
TOKEN_PATH = "/oauth/v2/token"  # noqa: S105 (a path, not a secret)
REVOKE_PATH = "/oauth/v2/token/revoke"

ZOHO_PAGE_SIZE = 25  # Zoho's page when no `limit` is sent


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list: its records, where it started, whether another follows."""

    items: list[T]
    start_index: int
    is_next_available: bool
    raw: dict[str, Any]


class Cursor:
    """Walks the pages of one list: `startIndex` advances by the records received; the walk
    ends on `isNextAvailable: false`, on an empty page, or, when the flag is absent (Zoho's own
    answers), on a page shorter than the page size. A server that ignores `startIndex` and
    answers the same page again also ends it, rather than repeating records."""

    def __init__(
        self, endpoint: Endpoint, *, page_size: int | None, start_index: int | None
    ) -> None:
        if page_size is not None and not 1 <= page_size <= 100:
            raise LmsPlansError("page_size must be between 1 and 100")
        self.endpoint = endpoint
        self.limit = page_size if page_size is not None else endpoint.page_size
        self.expected = self.limit or ZOHO_PAGE_SIZE
        self.start = endpoint.first_index if start_index is None else start_index
        self._previous: list[Any] | None = None

    def params(self) -> dict[str, str]:
        params = {"startIndex": str(self.start)}
        if self.limit is not None:
            params["limit"] = str(self.limit)
        return params

    def accept(self, body: Mapping[str, Any]) -> tuple[list[dict[str, Any]], bool]:
        """The records of a page just received and whether another page follows; moves
        `start` past them. A repeat of the previous page yields no record and ends the walk."""
        key = self.endpoint.key
        value = body.get(key) if key else None
        if value is None:
            value = []
        if not isinstance(value, list):
            raise LmsPlansError(f"unexpected answer: {key!r} is not a list")
        records = [item for item in value if isinstance(item, dict)]
        if not records or records == self._previous:
            return [], False
        flag = body.get("isNextAvailable")
        more = to_bool(flag) if flag is not None else None
        if more is None:
            more = len(records) >= self.expected
        self._previous = records
        self.start += len(records)
        return records, more
