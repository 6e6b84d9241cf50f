"""Plan reads: the organisation's plans and a plan's roster."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from lmsplans.server.auth.schemas import Operation, Role
from lmsplans.server.db import Connection
from lmsplans.server.errors import (
    Conflict,
    InvalidParameter,
    LimitExceeded,
    MissingParameter,
    NoSuchLearner,
    NoSuchRecord,
    PermissionDenied,
)
from lmsplans.server.http import Call, WriteCall, api_route, write_route
from lmsplans.server.learners.service import ensure_admin
from lmsplans.server.openapi import PAGING_ERRORS, OperationDoc, Param, paging
from lmsplans.server.params import page_of, payload, raw_payload, validate
from lmsplans.server.plans import queries, service
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
from lmsplans.server.progress.schemas import EnrolmentStatus
from lmsplans.server.wire import ok


async def list_plans(call: Call) -> Response:
    """GET /api/v1/learning-plans — admins see drafts too; everyone else published plans."""
    page = page_of(call.request, first_index=1)
    async with call.db.read() as conn:
        plans, more = await queries.list_plans(
            conn,
            org_id=call.principal.org_id,
            drafts=call.principal.role is Role.ADMIN,
            viewer_id=call.principal.user_id,
            page=page,
        )
    return ok(
        {"learningPlans": plans, "isNextAvailable": more}, "Learning plans fetched successfully"
    )


async def plan_roster(call: Call) -> Response:
    """GET /api/v1/learning-plans/{planId}/learners (alias /members): the plan's roster,
    optionally filtered by `status`, with summary counts for the whole roster."""
    page = page_of(call.request, first_index=1)
    wanted_raw = call.query("status")
    try:
        wanted = EnrolmentStatus(wanted_raw) if wanted_raw else None
    except ValueError:
        allowed = ", ".join(s.value for s in EnrolmentStatus)
        raise InvalidParameter("status", f"must be one of {allowed}") from None
    plan_id = call.id_param("planId", "learning plan")
    principal = call.principal
    async with call.db.read() as conn:
        is_plan_admin = await queries.is_plan_admin(
            conn, org_id=principal.org_id, plan_id=plan_id, learner_id=principal.user_id
        )
        roster = await queries.plan_roster(
            conn,
            plan_id=plan_id,
            visibility=service.roster_visibility(principal, is_plan_admin=is_plan_admin),
            status=wanted,
            now_ms=call.now_ms(),
            page=page,
        )
    return ok(roster, "Learners fetched successfully")


_ROSTER_DOC = OperationDoc(
    "A plan's roster, with summary counts",
    RosterPage,
    description="Each enrolled learner the caller may see (admins and plan admins: all; "
    "managers: reportees and self) with `userInfo` and `progressInfo`; `summary` counts the "
    "whole roster, before the `status` filter. `/members` is an alias of `/learners`.",
    tags=("Learning plans",),
    params=(
        *paging(1),
        Param("status", EnrolmentStatus, "Only the learners in this state (overdue: late)."),
    ),
    errors=(*PAGING_ERRORS, NoSuchRecord, PermissionDenied),
)

routes: list[Route] = [
    api_route(
        "/api/v1/learning-plans",
        list_plans,
        doc=OperationDoc(
            "The organisation's learning plans",
            PlansPage,
            description="Admins see drafts too; everyone else published plans only.",
            tags=("Learning plans",),
            params=paging(1),
            errors=PAGING_ERRORS,
        ),
    ),
    api_route("/api/v1/learning-plans/{planId}/learners", plan_roster, doc=_ROSTER_DOC),
    api_route(
        "/api/v1/learning-plans/{planId}/members", plan_roster, name="plan_members", doc=_ROSTER_DOC
    ),
]


# --- Management (this product's own; Zoho documents none of these) --------------------------


def _plan_id(call: Call) -> int:
    return call.id_param("planId", "learning plan")


async def _detail(call: Call, conn: Connection, plan_id: int, message: str) -> Response:
    row = await queries.plan_row(conn, org_id=call.principal.org_id, plan_id=plan_id)
    detail = await queries.plan_detail(conn, plan=row, viewer_id=call.principal.user_id)
    return ok({"learningPlan": detail}, message)


async def create_plan(call: WriteCall) -> Response:
    """POST /api/v1/learning-plans — a draft plan (admins only)."""
    ensure_admin(call.principal)
    data = await payload(call.request, "planData", PlanIn)
    plan_id = await service.create_draft(call.conn, write=call.write, data=data)
    return await _detail(call, call.conn, plan_id, "Learning plan created successfully")


async def read_plan(call: Call) -> Response:
    """GET /api/v1/learning-plans/{planId} — with its courses and admins. Drafts are
    visible to admins only."""
    async with call.db.read() as conn:
        row = await queries.plan_row(conn, org_id=call.principal.org_id, plan_id=_plan_id(call))
        service.ensure_can_read_plan(call.principal, row)
        detail = await queries.plan_detail(conn, plan=row, viewer_id=call.principal.user_id)
    return ok({"learningPlan": detail}, "Learning plan fetched successfully")


async def update_plan(call: WriteCall) -> Response:
    """PATCH /api/v1/learning-plans/{planId}"""
    patch = await payload(call.request, "planData", PlanPatch)
    plan_id = _plan_id(call)
    await service.update_plan(call.conn, write=call.write, plan_id=plan_id, patch=patch)
    return await _detail(call, call.conn, plan_id, "Learning plan updated successfully")


async def delete_plan(call: WriteCall) -> Response:
    """DELETE /api/v1/learning-plans/{planId} — drafts only; disable a published plan."""
    ensure_admin(call.principal)
    plan_id = _plan_id(call)
    await service.delete_plan(call.conn, write=call.write, plan_id=plan_id)
    return ok({"planId": str(plan_id)}, "Learning plan deleted successfully")


async def publish_plan(call: WriteCall) -> Response:
    """POST /api/v1/learning-plans/{planId}/publish — needs a mandatory course (409)."""
    plan_id = _plan_id(call)
    await service.publish_plan(call.conn, write=call.write, plan_id=plan_id)
    return await _detail(call, call.conn, plan_id, "Learning plan published successfully")


async def disable_plan(call: WriteCall) -> Response:
    """POST /api/v1/learning-plans/{planId}/disable — no new enrolments; history stays."""
    plan_id = _plan_id(call)
    await service.disable_plan(call.conn, write=call.write, plan_id=plan_id)
    return await _detail(call, call.conn, plan_id, "Learning plan disabled successfully")


async def set_plan_courses(call: WriteCall) -> Response:
    """PUT /api/v1/learning-plans/{planId}/courses — the plan's whole course list."""
    document = await raw_payload(call.request, "courses")
    if isinstance(document, list):
        document = {"courses": document}
    if document is None:
        raise MissingParameter("courses")
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


