"""Learning plans: the organisation's plans and a plan's roster (Zoho's reads), and managing
them (this product's own: Zoho documents none of these)."""

from __future__ import annotations

from starlette.responses import Response

from lmsplans.server.auth.schemas import Operation, Role
from lmsplans.server.db import Connection
from lmsplans.server.errors import (
    Conflict,
    LimitExceeded,
    NoSuchLearner,
    NoSuchRecord,
    PermissionDenied,
)
from lmsplans.server.http import Call, WriteCall
from lmsplans.server.openapi import Param
from lmsplans.server.params import check_learner_batch, payload, required_payload, validate
from lmsplans.server.plans import enrolments, queries, service
from lmsplans.server.plans.roster import kept_roster, roster_answer
from lmsplans.server.plans.schemas import (
    MAX_ENROL_BATCH,
    ErecnoRef,
    ErecnosList,
    LearnersEnrolled,
    LearnerUnenrolled,
    PlanCoursesIn,
    PlanCoursesPayload,
    PlanDeleted,
    PlanDetailOne,
    PlanIn,
    PlanJoined,
    PlanPatch,
    PlansPage,
    RosterPage,
)
from lmsplans.server.progress.schemas import EnrolmentStatus, enrolment_status_param
from lmsplans.server.routing import RouteTable
from lmsplans.server.wire import ok, ok_page

routes = RouteTable(tags=("Learning plans",))
# The plan in the path, managed by an admin of the organisation or of the plan.
_MANAGED = (NoSuchRecord, PermissionDenied)
_ROSTER_PARAMS = (
    Param("status", EnrolmentStatus, "Only the learners in this state (overdue: late)."),
    Param("search", str, "Part of the name, email address or employee id (case-insensitive)."),
)
_ROSTER_ERRORS = (NoSuchRecord, PermissionDenied)


@routes.get("/api/v1/learning-plans", response=PlansPage, paging=1)
async def list_plans(call: Call) -> Response:
    """The organisation's learning plans

    Admins see drafts too; everyone else published plans only.
    """
    page = call.page()
    async with call.db.read() as conn:
        plans, more = await queries.list_plans(
            conn,
            org_id=call.principal.org_id,
            drafts=call.principal.role is Role.ADMIN,
            viewer_id=call.principal.user_id,
            page=page,
        )
    return ok_page("learningPlans", plans, more, "Learning plans fetched successfully")


@routes.get(  # an alias, declared with the same answer
    "/api/v1/learning-plans/{planId}/members",
    name="plan_members",
    response=RosterPage,
    paging=1,
    params=_ROSTER_PARAMS,
    errors=_ROSTER_ERRORS,
)
@routes.get(
    "/api/v1/learning-plans/{planId}/learners",
    response=RosterPage,
    paging=1,
    params=_ROSTER_PARAMS,
    errors=_ROSTER_ERRORS,
)
async def plan_roster(call: Call) -> Response:
    """A plan's roster, with summary counts

    Each enrolled learner the caller may see (admins and plan admins: all; managers:
    reportees and self) with `userInfo` and `progressInfo`, oldest enrolment first;
    `summary` counts the whole roster, before the `status` and `search` filters
    (`matchingCount`: after them). `/members` is an alias of `/learners`.
    """
    page = call.page()
    wanted = enrolment_status_param(call.query("status"))
    plan_id = call.id_param("planId", "learning plan")
    principal = call.principal
    async with call.db.read() as conn:
        roster = await kept_roster(
            call,
            conn,
            org_id=principal.org_id,
            plan_id=plan_id,
            visibility=await service.reader_visibility(conn, principal, plan_id=plan_id),
        )
        answer = await roster_answer(
            conn,
            roster,
            status=wanted,
            search=call.query("search"),
            now_ms=call.now_ms(),
            page=page,
        )
    return ok(answer, "Learners fetched successfully")


# --- Management -----------------------------------------------------------------------------


def _plan_id(call: Call) -> int:
    return call.id_param("planId", "learning plan")


