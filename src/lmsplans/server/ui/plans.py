"""The plans list (`/ui`) and the plan report (`/ui/plans/{planId}`), with the enrol search
of its admins (their forms: `ui.plan_actions`).

Every count comes from the same `plans.roster.Roster` as the API's roster answer (kept in
the same cache), and every write goes through the same service as the API's, so the pages
and the API agree by construction: the same numbers, rules, events and refusals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.responses import Response

from lmsplans.server.auth.schemas import Role
from lmsplans.server.db import Connection, Page
from lmsplans.server.learners import queries as learner_queries
from lmsplans.server.learners import service as learners
from lmsplans.server.learners.queries import Visibility
from lmsplans.server.plans import queries
from lmsplans.server.plans import service as plans
from lmsplans.server.plans.roster import Roster, RosterEntry, kept_roster
from lmsplans.server.plans.tallies import RosterSummary, kept_tallies
from lmsplans.server.progress.schemas import EnrolmentStatus, enrolment_status_param
from lmsplans.server.routing import PageTable
from lmsplans.server.ui import charts
from lmsplans.server.ui.http import Visit, see_other
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


async def readable_roster(visit: Visit, conn: Connection, plan_id: int) -> Roster:
    """The plan's roster as the API shows it to this person (404 7049 for no such plan,
    403 9000 for a learner), kept until a change names it; a draft is for admins."""
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


def _counts(summary: RosterSummary) -> charts.StatusCounts:
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
    administer; learners go to their own page. Each plan counted as its report counts it,
    all in one statement (`plans.roster.plan_tallies`)."""
    principal = visit.principal
    if principal.role is Role.LEARNER:
        return see_other("/ui/me")
    async with visit.db.read() as conn:
        listed, more = await queries.list_plans(
            conn,
            org_id=principal.org_id,
            drafts=principal.role is Role.ADMIN,
            viewer_id=principal.user_id,
            page=Page(0, PLANS_SHOWN),
        )
        administered = set(await queries.administered_plans(conn, learner_id=principal.user_id))
        durations = {
            int(info["planId"]): (int(info["duration"]), int(info["durationType"]))
            for info in listed
        }
        tallies = await kept_tallies(
            visit,
            conn,
            org_id=principal.org_id,
            visibility=learners.visibility(principal),
            durations=durations,
        )
        if administered and principal.role is not Role.ADMIN:
            # A plan's admins see its whole roster, as its report shows it them.
            whole = await kept_tallies(
                visit,
                conn,
                org_id=principal.org_id,
                visibility=Visibility(principal.user_id, everyone=True),
                durations={key: durations[key] for key in administered if key in durations},
            )
            tallies.update(whole)
    shown: list[PlanSummary] = []
    for info in listed:
        plan_id = int(info["planId"])
        counts = _counts(tallies[plan_id].summary(visit.now_ms))
        if principal.role is Role.MANAGER and not (counts.total or plan_id in administered):
            continue
        shown.append(
            PlanSummary(
                plan_id=plan_id,
                name=info["planName"],
                draft=info["publishState"] != "1",
                disabled=info["disabled"] == "true",
                duration=duration_text(*durations[plan_id]),
                counts=counts,
                bar=charts.completion_bar(counts.completed, counts.total, label=info["planName"]),
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


async def _member_rows(
    conn: Connection, roster: Roster, entries: list[RosterEntry], now_ms: int
) -> list[MemberRow]:
    return [_member_row(member, now_ms) for member in await roster.members(conn, entries, now_ms)]


def _member_row(member: dict[str, Any], now_ms: int) -> MemberRow:
    info, progress = member["userInfo"], member["progressInfo"]
    due_ms = number(progress["dueTime"])
    return MemberRow(
        learner_id=int(info["userId"]),
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


def roster_filters(visit: Visit) -> tuple[EnrolmentStatus | None, str]:
    """The roster's filters: `status` (400 7204 for an unknown one) and the search `q`."""
    return enrolment_status_param(visit.query("status")), (visit.query("q") or "").strip()


async def _roster_section(visit: Visit, conn: Connection, roster: Roster) -> dict[str, Any]:
    """What the roster part of the report shows: the filters, one page of the matching
    learners and the links to the others (also what htmx swaps alone)."""
    status, search = roster_filters(visit)
    found = await roster.matching(conn, status=status, search=search, now_ms=visit.now_ms)
    page = pager(visit.request, len(found), per_page=ROSTER_PAGE)
    window = found[(page.number - 1) * ROSTER_PAGE : page.number * ROSTER_PAGE]
    filters = {"status": status.value if status else "", "q": search}
    query = urlencode({key: value for key, value in filters.items() if value})
    csv_url = f"/ui/plans/{roster.plan['plan_id']}/roster.csv" + (f"?{query}" if query else "")
    return {
        "status_filter": status.value if status else "",
        "search": search,
        "members": await _member_rows(conn, roster, window, visit.now_ms),
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
    now = visit.now_ms
    async with visit.db.read() as conn:
        roster = await readable_roster(visit, conn, plan_id)
        manage = _can_manage(visit, roster)
        candidates = (
            await _enrol_candidates(visit, conn, roster, enrol_search)
            if manage and enrol_search
            else []
        )
        section = await _roster_section(visit, conn, roster)
        overdue = roster.overdue(now)
        overdue_page = pager(
            visit.request, len(overdue), per_page=OVERDUE_PAGE, name="overdue_page"
        )
        start = (overdue_page.number - 1) * OVERDUE_PAGE
        late = await _member_rows(conn, roster, overdue[start : start + OVERDUE_PAGE], now)
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
    counts = _counts(roster.summary(now))
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
        "overdue": late,
        "overdue_pager": overdue_page,
        "manage": manage,
        "candidates": candidates,
        "enrol_search": enrol_search,
        "notice": notice(visit.request),
        **section,
    }
    return visit.render("plan.html", context)
