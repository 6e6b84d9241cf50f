"""Plan reads: the organisation's plans and a plan's roster."""

from __future__ import annotations

from collections import Counter
from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from lmsplans.server.auth.schemas import Role
from lmsplans.server.errors import InvalidParameter, NoSuchRecord, PermissionDenied
from lmsplans.server.http import Call, api_route, ok, page_of
from lmsplans.server.learners.service import visibility_sql
from lmsplans.server.plans.schemas import PLAN_INFO_COLUMNS, plan_info
from lmsplans.server.progress.schemas import EnrolmentStatus
from lmsplans.server.progress.service import (
    enrolment_progress_info,
    enrolment_progress_sql,
    user_info,
)


async def list_plans(call: Call) -> Response:
    """GET /api/v1/learning-plans — admins see drafts too; everyone else published plans."""
    page = page_of(call.request, first_index=1)
    published_only = "" if call.principal.role is Role.ADMIN else "AND p.publish_state = 1"
    async with call.db.read() as conn:
        rows = await conn.fetch_all(
            f"""SELECT {PLAN_INFO_COLUMNS} FROM learning_plans p
                 WHERE p.org_id = :org_id {published_only}
                 ORDER BY p.id LIMIT :page_limit OFFSET :page_offset""",
            {"org_id": call.principal.org_id, **page.sql()},
        )
    rows, more = page.cut(rows)
    plans = [plan_info(row, viewer_id=call.principal.user_id) for row in rows]
    return ok(
        {"learningPlans": plans, "isNextAvailable": more}, "Learning plans fetched successfully"
    )


_ROSTER_COLUMNS = "l.email, l.display_name, l.employee_id, l.status AS learner_status"


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
    now_ms = call.now_ms()
    async with call.db.read() as conn:
        plan = await conn.fetch_one(
            """SELECT p.id, EXISTS (SELECT 1 FROM plan_admins a
                                     WHERE a.plan_id = p.id AND a.learner_id = :viewer)
                            AS is_plan_admin
                 FROM learning_plans p WHERE p.id = :plan_id AND p.org_id = :org_id""",
            {"plan_id": plan_id, "org_id": principal.org_id, "viewer": principal.user_id},
        )
        if plan is None:
            raise NoSuchRecord("No record for the given id: no such learning plan")
        params: dict[str, int]
        if plan["is_plan_admin"]:
            visible, params = "1 = 1", {}
        elif principal.role is Role.LEARNER:
            raise PermissionDenied("Permission denied: only admins and managers read rosters")
        else:
            visible, params = visibility_sql(principal)
        rows = await conn.fetch_all(
            enrolment_progress_sql(
                where=f"e.plan_id = :plan_id AND {visible}",
                extra_join="JOIN learners l ON l.id = e.learner_id",
                extra_columns=_ROSTER_COLUMNS,
            ),
            {"plan_id": plan_id, **params},
        )
    members: list[dict[str, Any]] = []
    summary: Counter[str] = Counter()
    for row in rows:
        progress = enrolment_progress_info(row, now_ms=now_ms)
        summary[progress["status"]] += 1
        summary[EnrolmentStatus.OVERDUE] += progress["isOverdue"]
        matches = wanted is None or (
            progress["isOverdue"]
            if wanted is EnrolmentStatus.OVERDUE
            else progress["status"] == wanted
        )
        if matches:
            info = user_info(row)
            info.update(
                emailId=row["email"],
                displayName=row["display_name"],
                employeeId=row["employee_id"],
                isActive=row["learner_status"] == "active",
            )
            members.append({"userInfo": info, "progressInfo": progress})
    window = members[page.offset : page.offset + page.limit]
    return ok(
        {
            "learners": window,
            "summary": {
                "totalCount": str(len(rows)),
                "completedCount": str(summary[EnrolmentStatus.COMPLETED]),
                "inProgressCount": str(summary[EnrolmentStatus.IN_PROGRESS]),
                "notStartedCount": str(summary[EnrolmentStatus.NOT_STARTED]),
                "overdueCount": str(summary[EnrolmentStatus.OVERDUE]),
                "matchingCount": str(len(members)),
            },
            "isNextAvailable": len(members) > page.offset + page.limit,
        },
        "Learners fetched successfully",
    )


routes: list[Route] = [
    api_route("/api/v1/learning-plans", list_plans),
    api_route("/api/v1/learning-plans/{planId}/learners", plan_roster),
    api_route("/api/v1/learning-plans/{planId}/members", plan_roster, name="plan_members"),
]