async def _detail(call: Call, conn: Connection, plan_id: int, message: str) -> Response:
    row = await queries.plan_row(conn, org_id=call.principal.org_id, plan_id=plan_id)
    detail = await queries.plan_detail(conn, plan=row, viewer_id=call.principal.user_id)
    return ok({"learningPlan": detail}, message)


@routes.post(
    "/api/v1/learning-plans",
    role=Role.ADMIN,
    response=PlanDetailOne,
    body=PlanIn,
    payload="planData",
    errors=(PermissionDenied, NoSuchLearner),
)
async def create_plan(call: WriteCall) -> Response:
    """Create a learning plan (a draft)

    Admins only; the caller owns the plan. An unknown learner in `planAdmins` is 404 7048.
    """
    data = await payload(call.request, "planData", PlanIn)
    plan_id = await service.create_draft(call.conn, write=call.write, data=data)
    return await _detail(call, call.conn, plan_id, "Learning plan created successfully")


@routes.get("/api/v1/learning-plans/{planId}", response=PlanDetailOne, errors=(NoSuchRecord,))
async def read_plan(call: Call) -> Response:
    """One learning plan, with its courses and admins

    Drafts are visible to admins only (404 7049 for anyone else).
    """
    async with call.db.read() as conn:
        row = await queries.plan_row(conn, org_id=call.principal.org_id, plan_id=_plan_id(call))
        service.ensure_can_read_plan(call.principal, row)
        detail = await queries.plan_detail(conn, plan=row, viewer_id=call.principal.user_id)
    return ok({"learningPlan": detail}, "Learning plan fetched successfully")


@routes.patch(
    "/api/v1/learning-plans/{planId}",
    response=PlanDetailOne,
    body=PlanPatch,
    payload="planData",
    errors=(*_MANAGED, NoSuchLearner),
)
async def update_plan(call: WriteCall) -> Response:
    """Update a learning plan

    Admins and the plan's admins. Absent fields stay as they are; `planAdmins` replaces the
    plan admins (an unknown learner is 404 7048).
    """
    patch = await payload(call.request, "planData", PlanPatch)
    plan_id = _plan_id(call)
    await service.update_plan(call.conn, write=call.write, plan_id=plan_id, patch=patch)
    return await _detail(call, call.conn, plan_id, "Learning plan updated successfully")


@routes.delete(
    "/api/v1/learning-plans/{planId}",
    role=Role.ADMIN,
    response=PlanDeleted,
    errors=(*_MANAGED, Conflict),
)
async def delete_plan(call: WriteCall) -> Response:
    """Delete a draft learning plan

    Admins only. A published plan is 409 7052: disable it instead.
    """
    plan_id = _plan_id(call)
    await service.delete_plan(call.conn, write=call.write, plan_id=plan_id)
    return ok({"planId": str(plan_id)}, "Learning plan deleted successfully")


@routes.post(
    "/api/v1/learning-plans/{planId}/publish",
    scope=Operation.UPDATE,
    response=PlanDetailOne,
    errors=(*_MANAGED, Conflict),
)
async def publish_plan(call: WriteCall) -> Response:
    """Publish a learning plan

    Admins and the plan's admins. A plan without a mandatory course is 409 7052; publishing
    a published plan changes nothing.
    """
    plan_id = _plan_id(call)
    await service.publish_plan(call.conn, write=call.write, plan_id=plan_id)
    return await _detail(call, call.conn, plan_id, "Learning plan published successfully")


@routes.post(
    "/api/v1/learning-plans/{planId}/disable",
    scope=Operation.UPDATE,
    response=PlanDetailOne,
    errors=_MANAGED,
)
async def disable_plan(call: WriteCall) -> Response:
    """Disable a learning plan

    Admins and the plan's admins. No new enrolments; enrolments and history stay.
    """
    plan_id = _plan_id(call)
    await service.disable_plan(call.conn, write=call.write, plan_id=plan_id)
    return await _detail(call, call.conn, plan_id, "Learning plan disabled successfully")


