"""The plans list (`/ui`), the plan report (`/ui/plans/{planId}`), its roster as CSV, and
the admin's daily work on a plan: enrol learners (search and pick), unenrol, publish,
disable.

Every count comes from the same `plans.roster.Roster` as the API's roster answer (kept in
the same cache), and every write goes through the same service as the API's, so the pages
and the API agree by construction: the same numbers, rules, events and refusals.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.responses import Response

from lmsplans.server.auth.schemas import Role
from lmsplans.server.db import Connection, Page
from lmsplans.server.errors import InvalidParameter, LimitExceeded
from lmsplans.server.learners import queries as learner_queries
from lmsplans.server.learners import service as learners
from lmsplans.server.plans import enrolments, queries
from lmsplans.server.plans import service as plans
from lmsplans.server.plans.roster import Roster, RosterEntry, kept_roster
from lmsplans.server.plans.schemas import MAX_ENROL_BATCH
from lmsplans.server.progress.schemas import EnrolmentStatus, enrolment_status_param
from lmsplans.server.routing import PageTable
from lmsplans.server.ui import charts
from lmsplans.server.ui.http import Visit, WriteVisit, see_other
from lmsplans.server.ui.rendering import iso_time
from lmsplans.server.ui.views import (
    STATUS_LABELS,
    duration_text,
    notice,
    number,
    pager,
    shown_status,
)

pages = PageTable()

ROSTER_PAGE = 50
OVERDUE_PAGE = 25
ENROL_RESULTS = 20
PLANS_SHOWN = 200  # plans on the list page (an organisation has tens)
_DAY_MS = 86_400_000
# The parts of the report htmx asks for alone (`HX-Target`), and their templates.
FRAGMENTS = {"roster-results": "_roster.html", "enrol-results": "_enrol_results.html"}


async def _roster(visit: Visit, conn: Connection, plan_id: int) -> Roster:
    """The plan's roster as the API shows it to this person (404 7049 for no such plan,
    403 9000 for a learner), kept while the data version holds; a draft is for admins."""
    principal = visit.principal
    visibility = await plans.reader_visibility(conn, principal, plan_id=plan_id)
    roster = await kept_roster(
        visit, conn, org_id=principal.org_id, plan_id=plan_id, visibility=visibility
    )
    plans.ensure_can_read_plan(principal, roster.plan)
    return roster


def _can_manage(visit: Visit, roster: Roster) -> bool:
    """Admins and the plan's admins manage a plan (as `plans.service.managed_plan`)."""
    return visit.session.role is Role.ADMIN or visit.session.learner_id in roster.admin_ids


@dataclass(frozen=True, slots=True)
class PlanSummary:
    """One plan of the list, with its roster's counts and completion bar."""

    plan_id: int
    name: str
    draft: bool
    disabled: bool
    duration: str
    counts: charts.StatusCounts
    bar: Any


def _plan_state(plan: Any) -> tuple[bool, bool]:
    return plan["publish_state"] != 1, bool(plan["disabled"])


def _summary(roster: Roster, now_ms: int) -> charts.StatusCounts:
    summary = roster.summary(now_ms)
    return charts.StatusCounts(
        summary.total,
        summary.completed,
        summary.in_progress,
        summary.not_started,
        summary.overdue,
    )


@pages.get("/ui")
async def plans_list(visit: Visit) -> Response:
    """Admins: every plan, drafts marked; managers: the plans of their team or that they
    administer; learners go to their own page."""
    principal = visit.principal
    if principal.role is Role.LEARNER:
        return see_other("/ui/me")
    shown: list[PlanSummary] = []
    async with visit.db.read() as conn:
        listed, more = await queries.list_plans(
            conn,
            org_id=principal.org_id,
            drafts=principal.role is Role.ADMIN,
            viewer_id=principal.user_id,
            page=Page(0, PLANS_SHOWN),
        )
        for info in listed:
            roster = await _roster(visit, conn, int(info["planId"]))
            if principal.role is Role.MANAGER and not (
                len(roster) or principal.user_id in roster.admin_ids
            ):
                continue
            counts = _summary(roster, visit.now_ms)
            draft, disabled = _plan_state(roster.plan)
            shown.append(
                PlanSummary(
                    plan_id=roster.plan["plan_id"],
                    name=roster.plan["plan_name"],
                    draft=draft,
                    disabled=disabled,
                    duration=duration_text(roster.plan["duration"], roster.plan["duration_type"]),
                    counts=counts,
                    bar=charts.completion_bar(
                        counts.completed, counts.total, label=roster.plan["plan_name"]
                    ),
                )
            )
    return visit.render("plans.html", {"title": "Learning plans", "plans": shown, "more": more})


@dataclass(frozen=True, slots=True)
class MemberRow:
    """One learner of the roster or the overdue list, as the API's roster says."""

    learner_id: int
    name: str
    email: str
    employee_id: str
    active: bool
    joined: bool
    status: str  # overdue over the others (`views.shown_status`)
    progress: int  # the mandatory courses' percentage
    completed_mandatory: int
    mandatory: int
    enrolled_ms: int | None
    due_ms: int | None
    completed_ms: int | None
    days_late: int