async def enrol_learners(call: WriteCall) -> Response:
    """PUT /api/v1/learning-plans/{planId}/learners — enrol the learners of `erecnosList`
    (userIds, zuids or emails; up to 200). Learners already enrolled are left as they are."""
    refs = await payload(call.request, "erecnosList", list[ErecnoRef])
    if len(refs) > MAX_ENROL_BATCH:
        raise LimitExceeded(
            f"Maximum limit exceeded: at most {MAX_ENROL_BATCH} learners at once",
            errors=[{"field": "erecnosList", "message": f"has {len(refs)} learners"}],
        )
    if not refs:
        raise InvalidParameter("erecnosList", "holds no learner")
    plan_id = _plan_id(call)
    enrolled, already = await service.enrol_learners(
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


async def unenrol_learner(call: WriteCall) -> Response:
    """DELETE /api/v1/learning-plans/{planId}/learners/{learnerId} — history is kept."""
    plan_id = _plan_id(call)
    learner_id = await service.unenrol_learner(
        call.conn, write=call.write, plan_id=plan_id, learner_ref=call.path_param("learnerId")
    )
    return ok(
        {"planId": str(plan_id), "userId": str(learner_id)}, "Learner unenrolled successfully"
    )


async def join_plan(call: WriteCall) -> Response:
    """POST /api/v1/learners/{learnerId}/learning-plans/{planId}/join — the learner joins
    (enrolling themself if needed). Admins may join a learner on their behalf."""
    learner_ref = call.path_param("learnerId")
    plan_id = _plan_id(call)
    learner_id, planuser_id = await service.join_plan(
        call.conn, write=call.write, plan_id=plan_id, learner_ref=learner_ref
    )
    return ok(
        {"planId": str(plan_id), "userId": str(learner_id), "planuserId": str(planuser_id)},
        "Joined the learning plan successfully",
    )


_TAGS = ("Learning plans",)
_BAD_PAYLOAD = (MissingParameter, InvalidParameter)
# The plan in the path, managed by an admin of the organisation or of the plan.
_MANAGED = (NoSuchRecord, PermissionDenied)

management_routes: list[Route] = [
    write_route(
        "/api/v1/learning-plans",
        create_plan,
        method="POST",
        operation=Operation.CREATE,
        doc=OperationDoc(
            "Create a learning plan (a draft)",
            PlanDetailOne,
            description="Admins only; the caller owns the plan. An unknown learner in "
            "`planAdmins` is 404 7048.",
            tags=_TAGS,
            body=PlanIn,
            payload="planData",
            errors=(*_BAD_PAYLOAD, PermissionDenied, NoSuchLearner),
        ),
    ),
    api_route(
        "/api/v1/learning-plans/{planId}",
        read_plan,
        doc=OperationDoc(
            "One learning plan, with its courses and admins",
            PlanDetailOne,
            description="Drafts are visible to admins only (404 7049 for anyone else).",
            tags=_TAGS,
            errors=(NoSuchRecord,),
        ),
    ),
    write_route(
        "/api/v1/learning-plans/{planId}",
        update_plan,
        method="PATCH",
        operation=Operation.UPDATE,
        doc=OperationDoc(
            "Update a learning plan",
            PlanDetailOne,
            description="Admins and the plan's admins. Absent fields stay as they are; "
            "`planAdmins` replaces the plan admins (an unknown learner is 404 7048).",
            tags=_TAGS,
            body=PlanPatch,
            payload="planData",
            errors=(*_BAD_PAYLOAD, *_MANAGED, NoSuchLearner),
        ),
    ),
    write_route(
        "/api/v1/learning-plans/{planId}",
        delete_plan,
        method="DELETE",
        operation=Operation.DELETE,
        doc=OperationDoc(
            "Delete a draft learning plan",
            PlanDeleted,
            description="Admins only. A published plan is 409 7052: disable it instead.",
            tags=_TAGS,
            errors=(*_MANAGED, Conflict),
        ),
    ),
    write_route(
        "/api/v1/learning-plans/{planId}/publish",
        publish_plan,
        method="POST",
        operation=Operation.UPDATE,
        doc=OperationDoc(
            "Publish a learning plan",
            PlanDetailOne,
            description="Admins and the plan's admins. A plan without a mandatory course is "
            "409 7052; publishing a published plan changes nothing.",
            tags=_TAGS,
            errors=(*_MANAGED, Conflict),
        ),
    ),
    write_route(
        "/api/v1/learning-plans/{planId}/disable",
        disable_plan,
        method="POST",
        operation=Operation.UPDATE,
        doc=OperationDoc(
            "Disable a learning plan",
            PlanDetailOne,
            description="Admins and the plan's admins. No new enrolments; enrolments and "
            "history stay.",
            tags=_TAGS,
            errors=_MANAGED,
        ),
    ),
    write_route(
        "/api/v1/learning-plans/{planId}/courses",
        set_plan_courses,
        method="PUT",
        operation=Operation.UPDATE,
        doc=OperationDoc(
            "Set a learning plan's courses",
            PlanDetailOne,
            description="Admins and the plan's admins. Replaces the whole list: each course "
            "with its `level`, `isMandatory` and `isLocked`. Enrolled learners are enrolled "
            "in the new courses and their incomplete enrolments measured again; completed "
            "ones stay completed. An unknown course is 404 7049, a course twice 400 7204, a "
            "published plan left without a mandatory course 409 7052.",
            tags=_TAGS,
            body=PlanCoursesPayload,
            payload="courses",
            errors=(*_BAD_PAYLOAD, *_MANAGED, Conflict),
        ),
    ),
    write_route(
        "/api/v1/learning-plans/{planId}/learners",
        enrol_learners,
        method="PUT",
        operation=Operation.UPDATE,
        doc=OperationDoc(
            "Enrol learners in a learning plan",
            LearnersEnrolled,
            description="Admins and the plan's admins; up to 200 learners (more is 422 "
            "7021). Learners already enrolled are left as they are. A draft or disabled plan "
            "is 409 7052; an unknown learner 404 7048 (nobody is enrolled).",
            tags=_TAGS,
            body=ErecnosList,
            payload="erecnosList",
            errors=(*_BAD_PAYLOAD, *_MANAGED, NoSuchLearner, Conflict, LimitExceeded),
        ),
    ),
    write_route(
        "/api/v1/learning-plans/{planId}/learners/{learnerId}",
        unenrol_learner,
        method="DELETE",
        operation=Operation.DELETE,
        doc=OperationDoc(
            "Unenrol a learner from a learning plan",
            LearnerUnenrolled,
            description="Admins and the plan's admins. The enrolment, its progress and "
            "history are kept. A learner not in the plan is 404 7049.",
            tags=_TAGS,
            errors=(*_MANAGED, NoSuchLearner),
        ),
    ),
    write_route(
        "/api/v1/learners/{learnerId}/learning-plans/{planId}/join",
        join_plan,
        method="POST",
        operation=Operation.CREATE,
        doc=OperationDoc(
            "Join a learning plan",
            PlanJoined,
            description="The learner joins a published plan, enrolling themself if needed "
            "(a disabled plan is 409 7052 then); joining twice changes nothing. Admins may "
            "join a learner on their behalf; anyone else only themself (403 9000).",
            tags=_TAGS,
            errors=(NoSuchLearner, PermissionDenied, NoSuchRecord, Conflict),
        ),
    ),
]
