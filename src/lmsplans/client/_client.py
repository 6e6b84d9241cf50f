"""The sync client: `Client`, its resources and its pager."""

from __future__ import annotations

import builtins
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Generic, TypeVar

import httpx

from lmsplans.client._answers import (
    AccessToken,
    check_response,
    first_record_of,
    record_of,
    records_of,
)
from lmsplans.client._auth import Credentials, RefreshBudget, TokenManager
from lmsplans.client._endpoints import (
    COURSE,
    COURSE_CREATE,
    COURSE_DELETE,
    COURSE_LEARNER_PROGRESS,
    COURSE_PROGRESS,
    COURSE_UPDATE,
    COURSES,
    LEARNER,
    LEARNER_COURSE_PROGRESS,
    LEARNER_DEACTIVATE,
    LEARNER_PLAN_COURSES_PROGRESS,
    LEARNER_PLANS_PROGRESS,
    LEARNER_UPDATE,
    LEARNERS,
    LEARNERS_CREATE,
    LEARNING_PLANS,
    MAX_PAGES,
    PLAN,
    PLAN_COURSES,
    PLAN_CREATE,
    PLAN_DELETE,
    PLAN_DISABLE,
    PLAN_ENROL,
    PLAN_HISTORY,
    PLAN_JOIN,
    PLAN_LEARNERS,
    PLAN_PUBLISH,
    PLAN_UNENROL,
    PLAN_UPDATE,
    RECORD_PROGRESS,
    Cursor,
    Endpoint,
    Page,
)
from lmsplans.client._errors import APIStatusError, LmsPlansError
from lmsplans.client._hosts import USER_AGENT, env, resolve_urls
from lmsplans.client._models import (
    Course,
    CourseInPlanProgress,
    CourseProgress,
    Enrolment,
    HistoryEvent,
    Learner,
    LearningPlanProgress,
    PlanCourseSpec,
    PlanDetail,
    PlanInfo,
    RosterMember,
    RosterSummary,
)
from lmsplans.client._pacing import Governor, RateLimitPolicy
from lmsplans.client._requests import (
    WRITE_METHODS,
    build_headers,
    fields,
    learner_filters,
    new_idempotency_key,
    plan_courses_payload,
    plan_payload,
    progress_payload,
)
from lmsplans.client._retry import Action, Attempts, RetryPolicy, lock_seconds, log_retry

__all__ = ["Client", "SyncPager"]

T = TypeVar("T")
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


class SyncPager(Generic[T]):
    """Every record of a list, page after page. Iterate it for the records; `pages()` gives
    the pages themselves. Each iteration walks the list again from its start."""

    def __init__(
        self,
        client: Client,
        endpoint: Endpoint,
        path: str,
        parse: Callable[[dict[str, Any]], T],
        *,
        params: Mapping[str, str] | None = None,
        page_size: int | None = None,
        start_index: int | None = None,
    ) -> None:
        self._client = client
        self._endpoint = endpoint
        self._path = path
        self._parse = parse
        self._params = dict(params or {})
        self._page_size = page_size
        self._start_index = start_index
        Cursor(endpoint, page_size=page_size, start_index=start_index)  # validates early

    def pages(self) -> Iterator[Page[T]]:
        """Each page in turn, until the last."""
        cursor = Cursor(self._endpoint, page_size=self._page_size, start_index=self._start_index)
        for _ in range(MAX_PAGES):
            start = cursor.start
            body = self._client._call(
                self._endpoint, self._path, params={**self._params, **cursor.params()}
            )
            records, more = cursor.accept(body)
            yield Page([self._parse(r) for r in records], start, more, body)
            if not more:
                return

    def first_page(self) -> Page[T]:
        """Only the first page (one call)."""
        return next(iter(self.pages()))

    def __iter__(self) -> Iterator[T]:
        for page in self.pages():
            yield from page.items

    def to_list(self) -> list[T]:
        """Every record, in a list."""
        return list(self)