def _member_row(roster: Roster, entry: RosterEntry, now_ms: int) -> MemberRow:
    member = roster.member(entry, now_ms)
    info, progress = member["userInfo"], member["progressInfo"]
    due_ms = number(progress["dueTime"])
    return MemberRow(
        learner_id=entry.learner_id,
        name=info["displayName"],
        email=info["emailId"],
        employee_id=info["employeeId"],
        active=info["isActive"],
        joined=info["isUserJoinedPlan"],
        status=shown_status(progress),
        progress=int(progress["progressPercentage"]),
        completed_mandatory=int(progress["completedMandatoryCourseCount"]),
        mandatory=int(progress["mandatoryCourseCount"]),
        enrolled_ms=number(info["enrolledTime"]),
        due_ms=due_ms,
        completed_ms=number(progress["completedTime"]),
        days_late=(now_ms - due_ms) // _DAY_MS if progress["isOverdue"] and due_ms else 0,
    )


def _filters(visit: Visit) -> tuple[EnrolmentStatus | None, str]:
    """The roster's filters: `status` (400 7204 for an unknown one) and the search `q`."""
    return enrolment_status_param(visit.query("status")), (visit.query("q") or "").strip()


def _roster_section(visit: Visit, roster: Roster) -> dict[str, Any]:
    """What the roster part of the report shows: the filters, one page of the matching
    learners and the links to the others (also what htmx swaps alone)."""
    status, search = _filters(visit)
    found = roster.matching(status=status, search=search, now_ms=visit.now_ms)
    page = pager(visit.request, len(found), per_page=ROSTER_PAGE)
    window = found[(page.number - 1) * ROSTER_PAGE : page.number * ROSTER_PAGE]
    filters = {"status": status.value if status else "", "q": search}
    query = urlencode({key: value for key, value in filters.items() if value})
    csv_url = f"/ui/plans/{roster.plan['plan_id']}/roster.csv" + (f"?{query}" if query else "")
    return {
        "status_filter": status.value if status else "",
        "search": search,
        "members": [_member_row(roster, entry, visit.now_ms) for entry in window],
        "roster_pager": page,
        "csv_url": csv_url,
        "statuses": STATUS_LABELS,
    }


async def _enrol_candidates(
    visit: Visit, conn: Connection, roster: Roster, search: str
) -> list[dict[str, Any]]:
    """Active learners matching `search` whom this person may see, marked when enrolled."""
    found, _ = await learner_queries.list_learners(
        conn,
        org_id=visit.principal.org_id,
        visibility=learners.visibility(visit.principal),
        page=Page(0, ENROL_RESULTS),
        search=search.lower(),
        status="active",
    )
    enrolled = {entry.learner_id for entry in roster.entries}
    return [{**found_one, "enrolled": int(found_one["userId"]) in enrolled} for found_one in found]


@pages.get("/ui/plans/{planId}")
async def plan_report(visit: Visit) -> Response:
    """The status breakdown, completion per course and per level, the overdue list (most
    overdue first) and the roster, filtered and paged; for admins, the plan's actions."""
    plan_id = visit.id_param("planId", "learning plan")
    enrol_search = (visit.query("enrol_q") or "").strip()
    async with visit.db.read() as conn:
        roster = await _roster(visit, conn, plan_id)
        manage = _can_manage(visit, roster)
        candidates = (
            await _enrol_candidates(visit, conn, roster, enrol_search)
            if manage and enrol_search
            else []
        )
    section = _roster_section(visit, roster)
    target = visit.request.headers.get("hx-target")
    if visit.is_htmx and target in FRAGMENTS:  # only the part htmx swaps
        template = FRAGMENTS[target]
        return visit.render(
            template,
            {
                **section,
                "plan_id": plan_id,
                "manage": manage,
                "candidates": candidates,
                "enrol_search": enrol_search,
            },
        )
    now = visit.now_ms
    counts = _summary(roster, now)
    overdue = roster.overdue(now)
    overdue_page = pager(visit.request, len(overdue), per_page=OVERDUE_PAGE, name="overdue_page")
    start = (overdue_page.number - 1) * OVERDUE_PAGE
    plan = roster.plan
    draft, disabled = _plan_state(plan)
    total = counts.total
    context = {
        "title": plan["plan_name"],
        "plan": plan,
        "plan_id": plan_id,
        "draft": draft,
        "disabled": disabled,
        "duration": duration_text(plan["duration"], plan["duration_type"]),
        "courses": roster.courses,
        "counts": counts,
        "status_chart": charts.status_chart(counts, chart_id="status"),
        "course_chart": charts.completion_chart(
            [charts.Completion(c.name, n, total) for c, n in roster.course_completion()],
            what="course",
            chart_id="per-course",
        ),
        "level_chart": charts.completion_chart(
            [charts.Completion(f"Level {lvl}", n, total) for lvl, n in roster.level_completion()],
            what="level",
            chart_id="per-level",
        ),
        "overdue": [_member_row(roster, e, now) for e in overdue[start : start + OVERDUE_PAGE]],
        "overdue_pager": overdue_page,
        "manage": manage,
        "candidates": candidates,
        "enrol_search": enrol_search,
        "notice": notice(visit.request),
        **section,
    }
    return visit.render("plan.html", context)


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
    status, search = _filters(visit)
    async with visit.db.read() as conn:
        roster = await _roster(visit, conn, plan_id)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for entry in roster.matching(status=status, search=search, now_ms=visit.now_ms):
        member = roster.member(entry, visit.now_ms)
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
