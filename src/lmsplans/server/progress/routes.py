"""Progress: the reference endpoint, a learner's courses in a plan, course progress, an
enrolment's history, and recording progress."""

from __future__ import annotations

from typing import Any, Literal, Protocol

from starlette.responses import Response

from lmsplans.server.changes.log import tag
from lmsplans.server.courses import queries as course_queries
from lmsplans.server.db import Connection, Page
from lmsplans.server.errors import Conflict, InvalidParameter, NoSuchRecord
from lmsplans.server.http import Call, WriteCall
from lmsplans.server.learners.queries import Learner, resolve_learner
from lmsplans.server.learners.service import ensure_can_read, visibility
from lmsplans.server.openapi import LEARNER_ERRORS, Param
from lmsplans.server.params import payload
from lmsplans.server.plans import queries as plan_queries
from lmsplans.server.plans.queries import PlanProgress
from lmsplans.server.plans.schemas import LearnerPlansProgressPage
from lmsplans.server.progress import queries, schemas, service
from lmsplans.server.progress.rules import ALL_TIME
from lmsplans.server.progress.schemas import ProgressIn
from lmsplans.server.routing import RouteTable
from lmsplans.server.wire import encoded_response, ok, ok_body, ok_page

routes = RouteTable(tags=("Progress",))


def _learner_key(call: Call) -> tuple[str, int, str]:
    return ("learner", call.principal.org_id, call.path_param("learnerId"))


async def _learner(call: Call, conn: Any) -> Learner:
    """The learner in the path (kept until they change)."""
    key = _learner_key(call)
    learner: Learner | None = call.cached(key)
    if learner is None:
        learner = await resolve_learner(
            conn, org_id=call.principal.org_id, learner_ref=call.path_param("learnerId")
        )
        # `people`: a learner created or changed may be the one a reference now names.
        call.keep(key, learner, tags=(tag("learner", learner.id), tag("people", learner.org_id)))
    return learner


def progress_page_key(learner_id: int, page: Page) -> tuple[str, int, int, int]:
    """The cache key of one page of a learner's `ProgressPage` (the pages of the interface
    read the same entries)."""
    return ("plans", learner_id, page.offset, page.limit)


def progress_page_tags(learner_id: int, org_id: int) -> tuple[str, str, str]:
    """What a learner's `ProgressPage` stands on: the learner, their enrolments and
    progress, and the organisation's plans (their publication, courses and names)."""
    return tag("learner", learner_id), tag("progress", learner_id), tag("plans", org_id)


async def _readable_learner(call: Call, conn: Any) -> Learner:
    learner = await _learner(call, conn)
    ensure_can_read(learner, viewer_id=call.principal.user_id, role=call.principal.role)
    return learner


class ProgressPage:
    """One page of the reference endpoint's answer for one learner, kept until a change
    names its tags (`progress_page_tags`). Only `isOverdue` moves with the clock, and only
    when the clock passes a pending plan's due time: the encoded answer is kept for as long
    as it stays true."""

    __slots__ = ("_body", "_since", "_until", "more", "plans")

    def __init__(self, plans: list[PlanProgress], *, more: bool) -> None:
        self.plans = plans
        self.more = more
        self._body = b""
        self._since = self._until = 0  # the span of time `_body` holds for: none yet

    def body(self, now_ms: int) -> bytes:
        """The answer as of `now_ms`, encoded."""
        if not self._since <= now_ms < self._until:
            self._encode(now_ms)
        return self._body

    def _encode(self, now_ms: int) -> None:
        spans = [plan.same_between(now_ms) for plan in self.plans]
        since = max((span[0] for span in spans), default=ALL_TIME[0])
        until = min((span[1] for span in spans), default=ALL_TIME[1])
        self._body = ok_body(
            {
                "learningPlans": [plan.at(now_ms) for plan in self.plans],
                "isNextAvailable": self.more,
            },
            "Learning plans fetched successfully",
        )
        self._since, self._until = since, until