class Learners:
    """Learners: their progress (`/api/v1/learners/{learnerId}/...`), and managing them.

    A `learner_id` is the learner's userId (erecno), zuid or email address.
    """

    def __init__(self, client: Client) -> None:
        self._client = client

    def learning_plans_progress(
        self, learner_id: str | int, *, page_size: int | None = None, start_index: int | None = None
    ) -> SyncPager[LearningPlanProgress]:
        """The learner's progress in every plan they are enrolled in: the reference endpoint,
        GET /api/v1/learners/{learnerId}/learning-plans/progress (`startIndex` from 0).

        No `limit` is sent unless `page_size` is given, so it pages as Zoho does (25)."""
        e = LEARNER_PLANS_PROGRESS
        return SyncPager(
            self._client,
            e,
            e.path(learnerId=learner_id),
            LearningPlanProgress.from_raw,
            page_size=page_size,
            start_index=start_index,
        )

    def plan_courses_progress(
        self,
        learner_id: str | int,
        plan_id: str | int,
        *,
        page_size: int | None = None,
        start_index: int | None = None,
    ) -> SyncPager[CourseInPlanProgress]:
        """The plan's courses with the learner's progress in each (level, mandatory, locked),
        GET /api/v1/learners/{learnerId}/learning-plans/{planId}/courses/progress."""
        e = LEARNER_PLAN_COURSES_PROGRESS
        return SyncPager(
            self._client,
            e,
            e.path(learnerId=learner_id, planId=plan_id),
            CourseInPlanProgress.from_raw,
            page_size=page_size,
            start_index=start_index,
        )

    def course_progress(
        self, learner_id: str | int, *, page_size: int | None = None, start_index: int | None = None
    ) -> SyncPager[CourseProgress]:
        """The learner's progress in every course,
        GET /api/v1/learners/{learnerId}/course-progress."""
        e = LEARNER_COURSE_PROGRESS
        return SyncPager(
            self._client,
            e,
            e.path(learnerId=learner_id),
            CourseProgress.from_raw,
            page_size=page_size,
            start_index=start_index,
        )

    # --- management (this product's own endpoints) ---

    def create(
        self,
        *,
        email_id: str,
        display_name: str,
        employee_id: str,
        role: str | None = None,
        manager_id: str | int | None = None,
        zuid: int | None = None,
        idempotency_key: str | None = None,
    ) -> Learner:
        """Create one learner (admins only), POST /api/v1/learners. `role` is admin, manager
        or learner (the default); `manager_id` a userId, zuid or email of the organisation."""
        data = fields(
            emailId=email_id,
            displayName=display_name,
            employeeId=employee_id,
            role=role,
            managerId=None if manager_id is None else str(manager_id),
            zuid=zuid,
        )
        e = LEARNERS_CREATE
        body = self._client._call(e, e.path(), json=data, idempotency_key=idempotency_key)
        return Learner.from_raw(first_record_of(body, e.key))

    def create_many(
        self, learners: Sequence[Mapping[str, Any]], *, idempotency_key: str | None = None
    ) -> builtins.list[Learner]:
        """Create up to 200 learners at once, all or none (admins only); each a mapping in the
        API's field names (`emailId`, `displayName`, `employeeId`, `role`, `managerId`,
        `zuid`). A learner may name an earlier one of the batch as its manager."""
        e = LEARNERS_CREATE
        body = self._client._call(
            e, e.path(), json=[dict(item) for item in learners], idempotency_key=idempotency_key
        )
        return [Learner.from_raw(r) for r in records_of(body, e.key)]

    def list(
        self,
        *,
        search: str | None = None,
        role: str | None = None,
        status: str | None = None,
        page_size: int | None = None,
        start_index: int | None = None,
    ) -> SyncPager[Learner]:
        """The learners the caller may see, GET /api/v1/learners; `search` matches a part of
        the name, email or employee id, `role` and `status` (active, inactive) filter."""
        e = LEARNERS
        return SyncPager(
            self._client,
            e,
            e.path(),
            Learner.from_raw,
            params=learner_filters(search, role, status),
            page_size=page_size,
            start_index=start_index,
        )

    def get(self, learner_id: str | int) -> Learner:
        """One learner, GET /api/v1/learners/{learnerId}."""
        e = LEARNER
        body = self._client._call(e, e.path(learnerId=learner_id))
        return Learner.from_raw(record_of(body, e.key))

    def update(
        self,
        learner_id: str | int,
        *,
        email_id: str | None = None,
        display_name: str | None = None,
        employee_id: str | None = None,
        role: str | None = None,
        manager_id: str | int | None = None,
        remove_manager: bool = False,
        status: str | None = None,
        idempotency_key: str | None = None,
    ) -> Learner:
        """Change a learner (admins only), PATCH /api/v1/learners/{learnerId}; arguments left
        as None stay as they are, `remove_manager=True` removes the manager."""
        data = fields(
            emailId=email_id,
            displayName=display_name,
            employeeId=employee_id,
            role=role,
            managerId=None if manager_id is None else str(manager_id),
            status=status,
        )
        if remove_manager:
            data["managerId"] = None
        e = LEARNER_UPDATE
        body = self._client._call(
            e, e.path(learnerId=learner_id), json=data, idempotency_key=idempotency_key
        )
        return Learner.from_raw(record_of(body, e.key))

    def deactivate(self, learner_id: str | int, *, idempotency_key: str | None = None) -> Learner:
        """Deactivate a learner (admins only; records and history are kept),
        DELETE /api/v1/learners/{learnerId}."""
        e = LEARNER_DEACTIVATE
        body = self._client._call(e, e.path(learnerId=learner_id), idempotency_key=idempotency_key)
        return Learner.from_raw(record_of(body, e.key))

    def plan_history(
        self,
        learner_id: str | int,
        plan_id: str | int,
        *,
        page_size: int | None = None,
        start_index: int | None = None,
    ) -> SyncPager[HistoryEvent]:
        """Every event of the learner in the plan, oldest first, GET
        /api/v1/learners/{learnerId}/learning-plans/{planId}/history."""
        e = PLAN_HISTORY
        return SyncPager(
            self._client,
            e,
            e.path(learnerId=learner_id, planId=plan_id),
            HistoryEvent.from_raw,
            page_size=page_size,
            start_index=start_index,
        )


