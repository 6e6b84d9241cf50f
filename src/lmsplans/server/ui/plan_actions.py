"""The roster of a plan report as CSV, and the admin's daily work on a plan: enrol learners
(search and pick, on the report), unenrol, publish, disable. Each write goes through the
API's service, as one write of the form (`ui.http.writing`), and sends the browser back to
the report with a notice."""

from __future__ import annotations

import csv
import io
from typing import Any

from starlette.responses import Response

from lmsplans.server.errors import InvalidParameter, LimitExceeded
from lmsplans.server.plans import enrolments
from lmsplans.server.plans import service as plans
from lmsplans.server.plans.schemas import MAX_ENROL_BATCH
from lmsplans.server.routing import PageTable
from lmsplans.server.ui.http import Visit, WriteVisit, see_other
from lmsplans.server.ui.plans import readable_roster, roster_filters
from lmsplans.server.ui.rendering import iso_time
from lmsplans.server.ui.views import number

pages = PageTable()


CSV_COLUMNS = (
    "userId",
    "displayName",
    "emailId",
    "employeeId",
    "isActive",
    "status",
    "isOverdue",
    "progressPercentage",
    "completedMandatoryCourseCount",
    "mandatoryCourseCount",
    "completedCourseCount",
    "courseCount",
    "allCoursesPercentage",
    "isUserJoinedPlan",
    "enrolledTime",
    "dueTime",
    "completedTime",
)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    """A value as a spreadsheet reads it: times in ISO 8601 (UTC), flags as true/false,
    and text that a spreadsheet would run as a formula quoted."""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if text.startswith(_FORMULA_STARTS):
        return "'" + text
    return text


def _time_cell(value: str) -> str:
    millis = number(value)
    return "" if millis is None else iso_time(millis)


@pages.get("/ui/plans/{planId}/roster.csv")
async def roster_csv(visit: Visit) -> Response:
    """The roster as the report filters it (`status`, `q`), every matching learner, in the
    API's field names."""
    plan_id = visit.id_param("planId", "learning plan")
    status, search = roster_filters(visit)
    async with visit.db.read() as conn:
        roster = await readable_roster(visit, conn, plan_id)
        found = await roster.matching(conn, status=status, search=search, now_ms=visit.now_ms)
        members = await roster.members(conn, found, visit.now_ms)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for member in members:
        fields = {**member["userInfo"], **member["progressInfo"]}
        for key in ("enrolledTime", "dueTime", "completedTime"):
            fields[key] = _time_cell(fields[key])
        writer.writerow([_cell(fields[column]) for column in CSV_COLUMNS])
    name = f"plan-{plan_id}-roster{'-' + status.value if status else ''}.csv"
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={
            "content-disposition": f'attachment; filename="{name}"',
            "cache-control": "no-store",
            "x-content-type-options": "nosniff",
        },
    )


def _report(plan_id: int, what: str, count: int | None = None) -> Response:
    suffix = "" if count is None else f"&count={count}"
    return see_other(f"/ui/plans/{plan_id}?notice={what}{suffix}")


@pages.post("/ui/plans/{planId}/enrol")
async def enrol(visit: WriteVisit) -> Response:
    """Enrol the learners picked (their userIds), as `PUT .../learners` does."""
    plan_id = visit.id_param("planId", "learning plan")
    picked = visit.form.getlist("learner")
    if not picked:
        raise InvalidParameter("learner", "pick at least one learner to enrol")
    if len(picked) > MAX_ENROL_BATCH:
        raise LimitExceeded(f"Maximum limit exceeded: at most {MAX_ENROL_BATCH} learners at once")
    enrolled, _ = await enrolments.enrol_learners(
        visit.conn, write=visit.write, plan_id=plan_id, refs=picked
    )
    if not enrolled:
        return _report(plan_id, "already")
    return _report(plan_id, "enrolled", len(enrolled))


@pages.post("/ui/plans/{planId}/learners/{learnerId}/unenrol")
async def unenrol(visit: WriteVisit) -> Response:
    plan_id = visit.id_param("planId", "learning plan")
    await enrolments.unenrol_learner(
        visit.conn, write=visit.write, plan_id=plan_id, learner_ref=visit.path_param("learnerId")
    )
    return _report(plan_id, "unenrolled")


@pages.post("/ui/plans/{planId}/publish")
async def publish(visit: WriteVisit) -> Response:
    plan_id = visit.id_param("planId", "learning plan")
    await plans.publish_plan(visit.conn, write=visit.write, plan_id=plan_id)
    return _report(plan_id, "published")


@pages.post("/ui/plans/{planId}/disable")
async def disable(visit: WriteVisit) -> Response:
    plan_id = visit.id_param("planId", "learning plan")
    await plans.disable_plan(visit.conn, write=visit.write, plan_id=plan_id)
    return _report(plan_id, "disabled")