@routes.get(
    "/api/v1/learners/{learnerId}/learning-plans/progress",
    response=LearnerPlansProgressPage,
    paging=0,
    errors=LEARNER_ERRORS,
)
async def learner_plans_progress(call: Call) -> Response:
    """A learner's progress in every learning plan they are enrolled in

    Zoho's reference endpoint: published plans only, oldest enrolment first, with this
    product's `progressInfo` added to each plan.
    """
    # The hot path: until a write touches them, the learner and their encoded answer come
    # from the cache (re-encoded only when `isOverdue`, which moves with the clock,
    # changes).
    page = call.page()
    answer: ProgressPage | None = None
    learner: Learner | None = call.cached(_learner_key(call))
    if learner is not None:
        ensure_can_read(learner, viewer_id=call.principal.user_id, role=call.principal.role)
        answer = call.cached(progress_page_key(learner.id, page))
    if answer is None:  # not all in the cache: no connection is taken otherwise
        async with call.db.read() as conn:
            learner = await _readable_learner(call, conn)
            plans, more = await plan_queries.learner_plans(conn, learner_id=learner.id, page=page)
        answer = ProgressPage(plans, more=more)
        call.keep(
            progress_page_key(learner.id, page),
            answer,
            tags=progress_page_tags(learner.id, learner.org_id),
        )
    return encoded_response(answer.body(call.now_ms()))


class _InPlan(Protocol):
    """A query of one page of what a learner has in an organisation's plan."""

    async def __call__(
        self, conn: Connection, *, org_id: int, plan_id: int, learner_id: int, page: Page
    ) -> tuple[list[dict[str, Any]], bool]: ...


async def _in_plan(call: Call, query: _InPlan) -> tuple[list[dict[str, Any]], bool]:
    """The page asked for of what `query` reads of the learner in the path (whom the caller
    may read) in the plan in the path."""
    page = call.page()
    plan_id = call.id_param("planId", "learning plan")
    async with call.db.read() as conn:
        learner = await _readable_learner(call, conn)
        return await query(
            conn, org_id=call.principal.org_id, plan_id=plan_id, learner_id=learner.id, page=page
        )


@routes.get(
    "/api/v1/learners/{learnerId}/learning-plans/{planId}/courses/progress",
    response=schemas.PlanCoursesProgressPage,
    paging=1,
    errors=(*LEARNER_ERRORS, NoSuchRecord),
)
async def learner_plan_courses_progress(call: Call) -> Response:
    """A learner's progress in each course of one plan

    The plan's courses by level; `isLocked` while the previous level is incomplete. 404 7049
    when the learner is not in the plan.
    """
    courses, more = await _in_plan(call, queries.plan_courses_progress)
    return ok_page("courses", courses, more, "Courses fetched successfully")


@routes.get(
    "/api/v1/learners/{learnerId}/course-progress",
    response=schemas.CourseProgressPage,
    paging=0,
    errors=LEARNER_ERRORS,
)
async def learner_course_progress(call: Call) -> Response:
    """A learner's progress in every course

    `startIndex` counts from 0, as Zoho's Single Learner - All Course Progress page says.
    """
    page = call.page()
    async with call.db.read() as conn:
        learner = await _readable_learner(call, conn)
        records, more = await queries.learner_course_progress(
            conn, learner_id=learner.id, page=page
        )
    return ok_page("courseProgress", records, more, "Course progress fetched successfully")


async def _course_id(call: Call, conn: Connection) -> int:
    """The live course of the caller's organisation in the path (404 7049 otherwise), and,
    on a `/batches/{batchId}` path, its batch (`courses.queries.batch_id`)."""
    course_id = call.id_param("courseId", "course")
    org_id = call.principal.org_id
    if "batchId" in call.request.path_params:
        batch = call.id_param("batchId", "batch")
        await course_queries.batch_course_row(conn, org_id=org_id, course_id=course_id, batch=batch)
    else:
        await course_queries.course_row(conn, org_id=org_id, course_id=course_id)
    return course_id


async def _course_progress(call: Call) -> Response:
    page = call.page()
    async with call.db.read() as conn:
        course_id = await _course_id(call, conn)
        records, more = await queries.course_progress(
            conn, course_id=course_id, visibility=visibility(call.principal), page=page
        )
    return ok_page("courseProgress", records, more, "Course progress fetched successfully")