class LearningPlans:
    """Learning plans: their rosters, and managing them (`/api/v1/learning-plans/...`)."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def list(
        self, *, page_size: int | None = None, start_index: int | None = None
    ) -> SyncPager[PlanInfo]:
        """The organisation's plans (admins also see drafts), GET /api/v1/learning-plans."""
        e = LEARNING_PLANS
        return SyncPager(
            self._client,
            e,
            e.path(),
            PlanInfo.from_raw,
            page_size=page_size,
            start_index=start_index,
        )

    def learners(
        self,
        plan_id: str | int,
        *,
        status: str | None = None,
        page_size: int | None = None,
        start_index: int | None = None,
    ) -> SyncPager[RosterMember]:
        """The plan's roster with each learner's progress, GET
        /api/v1/learning-plans/{planId}/learners; `status` is one of completed, inProgress,
        notStarted, overdue. Each page's `raw["summary"]` holds counts for the whole roster."""
        e = PLAN_LEARNERS
        return SyncPager(
            self._client,
            e,
            e.path(planId=plan_id),
            RosterMember.from_raw,
            params={"status": status} if status else None,
            page_size=page_size,
            start_index=start_index,
        )

    def roster_summary(self, plan_id: str | int, *, status: str | None = None) -> RosterSummary:
        """Counts over the plan's whole roster (total, completed, in progress, not started,
        overdue, and how many match `status`), in one call."""
        page = self.learners(plan_id, status=status, page_size=1).first_page()
        summary = page.raw.get("summary")
        return RosterSummary.from_raw(summary if isinstance(summary, dict) else {})

    # --- management (this product's own endpoints) ---

    def create(
        self,
        name: str,
        *,
        description: str | None = None,
        duration: int | None = None,
        duration_type: int | None = None,
        image: str | None = None,
        plan_admins: Sequence[str | int] | None = None,
        idempotency_key: str | None = None,
    ) -> PlanDetail:
        """Create a draft plan (admins only), POST /api/v1/learning-plans. `duration` 0 (the
        default) means no due date; `duration_type` 0 days, 1 weeks, 2 months."""
        data = plan_payload(name, description, duration, duration_type, image, plan_admins)
        e = PLAN_CREATE
        body = self._client._call(e, e.path(), json=data, idempotency_key=idempotency_key)
        return PlanDetail.from_raw(record_of(body, e.key))

    def get(self, plan_id: str | int) -> PlanDetail:
        """One plan with its courses and admins, GET /api/v1/learning-plans/{planId}."""
        e = PLAN
        body = self._client._call(e, e.path(planId=plan_id))
        return PlanDetail.from_raw(record_of(body, e.key))

    def update(
        self,
        plan_id: str | int,
        *,
        name: str | None = None,
        description: str | None = None,
        duration: int | None = None,
        duration_type: int | None = None,
        image: str | None = None,
        plan_admins: Sequence[str | int] | None = None,
        disabled: bool | None = None,
        idempotency_key: str | None = None,
    ) -> PlanDetail:
        """Change a plan, PATCH /api/v1/learning-plans/{planId}; arguments left as None stay
        as they are, `plan_admins` replaces the plan's admins."""
        data = plan_payload(name, description, duration, duration_type, image, plan_admins)
        data.update(fields(disabled=disabled))
        e = PLAN_UPDATE
        body = self._client._call(
            e, e.path(planId=plan_id), json=data, idempotency_key=idempotency_key
        )
        return PlanDetail.from_raw(record_of(body, e.key))

    def delete(self, plan_id: str | int, *, idempotency_key: str | None = None) -> str:
        """Delete a draft plan (a published one is a ConflictError: disable it), DELETE
        /api/v1/learning-plans/{planId}; returns its id."""
        e = PLAN_DELETE
        body = self._client._call(e, e.path(planId=plan_id), idempotency_key=idempotency_key)
        return str(body.get("planId", plan_id))

    def publish(self, plan_id: str | int, *, idempotency_key: str | None = None) -> PlanDetail:
        """Publish a plan (it needs a mandatory course), POST .../{planId}/publish."""
        e = PLAN_PUBLISH
        body = self._client._call(e, e.path(planId=plan_id), idempotency_key=idempotency_key)
        return PlanDetail.from_raw(record_of(body, e.key))

    def disable(self, plan_id: str | int, *, idempotency_key: str | None = None) -> PlanDetail:
        """Disable a plan (no new enrolments; history stays), POST .../{planId}/disable."""
        e = PLAN_DISABLE
        body = self._client._call(e, e.path(planId=plan_id), idempotency_key=idempotency_key)
        return PlanDetail.from_raw(record_of(body, e.key))

    def set_courses(
        self,
        plan_id: str | int,
        courses: Sequence[PlanCourseSpec | Mapping[str, Any]],
        *,
        idempotency_key: str | None = None,
    ) -> PlanDetail:
        """Replace the plan's whole course list, PUT /api/v1/learning-plans/{planId}/courses;
        each course a `PlanCourseSpec` or a mapping in the API's field names."""
        e = PLAN_COURSES
        body = self._client._call(
            e,
            e.path(planId=plan_id),
            json={"courses": plan_courses_payload(courses)},
            idempotency_key=idempotency_key,
        )
        return PlanDetail.from_raw(record_of(body, e.key))

    def enrol(
        self,
        plan_id: str | int,
        learners: Sequence[str | int],
        *,
        idempotency_key: str | None = None,
    ) -> Enrolment:
        """Enrol up to 200 learners (userIds/erecnos, zuids or emails), PUT
        /api/v1/learning-plans/{planId}/learners; those already enrolled are left as they are."""
        e = PLAN_ENROL
        body = self._client._call(
            e,
            e.path(planId=plan_id),
            json=[str(learner) for learner in learners],
            idempotency_key=idempotency_key,
        )
        return Enrolment.from_raw(body)

    def unenrol(
        self, plan_id: str | int, learner_id: str | int, *, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        """Unenrol a learner (the enrolment and its history are kept), DELETE
        /api/v1/learning-plans/{planId}/learners/{learnerId}; returns the answer."""
        e = PLAN_UNENROL
        return self._client._call(
            e, e.path(planId=plan_id, learnerId=learner_id), idempotency_key=idempotency_key
        )

    def join(
        self, plan_id: str | int, learner_id: str | int, *, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        """The learner joins a published plan (enrolling if needed), POST
        /api/v1/learners/{learnerId}/learning-plans/{planId}/join; returns the answer
        (`planId`, `userId`, `planuserId`)."""
        e = PLAN_JOIN
        return self._client._call(
            e, e.path(learnerId=learner_id, planId=plan_id), idempotency_key=idempotency_key
        )


class Courses:
    """Courses: progress in them, recording it, and managing them (`/api/v1/courses/...`)."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def progress(
        self, course_id: str | int, *, page_size: int | None = None, start_index: int | None = None
    ) -> SyncPager[CourseProgress]:
        """Every visible learner's progress in the course, GET
        /api/v1/courses/{courseId}/course-progress."""
        e = COURSE_PROGRESS
        return SyncPager(
            self._client,
            e,
            e.path(courseId=course_id),
            CourseProgress.from_raw,
            page_size=page_size,
            start_index=start_index,
        )

    def learner_progress(self, course_id: str | int, learner_id: str | int) -> CourseProgress:
        """One learner's progress in one course, GET
        /api/v1/courses/{courseId}/learners/{learnerId}/course-progress."""
        e = COURSE_LEARNER_PROGRESS
        body = self._client._call(e, e.path(courseId=course_id, learnerId=learner_id))
        record = body.get("courseProgress")
        if isinstance(record, list):
            record = record[0] if record else None
        if not isinstance(record, dict):
            raise LmsPlansError("unexpected answer: no courseProgress record")
        return CourseProgress.from_raw(record)

    def record_progress(
        self,
        course_id: str | int,
        learner_id: str | int,
        *,
        percentage: int | None = None,
        status: str | None = None,
        completion_time: datetime | int | None = None,
        reset: bool = False,
        idempotency_key: str | None = None,
    ) -> CourseProgress:
        """Record a learner's progress in a course, PUT
        /api/v1/courses/{courseId}/learners/{learnerId}/course-progress: a `percentage`, a
        `status` (notStarted, inProgress, completed) or both, dated `completion_time`
        (default now); or `reset=True`, the only way back from completed."""
        e = RECORD_PROGRESS
        body = self._client._call(
            e,
            e.path(courseId=course_id, learnerId=learner_id),
            json=progress_payload(percentage, status, completion_time, reset),
            idempotency_key=idempotency_key,
        )
        return CourseProgress.from_raw(record_of(body, e.key))

    # --- management (this product's own endpoints) ---

    def create(
        self,
        name: str,
        *,
        course_type: int | None = None,
        duration: int | None = None,
        idempotency_key: str | None = None,
    ) -> Course:
        """Create a course (admins only), POST /api/v1/courses; `course_type` 1 self-paced
        (the default), 2 blended, 3 e-material; `duration` in minutes."""
        data = fields(courseName=name, courseType=course_type, duration=duration)
        e = COURSE_CREATE
        body = self._client._call(e, e.path(), json=data, idempotency_key=idempotency_key)
        return Course.from_raw(record_of(body, e.key))

    def list(
        self, *, page_size: int | None = None, start_index: int | None = None
    ) -> SyncPager[Course]:
        """The organisation's courses, oldest first, GET /api/v1/courses."""
        e = COURSES
        return SyncPager(
            self._client,
            e,
            e.path(),
            Course.from_raw,
            page_size=page_size,
            start_index=start_index,
        )

    def get(self, course_id: str | int) -> Course:
        """One course, GET /api/v1/courses/{courseId}."""
        e = COURSE
        body = self._client._call(e, e.path(courseId=course_id))
        return Course.from_raw(record_of(body, e.key))

    def update(
        self,
        course_id: str | int,
        *,
        name: str | None = None,
        course_type: int | None = None,
        duration: int | None = None,
        clear_duration: bool = False,
        idempotency_key: str | None = None,
    ) -> Course:
        """Change a course (admins only), PATCH /api/v1/courses/{courseId}; arguments left as
        None stay as they are, `clear_duration=True` removes the duration."""
        data = fields(courseName=name, courseType=course_type, duration=duration)
        if clear_duration:
            data["duration"] = None
        e = COURSE_UPDATE
        body = self._client._call(
            e, e.path(courseId=course_id), json=data, idempotency_key=idempotency_key
        )
        return Course.from_raw(record_of(body, e.key))

    def delete(self, course_id: str | int, *, idempotency_key: str | None = None) -> Course:
        """Delete a course (refused while a published plan uses it), DELETE
        /api/v1/courses/{courseId}; returns the course as it was."""
        e = COURSE_DELETE
        body = self._client._call(e, e.path(courseId=course_id), idempotency_key=idempotency_key)
        return Course.from_raw(record_of(body, e.key))


class OAuth:
    """The token endpoints (Zoho Accounts' `/oauth/v2/token` and `/oauth/v2/token/revoke`)."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def refresh(self) -> AccessToken:
        """Mint a new access token from the refresh token now (the client also does this by
        itself before the current token expires). Counts against the 10-per-10-minutes rule."""
        return self._client._auth.refresh()

    def revoke(self, token: str | None = None) -> None:
        """Revoke a token: by default the client's refresh token (and with it every access
        token it minted); the client cannot refresh afterwards."""
        target = token or self._client._auth.credentials.refresh_token
        if not target:
            raise LmsPlansError("no token to revoke")
        self._client._auth.revoke(target)


class Client:
    """A sync client for the Zoho People LMS API, as served by Zoho or by `lmsplans serve`.

    Authenticate with `access_token=`, or with `refresh_token=`, `client_id=` and
    `client_secret=` (access tokens are then minted and renewed before they expire; a token
    the server refuses is renewed once and the call retried). Choose the Zoho data centre with
    `dc=` (com, eu, in, com.au, jp, ca, sa, uk, com.cn), or point the client anywhere with
    `base_url=` (and `accounts_url=`, which defaults to `base_url`).

    Every call goes through a pacing `Governor` (default: 30 calls a minute per API, then
    whatever the server announces), so a long job never trips the lock; a lock that comes
    anyway is waited out and the same call retried. 5xx answers and network errors are retried
    `max_retries` times with jittered exponential backoff. `transport=` takes any httpx
    transport (the seam for tests); `clock=` and `sleep=` drive the governor and the backoff.

    Resources: `learners`, `learning_plans`, `courses`, `oauth`. Lists come back as pagers
    that fetch every page as they are iterated.
    """

    def __init__(
        self,
        *,
        access_token: str | None = None,
        refresh_token: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        dc: str | None = None,
        base_url: str | None = None,
        accounts_url: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int = 2,
        rate_limit: RateLimitPolicy | None = None,
        governor: Governor | None = None,
        retry: RetryPolicy | None = None,
        refresh_budget: RefreshBudget | None = None,
        transport: httpx.BaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url, self.accounts_url = resolve_urls(dc, base_url, accounts_url)
        self.retry = retry or RetryPolicy(max_retries=max_retries)
        self.governor = governor or Governor(rate_limit, clock=clock, sleep=sleep)
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=self.base_url,
            transport=transport,
            timeout=timeout if timeout is not None else DEFAULT_TIMEOUT,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {})},
        )
        credentials = Credentials(
            access_token=access_token,
            refresh_token=refresh_token,
            client_id=client_id,
            client_secret=client_secret,
            accounts_url=self.accounts_url,
            clock=clock,
            retry=self.retry,
            budget=refresh_budget,
        )
        self._auth = TokenManager(credentials, http=self._http, sleep=sleep)
        self.learners = Learners(self)
        self.learning_plans = LearningPlans(self)
        self.courses = Courses(self)
        self.oauth = OAuth(self)

    @classmethod
    def from_env(cls, **overrides: Any) -> Client:
        """A client configured from `LMSPLANS_BASE_URL`, `LMSPLANS_ACCOUNTS_URL`,
        `LMSPLANS_DC`, `LMSPLANS_ACCESS_TOKEN`, `LMSPLANS_REFRESH_TOKEN`, `LMSPLANS_CLIENT_ID`
        and `LMSPLANS_CLIENT_SECRET`; keyword arguments win over the environment."""
        settings: dict[str, Any] = {
            "base_url": env("LMSPLANS_BASE_URL"),
            "accounts_url": env("LMSPLANS_ACCOUNTS_URL"),
            "dc": env("LMSPLANS_DC"),
            "access_token": env("LMSPLANS_ACCESS_TOKEN"),
            "refresh_token": env("LMSPLANS_REFRESH_TOKEN"),
            "client_id": env("LMSPLANS_CLIENT_ID"),
            "client_secret": env("LMSPLANS_CLIENT_SECRET"),
        }
        settings.update(overrides)
        return cls(**settings)

    @property
    def token_refreshes(self) -> int:
        """How many access tokens this client has minted."""
        return self._auth.credentials.refreshes

    def request(
        self,
        method: str,
        path: str,
        *,
        path_params: Mapping[str, str | int] | None = None,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Call any API and return the decoded answer.

        `path` is the route template (`/api/v1/learners/{learnerId}/course-progress`) and
        `path_params` fills it; the template names the API for the governor. Writes (POST, PUT,
        PATCH, DELETE) carry an `Idempotency-Key` (a new one unless given), the same on every
        retry, so a write retried after a lost answer is applied once.
        """
        endpoint = Endpoint(method.upper(), path)
        return self._call(
            endpoint,
            endpoint.path(**(path_params or {})),
            params=params,
            json=json,
            idempotency_key=idempotency_key,
        )

    def _call(
        self,
        endpoint: Endpoint,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        method, api = endpoint.method, endpoint.api
        if method in WRITE_METHODS and idempotency_key is None:
            idempotency_key = new_idempotency_key()
        attempts = Attempts(self.retry)
        error: APIStatusError | None = None
        for _ in range(attempts.limit):
            ticket = self.governor.acquire(api)
            try:  # after the wait for a slot, so the token is fresh when sent
                token = self._auth.token()
            except BaseException:
                self.governor.release(ticket)
                raise
            request = self._http.build_request(
                method,
                path,
                params=params,
                json=json,
                headers=build_headers({}, token, idempotency_key),
            )
            try:
                response = self._http.send(request)
            except httpx.TransportError as exc:
                if isinstance(exc, httpx.ConnectError):
                    self.governor.release(ticket)  # it never reached the server
                else:
                    self.governor.settle(ticket)
                action = attempts.after_transport_error(exc)
                log_retry(api, action, exc)
                self._sleep(action.seconds)
                continue
            except BaseException:
                self.governor.settle(ticket)  # it may have reached the server
                raise
            self.governor.settle(ticket, response.headers)
            try:
                return check_response(response)
            except APIStatusError as failed:
                error = failed
                action = attempts.after_error(
                    failed, can_refresh=self._auth.credentials.can_refresh
                )
            if action.kind == "lock":
                action = Action("lock", lock_seconds(action.seconds, response, self.governor, api))
                self.governor.lock(api, action.seconds)
            log_retry(api, action, error)
            if action.kind == "refresh":
                self._auth.invalidate(token)
            elif action.kind == "retry":
                self._sleep(action.seconds)
        assert error is not None
        raise error

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