@routes.put(
    "/api/v1/learning-plans/{planId}/courses",
    response=PlanDetailOne,
    body=PlanCoursesPayload,
    payload="courses",
    errors=(*_MANAGED, Conflict),
)
async def set_plan_courses(call: WriteCall) -> Response:
    """Set a learning plan's courses

    Admins and the plan's admins. Replaces the whole list: each course with its `level`,
    `isMandatory` and `isLocked`. Enrolled learners are enrolled in the new courses and
    their incomplete enrolments measured again; completed ones stay completed. An unknown
    course is 404 7049, a course twice 400 7204, a published plan left without a mandatory
    course 409 7052.
    """
    document = await required_payload(call.request, "courses")
    if isinstance(document, list):
        document = {"courses": document}
    data = validate(PlanCoursesIn, document, "courses")
    plan_id = _plan_id(call)
    await service.replace_plan_courses(
        call.conn,
        write=call.write,
        plan_id=plan_id,
        courses=[
            service.PlanCourse(c.courseId, c.level, c.isMandatory, c.isLocked) for c in data.courses
        ],
    )
    return await _detail(call, call.conn, plan_id, "Learning plan courses updated successfully")


@routes.put(
    "/api/v1/learning-plans/{planId}/learners",
    response=LearnersEnrolled,
    body=ErecnosList,
    payload="erecnosList",
    errors=(*_MANAGED, NoSuchLearner, Conflict, LimitExceeded),
)
async def enrol_learners(call: WriteCall) -> Response:
    """Enrol learners in a learning plan

    Admins and the plan's admins; up to 200 learners (more is 422 7021). Learners already
    enrolled are left as they are. A draft or disabled plan is 409 7052; an unknown learner
    404 7048 (nobody is enrolled).
    """
    refs = await payload(call.request, "erecnosList", list[ErecnoRef])
    check_learner_batch(refs, "erecnosList", most=MAX_ENROL_BATCH)
    plan_id = _plan_id(call)
    enrolled, already = await enrolments.enrol_learners(
        call.conn, write=call.write, plan_id=plan_id, refs=refs
    )
    return ok(
        {
            "planId": str(plan_id),
            "enrolled": [str(i) for i in enrolled],
            "alreadyEnrolled": [str(i) for i in already],
        },
        "Learners enrolled successfully",
    )


@routes.delete(
    "/api/v1/learning-plans/{planId}/learners/{learnerId}",
    response=LearnerUnenrolled,
    errors=(*_MANAGED, NoSuchLearner),
)
async def unenrol_learner(call: WriteCall) -> Response:
    """Unenrol a learner from a learning plan

    Admins and the plan's admins. The enrolment, its progress and history are kept. A
    learner not in the plan is 404 7049.
    """
    plan_id = _plan_id(call)
    learner_id = await enrolments.unenrol_learner(
        call.conn, write=call.write, plan_id=plan_id, learner_ref=call.path_param("learnerId")
    )
    return ok(
        {"planId": str(plan_id), "userId": str(learner_id)}, "Learner unenrolled successfully"
    )


@routes.post(
    "/api/v1/learners/{learnerId}/learning-plans/{planId}/join",
    response=PlanJoined,
    errors=(NoSuchLearner, PermissionDenied, NoSuchRecord, Conflict),
)
async def join_plan(call: WriteCall) -> Response:
    """Join a learning plan

    The learner joins a published plan, enrolling themself if needed (a disabled plan is
    409 7052 then); joining twice changes nothing. Admins may join a learner on their
    behalf; anyone else only themself (403 9000).
    """
    learner_ref = call.path_param("learnerId")
    plan_id = _plan_id(call)
    learner_id, planuser_id = await enrolments.join_plan(
        call.conn, write=call.write, plan_id=plan_id, learner_ref=learner_ref
    )
    return ok(
        {"planId": str(plan_id), "userId": str(learner_id), "planuserId": str(planuser_id)},
        "Joined the learning plan successfully",
    )