@routes.get(
    "/api/v1/courses/{courseId}/course-progress",
    response=schemas.CourseProgressPage,
    paging=0,
    errors=(NoSuchRecord,),
)
async def course_progress(call: Call) -> Response:
    """Every learner's progress in one course

    Only the learners the caller may see (managers: reportees and self). `startIndex` counts
    from 0, as Zoho's Single Course - All Learner Progress page says.
    """
    return await _course_progress(call)


@routes.get(
    "/api/v1/courses/{courseId}/batches/{batchId}/course-progress",
    response=schemas.CourseProgressPage,
    paging=0,
    errors=(NoSuchRecord,),
)
async def batch_course_progress(call: Call) -> Response:
    """Every learner's progress in one batch of a blended course

    Zoho's path for a blended course. A blended course has one batch, the course itself
    (its `batchId` is the `courseId`), so the answer is the course's; another id, or a
    course of another type, is 404 7049.
    """
    return await _course_progress(call)


PROGRESS_TYPE = Param(
    "progressType",
    Literal[0, 1],
    "Zoho's choice of the entities counted (0 all, 1 mandatory ones); a course is one unit "
    "of progress here, so both answer the same.",
    default=0,
)


async def _course_learner_progress(call: Call) -> Response:
    progress_type = call.query("progressType")
    if progress_type is not None and progress_type not in ("0", "1"):
        raise InvalidParameter("progressType", "must be 0 or 1")
    async with call.db.read() as conn:
        learner = await _readable_learner(call, conn)
        course_id = await _course_id(call, conn)
        record = await queries.one_course_progress(conn, course_id=course_id, learner_id=learner.id)
    if record is None:
        raise NoSuchRecord("No record for the given id: the learner is not in this course")
    return ok({"courseProgress": record}, "Course progress fetched successfully")


@routes.get(
    "/api/v1/courses/{courseId}/learners/{learnerId}/course-progress",
    response=schemas.CourseProgressOne,
    params=(PROGRESS_TYPE,),
    errors=(*LEARNER_ERRORS, NoSuchRecord, InvalidParameter),
)
async def course_learner_progress(call: Call) -> Response:
    """One learner's progress in one course"""
    return await _course_learner_progress(call)


@routes.get(
    "/api/v1/courses/{courseId}/batches/{batchId}/learners/{learnerId}/course-progress",
    response=schemas.CourseProgressOne,
    params=(PROGRESS_TYPE,),
    errors=(*LEARNER_ERRORS, NoSuchRecord, InvalidParameter),
)
async def batch_learner_progress(call: Call) -> Response:
    """One learner's progress in one batch of a blended course

    Zoho's path for a blended course; the batch is the course itself (see the course
    progress of a batch).
    """
    return await _course_learner_progress(call)


@routes.put(
    "/api/v1/courses/{courseId}/learners/{learnerId}/course-progress",
    response=schemas.CourseProgressOne,
    body=ProgressIn,
    payload="progressData",
    errors=(*LEARNER_ERRORS, NoSuchRecord, Conflict),
)
async def record_progress(call: WriteCall) -> Response:
    """Record a learner's progress in a course

    Admins record anyone's progress in the organisation; learners and managers their own,
    in self-paced and e-material courses (403 9000 otherwise). A learner not in the course
    is 404 7049, a time in the future 400 7204. A completed course goes back only through
    `reset: true` (409 7052 otherwise).
    """
    data = await payload(call.request, "progressData", ProgressIn)
    course_id = call.id_param("courseId", "course")
    learner = await service.record_progress(
        call.conn,
        write=call.write,
        learner_ref=call.path_param("learnerId"),
        course_id=course_id,
        data=data,
    )
    record = await queries.one_course_progress(
        call.conn, course_id=course_id, learner_id=learner.id
    )
    return ok({"courseProgress": record}, "Course progress recorded successfully")


@routes.get(
    "/api/v1/learners/{learnerId}/learning-plans/{planId}/history",
    response=schemas.HistoryPage,
    paging=1,
    errors=(*LEARNER_ERRORS, NoSuchRecord),
)
async def plan_history(call: Call) -> Response:
    """The history of a learner in one learning plan

    Every event of the learner's enrolment in the plan and of their progress in its
    courses, oldest first: who, from where, when, with which `Idempotency-Key`, and the
    state before and after.
    """
    events, more = await _in_plan(call, queries.plan_history)
    return ok_page("events", events, more, "History fetched successfully")
