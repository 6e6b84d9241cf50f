"""Managing learners: create (up to 200 at once), create or update by employee id (up to 200),
list and search, read, update, deactivate."""

from __future__ import annotations

from typing import Literal, get_args

from starlette.responses import Response

from lmsplans.server.auth.schemas import Role
from lmsplans.server.errors import (
    Conflict,
    InvalidParameter,
    LimitExceeded,
    NoSuchLearner,
    PermissionDenied,
)
from lmsplans.server.http import Call, WriteCall
from lmsplans.server.learners import queries, service, upsert
from lmsplans.server.learners.schemas import (
    MAX_BATCH,
    LearnerIn,
    LearnerOne,
    LearnerPatch,
    LearnersCreated,
    LearnersPage,
    LearnersPayload,
    LearnersUpserted,
    LearnersUpsertPayload,
    LearnerUpsertIn,
    RoleName,
)
from lmsplans.server.openapi import LEARNER_ERRORS, Param
from lmsplans.server.params import check_learner_batch, payload, required_payload, validate
from lmsplans.server.routing import RouteTable
from lmsplans.server.wire import ok, ok_page

routes = RouteTable(tags=("Learners",))


@routes.post(
    "/api/v1/learners",
    role=Role.ADMIN,
    response=LearnersCreated,
    body=LearnersPayload,
    payload="learnerData",
    errors=(NoSuchLearner, Conflict, LimitExceeded),
)
async def create_learners(call: WriteCall) -> Response:
    """Create learners (one, or up to 200 at once)

    Admins only. A batch is created in order (a learner may name an earlier one as
    `managerId`) and all or nothing: any bad item refuses the batch, its errors naming the
    item (`learnerData.1.emailId`). An email address, employee id or zuid another learner
    has is 409 7052; an unknown `managerId` 404 7048.
    """
    document = await required_payload(call.request, "learnerData")
    items = document if isinstance(document, list) else [document]
    check_learner_batch(items, "learnerData", most=MAX_BATCH)
    # A single learner's errors name its fields; a batch's the item too: "learnerData.1.emailId".
    if isinstance(document, list):
        learners = validate(list[LearnerIn], items, "learnerData")
    else:
        learners = [validate(LearnerIn, document, "learnerData")]
    ids = await service.create_learners(call.conn, write=call.write, items=learners)
    records = [await queries.learner_record(call.conn, learner_id=i) for i in ids]
    return ok({"learners": records}, "Learners created successfully")


@routes.put(
    "/api/v1/learners",
    role=Role.ADMIN,
    response=LearnersUpserted,
    body=LearnersUpsertPayload,
    payload="learnerData",
    errors=(NoSuchLearner, Conflict, LimitExceeded),
)
async def upsert_learners(call: WriteCall) -> Response:
    """Create or update learners, keyed on employee id (up to 200 at once)

    Admins only. Each learner is matched on `employeeId`, else on `emailId`: a match is
    updated where it differs (absent fields keep their value, `managerId: null` removes the
    manager), anyone else is created (role learner and active unless said). A manager may be
    named by `managerId` (userId, zuid or email) or `managerEmployeeId`, in the organisation
    or anywhere in the batch, in any order. Sending the same list again changes nothing.
    All or nothing: every problem of the batch is in `errors`, each naming its item
    (`learnerData.3.emailId`), with the first problem's status and code: 400 7204 for a bad
    value, 404 7048 for an unknown manager, 409 7052 for an email or employee id another
    learner keeps, two items naming one learner, or a reporting loop. Answers the learners
    in the order sent, and which were `created`, `updated` or `unchanged`.
    """
    document = await required_payload(call.request, "learnerData")
    if not isinstance(document, list):
        raise InvalidParameter("learnerData", "must be a list of learners")
    check_learner_batch(document, "learnerData", most=MAX_BATCH)
    learners = validate(list[LearnerUpsertIn], document, "learnerData")
    done = await upsert.upsert_learners(call.conn, write=call.write, items=learners)
    records = [await queries.learner_record(call.conn, learner_id=d.learner_id) for d in done]
    return ok(
        {
            "learners": records,
            **{
                change: [str(d.learner_id) for d in done if d.change == change]
                for change in ("created", "updated", "unchanged")
            },
        },
        "Learners saved successfully",
    )


@routes.get(
    "/api/v1/learners",
    response=LearnersPage,
    paging=1,
    params=(
        Param("search", str, "Part of the name, email address or employee id (case-insensitive)."),
        Param("role", RoleName, "Only the learners with this role."),
        Param(
            "status",
            Literal["active", "inactive"],
            "Only the active, or only the deactivated, learners.",
        ),
    ),
)
async def list_learners(call: Call) -> Response:
    """The learners the caller may see, with search and filters

    Admins see the organisation, managers their reportees and themselves, learners
    themselves; by userId.
    """
    page = call.page()
    role = call.query("role")
    if role is not None and role not in get_args(RoleName):
        raise InvalidParameter("role", "must be admin, manager or learner")
    status = call.query("status")
    if status is not None and status not in ("active", "inactive"):
        raise InvalidParameter("status", "must be active or inactive")
    async with call.db.read() as conn:
        learners, more = await queries.list_learners(
            conn,
            org_id=call.principal.org_id,
            visibility=service.visibility(call.principal),
            page=page,
            search=(call.query("search") or "").strip().lower() or None,
            role=role,
            status=status,
        )
    return ok_page("learners", learners, more, "Learners fetched successfully")


@routes.get("/api/v1/learners/{learnerId}", response=LearnerOne, errors=LEARNER_ERRORS)
async def read_learner(call: Call) -> Response:
    """One learner"""
    async with call.db.read() as conn:
        learner = await queries.resolve_learner(
            conn, org_id=call.principal.org_id, learner_ref=call.path_param("learnerId")
        )
        service.ensure_can_read(learner, viewer_id=call.principal.user_id, role=call.principal.role)
        record = await queries.learner_record(conn, learner_id=learner.id)
    return ok({"learner": record}, "Learner fetched successfully")


@routes.patch(
    "/api/v1/learners/{learnerId}",
    role=Role.ADMIN,
    response=LearnerOne,
    body=LearnerPatch,
    payload="learnerData",
    errors=(PermissionDenied, NoSuchLearner, Conflict),
)
async def update_learner(call: WriteCall) -> Response:
    """Update a learner (manager, role, status, ...)

    Admins only. Absent fields stay as they are. 409 7052 for an email address or employee
    id another learner has, a reporting loop, or deactivating yourself; an unknown
    `managerId` is 404 7048.
    """
    patch = await payload(call.request, "learnerData", LearnerPatch)
    learner_id = await service.update_learner(
        call.conn, write=call.write, learner_ref=call.path_param("learnerId"), patch=patch
    )
    record = await queries.learner_record(call.conn, learner_id=learner_id)
    return ok({"learner": record}, "Learner updated successfully")


@routes.delete(
    "/api/v1/learners/{learnerId}",
    role=Role.ADMIN,
    response=LearnerOne,
    errors=(PermissionDenied, NoSuchLearner, Conflict),
)
async def deactivate_learner(call: WriteCall) -> Response:
    """Deactivate a learner

    Admins only. Every record and the history are kept; the learner can no longer
    authenticate and reads show `isActive: false`. Deactivating yourself is 409 7052.
    """
    learner_id = await service.deactivate_learner(
        call.conn, write=call.write, learner_ref=call.path_param("learnerId")
    )
    record = await queries.learner_record(call.conn, learner_id=learner_id)
    return ok({"learner": record}, "Learner deactivated successfully")
